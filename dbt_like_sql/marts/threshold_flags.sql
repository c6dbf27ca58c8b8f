-- Per month and team: variable spend and projected month-end spend (team_monthly_spend: actual to date plus a per-provider forecast, with its 80 % band projected_low..projected_high) against the team's monthly threshold (default 1,500 in the reporting currency), the status (over; projected_over when the projection passes it; at_risk when only the band's upper edge does: an early warning; ok) and the date the threshold was crossed, or the first day the projected path (int_projection_daily, actual then forecast day by day) goes over it; for at_risk, band_cross_date: the first day the band's upper-edge path (actual days, then forecast days x int_projection_band.ratio_high) goes over it. fx_stale marks a variable spend converted (in part) at a stale ECB rate (stg_line_items_fx). 'unallocated' is not a team: it has no threshold (threshold NULL, status 'not_a_team') and is_unallocated marks it.
WITH teams AS (
    SELECT team, monthly_threshold, threshold_currency FROM {{ source('config', 'teams') }}
),
settings AS (
    SELECT reporting_currency, default_threshold FROM {{ source('config', 'settings') }}
),
variable AS (   -- the lines variable_spend counts: serverless GPU and hosted APIs, and tax when [decisions] tax_in_thresholds
    SELECT f.*
    FROM {{ ref('fct_spend_daily') }} f
    LEFT JOIN {{ source('config', 'decision_settings') }} ds ON true
    WHERE f.product_kind IN ('serverless_gpu', 'hosted_api') OR (f.product_kind = 'tax' AND coalesce(ds.tax_in_thresholds, false))
),
cumulative AS (
    SELECT
        charge_month AS month, team, charge_date,
        sum(sum(amount_reporting)) OVER (PARTITION BY charge_month, team ORDER BY charge_date) AS cum_variable
    FROM variable
    GROUP BY charge_month, team, charge_date
),
stale AS (
    SELECT charge_month AS month, team, bool_or(fx_stale) AS fx_stale FROM variable GROUP BY ALL
),
m AS (
    SELECT s.*, CASE WHEN s.team <> 'unallocated' THEN coalesce(t.monthly_threshold, st.default_threshold) END AS threshold,
           st.reporting_currency AS threshold_currency
    FROM {{ ref('team_monthly_spend') }} s
    LEFT JOIN teams t USING (team)
    CROSS JOIN settings st
),
path AS (   -- actual days then forecast days, summed over providers, cumulated
    SELECT month, team, day, sum(sum(amount)) OVER (PARTITION BY month, team ORDER BY day) AS cum
    FROM {{ ref('int_projection_daily') }}
    GROUP BY month, team, day
),
projected_cross AS (
    SELECT p.month, p.team, min(p.day) AS projected_cross_date
    FROM path p JOIN m ON m.month = p.month AND m.team = p.team
    WHERE p.cum > m.threshold
    GROUP BY ALL
),
upper_path AS (   -- the band's upper edge, day by day: actual days as they are, forecast days x ratio_high
    SELECT p.month, p.team, p.day,
           sum(sum(CASE WHEN p.is_forecast THEN p.amount * b.ratio_high ELSE p.amount END))
               OVER (PARTITION BY p.month, p.team ORDER BY p.day) AS cum
    FROM {{ ref('int_projection_daily') }} p
    JOIN {{ ref('int_projection_band') }} b USING (month, team)
    GROUP BY p.month, p.team, p.day
),
band_cross AS (
    SELECT u.month, u.team, min(u.day) AS band_cross_date
    FROM upper_path u JOIN m ON m.month = u.month AND m.team = u.team
    WHERE u.cum > m.threshold
    GROUP BY ALL
),
crossed AS (
    SELECT c.month, c.team, min(c.charge_date) AS crossed_on
    FROM cumulative c JOIN m ON m.month = c.month AND m.team = c.team
    WHERE c.cum_variable > m.threshold
    GROUP BY ALL
)
SELECT
    m.month,
    m.team,
    m.currency,
    m.variable_spend,
    m.projected_variable,
    m.projected_low,
    m.projected_high,
    m.band_method,
    m.backtests,
    m.projection_days_used,
    m.projection_from,
    CAST(m.threshold AS DECIMAL(18, 2)) AS threshold,
    m.threshold_currency,
    CASE
        WHEN m.team = 'unallocated' THEN 'not_a_team'
        WHEN m.variable_spend > m.threshold THEN 'over'
        WHEN m.projected_variable > m.threshold THEN 'projected_over'
        WHEN m.projected_high > m.threshold THEN 'at_risk'
        ELSE 'ok'
    END AS status,
    x.crossed_on,
    CASE WHEN x.crossed_on IS NULL AND m.projected_variable > m.threshold THEN pc.projected_cross_date END AS projected_cross_date,
    CASE WHEN m.team <> 'unallocated' AND m.variable_spend <= m.threshold AND m.projected_variable <= m.threshold
              AND m.projected_high > m.threshold THEN bc.band_cross_date END AS band_cross_date,
    (m.team = 'unallocated') AS is_unallocated,
    coalesce(st.fx_stale, false) AS fx_stale
FROM m
LEFT JOIN crossed x ON x.month = m.month AND x.team = m.team
LEFT JOIN projected_cross pc ON pc.month = m.month AND pc.team = m.team
LEFT JOIN band_cross bc ON bc.month = m.month AND bc.team = m.team
LEFT JOIN stale st ON st.month = m.month AND st.team = m.team

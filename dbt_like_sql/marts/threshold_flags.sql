-- Per month and team: variable spend and projected month-end spend against the team's monthly threshold (default 1,500 in the reporting currency), the status (ok, projected_over or over) and the date the threshold was crossed, or is projected to be crossed at the current daily rate.
WITH teams AS (
    SELECT team, monthly_threshold, threshold_currency FROM {{ source('config', 'teams') }}
),
settings AS (
    SELECT reporting_currency, default_threshold FROM {{ source('config', 'settings') }}
),
cumulative AS (
    SELECT
        charge_month AS month, team, charge_date,
        sum(sum(amount_reporting)) OVER (PARTITION BY charge_month, team ORDER BY charge_date) AS cum_variable
    FROM {{ ref('fct_spend_daily') }}
    WHERE product_kind IN ('serverless_gpu', 'hosted_api')
    GROUP BY charge_month, team, charge_date
),
m AS (
    SELECT s.*, coalesce(t.monthly_threshold, st.default_threshold) AS threshold, st.reporting_currency AS threshold_currency
    FROM {{ ref('team_monthly_spend') }} s
    LEFT JOIN teams t USING (team)
    CROSS JOIN settings st
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
    m.projection_days_used,
    CAST(m.threshold AS DECIMAL(18, 2)) AS threshold,
    m.threshold_currency,
    CASE
        WHEN m.variable_spend > m.threshold THEN 'over'
        WHEN m.projected_variable > m.threshold THEN 'projected_over'
        ELSE 'ok'
    END AS status,
    x.crossed_on,
    CASE
        WHEN x.crossed_on IS NULL AND m.projected_variable > m.threshold AND m.variable_spend > 0 THEN
            -- the first day whose run-rate total is OVER the threshold (the rule of crossed_on): day d with
            -- d x spend / days > threshold, i.e. d - 1 = floor(threshold x days / spend), exact in whole pence
            m.month + CAST((CAST(m.threshold * 100 AS BIGINT) * m.projection_days_used) // CAST(m.variable_spend * 100 AS BIGINT) AS INTEGER)
    END AS projected_cross_date,
    (m.team = 'unallocated') AS is_unallocated
FROM m
LEFT JOIN crossed x ON x.month = m.month AND x.team = m.team

-- materialized: view
-- Alert conditions for spend thresholds: one row per team and month over its threshold (threshold_crossed), projected to cross it (threshold_projected) or at risk (threshold_at_risk: only the 80 % band's upper edge passes it, the early warning), with the figures and the band; band_cross_date (threshold_flags: the first day the band's upper edge path passes the threshold, the same date the review shows); the top three provider + model lines of the month's variable spend with their amount and share of it (what drove the spend); the team's recommendations for the month (model recommendations, every value as text: the same figures the review and `spendwatch breakeven --team` give); and fx_stale: each currency pair whose ECB rate was stale (stg_line_items_fx.fx_stale) for the month's variable lines, with the oldest rate's date, its age in business days and the last charge date it converted.
WITH variable AS (
    SELECT CAST(date_trunc('month', charge_date) AS DATE) AS month, *
    FROM {{ ref('stg_line_items_fx') }}
    WHERE product_kind IN ('serverless_gpu', 'hosted_api')
),
lines AS (   -- the month's variable spend per provider and model (or GPU class): what drove it
    SELECT month, team, provider, coalesce(model, gpu_class, product_kind) AS line, sum(amount_reporting) AS amount
    FROM variable
    GROUP BY ALL
),
drivers AS (
    SELECT l.month, l.team,
           list(json_object('provider', l.provider, 'line', l.line,
                            'amount', CAST(CAST(l.amount AS DECIMAL(18, 2)) AS VARCHAR),
                            'share', CAST(CAST(l.amount / nullif(t.total, 0) AS DECIMAL(9, 4)) AS VARCHAR))
                ORDER BY l.amount DESC, l.provider, l.line)[1:3] AS drivers
    FROM lines l JOIN (SELECT month, team, sum(amount) AS total FROM lines GROUP BY ALL) t USING (month, team)
    GROUP BY l.month, l.team
),
fx AS (   -- stale rates behind the month's variable figures, one entry per currency pair
    SELECT month, team,
           list(json_object('currency_pair', pair, 'rate_date', CAST(rate_date AS VARCHAR), 'age_business_days', age,
                            'last_charge_date', CAST(through AS VARCHAR)) ORDER BY pair) AS fx_stale
    FROM (SELECT month, team, currency || '/' || reporting_currency AS pair, min(fx_rate_date) AS rate_date,
                 max(fx_rate_age_business_days) AS age, max(charge_date) AS through
          FROM variable WHERE fx_stale GROUP BY ALL)
    GROUP BY ALL
),
rec AS (   -- the team's recommendations, as the review lists them (largest saving first)
    SELECT CAST(v.month AS DATE) AS month, v.team,
           list(to_json(v) ORDER BY CAST(v.saving AS DECIMAL(18, 2)) DESC NULLS LAST, v.gpu_class) AS recommendations
    FROM (SELECT COLUMNS(*)::VARCHAR FROM {{ ref('recommendations') }}) v
    WHERE v.action IN ('use_spare_capacity', 'hybrid', 'rent_dedicated', 'near')
    GROUP BY ALL
)
SELECT CASE f.status WHEN 'over' THEN 'threshold_crossed' WHEN 'projected_over' THEN 'threshold_projected'
                     ELSE 'threshold_at_risk' END AS kind,
       f.team AS team, strftime(f.month, '%Y-%m') AS period,
       CAST(f.threshold AS VARCHAR) || ' ' || f.threshold_currency AS subject,
       json_object(
           'month', strftime(f.month, '%Y-%m'), 'team', f.team, 'currency', f.currency, 'status', f.status,
           'variable_spend', CAST(f.variable_spend AS VARCHAR),
           'projected_variable', CAST(f.projected_variable AS VARCHAR),
           'projected_low', CAST(f.projected_low AS VARCHAR), 'projected_high', CAST(f.projected_high AS VARCHAR),
           'band_method', f.band_method,
           'projection_days_used', f.projection_days_used,
           'threshold', CAST(f.threshold AS VARCHAR), 'threshold_currency', f.threshold_currency,
           'crossed_on', CAST(f.crossed_on AS VARCHAR),
           'projected_cross_date', CAST(f.projected_cross_date AS VARCHAR),
           'band_cross_date', CAST(f.band_cross_date AS VARCHAR),
           'is_unallocated', f.is_unallocated,
           'serverless_gpu', CAST(s.serverless_gpu AS VARCHAR), 'hosted_api', CAST(s.hosted_api AS VARCHAR),
           'total_spend', CAST(s.total_spend AS VARCHAR), 'days_with_data', s.days_with_data,
           'days_in_month', s.days_in_month, 'last_data_date', CAST(s.last_data_date AS VARCHAR),
           'drivers', d.drivers, 'recommendations', r.recommendations, 'fx_stale', x.fx_stale) AS details
FROM {{ ref('threshold_flags') }} f
LEFT JOIN {{ ref('team_monthly_spend') }} s ON s.month = f.month AND s.team = f.team
LEFT JOIN drivers d ON d.month = f.month AND d.team = f.team
LEFT JOIN fx x ON x.month = f.month AND x.team = f.team
LEFT JOIN rec r ON r.month = f.month AND r.team = f.team
WHERE f.status IN ('over', 'projected_over', 'at_risk')

-- materialized: view
-- Alert conditions for spend thresholds: one row per team and month over its threshold (threshold_crossed) or projected to cross it (threshold_projected), with the figures, and the top three provider + model lines of the month's variable spend with their amount and share of it (what drove the spend).
WITH lines AS (   -- the month's variable spend per provider and model (or GPU class): what drove it
    SELECT CAST(date_trunc('month', charge_date) AS DATE) AS month, team, provider,
           coalesce(model, gpu_class, product_kind) AS line, sum(amount_reporting) AS amount
    FROM {{ ref('stg_line_items_fx') }}
    WHERE product_kind IN ('serverless_gpu', 'hosted_api')
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
)
SELECT CASE f.status WHEN 'over' THEN 'threshold_crossed' ELSE 'threshold_projected' END AS kind,
       f.team AS team, strftime(f.month, '%Y-%m') AS period,
       CAST(f.threshold AS VARCHAR) || ' ' || f.threshold_currency AS subject,
       json_object(
           'month', strftime(f.month, '%Y-%m'), 'team', f.team, 'currency', f.currency,
           'variable_spend', CAST(f.variable_spend AS VARCHAR),
           'projected_variable', CAST(f.projected_variable AS VARCHAR),
           'projected_low', CAST(f.projected_low AS VARCHAR), 'projected_high', CAST(f.projected_high AS VARCHAR),
           'band_method', f.band_method,
           'projection_days_used', f.projection_days_used,
           'threshold', CAST(f.threshold AS VARCHAR), 'threshold_currency', f.threshold_currency,
           'crossed_on', CAST(f.crossed_on AS VARCHAR),
           'projected_cross_date', CAST(f.projected_cross_date AS VARCHAR),
           'is_unallocated', f.is_unallocated,
           'serverless_gpu', CAST(s.serverless_gpu AS VARCHAR), 'hosted_api', CAST(s.hosted_api AS VARCHAR),
           'total_spend', CAST(s.total_spend AS VARCHAR), 'days_with_data', s.days_with_data,
           'days_in_month', s.days_in_month, 'last_data_date', CAST(s.last_data_date AS VARCHAR),
           'drivers', d.drivers) AS details
FROM {{ ref('threshold_flags') }} f
LEFT JOIN {{ ref('team_monthly_spend') }} s ON s.month = f.month AND s.team = f.team
LEFT JOIN drivers d ON d.month = f.month AND d.team = f.team
WHERE f.status IN ('over', 'projected_over')

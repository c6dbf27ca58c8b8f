-- materialized: view
-- Alert conditions for GPU load that would cost less another way: one row per team, month and GPU class whose recommendation (model recommendations: the one figure the review, Slack and `spendwatch breakeven --team` give) is to use spare capacity on a server the organisation already pays for, the hybrid plan, or renting dedicated GPUs, with a saving above zero. details.recommendation is that row with every value as text (money as decimal strings beside its currency), the plain break-even being context; fx_stale names each currency pair whose ECB rate was stale (stg_line_items_fx.fx_stale) for the class's serverless lines in the decision window, with the oldest rate's date, its age in business days and the last charge date it converted.
WITH r AS (
    SELECT * FROM (SELECT COLUMNS(*)::VARCHAR FROM {{ ref('recommendations') }}) v
    WHERE v.action IN ('use_spare_capacity', 'hybrid', 'rent_dedicated') AND CAST(v.saving AS DECIMAL(18, 2)) > 0
),
fx AS (   -- stale rates behind the window's serverless cost of the class, one entry per currency pair
    SELECT month, team, gpu_class,
           list(json_object('currency_pair', pair, 'rate_date', CAST(rate_date AS VARCHAR), 'age_business_days', age,
                            'last_charge_date', CAST(through AS VARCHAR)) ORDER BY pair) AS fx_stale
    FROM (SELECT r.month, r.team, r.gpu_class, l.currency || '/' || l.reporting_currency AS pair,
                 min(l.fx_rate_date) AS rate_date, max(l.fx_rate_age_business_days) AS age, max(l.charge_date) AS through
          FROM r JOIN {{ ref('stg_line_items_fx') }} l
            ON l.team = r.team AND l.gpu_class = r.gpu_class AND l.product_kind = 'serverless_gpu'
           AND l.charge_date BETWEEN CAST(r.window_start AS DATE) AND CAST(r.window_end AS DATE)
          WHERE l.fx_stale
          GROUP BY ALL)
    GROUP BY ALL
)
SELECT 'dedicated_cheaper' AS kind, r.team AS team, left(r.month, 7) AS period, r.gpu_class AS subject,
       json_object('month', left(r.month, 7), 'team', r.team, 'gpu_class', r.gpu_class, 'currency', r.currency,
                   'recommendation', to_json(r), 'fx_stale', x.fx_stale) AS details
FROM r
LEFT JOIN fx x ON x.month = r.month AND x.team = r.team AND x.gpu_class = r.gpu_class

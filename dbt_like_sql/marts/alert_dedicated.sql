-- materialized: view
-- Alert conditions for dedicated GPUs: one row per team, month and GPU class where a dedicated server would have cost less than the serverless bill (breakeven verdict dedicated_cheaper), with the break-even figures and the hybrid plan.
SELECT 'dedicated_cheaper' AS kind, b.team AS team, strftime(b.month, '%Y-%m') AS period, b.gpu_class AS subject,
       json_object(
           'month', strftime(b.month, '%Y-%m'), 'team', b.team, 'gpu_class', b.gpu_class, 'currency', b.currency,
           'gpu_seconds', CAST(b.gpu_seconds AS VARCHAR), 'seconds_in_month', b.seconds_in_month,
           'utilisation', CAST(b.utilisation AS VARCHAR), 'breakeven_utilisation', CAST(b.breakeven_utilisation AS VARCHAR),
           'breakeven_gpu_hours', CAST(b.breakeven_gpu_hours AS VARCHAR),
           'serverless_cost', CAST(b.serverless_cost AS VARCHAR),
           'serverless_price_per_second', CAST(b.serverless_price_per_second AS VARCHAR),
           'dedicated_provider', b.dedicated_provider, 'dedicated_source_id', b.dedicated_source_id,
           'dedicated_sku', b.dedicated_sku, 'dedicated_tier', b.dedicated_tier,
           'dedicated_price', CAST(b.dedicated_price AS VARCHAR), 'dedicated_price_currency', b.dedicated_price_currency,
           'dedicated_price_unit', b.dedicated_price_unit, 'dedicated_monthly', CAST(b.dedicated_monthly AS VARCHAR),
           'gpus_needed', b.gpus_needed, 'dedicated_cost', CAST(b.dedicated_cost AS VARCHAR),
           'monthly_saving', CAST(b.monthly_saving AS VARCHAR),
           'fx_rate', CAST(b.fx_rate AS VARCHAR), 'fx_rate_date', CAST(b.fx_rate_date AS VARCHAR),
           'hybrid', CASE WHEN h.team IS NULL THEN NULL ELSE json_object(
           'best_k', h.best_k, 'currency', h.currency, 'hours_observed', h.hours_observed,
           'peak_demand_gpus', CAST(h.peak_demand_gpus AS VARCHAR), 'cost_at_best', CAST(h.cost_at_best AS VARCHAR),
           'cost_at_zero', CAST(h.cost_at_zero AS VARCHAR), 'saving', CAST(h.saving AS VARCHAR),
           'dedicated_monthly', CAST(h.dedicated_monthly AS VARCHAR)) END) AS details
FROM {{ ref('breakeven') }} b
LEFT JOIN {{ ref('hybrid_plan') }} h ON h.month = b.month AND h.team = b.team AND h.gpu_class = b.gpu_class
WHERE b.verdict = 'dedicated_cheaper'

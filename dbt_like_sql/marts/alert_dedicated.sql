-- materialized: view
-- Alert conditions for GPU load that would cost less another way: one row per team, month and GPU class whose recommendation (model recommendations: the one figure the review, Slack and `spendwatch breakeven --team` give) is to use spare capacity on a server the organisation already pays for, the hybrid plan, or renting dedicated GPUs, with a saving above zero. details.recommendation is that row with every value as text (money as decimal strings beside its currency), the plain break-even being context; fx_stale names each currency pair whose ECB rate was stale behind the recommendation's figures (recommendations.fx_stale_rates: the class's serverless lines in the decision window, and the dedicated offer's price when the action uses it), with the oldest rate's date, its age in business days and the last charge date it converted.
WITH r AS (   -- every value as text, but the stale rates, which go to details.fx_stale as they are
    SELECT * FROM (SELECT COLUMNS(lambda c: c <> 'fx_stale_rates')::VARCHAR FROM {{ ref('recommendations') }}) v
    WHERE v.action IN ('use_spare_capacity', 'hybrid', 'rent_dedicated') AND CAST(v.saving AS DECIMAL(18, 2)) > 0
),
fx AS (   -- the stale rates behind the recommendation's figures: the serverless cost's, and the dedicated offer's when its action uses it
    SELECT CAST(month AS VARCHAR) AS month, team, gpu_class, fx_stale_rates FROM {{ ref('recommendations') }}
)
SELECT 'dedicated_cheaper' AS kind, r.team AS team, left(r.month, 7) AS period, r.gpu_class AS subject,
       json_object('month', left(r.month, 7), 'team', r.team, 'gpu_class', r.gpu_class, 'currency', r.currency,
                   'recommendation', to_json(r), 'fx_stale', to_json(x.fx_stale_rates)) AS details
FROM r
LEFT JOIN fx x ON x.month = r.month AND x.team = r.team AND x.gpu_class = r.gpu_class

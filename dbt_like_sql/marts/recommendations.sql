-- One recommendation per month, team and GPU class used on serverless, over breakeven's decision window: the one figure the review, Slack and `spendwatch breakeven` show. In order: (1) use_spare_capacity when the load fits on a server the organisation already pays for (int_spare_capacity; saving = the serverless cost of the window, at no extra rent); (2) when demand peaks above one GPU and hourly demand is known, the hybrid plan's k and its saving (hybrid, or stay_serverless when k = 0); (3) otherwise the break-even verdict: rent_dedicated (dedicated_units whole units), near, stay_serverless or no_dedicated_offer. breakeven_text reads 'never cheaper' when u* >= 100 %. The plain break-even is context. fx_stale (from breakeven) marks figures resting on a stale ECB rate.
WITH spare AS (
    SELECT b.month, b.team, b.gpu_class,
           arg_max(s.server_id, (s.spare_gpu_hours, s.server_id))       AS spare_server_id,
           arg_max(s.utilisation, (s.spare_gpu_hours, s.server_id))     AS spare_server_utilisation,
           arg_max(s.spare_gpu_hours, (s.spare_gpu_hours, s.server_id)) AS spare_gpu_hours
    FROM {{ ref('breakeven') }} b
    JOIN {{ ref('int_spare_capacity') }} s
      ON s.gpu_class = b.gpu_class AND s.window_start = b.window_start AND s.window_end = b.window_end
    WHERE s.spare_gpu_hours >= b.gpu_seconds / 3600
    GROUP BY ALL
),
j AS (
    SELECT b.*, s.spare_server_id, s.spare_server_utilisation, s.spare_gpu_hours,
           h.best_k, h.saving AS hybrid_saving, h.cost_at_best AS hybrid_cost
    FROM {{ ref('breakeven') }} b
    LEFT JOIN spare s USING (month, team, gpu_class)
    LEFT JOIN {{ ref('hybrid_plan') }} h USING (month, team, gpu_class)
),
r AS (
    SELECT *,
        CASE
            WHEN spare_server_id IS NOT NULL THEN 'use_spare_capacity'
            WHEN peak_demand_gpus > 1 AND best_k IS NOT NULL THEN CASE WHEN best_k > 0 THEN 'hybrid' ELSE 'stay_serverless' END
            WHEN verdict = 'dedicated_cheaper' THEN 'rent_dedicated'
            WHEN verdict = 'near' THEN 'near'
            WHEN verdict = 'no_dedicated_offer' THEN 'no_dedicated_offer'
            ELSE 'stay_serverless'
        END AS action
    FROM j
)
SELECT
    month, team, gpu_class, window_kind, window_start, window_end, currency, action,
    CASE action WHEN 'use_spare_capacity' THEN 0 WHEN 'hybrid' THEN best_k WHEN 'rent_dedicated' THEN dedicated_units
                WHEN 'stay_serverless' THEN 0 END                     AS dedicated_gpus,
    CAST(CASE action WHEN 'use_spare_capacity' THEN serverless_cost WHEN 'hybrid' THEN hybrid_saving
                     WHEN 'rent_dedicated' THEN monthly_saving ELSE 0 END AS DECIMAL(18, 2)) AS saving,
    spare_server_id, spare_server_utilisation, spare_gpu_hours,
    CAST(gpu_seconds / 3600 AS DECIMAL(18, 2)) AS gpu_hours, peak_demand_gpus,
    serverless_cost, fx_stale, dedicated_provider, dedicated_sku, dedicated_tier, dedicated_monthly, dedicated_units,
    breakeven_utilisation,
    CASE WHEN breakeven_utilisation IS NULL THEN NULL
         WHEN breakeven_utilisation >= 1 THEN 'never cheaper'
         ELSE CAST(round(breakeven_utilisation * 100, 1) AS VARCHAR) || ' %' END AS breakeven_text,
    verdict AS breakeven_verdict, monthly_saving AS breakeven_saving,
    committed_offer, committed_term_months, committed_upfront_amount, committed_currency, committed_monthly
FROM r

-- materialized: view
-- The lines spend anomaly detection reads: every line in the reporting currency (stg_line_items_fx) with its scope (model for hosted APIs, GPU class for GPU lines), whether it is a recurring charge (ChargeFrequency 'Recurring': a server's monthly rent, a subscription, the monthly tax line; judged against its previous occurrence, not the daily series; recurring_scope names its series), its label for the top contributing lines (model or GPU class, endpoint, SKU) and its GPU-seconds (estimated from cost where the export gives none, as stg_serverless_usage does).
WITH lines AS (   -- serverless GPU lines from stg_serverless_usage (GPU-seconds estimated where missing), the rest as they are
    SELECT * EXCLUDE (gpu_seconds_estimated) FROM {{ ref('stg_serverless_usage') }}
    UNION ALL BY NAME
    SELECT * FROM {{ ref('stg_line_items_fx') }}
    WHERE product_kind IS DISTINCT FROM 'serverless_gpu' OR gpu_class IS NULL
)
SELECT
    l.line_id, l.charge_date, l.charge_month, l.team, l.provider, l.product_kind, l.charge_category, l.currency, l.billed_cost,
    l.list_unit_price, l.pricing_quantity, l.sku_id, l.charge_description, l.resource_id, l.endpoint_id,
    l.model, l.gpu_class, l.input_tokens, l.cached_input_tokens, l.cache_write_tokens, l.output_tokens,
    l.gpu_seconds,
    l.reporting_currency, l.fx_rate, l.fx_rate_date, l.amount_reporting,
    CASE WHEN l.model IS NOT NULL THEN 'model' WHEN l.gpu_class IS NOT NULL THEN 'gpu' END AS scope_kind,
    coalesce(l.model, l.gpu_class)                           AS scope_value,
    coalesce(l.charge_frequency = 'Recurring', false)        AS recurring,
    CASE WHEN l.charge_frequency = 'Recurring'
         THEN 'recurring:' || coalesce(l.resource_id, l.sku_id, l.charge_category, 'charge') END AS recurring_scope,
    concat_ws(' · ', coalesce(l.model, l.gpu_class), l.endpoint_id,
              CASE WHEN l.model IS NULL AND l.gpu_class IS NULL THEN coalesce(l.charge_description, l.sku_id)
                   WHEN l.sku_id IS DISTINCT FROM coalesce(l.model, l.gpu_class) THEN l.sku_id END) AS line_label
FROM lines l

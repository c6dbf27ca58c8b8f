-- incremental: charge_month
-- incremental_input: raw.billing_line_items ChargePeriodStart
-- incremental_rows: line_id x_line_id
-- Billed line items, one row per line, with the charge day and month (UTC) and their team: the one the winning [[attribution]] rule names (stg_line_attribution, from the current rules), 'unallocated' when no rule matches; a tax line no rule attributes belongs to the organisation as a whole, team '(organisation)', never to 'unallocated'. The product kind is the loader's, except: tax lines (ChargeCategory Tax) are kind 'tax', and lines for a cloud GPU or accelerator instance (the instance type read from the charge description or SKU, stg_accelerator_types) are kind 'dedicated_gpu' with that accelerator's class and count (g5.xlarge -> A10G-24GB x 1, p4d.24xlarge -> A100-40GB x 8, inf2.xlarge -> INFERENTIA2-32GB x 1); instance_type names it. Amounts stay in the billing currency. A table, not a view: the models downstream read it many times, and the attribution join and the instance-type parse are then done once per build.
SELECT
    x_line_id                                   AS line_id,
    CAST(ChargePeriodStart AS DATE)             AS charge_date,
    CAST(date_trunc('month', ChargePeriodStart) AS DATE) AS charge_month,
    ChargePeriodStart                           AS period_start,
    ChargePeriodEnd                             AS period_end,
    coalesce(a.team, CASE WHEN b.ChargeCategory = 'Tax' THEN '(organisation)' ELSE 'unallocated' END) AS team,
    a.attribution_rule                          AS attribution_rule,
    x_provider                                  AS provider,
    CASE WHEN b.ChargeCategory = 'Tax' THEN 'tax'
         WHEN acc.gpu_class IS NOT NULL THEN 'dedicated_gpu'
         ELSE x_product_kind END                AS product_kind,
    it.instance_type                            AS instance_type,
    ChargeCategory                              AS charge_category,
    ChargeClass                                 AS charge_class,
    ChargeFrequency                             AS charge_frequency,
    ChargeDescription                           AS charge_description,
    BillingCurrency                             AS currency,
    BilledCost                                  AS billed_cost,
    ListCost                                    AS list_cost,
    ListUnitPrice                               AS list_unit_price,
    PricingQuantity                             AS pricing_quantity,
    PricingUnit                                 AS pricing_unit,
    ConsumedQuantity                            AS consumed_quantity,
    ConsumedUnit                                AS consumed_unit,
    InvoiceId                                   AS invoice_id,
    ResourceId                                  AS resource_id,
    SkuId                                       AS sku_id,
    SkuPriceId                                  AS sku_price_id,
    coalesce(x_gpu_class, acc.gpu_class)        AS gpu_class,
    coalesce(x_gpu_count, CASE WHEN acc.gpu_class IS NOT NULL THEN coalesce(sz.accelerators, 1) END) AS gpu_count,
    coalesce(x_gpu_seconds, 0)                  AS gpu_seconds,
    x_model                                     AS model,
    x_project_id                                AS project_id,
    x_workspace_id                              AS workspace_id,
    x_api_key_id                                AS api_key_id,
    x_endpoint_id                               AS endpoint_id,
    SubAccountId                                AS sub_account_id,
    b.Tags                                      AS tags,
    coalesce(x_input_tokens, 0)                 AS input_tokens,
    coalesce(x_cached_input_tokens, 0)          AS cached_input_tokens,
    coalesce(x_cache_write_tokens, 0)           AS cache_write_tokens,
    coalesce(x_output_tokens, 0)                AS output_tokens,
    x_natural_key                               AS natural_key,
    x_source_format                             AS source_format,
    x_source_file                               AS source_file,
    x_source_row                                AS source_row
FROM {{ source('raw', 'billing_line_items') }} b
CROSS JOIN LATERAL (   -- a cloud instance type (family.size) named by the line: AWS writes it in the description and SKU
    SELECT nullif(regexp_extract(lower(coalesce(b.ChargeDescription, '') || ' ' || coalesce(b.SkuPriceId, '') || ' ' || coalesce(b.ResourceType, '')),
                                 '\b([a-z][a-z0-9]*(?:-[a-z0-9]+)?\.(?:[0-9]*x?large|metal))\b', 1), '') AS instance_type
) it
LEFT JOIN (SELECT DISTINCT family, gpu_class FROM {{ ref('stg_accelerator_types') }}) acc
    ON b.x_product_kind = 'other' AND acc.family = split_part(it.instance_type, '.', 1)
LEFT JOIN (SELECT DISTINCT instance_type, accelerators FROM {{ ref('stg_accelerator_types') }} WHERE instance_type IS NOT NULL) sz
    ON sz.instance_type = it.instance_type
LEFT JOIN {{ ref('stg_line_attribution') }} a   -- the line's combination of keys (NULL matching NULL) in its month
    ON a.charge_month = CAST(date_trunc('month', b.ChargePeriodStart) AS DATE) AND a.provider = b.x_provider AND a.sub_account_id IS NOT DISTINCT FROM b.SubAccountId
   AND a.billing_account_id IS NOT DISTINCT FROM b.BillingAccountId AND a.project_id IS NOT DISTINCT FROM b.x_project_id
   AND a.workspace_id IS NOT DISTINCT FROM b.x_workspace_id AND a.api_key_id IS NOT DISTINCT FROM b.x_api_key_id
   AND a.endpoint_id IS NOT DISTINCT FROM b.x_endpoint_id AND a.resource_id IS NOT DISTINCT FROM b.ResourceId
   AND a.tags IS NOT DISTINCT FROM b.Tags

-- materialized: view
-- Every dedicated GPU offer as a price in force over a period, per GPU: the tracked providers' offers (stg_gpu_prices) and the organisation's own [[dedicated_servers]] at their contract price (tier 'contract', from their `since` month, min_units their GPU count). Each carries what it commits you to: term_months (0 for none), billing (hourly, monthly, upfront with upfront_amount), min_units (the smallest rentable unit in GPUs) and committed (a term of any length). offer_key names one offer across its price changes.
WITH tracked AS (
    SELECT source_id, provider, sku, tier, region, component, unit, gpu_class, gpu_count, amount, amount_per_gpu, currency,
           valid_from, valid_to, coalesce(term_months, 0) AS term_months, coalesce(billing, CASE unit WHEN 'hour' THEN 'hourly' ELSE 'monthly' END) AS billing,
           upfront_amount, coalesce(min_units, 1) AS min_units, false AS is_org_server
    FROM {{ ref('stg_gpu_prices') }}
    WHERE product_kind = 'dedicated_gpu' AND unit IN ('month', 'hour')
),
org AS (
    SELECT 'dedicated_servers' AS source_id, provider, server_id AS sku, 'contract' AS tier, NULL AS region,
           'instance' AS component, 'month' AS unit, gpu_class, gpu_count, monthly_price AS amount,
           CAST(monthly_price / gpu_count AS DECIMAL(24, 12)) AS amount_per_gpu, currency,
           coalesce(CAST(strptime(since_month || '-01', '%Y-%m-%d') AS TIMESTAMP), TIMESTAMP '1970-01-01') AS valid_from,
           CAST(NULL AS TIMESTAMP) AS valid_to, 0 AS term_months, 'monthly' AS billing,
           CAST(NULL AS DECIMAL(18, 6)) AS upfront_amount, gpu_count AS min_units, true AS is_org_server
    FROM {{ source('config', 'dedicated_servers') }}
),
u AS (
    SELECT * FROM tracked
    UNION ALL BY NAME
    SELECT * FROM org
)
SELECT
    concat_ws('|', source_id, provider, sku, coalesce(tier, ''), coalesce(region, ''), component, unit) AS offer_key,
    *,
    CAST(term_months AS DECIMAL(6, 2)) > 0 AS committed
FROM u
WHERE amount_per_gpu > 0

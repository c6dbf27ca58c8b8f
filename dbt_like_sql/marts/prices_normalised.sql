-- Every price in force, normalised to per hour (and per GPU-hour: a 'gpu' price is for one GPU, an 'instance' price for the machine's gpu_count GPUs) (second x 3600; month / 730.5 hours, the average month) and per 1M tokens, in its own currency and in the reporting currency at the latest ECB rate, with that rate's date; dedicated offers carry what they commit you to (term_months, billing, upfront_amount, min_units).
WITH p AS (
    SELECT c.*, s.is_catalog
    FROM {{ ref('prices_current') }} c
    LEFT JOIN {{ source('raw', 'price_sources') }} s USING (source_id)
),
settings AS (SELECT reporting_currency FROM {{ source('config', 'settings') }}),
latest_fx AS (
    SELECT currency, arg_max(rate_to_reporting, rate_date) AS rate_to_reporting, max(rate_date) AS rate_date
    FROM {{ ref('stg_fx_rates') }}
    GROUP BY currency
),
n AS (
    SELECT
        p.*,
        CASE p.unit
            WHEN 'second' THEN CAST(p.amount * 3600 AS DECIMAL(24, 12))
            WHEN 'hour' THEN p.amount
            WHEN 'month' THEN CAST(p.amount / 730.5 AS DECIMAL(24, 12))
        END AS amount_per_hour,
        CASE p.unit
            WHEN 'token' THEN CAST(p.amount * 1000000 AS DECIMAL(24, 12))
            WHEN '1M_tokens' THEN p.amount
        END AS amount_per_1m_tokens
    FROM p
)
SELECT
    n.source_id, n.provider, n.product_kind, coalesce(n.is_catalog, false) AS is_catalog,
    n.sku, n.component, n.unit, n.region, n.tier, n.gpu_model, n.gpu_count, n.note,
    n.amount, n.currency,
    n.amount_per_hour, n.amount_per_1m_tokens,
    s.reporting_currency,
    CASE WHEN n.currency = s.reporting_currency THEN CAST(1 AS DECIMAL(18, 10)) ELSE fx.rate_to_reporting END AS fx_rate,
    CASE WHEN n.currency = s.reporting_currency THEN NULL ELSE fx.rate_date END AS fx_rate_date,
    CAST(round(n.amount_per_hour * CASE WHEN n.currency = s.reporting_currency THEN 1 ELSE fx.rate_to_reporting END, 10) AS DECIMAL(24, 10)) AS per_hour_reporting,
    CASE WHEN n.component = 'gpu' THEN CAST(round(n.amount_per_hour * CASE WHEN n.currency = s.reporting_currency THEN 1 ELSE fx.rate_to_reporting END, 10) AS DECIMAL(24, 10))
         WHEN n.component = 'instance' AND n.gpu_count > 0 THEN CAST(round(n.amount_per_hour * CASE WHEN n.currency = s.reporting_currency THEN 1 ELSE fx.rate_to_reporting END / n.gpu_count, 10) AS DECIMAL(24, 10))
    END AS per_gpu_hour_reporting,
    CAST(round(n.amount_per_1m_tokens * CASE WHEN n.currency = s.reporting_currency THEN 1 ELSE fx.rate_to_reporting END, 10) AS DECIMAL(24, 10)) AS per_1m_tokens_reporting,
    n.valid_from, n.fetched_at, n.source_url,
    coalesce(n.term_months, 0) AS term_months, n.billing, n.upfront_amount,
    coalesce(n.min_units, coalesce(nullif(n.gpu_count, 0), 1)) AS min_units
FROM n
CROSS JOIN settings s
LEFT JOIN latest_fx fx ON fx.currency = n.currency

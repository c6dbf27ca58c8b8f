-- Spend per day, team, provider and product kind: the native amount and currency, the FX rate to the reporting currency with the date of that rate (the latest ECB date on or before the charge day), the converted amount, and the GPU-seconds and tokens behind it.
WITH lines AS (
    SELECT
        charge_date, team, provider, product_kind, currency,
        sum(billed_cost)          AS amount_native,
        sum(gpu_seconds)          AS gpu_seconds,
        sum(input_tokens)         AS input_tokens,
        sum(cached_input_tokens)  AS cached_input_tokens,
        sum(cache_write_tokens)   AS cache_write_tokens,
        sum(output_tokens)        AS output_tokens,
        count(*)                  AS line_count
    FROM {{ ref('stg_line_items') }}
    GROUP BY ALL
)
SELECT
    l.charge_date,
    CAST(date_trunc('month', l.charge_date) AS DATE)        AS charge_month,
    l.team,
    l.provider,
    l.product_kind,
    l.currency                                             AS native_currency,
    CAST(l.amount_native AS DECIMAL(18, 6))                AS amount_native,
    s.reporting_currency,
    CASE WHEN l.currency = s.reporting_currency THEN CAST(1 AS DECIMAL(18, 10)) ELSE fx.rate_to_reporting END AS fx_rate,
    CASE WHEN l.currency = s.reporting_currency THEN l.charge_date ELSE fx.rate_date END                   AS fx_rate_date,
    CAST(round(l.amount_native * CASE WHEN l.currency = s.reporting_currency THEN 1 ELSE fx.rate_to_reporting END, 6) AS DECIMAL(18, 6)) AS amount_reporting,
    l.gpu_seconds,
    l.input_tokens,
    l.cached_input_tokens,
    l.cache_write_tokens,
    l.output_tokens,
    l.line_count
FROM lines l
CROSS JOIN {{ source('config', 'settings') }} s
ASOF LEFT JOIN {{ ref('stg_fx_rates') }} fx
    ON fx.currency = l.currency AND fx.rate_date <= l.charge_date

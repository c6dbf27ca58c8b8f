-- incremental: charge_month
-- incremental_input: stg_line_items_fx
-- Spend per day, team, provider and product kind: the native amount and currency, the FX rate to the reporting currency with the date of that rate (the latest ECB date on or before the charge day), its age in business days and fx_stale when it is older than [decisions] fx_stale_business_days, the converted amount, GPU-seconds in total and by GPU class, and tokens by kind.
WITH fine AS (   -- one pass over the lines, per GPU class too; rolled up below
    SELECT
        charge_date, team, provider, product_kind, currency, gpu_class,
        any_value(reporting_currency)  AS reporting_currency,
        any_value(fx_rate)             AS fx_rate,
        any_value(fx_rate_date)        AS fx_rate_date,
        max(fx_rate_age_business_days) AS fx_rate_age_business_days,
        bool_or(fx_stale)              AS fx_stale,
        sum(billed_cost)               AS amount_native,
        sum(amount_reporting)          AS amount_reporting,
        sum(gpu_seconds)               AS gpu_seconds,
        sum(gpu_seconds) FILTER (WHERE gpu_seconds > 0) AS class_seconds,
        sum(input_tokens)              AS input_tokens,
        sum(cached_input_tokens)       AS cached_input_tokens,
        sum(cache_write_tokens)        AS cache_write_tokens,
        sum(output_tokens)             AS output_tokens,
        count(*)                       AS line_count
    FROM {{ ref('stg_line_items_fx') }}
    GROUP BY ALL
),
class_map AS (
    SELECT charge_date, team, provider, product_kind, currency,
           map_from_entries(list({'key': gpu_class, 'value': class_seconds} ORDER BY gpu_class)) AS gpu_seconds_by_class
    FROM fine
    WHERE gpu_class IS NOT NULL AND class_seconds IS NOT NULL
    GROUP BY ALL
),
lines AS (
    SELECT
        charge_date, team, provider, product_kind, currency,
        any_value(reporting_currency)  AS reporting_currency,
        any_value(fx_rate)             AS fx_rate,
        any_value(fx_rate_date)        AS fx_rate_date,
        max(fx_rate_age_business_days) AS fx_rate_age_business_days,
        bool_or(fx_stale)              AS fx_stale,
        sum(amount_native)             AS amount_native,
        sum(amount_reporting)          AS amount_reporting,
        sum(gpu_seconds)               AS gpu_seconds,
        sum(input_tokens)              AS input_tokens,
        sum(cached_input_tokens)       AS cached_input_tokens,
        sum(cache_write_tokens)        AS cache_write_tokens,
        sum(output_tokens)             AS output_tokens,
        CAST(sum(line_count) AS BIGINT) AS line_count
    FROM fine
    GROUP BY ALL
)
SELECT
    l.charge_date,
    CAST(date_trunc('month', l.charge_date) AS DATE) AS charge_month,
    l.team,
    l.provider,
    l.product_kind,
    l.currency                                      AS native_currency,
    CAST(l.amount_native AS DECIMAL(18, 6))         AS amount_native,
    l.reporting_currency,
    l.fx_rate,
    l.fx_rate_date,
    l.fx_rate_age_business_days,
    l.fx_stale,
    CAST(l.amount_reporting AS DECIMAL(18, 6))      AS amount_reporting,
    CAST(l.gpu_seconds AS DECIMAL(20, 3))           AS gpu_seconds,
    coalesce(c.gpu_seconds_by_class, MAP {})        AS gpu_seconds_by_class,
    l.input_tokens,
    l.cached_input_tokens,
    l.cache_write_tokens,
    l.output_tokens,
    l.line_count
FROM lines l
LEFT JOIN class_map c USING (charge_date, team, provider, product_kind, currency)

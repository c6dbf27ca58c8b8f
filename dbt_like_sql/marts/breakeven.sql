-- Per month, team and GPU class used on serverless: the GPU-seconds and the utilisation of one GPU (GPU-seconds / seconds in that calendar month), the serverless cost, the cheapest dedicated offer for the class in force that month, the break-even utilisation u* = D / (s x T) and break-even GPU-hours D / (s x 3600) where s is the team's effective serverless price per GPU-second, the verdict (dedicated_cheaper, serverless_cheaper, or near within 10 %) and the monthly saving if the team moved.
WITH usage AS (
    SELECT
        charge_month AS month, team, gpu_class,
        any_value(reporting_currency) AS currency,
        sum(gpu_seconds)              AS gpu_seconds,
        sum(amount_reporting)         AS serverless_cost,
        bool_or(gpu_seconds_estimated) AS gpu_seconds_estimated
    FROM {{ ref('stg_serverless_usage') }}
    WHERE gpu_seconds > 0
    GROUP BY ALL
),
-- arg_min skips a NULL argument (it would take the tier or rate date of another offer): arg_min_null where it can be NULL.
cheapest AS (
    SELECT month, gpu_class,
           arg_min(provider, monthly_reporting)  AS dedicated_provider,
           arg_min(source_id, monthly_reporting) AS dedicated_source_id,
           arg_min(sku, monthly_reporting)       AS dedicated_sku,
           arg_min_null(tier, monthly_reporting) AS dedicated_tier,
           arg_min(amount, monthly_reporting)    AS dedicated_price,
           arg_min(currency, monthly_reporting)  AS dedicated_price_currency,
           arg_min(unit, monthly_reporting)      AS dedicated_price_unit,
           arg_min_null(fx_rate, monthly_reporting) AS dedicated_fx_rate,
           arg_min_null(fx_rate_date, monthly_reporting) AS dedicated_fx_rate_date,
           min(monthly_reporting)                AS dedicated_monthly
    FROM {{ ref('stg_dedicated_offers') }}
    GROUP BY ALL
),
base AS (
    SELECT
        u.month, u.team, u.gpu_class,
        CAST(u.gpu_seconds AS DECIMAL(20, 3))                                   AS gpu_seconds,
        u.gpu_seconds_estimated,
        CAST(day(last_day(u.month)) AS BIGINT) * 86400                          AS seconds_in_month,
        u.currency,
        CAST(u.serverless_cost AS DECIMAL(18, 2))                               AS serverless_cost,
        CAST(CAST(u.serverless_cost AS DOUBLE) / CAST(u.gpu_seconds AS DOUBLE) AS DECIMAL(24, 12)) AS serverless_price_per_second,
        c.* EXCLUDE (month, gpu_class)
    FROM usage u
    LEFT JOIN cheapest c ON c.month = u.month AND c.gpu_class = u.gpu_class
),
calc AS (
    SELECT
        *,
        CAST(CAST(gpu_seconds AS DOUBLE) / seconds_in_month AS DECIMAL(12, 6)) AS utilisation,
        CASE WHEN dedicated_monthly IS NOT NULL THEN
            CAST(CAST(dedicated_monthly AS DOUBLE) / (CAST(serverless_price_per_second AS DOUBLE) * seconds_in_month) AS DECIMAL(12, 6))
        END AS breakeven_utilisation,
        CASE WHEN dedicated_monthly IS NOT NULL THEN
            CAST(CAST(dedicated_monthly AS DOUBLE) / (CAST(serverless_price_per_second AS DOUBLE) * 3600) AS DECIMAL(18, 2))
        END AS breakeven_gpu_hours,
        CAST(greatest(1, ceil(CAST(gpu_seconds AS DOUBLE) / seconds_in_month)) AS INTEGER) AS gpus_needed
    FROM base
)
SELECT
    month, team, gpu_class, gpu_seconds, gpu_seconds_estimated, seconds_in_month, utilisation,
    currency, serverless_cost, serverless_price_per_second,
    dedicated_provider, dedicated_source_id, dedicated_sku, dedicated_tier, dedicated_price, dedicated_price_currency,
    dedicated_price_unit, dedicated_monthly, dedicated_fx_rate AS fx_rate, dedicated_fx_rate_date AS fx_rate_date,
    breakeven_utilisation, breakeven_gpu_hours, gpus_needed,
    CAST(gpus_needed * dedicated_monthly AS DECIMAL(18, 2)) AS dedicated_cost,
    CASE
        WHEN dedicated_monthly IS NULL THEN 'no_dedicated_offer'
        WHEN abs(serverless_cost - gpus_needed * dedicated_monthly) <= 0.10 * gpus_needed * dedicated_monthly THEN 'near'
        WHEN serverless_cost > gpus_needed * dedicated_monthly THEN 'dedicated_cheaper'
        ELSE 'serverless_cheaper'
    END AS verdict,
    CAST(serverless_cost - gpus_needed * dedicated_monthly AS DECIMAL(18, 2)) AS monthly_saving
FROM calc

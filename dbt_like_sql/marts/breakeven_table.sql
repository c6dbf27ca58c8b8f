-- For every GPU class with both a serverless and a dedicated offer in force now: the cheapest of each (per GPU; serverless at pay-per-use rates, so not RunPod's always-on active workers; in the reporting currency at the latest ECB rate), the break-even utilisation u* = D / (s x T) for the current calendar month, and the break-even hours per day, with the date of the ECB rate used (NULL when no conversion was needed). Dedicated offers are those without commitment rentable one GPU at a time; dedicated_unit says whether the cheapest is priced by the hour (dedicated_per_gpu_hour, so another month is priced with its own days) or by the month. The live version of the comparison spendwatch exists to make.
WITH now_month AS (
    SELECT CAST(date_trunc('month', max(valid_from)) AS DATE) AS month FROM {{ ref('prices_current') }}
),
p AS (
    SELECT n.*
    FROM {{ ref('prices_normalised') }} n
    WHERE NOT n.is_catalog AND n.gpu_model IS NOT NULL AND n.component IN ('gpu', 'instance')
      AND coalesce(n.tier, '') NOT LIKE 'spot%' AND n.per_gpu_hour_reporting > 0
),
serverless AS (   -- one arg_min of a struct: every field is the cheapest offer's own (a NULL tier or rate date included);
                  -- equal prices go to the first provider, SKU and tier by name, so every build picks the same one
    SELECT gpu_model AS gpu_class,
           arg_min({'provider': provider, 'sku': sku, 'tier': tier, 'fx_rate_date': fx_rate_date},
                   (per_gpu_hour_reporting, provider, sku, coalesce(tier, ''))) AS o,
           min(per_gpu_hour_reporting) / 3600 AS s_per_second
    FROM p WHERE product_kind = 'serverless_gpu' AND unit IN ('second', 'hour')
      AND coalesce(tier, '') <> 'active'  -- always-on workers are billed around the clock: not a pay-per-use rate
    GROUP BY ALL
),
dedicated_offers AS (   -- each offer's cost of one GPU for the month: a monthly price as it is, an hourly one x the month's own hours
    SELECT p.*, m.month,
           CASE WHEN p.unit = 'month'
                THEN p.amount * p.fx_rate / CASE WHEN p.component = 'instance' THEN coalesce(nullif(p.gpu_count, 0), 1) ELSE 1 END
                ELSE p.per_gpu_hour_reporting * 24 * day(last_day(m.month)) END AS monthly
    FROM p CROSS JOIN now_month m
    WHERE p.product_kind = 'dedicated_gpu' AND p.unit IN ('hour', 'month')
      AND p.term_months = 0 AND p.min_units = 1   -- no commitment, rentable one GPU at a time
),
dedicated AS (
    SELECT gpu_model AS gpu_class, month,
           CAST(day(last_day(month)) AS BIGINT) * 86400 AS seconds_in_month,
           min(monthly) AS d_monthly,
           arg_min({'provider': provider, 'offer': sku || coalesce(' (' || tier || ')', ''), 'fx_rate_date': fx_rate_date,
                    'unit': unit, 'per_gpu_hour': per_gpu_hour_reporting},
                   (monthly, provider, sku, coalesce(tier, ''))) AS o   -- ties by name, as above
    FROM dedicated_offers
    GROUP BY ALL
)
SELECT
    d.month,
    d.gpu_class,
    (SELECT reporting_currency FROM {{ source('config', 'settings') }}) AS currency,
    s.o.provider AS serverless_provider, s.o.sku AS serverless_sku, s.o.tier AS serverless_tier,
    CAST(s.s_per_second AS DECIMAL(24, 12))                         AS serverless_per_second,
    CAST(s.s_per_second * 3600 AS DECIMAL(18, 4))                   AS serverless_per_hour,
    d.o.provider AS dedicated_provider, d.o.offer AS dedicated_offer,
    CAST(d.d_monthly AS DECIMAL(18, 2))                             AS dedicated_monthly,
    d.o.unit AS dedicated_unit,
    CAST(d.o.per_gpu_hour AS DECIMAL(24, 10))                       AS dedicated_per_gpu_hour,
    d.seconds_in_month,
    CAST(d.d_monthly / (s.s_per_second * d.seconds_in_month) AS DECIMAL(12, 6))  AS breakeven_utilisation,
    CAST(d.d_monthly / (s.s_per_second * 3600) AS DECIMAL(18, 2))                AS breakeven_gpu_hours_per_month,
    CAST(24 * d.d_monthly / (s.s_per_second * d.seconds_in_month) AS DECIMAL(12, 2)) AS breakeven_hours_per_day,
    greatest(s.o.fx_rate_date, d.o.fx_rate_date)                                 AS fx_rate_date
FROM dedicated d JOIN serverless s USING (gpu_class)
ORDER BY breakeven_utilisation

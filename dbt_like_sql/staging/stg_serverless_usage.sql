-- materialized: view
-- Serverless GPU lines with their GPU class and GPU-seconds. Where an export gives cost but no GPU time (Modal's billing report), GPU-seconds are estimated as cost / what one GPU-second of a container costs at the provider's prices in force at the charge time: the GPU's price plus, where the provider prices CPU cores and memory per second (Modal), the cores and GiB a GPU container reserves ([decisions] serverless_cpu_cores_per_gpu, serverless_memory_gib_per_gpu) at their prices, so the CPU and memory part of the cost is not counted as GPU time; flagged as estimated.
WITH lines AS NOT MATERIALIZED (   -- inlined where it is read, so a filter on the view (a month) reaches the lines
    SELECT * FROM {{ ref('stg_line_items_fx') }}
    WHERE product_kind = 'serverless_gpu' AND gpu_class IS NOT NULL
),
per_second AS (
    SELECT provider, gpu_class, currency, valid_from, valid_to,
           CASE unit WHEN 'second' THEN amount_per_gpu WHEN 'hour' THEN CAST(amount_per_gpu / 3600 AS DECIMAL(24, 12)) END AS price_per_second
    FROM {{ ref('stg_gpu_prices') }}
    WHERE product_kind = 'serverless_gpu' AND unit IN ('second', 'hour')
      AND coalesce(tier, '') <> 'active'  -- always-on workers, billed around the clock: not a pay-per-use rate
),
components AS (   -- CPU core and memory GiB prices per second (Modal bills them beside the GPU)
    SELECT provider, component, currency, valid_from, valid_to, amount AS price_per_second
    FROM {{ source('raw', 'price_history') }}
    WHERE product_kind = 'serverless_gpu' AND component IN ('cpu', 'memory') AND unit = 'second'
),
settings AS (
    SELECT coalesce(any_value(serverless_cpu_cores_per_gpu), 0) AS cores, coalesce(any_value(serverless_memory_gib_per_gpu), 0) AS gib
    FROM {{ source('config', 'decision_settings') }}
),
estimates AS (   -- priced once per provider, GPU class, currency and charge time (far fewer than lines), then joined back
    SELECT k.provider, k.gpu_class, k.currency, k.period_start,
           min(p.price_per_second)
           + coalesce(any_value(st.cores * c.price_per_second) FILTER (WHERE c.component = 'cpu'), 0)
           + coalesce(any_value(st.gib * c.price_per_second) FILTER (WHERE c.component = 'memory'), 0) AS price_per_second
    FROM (SELECT DISTINCT provider, gpu_class, currency, period_start FROM lines WHERE gpu_seconds = 0 AND billed_cost > 0) k
    JOIN per_second p
      ON p.provider = k.provider AND p.gpu_class = k.gpu_class AND p.currency = k.currency
     AND p.valid_from <= k.period_start AND (p.valid_to IS NULL OR p.valid_to > k.period_start)
    CROSS JOIN settings st
    LEFT JOIN components c
      ON c.provider = k.provider AND c.currency = k.currency
     AND c.valid_from <= k.period_start AND (c.valid_to IS NULL OR c.valid_to > k.period_start)
    GROUP BY ALL
)
SELECT   -- joined on the keys only (estimates has one row per key); which lines take the estimate is decided in the select, since an ON clause with conditions on the lines alone made DuckDB 1.5 fall back to a nested-loop join over every line
    l.*  EXCLUDE (gpu_seconds),
    CASE WHEN l.gpu_seconds > 0 THEN l.gpu_seconds
         WHEN l.gpu_seconds = 0 AND l.billed_cost > 0 AND e.price_per_second > 0
              THEN CAST(CAST(l.billed_cost AS DOUBLE) / CAST(e.price_per_second AS DOUBLE) AS DECIMAL(20, 3))
         ELSE 0 END                                        AS gpu_seconds,
    coalesce(l.gpu_seconds = 0 AND l.billed_cost > 0 AND e.price_per_second > 0, false) AS gpu_seconds_estimated
FROM lines l
LEFT JOIN estimates e
  ON e.provider = l.provider AND e.gpu_class = l.gpu_class AND e.currency = l.currency AND e.period_start = l.period_start

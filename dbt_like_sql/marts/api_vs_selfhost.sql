-- Per month, team and hosted model: the tokens processed, the API cost, and the cost of serving the same tokens on the cheapest dedicated GPU of the model's class, from the throughput assumption in spendwatch.toml (tokens per second per GPU at a utilisation), as cost per 1M tokens both ways. The assumption is shown on every row; the self-host cost counts whole GPUs.
WITH tokens AS (
    SELECT charge_month AS month, team, provider, model,
           sum(input_tokens + cached_input_tokens + cache_write_tokens + output_tokens) AS tokens,
           sum(input_tokens) AS input_tokens, sum(cached_input_tokens) AS cached_input_tokens,
           sum(cache_write_tokens) AS cache_write_tokens, sum(output_tokens) AS output_tokens
    FROM {{ ref('stg_line_items') }}
    WHERE product_kind = 'hosted_api' AND model IS NOT NULL
    GROUP BY ALL
    HAVING sum(input_tokens + cached_input_tokens + cache_write_tokens + output_tokens) > 0
),
cost AS (
    SELECT charge_month AS month, team, provider, model,
           any_value(reporting_currency) AS currency, sum(amount_reporting) AS api_cost
    FROM {{ ref('stg_line_items_fx') }}
    WHERE product_kind = 'hosted_api' AND model IS NOT NULL
    GROUP BY ALL
),
-- the most specific throughput pattern that matches the model (its dateless alias too)
assumption AS (
    SELECT t.month, t.team, t.provider, t.model,
           arg_max(a.model_class, length(a.model_pattern))       AS model_class,
           arg_max(a.gpu_class, length(a.model_pattern))         AS gpu_class,
           arg_max(a.tokens_per_second, length(a.model_pattern)) AS tokens_per_second,
           arg_max(a.utilisation, length(a.model_pattern))       AS assumed_utilisation
    FROM tokens t
    JOIN {{ source('config', 'throughput') }} a
      ON t.model GLOB a.model_pattern
      OR regexp_replace(t.model, '-(\d{4}-\d{2}-\d{2}|\d{8})$', '') GLOB a.model_pattern
    GROUP BY ALL
),
offer AS (
    SELECT month, gpu_class, min(monthly_reporting) AS dedicated_monthly,
           arg_min(provider, monthly_reporting) AS dedicated_provider
    FROM {{ ref('stg_dedicated_offers') }}
    GROUP BY ALL
),
j AS (
    SELECT t.*, c.currency, c.api_cost, a.model_class, a.gpu_class, a.tokens_per_second, a.assumed_utilisation,
           o.dedicated_monthly, o.dedicated_provider,
           CAST(day(last_day(t.month)) AS BIGINT) * 86400 AS seconds_in_month
    FROM tokens t
    LEFT JOIN cost c USING (month, team, provider, model)
    LEFT JOIN assumption a USING (month, team, provider, model)
    LEFT JOIN offer o ON o.month = t.month AND o.gpu_class = a.gpu_class
),
k AS (
    SELECT *,
           CAST(tokens_per_second AS DOUBLE) * CAST(assumed_utilisation AS DOUBLE) * seconds_in_month AS tokens_per_gpu_month
    FROM j
)
SELECT
    month, team, provider, model, currency,
    tokens, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
    CAST(api_cost AS DECIMAL(18, 2)) AS api_cost,
    CAST(CAST(api_cost AS DOUBLE) / tokens * 1e6 AS DECIMAL(18, 4)) AS api_cost_per_1m,
    model_class, gpu_class AS selfhost_gpu_class, tokens_per_second, assumed_utilisation,
    dedicated_provider, dedicated_monthly,
    CAST(CAST(dedicated_monthly AS DOUBLE) / tokens_per_gpu_month * 1e6 AS DECIMAL(18, 4)) AS selfhost_cost_per_1m,
    CAST(ceil(tokens / tokens_per_gpu_month) AS INTEGER) AS selfhost_gpus,
    CAST(ceil(tokens / tokens_per_gpu_month) * dedicated_monthly AS DECIMAL(18, 2)) AS selfhost_monthly_cost,
    CASE
        WHEN dedicated_monthly IS NULL OR tokens_per_gpu_month IS NULL THEN 'no_assumption'
        WHEN ceil(tokens / tokens_per_gpu_month) * dedicated_monthly < api_cost THEN 'selfhost_cheaper'
        ELSE 'api_cheaper'
    END AS verdict
FROM k

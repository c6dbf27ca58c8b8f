-- Per month, team, provider and hosted model, over a decision window (the calendar month when the provider's data reaches its end, else the trailing 30 days ending at the provider's last complete day: window_start, window_end): the tokens processed, the API cost, and what serving the same work would cost on dedicated GPUs. Only open-weight models can be self-hosted ([decisions] open_weight_models, matched as globs): a closed model maps to the open-weight class of [[selfhost_equivalents]] (a documented default when the file has none) and carries its quality caveat, or reads no_selfhost_equivalent. Work tokens = input + output + cache writes + cache reads x [decisions] cache_read_weight (a cache read is mostly not recomputed). The class's [[throughput]] assumption (tokens per second per GPU at a utilisation) is shown on every row; the GPUs are whole units of the cheapest uncommitted offer of the class (stg_dedicated_offers of the window's last month, prorated to the window's days), plus redundancy_servers (N+1 by default) for a production team, plus ops_cost_per_server_month for each. Verdict: selfhost_cheaper, api_cheaper, near (within 10 %), no_selfhost_equivalent or no_assumption.
WITH horizon AS (SELECT provider, last_complete_day FROM {{ ref('stg_data_horizon') }}),
settings AS (
    SELECT coalesce(any_value(cache_read_weight), 0.1) AS cache_read_weight,
           coalesce(any_value(redundancy_servers), 1) AS redundancy_servers,
           coalesce(any_value(ops_cost_per_server_month), 0) AS ops_cost_per_server_month
    FROM {{ source('config', 'decision_settings') }}
),
months AS (
    SELECT DISTINCT l.charge_month AS month, l.team, l.provider, l.model, h.last_complete_day AS data_through
    FROM {{ ref('stg_line_items') }} l JOIN horizon h USING (provider)
    WHERE l.product_kind = 'hosted_api' AND l.model IS NOT NULL AND h.last_complete_day >= l.charge_month
),
w AS (
    SELECT *,
           CAST(CASE WHEN data_through >= last_day(month) THEN month ELSE data_through - 29 END AS DATE) AS window_start,
           CAST(CASE WHEN data_through >= last_day(month) THEN last_day(month) ELSE data_through END AS DATE) AS window_end
    FROM months
),
usage AS (
    SELECT w.month, w.team, w.provider, w.model, w.window_start, w.window_end,
           any_value(l.reporting_currency) AS currency, sum(l.amount_reporting) AS api_cost,
           sum(l.input_tokens) AS input_tokens, sum(l.cached_input_tokens) AS cached_input_tokens,
           sum(l.cache_write_tokens) AS cache_write_tokens, sum(l.output_tokens) AS output_tokens
    FROM w JOIN {{ ref('stg_line_items_fx') }} l
      ON l.team = w.team AND l.provider = w.provider AND l.model = w.model AND l.product_kind = 'hosted_api'
     AND l.charge_date BETWEEN w.window_start AND w.window_end
    GROUP BY ALL
    HAVING sum(l.input_tokens + l.cached_input_tokens + l.cache_write_tokens + l.output_tokens) > 0
),
named AS (   -- the model id and its dateless alias (gpt-4o-2024-08-06 -> gpt-4o)
    SELECT u.*, lower(u.model) AS m, regexp_replace(lower(u.model), '-(\d{4}-\d{2}-\d{2}|\d{8})$', '') AS alias,
           EXISTS (SELECT 1 FROM {{ source('config', 'open_weight_models') }} o
                   WHERE lower(u.model) GLOB lower(o.model_pattern)) AS open_weight
    FROM usage u
),
equivalent AS (
    SELECT n.month, n.team, n.provider, n.model,
           arg_max(e.model_class, length(e.model_pattern)) AS equivalent_class,
           arg_max(e.caveat, length(e.model_pattern))      AS quality_caveat
    FROM named n JOIN {{ source('config', 'selfhost_equivalents') }} e
      ON NOT n.open_weight AND (n.m GLOB lower(e.model_pattern) OR n.alias GLOB lower(e.model_pattern))
    GROUP BY ALL
),
classed AS (
    SELECT n.*, q.equivalent_class, q.quality_caveat,
           CASE WHEN n.open_weight THEN (SELECT arg_max(t.model_class, length(t.model_pattern)) FROM {{ source('config', 'throughput') }} t
                                        WHERE n.m GLOB lower(t.model_pattern) OR n.alias GLOB lower(t.model_pattern))
                ELSE q.equivalent_class END AS model_class
    FROM named n LEFT JOIN equivalent q USING (month, team, provider, model)
),
assumption AS (
    SELECT model_class, any_value(gpu_class) AS gpu_class, any_value(tokens_per_second) AS tokens_per_second,
           any_value(utilisation) AS assumed_utilisation
    FROM {{ source('config', 'throughput') }} GROUP BY ALL
),
offer AS (
    SELECT month, gpu_class,
           arg_min(monthly_reporting, (monthly_reporting * min_units, sku)) AS dedicated_monthly,
           arg_min(provider, (monthly_reporting * min_units, sku))         AS dedicated_provider,
           arg_min(min_units, (monthly_reporting * min_units, sku))        AS min_units
    FROM {{ ref('stg_dedicated_offers') }}
    WHERE NOT committed
    GROUP BY ALL
),
k AS (
    SELECT c.*, a.gpu_class, a.tokens_per_second, a.assumed_utilisation, o.dedicated_provider, o.dedicated_monthly, o.min_units,
           s.cache_read_weight, s.ops_cost_per_server_month,
           CASE WHEN coalesce(td.production, true) THEN s.redundancy_servers ELSE 0 END AS redundancy_servers,
           CAST(c.window_end - c.window_start + 1 AS INTEGER) AS window_days,
           CAST(c.window_end - c.window_start + 1 AS DOUBLE) / day(last_day(c.window_end)) AS month_fraction,
           c.input_tokens + c.output_tokens + c.cache_write_tokens + c.cached_input_tokens * CAST(s.cache_read_weight AS DOUBLE) AS work_tokens,
           CAST(a.tokens_per_second AS DOUBLE) * CAST(a.assumed_utilisation AS DOUBLE)
             * (c.window_end - c.window_start + 1) * 86400 AS tokens_per_gpu_window
    FROM classed c
    CROSS JOIN settings s
    LEFT JOIN {{ source('config', 'team_decisions') }} td ON td.team = c.team
    LEFT JOIN assumption a ON a.model_class = c.model_class
    LEFT JOIN offer o ON o.month = CAST(date_trunc('month', c.window_end) AS DATE) AND o.gpu_class = a.gpu_class
),
g AS (
    SELECT *,
           CAST(ceil(ceil(work_tokens / tokens_per_gpu_window) / min_units) * min_units + redundancy_servers * min_units AS INTEGER) AS selfhost_gpus
    FROM k
),
c2 AS (
    SELECT *,
           selfhost_gpus * (CAST(dedicated_monthly AS DOUBLE) + CAST(ops_cost_per_server_month AS DOUBLE) / min_units) * month_fraction AS selfhost_cost
    FROM g
)
SELECT
    month, team, provider, model, currency, window_start, window_end, window_days,
    CAST(input_tokens + cached_input_tokens + cache_write_tokens + output_tokens AS HUGEINT) AS tokens,
    input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
    cache_read_weight, CAST(work_tokens AS DECIMAL(24, 1)) AS work_tokens,
    CAST(api_cost AS DECIMAL(18, 2)) AS api_cost,
    CAST(CAST(api_cost AS DOUBLE) / (input_tokens + cached_input_tokens + cache_write_tokens + output_tokens) * 1e6 AS DECIMAL(18, 4)) AS api_cost_per_1m,
    open_weight, equivalent_class, CASE WHEN NOT open_weight THEN quality_caveat END AS quality_caveat,
    model_class, gpu_class AS selfhost_gpu_class, tokens_per_second, assumed_utilisation,
    dedicated_provider, dedicated_monthly, redundancy_servers, ops_cost_per_server_month,
    CAST(selfhost_cost / work_tokens * 1e6 AS DECIMAL(18, 4)) AS selfhost_cost_per_1m,
    selfhost_gpus,
    CAST(selfhost_cost AS DECIMAL(18, 2)) AS selfhost_monthly_cost,
    CASE
        WHEN model_class IS NULL AND NOT open_weight THEN 'no_selfhost_equivalent'
        WHEN dedicated_monthly IS NULL OR tokens_per_gpu_window IS NULL THEN 'no_assumption'
        WHEN abs(selfhost_cost - CAST(api_cost AS DOUBLE)) <= 0.10 * CAST(api_cost AS DOUBLE) THEN 'near'
        WHEN selfhost_cost < CAST(api_cost AS DOUBLE) THEN 'selfhost_cheaper'
        ELSE 'api_cheaper'
    END AS verdict
FROM c2

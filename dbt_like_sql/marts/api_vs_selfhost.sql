-- incremental: month
-- incremental_input: stg_line_items_fx charge_month
-- incremental_lookback: 2
-- incremental_watch: int_window_api month, int_window_offers window_end
-- Per month, team, provider and hosted model, over its decision window (int_window_api: the calendar month when the provider's data reaches its end, else the trailing 30 days ending at the provider's last complete day: window_kind, window_start, window_end): the tokens processed, the API cost, and what serving the same work would cost on dedicated GPUs. Only open-weight models can be self-hosted ([decisions] open_weight_models, matched as globs): a closed model maps to the open-weight class of [[selfhost_equivalents]] (a documented default when the file has none) and carries its quality caveat, or reads no_selfhost_equivalent. Work tokens = input + output + cache writes + cache reads x [decisions] cache_read_weight (a cache read is mostly not recomputed). The class's [[throughput]] assumption (tokens per second per GPU at a utilisation) is shown on every row; the GPUs are whole units of the cheapest offer of the class for the whole units needed, among offers without commitment or with a term up to the team's max_commitment_months, priced over the same window (int_window_offers: each day at the monthly price in force that day / the days of its own month), plus redundancy_servers (N+1 by default) for a production team; each server also costs ops_cost_per_server_month, prorated the same way (month_fraction). dedicated_monthly is one GPU of that offer for the window. fx_stale marks an API cost converted (in part) at a stale ECB rate. Verdict: selfhost_cheaper, api_cheaper, near (within 10 %), no_selfhost_equivalent or no_assumption.
WITH settings AS (
    SELECT coalesce(any_value(cache_read_weight), 0.1) AS cache_read_weight,
           coalesce(any_value(redundancy_servers), 1) AS redundancy_servers,
           coalesce(any_value(ops_cost_per_server_month), 0) AS ops_cost_per_server_month,
           coalesce(any_value(max_commitment_months), 0) AS max_commitment_months
    FROM {{ source('config', 'decision_settings') }}
),
w AS (SELECT * FROM {{ ref('int_window_api') }}),
usage AS (
    SELECT w.month, w.team, w.provider, w.model, w.window_kind, w.window_start, w.window_end, w.window_days, w.month_fraction,
           any_value(l.reporting_currency) AS currency, sum(l.amount_reporting) AS api_cost,
           sum(l.input_tokens) AS input_tokens, sum(l.cached_input_tokens) AS cached_input_tokens,
           sum(l.cache_write_tokens) AS cache_write_tokens, sum(l.output_tokens) AS output_tokens,
           bool_or(l.fx_stale) AS fx_stale
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
k AS (
    SELECT c.*, a.gpu_class, a.tokens_per_second, a.assumed_utilisation,
           s.cache_read_weight, s.ops_cost_per_server_month,
           coalesce(td.max_commitment_months, s.max_commitment_months) AS max_commitment_months,
           CASE WHEN coalesce(td.production, true) THEN s.redundancy_servers ELSE 0 END AS redundancy_servers,
           c.input_tokens + c.output_tokens + c.cache_write_tokens + c.cached_input_tokens * CAST(s.cache_read_weight AS DOUBLE) AS work_tokens,
           CAST(a.tokens_per_second AS DOUBLE) * CAST(a.assumed_utilisation AS DOUBLE) * c.window_days * 86400 AS tokens_per_gpu_window
    FROM classed c
    CROSS JOIN settings s
    LEFT JOIN {{ source('config', 'team_decisions') }} td ON td.team = c.team
    LEFT JOIN assumption a ON a.model_class = c.model_class
),
priced AS (   -- every offer of the class over the window, in whole units: the GPUs the work needs, then the spare servers
    SELECT k.month, k.team, k.provider, k.model, o.provider AS offer_provider, o.sku, o.offer_key, o.min_units,
           o.window_cost_per_gpu,
           CAST(ceil(ceil(k.work_tokens / k.tokens_per_gpu_window) / o.min_units) * o.min_units
                + k.redundancy_servers * o.min_units AS INTEGER) AS units
    FROM k
    JOIN {{ ref('int_window_offers') }} o
      ON o.gpu_class = k.gpu_class AND o.window_start = k.window_start AND o.window_end = k.window_end
    WHERE NOT o.committed OR o.term_months <= k.max_commitment_months
),
cheapest AS (
    SELECT p.month, p.team, p.provider, p.model,
           arg_min({'provider': p.offer_provider, 'monthly': p.window_cost_per_gpu, 'min_units': p.min_units, 'units': p.units,
                    'cost': p.units * (CAST(p.window_cost_per_gpu AS DOUBLE) + CAST(k.ops_cost_per_server_month AS DOUBLE) / p.min_units * k.month_fraction)},
                   (p.units * (CAST(p.window_cost_per_gpu AS DOUBLE) + CAST(k.ops_cost_per_server_month AS DOUBLE) / p.min_units * k.month_fraction), p.sku, p.offer_key)) AS o
    FROM priced p JOIN k USING (month, team, provider, model)
    GROUP BY ALL
),
c2 AS (
    SELECT k.*, c.o.provider AS dedicated_provider, c.o.monthly AS dedicated_monthly, c.o.min_units AS min_units,
           c.o.units AS selfhost_gpus, c.o.cost AS selfhost_cost
    FROM k LEFT JOIN cheapest c USING (month, team, provider, model)
)
SELECT
    month, team, provider, model, currency, window_kind, window_start, window_end, window_days,
    CAST(input_tokens + cached_input_tokens + cache_write_tokens + output_tokens AS HUGEINT) AS tokens,
    input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
    cache_read_weight, CAST(work_tokens AS DECIMAL(24, 1)) AS work_tokens,
    CAST(api_cost AS DECIMAL(18, 2)) AS api_cost, fx_stale,
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

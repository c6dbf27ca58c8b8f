-- incremental: charge_month
-- incremental_input: stg_line_items_fx
-- Every billed line checked against what it should have cost: the quantity x the list price in force at the charge time (price_history), the FOCUS rule ListUnitPrice x PricingQuantity = ListCost, and the contract price of rented servers. Findings are overcharge, undercharge, unpriced_sku, duplicate_charge, charge_without_usage or usage_without_charge, each with the amount at stake; a finding is above tolerance when it exceeds the larger of tolerance_pct of the expected cost and tolerance_abs (both from spendwatch.toml, default 1 % and 1 in the reporting currency). Corrections, tax, credits and adjustments are left out of the price rules, as FOCUS says.
WITH settings AS (
    SELECT reporting_currency, tolerance_pct, tolerance_abs FROM {{ source('config', 'settings') }}
),
lines AS NOT MATERIALIZED (   -- inlined into each check, so each reads only the columns and rows it needs
    SELECT *,
           coalesce(
               CASE WHEN provider = 'openai' THEN project_id END,
               CASE WHEN provider = 'anthropic' THEN workspace_id END, '') AS owner_key,
           regexp_replace(coalesce(model, ''), '-(\d{4}-\d{2}-\d{2}|\d{8})$', '') AS model_alias
    FROM {{ ref('stg_line_items_fx') }}
),
priceable AS NOT MATERIALIZED (
    SELECT * FROM lines
    WHERE charge_category IN ('Usage', 'Purchase') AND coalesce(charge_class, '') <> 'Correction'
),
-- Hosted-API cost lines and the token kind each one bills.
api_cost AS (
    SELECT *,
        CASE
            WHEN provider = 'openai' AND charge_description LIKE '%, cached input' THEN 'cached_input_token'
            WHEN provider = 'openai' AND charge_description LIKE '%, input' THEN 'input_token'
            WHEN provider = 'openai' AND charge_description LIKE '%, output' THEN 'output_token'
            WHEN provider = 'anthropic' AND sku_price_id LIKE '%|uncached_input_tokens%' THEN 'input_token'
            WHEN provider = 'anthropic' AND sku_price_id LIKE '%|cache_read_input_tokens%' THEN 'cached_input_token'
            WHEN provider = 'anthropic' AND sku_price_id LIKE '%|cache_creation.ephemeral_5m_input_tokens%' THEN 'cache_write_token'
            WHEN provider = 'anthropic' AND sku_price_id LIKE '%|cache_creation.ephemeral_1h_input_tokens%' THEN 'cache_write_token'
            WHEN provider = 'anthropic' AND sku_price_id LIKE '%|output_tokens%' THEN 'output_token'
        END AS token_kind,
        CASE
            WHEN provider = 'anthropic' AND sku_price_id LIKE '%ephemeral_5m%' THEN 'cache_5m'
            WHEN provider = 'anthropic' AND sku_price_id LIKE '%ephemeral_1h%' THEN 'cache_1h'
            WHEN sku_price_id LIKE '%|batch%' THEN 'batch'
            ELSE 'standard'
        END AS price_tier
    FROM priceable
    WHERE product_kind = 'hosted_api' AND billed_cost <> 0 AND model IS NOT NULL AND provider IN ('openai', 'anthropic')
),
usage AS (
    SELECT provider, charge_date, owner_key, model,
           sum(input_tokens) AS input_token, sum(cached_input_tokens) AS cached_input_token,
           sum(cache_write_tokens) AS cache_write_token, sum(output_tokens) AS output_token,
           any_value(line_id) AS line_id, any_value(team) AS team, any_value(currency) AS currency,
           any_value(model_alias) AS model_alias, any_value(period_start) AS period_start,
           any_value(fx_rate) AS fx_rate, any_value(fx_rate_date) AS fx_rate_date, any_value(reporting_currency) AS reporting_currency
    FROM lines
    WHERE product_kind = 'hosted_api' AND billed_cost = 0 AND model IS NOT NULL
      AND (input_tokens + cached_input_tokens + cache_write_tokens + output_tokens) > 0
    GROUP BY provider, charge_date, owner_key, model
),
-- The token price in force for each distinct (model, token kind, tier, currency, charge time) of the cost lines: the
-- range joins to the price periods run over these few thousand keys, and the lines are joined to them by equality.
token_keys AS (
    SELECT DISTINCT provider, model, model_alias, token_kind, price_tier, currency, period_start FROM api_cost
),
token_key_prices AS (
    SELECT k.*,
           p1.price_per_token AS p1_price, p1.source_id AS p1_source_id, p1.valid_from AS p1_valid_from,
           p2.price_per_token AS p2_price, p2.source_id AS p2_source_id, p2.valid_from AS p2_valid_from
    FROM token_keys k
    LEFT JOIN {{ ref('stg_token_prices') }} p1
      ON p1.provider = k.provider AND p1.model = k.model AND p1.component = k.token_kind AND p1.tier = k.price_tier
     AND p1.currency = k.currency AND p1.valid_from <= k.period_start AND (p1.valid_to IS NULL OR p1.valid_to > k.period_start)
    LEFT JOIN {{ ref('stg_token_prices') }} p2
      ON p2.provider = k.provider AND p2.model = k.model_alias AND p2.component = k.token_kind AND p2.tier = k.price_tier
     AND p2.currency = k.currency AND p2.valid_from <= k.period_start AND (p2.valid_to IS NULL OR p2.valid_to > k.period_start)
),
-- cache-write tokens are split by duration only in the cost lines: share them by the cost lines' own weights
api_priced AS (
    SELECT c.*,
        CASE c.token_kind
            WHEN 'input_token' THEN u.input_token
            WHEN 'cached_input_token' THEN u.cached_input_token
            WHEN 'cache_write_token' THEN u.cache_write_token
            WHEN 'output_token' THEN u.output_token
        END AS tokens,
        (u.model IS NOT NULL) AS has_usage,
        coalesce(kp.p1_price, kp.p2_price) AS unit_price,
        coalesce(kp.p1_source_id, kp.p2_source_id) AS price_source_id,
        coalesce(kp.p1_valid_from, kp.p2_valid_from) AS price_valid_from
    FROM api_cost c
    LEFT JOIN usage u ON u.provider = c.provider AND u.charge_date = c.charge_date AND u.owner_key = c.owner_key AND u.model = c.model
    LEFT JOIN token_key_prices kp
      ON kp.provider = c.provider AND kp.model = c.model AND kp.model_alias = c.model_alias
     AND kp.token_kind IS NOT DISTINCT FROM c.token_kind AND kp.price_tier = c.price_tier AND kp.currency = c.currency
     AND kp.period_start IS NOT DISTINCT FROM c.period_start
),
api_findings AS (
    SELECT line_id, team, provider, invoice_id, charge_date, charge_month, currency, fx_rate, fx_rate_date, reporting_currency,
           billed_cost AS billed,
           CASE
               WHEN NOT has_usage OR coalesce(tokens, 0) = 0 THEN NULL
               WHEN token_kind = 'cache_write_token' THEN NULL   -- 5m/1h split unknown from usage: priced below as a pair
               ELSE CAST(tokens * unit_price AS DECIMAL(18, 6))
           END AS expected,
           CASE WHEN NOT has_usage OR coalesce(tokens, 0) = 0 THEN 'charge_without_usage'
                WHEN unit_price IS NULL AND token_kind <> 'cache_write_token' THEN 'unpriced_sku' END AS forced_finding,
           'tokens x list price' AS rule,
           price_source_id, unit_price, price_valid_from,
           charge_description AS description,
           token_kind
    FROM api_priced
),
-- Anthropic cache writes: the 5m and 1h cost lines of a day, workspace and model against the usage's write tokens,
-- each duration's share of the tokens taken from its cost line / its price.
cache_pairs AS (
    SELECT provider, charge_date, owner_key, model,
           sum(billed_cost) AS billed,
           sum(CAST(billed_cost AS DOUBLE) / nullif(CAST(unit_price AS DOUBLE), 0)) AS implied_tokens,
           any_value(tokens) AS tokens, bool_and(unit_price IS NOT NULL) AS all_priced,
           min(line_id) AS line_id, any_value(team) AS team, any_value(invoice_id) AS invoice_id,
           any_value(charge_month) AS charge_month, any_value(currency) AS currency, any_value(fx_rate) AS fx_rate, any_value(fx_rate_date) AS fx_rate_date,
           any_value(reporting_currency) AS reporting_currency, any_value(price_source_id) AS price_source_id,
           any_value(price_valid_from) AS price_valid_from, bool_and(has_usage) AS has_usage
    FROM api_priced
    WHERE token_kind = 'cache_write_token'
    GROUP BY provider, charge_date, owner_key, model
),
cache_findings AS (
    SELECT line_id, team, provider, invoice_id, charge_date, charge_month, currency, fx_rate, fx_rate_date, reporting_currency,
           CAST(billed AS DECIMAL(18, 6)) AS billed,
           CASE WHEN all_priced AND tokens > 0 AND implied_tokens > 0
                THEN CAST(CAST(billed AS DOUBLE) * tokens / implied_tokens AS DECIMAL(18, 6)) END AS expected,
           CASE WHEN NOT has_usage OR coalesce(tokens, 0) = 0 THEN 'charge_without_usage'
                WHEN NOT all_priced THEN 'unpriced_sku' END AS forced_finding,
           'cache-write tokens x list price' AS rule,
           price_source_id, CAST(NULL AS DECIMAL(24, 15)) AS unit_price, price_valid_from,
           'cache writes (5m + 1h) of ' || model AS description,
           'cache_write_token' AS token_kind
    FROM cache_pairs
),
usage_without_charge AS (
    SELECT u.line_id, u.team, u.provider, CAST(NULL AS VARCHAR) AS invoice_id, u.charge_date,
           CAST(date_trunc('month', u.charge_date) AS DATE) AS charge_month, u.currency, u.fx_rate, u.fx_rate_date, u.reporting_currency,
           CAST(0 AS DECIMAL(18, 6)) AS billed,
           CAST(NULL AS DECIMAL(18, 6)) AS expected,
           'usage_without_charge' AS forced_finding,
           'usage has no cost line' AS rule,
           CAST(NULL AS VARCHAR) AS price_source_id, CAST(NULL AS DECIMAL(24, 15)) AS unit_price, CAST(NULL AS TIMESTAMP) AS price_valid_from,
           'tokens of ' || u.model || ' with no charge' AS description,
           'usage' AS token_kind
    FROM usage u
    WHERE u.provider IN ('openai', 'anthropic')
      AND NOT EXISTS (SELECT 1 FROM api_cost c WHERE c.provider = u.provider AND c.charge_date = u.charge_date
                      AND c.owner_key = u.owner_key AND c.model = u.model)
),
-- Serverless GPU time x the provider's per-GPU-second price (the tier closest to the bill: RunPod has flex and active).
gpu_lines AS (
    SELECT l.*
    FROM priceable l
    WHERE l.product_kind = 'serverless_gpu' AND l.gpu_class IS NOT NULL AND l.gpu_seconds > 0 AND l.billed_cost > 0
),
-- The prices in force for each distinct (provider, GPU class, currency, charge hour) of the lines, joined back by equality.
gpu_key_prices AS (
    SELECT k.provider, k.gpu_class, k.currency, k.period_start, p.unit, p.amount_per_gpu, p.source_id, p.tier, p.valid_from
    FROM (SELECT DISTINCT provider, gpu_class, currency, period_start FROM gpu_lines) k
    JOIN {{ ref('stg_gpu_prices') }} p
      ON p.provider = k.provider AND p.gpu_class = k.gpu_class AND p.product_kind = 'serverless_gpu'
     AND p.currency = k.currency AND p.unit IN ('second', 'hour')
     AND p.valid_from <= k.period_start AND (p.valid_to IS NULL OR p.valid_to > k.period_start)
),
gpu_priced AS (
    SELECT g.line_id,
           min(CAST(abs(g.billed_cost - g.gpu_seconds * CASE p.unit WHEN 'second' THEN p.amount_per_gpu ELSE p.amount_per_gpu / 3600 END) AS DOUBLE)) AS best_gap,
           arg_min(CAST(g.gpu_seconds * CASE p.unit WHEN 'second' THEN p.amount_per_gpu ELSE p.amount_per_gpu / 3600 END AS DECIMAL(18, 6)),
                   abs(g.billed_cost - g.gpu_seconds * CASE p.unit WHEN 'second' THEN p.amount_per_gpu ELSE p.amount_per_gpu / 3600 END)) AS expected,
           arg_min(p.amount_per_gpu, abs(g.billed_cost - g.gpu_seconds * CASE p.unit WHEN 'second' THEN p.amount_per_gpu ELSE p.amount_per_gpu / 3600 END)) AS unit_price,
           arg_min(p.source_id || ' ' || coalesce(p.tier, ''), abs(g.billed_cost - g.gpu_seconds * CASE p.unit WHEN 'second' THEN p.amount_per_gpu ELSE p.amount_per_gpu / 3600 END)) AS price_source_id,
           arg_min(p.valid_from, abs(g.billed_cost - g.gpu_seconds * CASE p.unit WHEN 'second' THEN p.amount_per_gpu ELSE p.amount_per_gpu / 3600 END)) AS price_valid_from
    FROM gpu_lines g
    JOIN gpu_key_prices p
      ON p.provider = g.provider AND p.gpu_class = g.gpu_class AND p.currency = g.currency AND p.period_start = g.period_start
    GROUP BY g.line_id
),
gpu_findings AS (
    SELECT g.line_id, g.team, g.provider, g.invoice_id, g.charge_date, g.charge_month, g.currency, g.fx_rate, g.fx_rate_date, g.reporting_currency,
           g.billed_cost AS billed, p.expected,
           CASE WHEN p.line_id IS NULL THEN 'unpriced_sku' END AS forced_finding,
           'GPU-seconds x list price' AS rule,
           p.price_source_id, CAST(p.unit_price AS DECIMAL(24, 15)) AS unit_price, p.price_valid_from,
           g.charge_description AS description, 'gpu_seconds' AS token_kind
    FROM gpu_lines g LEFT JOIN gpu_priced p USING (line_id)
),
-- FOCUS: ListCost must equal ListUnitPrice x PricingQuantity.
focus_findings AS (
    SELECT line_id, team, provider, invoice_id, charge_date, charge_month, currency, fx_rate, fx_rate_date, reporting_currency,
           list_cost AS billed,
           CAST(list_unit_price * pricing_quantity AS DECIMAL(18, 6)) AS expected,
           CAST(NULL AS VARCHAR) AS forced_finding,
           'ListUnitPrice x PricingQuantity = ListCost' AS rule,
           CAST(NULL AS VARCHAR) AS price_source_id, CAST(list_unit_price AS DECIMAL(24, 15)) AS unit_price, CAST(NULL AS TIMESTAMP) AS price_valid_from,
           charge_description AS description, 'focus' AS token_kind
    FROM priceable
    WHERE source_format = 'focus' AND list_cost IS NOT NULL AND list_unit_price IS NOT NULL AND pricing_quantity IS NOT NULL
),
-- Rented dedicated servers: the invoice against the contract price in spendwatch.toml.
contract_findings AS (
    SELECT l.line_id, l.team, l.provider, l.invoice_id, l.charge_date, l.charge_month, l.currency, l.fx_rate, l.fx_rate_date, l.reporting_currency,
           l.billed_cost AS billed,
           CAST(d.monthly_price * coalesce(l.pricing_quantity, 1) AS DECIMAL(18, 6)) AS expected,
           CAST(NULL AS VARCHAR) AS forced_finding,
           'contract price (spendwatch.toml dedicated_servers)' AS rule,
           'config' AS price_source_id, CAST(d.monthly_price AS DECIMAL(24, 15)) AS unit_price, CAST(NULL AS TIMESTAMP) AS price_valid_from,
           l.charge_description AS description, 'contract' AS token_kind
    FROM priceable l
    JOIN {{ source('config', 'dedicated_servers') }} d ON d.server_id = l.resource_id AND d.currency = l.currency
    WHERE l.product_kind = 'dedicated_gpu'
),
-- The same charge (natural key) billed more than once: every copy after the first is at stake.
-- Only the keys that occur more than once are ranked (a window over every line would sort them all); they are found
-- by a 64-bit hash of the key, and the window still partitions by the key itself, so a hash collision costs nothing.
repeated_keys AS (
    SELECT hash(natural_key) AS key_hash FROM lines WHERE billed_cost <> 0 GROUP BY 1 HAVING count(*) > 1
),
duplicates AS (
    SELECT line_id, team, provider, invoice_id, charge_date, charge_month, currency, fx_rate, fx_rate_date, reporting_currency,
           billed_cost AS billed, CAST(0 AS DECIMAL(18, 6)) AS expected,
           'duplicate_charge' AS forced_finding,
           'natural key billed more than once' AS rule,
           CAST(NULL AS VARCHAR) AS price_source_id, CAST(NULL AS DECIMAL(24, 15)) AS unit_price, CAST(NULL AS TIMESTAMP) AS price_valid_from,
           charge_description AS description, 'duplicate' AS token_kind
    FROM (
        SELECT *, row_number() OVER (PARTITION BY natural_key ORDER BY source_file, source_row) AS copy
        FROM lines WHERE billed_cost <> 0 AND hash(natural_key) IN (SELECT key_hash FROM repeated_keys)
    ) WHERE copy > 1
),
allf AS (
    SELECT * FROM api_findings
    UNION ALL BY NAME SELECT * FROM cache_findings
    UNION ALL BY NAME SELECT * FROM usage_without_charge
    UNION ALL BY NAME SELECT * FROM gpu_findings
    UNION ALL BY NAME SELECT * FROM focus_findings
    UNION ALL BY NAME SELECT * FROM contract_findings
    UNION ALL BY NAME SELECT * FROM duplicates
),
classified AS (
    SELECT a.*,
        coalesce(a.forced_finding,
                 CASE WHEN a.billed > a.expected THEN 'overcharge' WHEN a.billed < a.expected THEN 'undercharge' END) AS finding,
        CASE
            WHEN a.forced_finding IN ('duplicate_charge', 'charge_without_usage', 'unpriced_sku') THEN abs(a.billed)
            WHEN a.forced_finding = 'usage_without_charge' THEN NULL
            ELSE abs(a.billed - a.expected)
        END AS stake
    FROM allf a
)
SELECT
    c.line_id, c.team, c.provider, c.invoice_id, c.charge_date, c.charge_month,
    c.finding, c.rule,
    c.billed, c.expected, c.currency,
    CAST(c.stake AS DECIMAL(18, 6)) AS amount_at_stake,
    CAST(round(c.stake * c.fx_rate, 2) AS DECIMAL(18, 2)) AS amount_at_stake_reporting,
    c.reporting_currency,
    CAST(greatest(s.tolerance_abs, s.tolerance_pct * abs(coalesce(c.expected, c.billed)) * c.fx_rate) AS DECIMAL(18, 2)) AS tolerance_reporting,
    CASE
        WHEN c.finding IN ('duplicate_charge', 'charge_without_usage', 'usage_without_charge', 'unpriced_sku') THEN true
        ELSE c.stake * c.fx_rate > greatest(s.tolerance_abs, s.tolerance_pct * abs(c.expected) * c.fx_rate)
    END AS above_tolerance,
    c.price_source_id, c.unit_price, c.price_valid_from, c.description,
    c.fx_rate, c.fx_rate_date
FROM classified c
CROSS JOIN settings s
WHERE c.finding IS NOT NULL
  AND (c.forced_finding IS NOT NULL OR c.stake >= 0.01)

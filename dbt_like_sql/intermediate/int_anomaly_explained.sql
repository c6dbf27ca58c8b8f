-- incremental: charge_month
-- incremental_input: int_anomaly_day_lines
-- incremental_lookback: 4
-- incremental_watch: int_anomaly_scores charge_month
-- Why each flagged day of int_anomaly_scores happened, in the reporting currency. price_effect: for every priced component of the day's lines (a hosted model's input, cached input, cache-write or output tokens; a serverless GPU class's GPU-seconds; a billed SKU's pricing quantity), the change in unit price in force x the day's quantity: unit prices from price_history (stg_token_prices at the standard tier, cache writes at cache_5m, the model or its dateless alias; stg_gpu_prices, one tier per provider and GPU class, flex or on-demand first), else the line items' own list unit price (or billed cost / pricing quantity), last seen on or before the day compared with and at most 16 weeks before it (a recurring charge: at its previous occurrence, however far back). The old price is the one in force on the same weekday a week before (for a recurring charge: at its previous occurrence); the day's fx rate converts. volume_effect = excess - price_effect: the change in quantity x the old price, since expected is spend at the old prices. top_lines: the three lines (model or GPU class, endpoint, SKU) whose spend rose most against the same weekday a week before (the previous occurrence for a recurring charge), with both amounts (amount, before).
WITH flagged AS (   -- ref_date: the day compared with (a week before; a recurring charge's previous occurrence, read over the recurring rows only)
    SELECT team, provider, scope, series_kind, charge_date, actual, expected, currency, flagged, charge_date - 7 AS ref_date
    FROM {{ ref('int_anomaly_scores') }}
    WHERE series_kind <> 'recurring' AND flagged
    UNION ALL
    SELECT * FROM (
        SELECT team, provider, scope, series_kind, charge_date, actual, expected, currency, flagged,
               lag(charge_date) OVER (PARTITION BY team, provider, scope ORDER BY charge_date) AS ref_date
        FROM {{ ref('int_anomaly_scores') }}
        WHERE series_kind = 'recurring'
    ) WHERE flagged
),
lines AS (   -- the lines summed per day, label and component: the usage lines of the months rebuilt and the 4 before
    SELECT * FROM {{ ref('int_anomaly_day_lines') }} WHERE NOT recurring
    UNION ALL BY NAME   -- every occurrence of every recurring charge: compared with the previous one, however far back
    SELECT * FROM {{ ref('int_anomaly_recurring_lines') }}
),
comp AS (
    SELECT team, provider, scope_kind, scope_value, recurring, recurring_scope, charge_date, currency, fx_rate,
           k.basis, CASE k.basis WHEN 'token' THEN model WHEN 'gpu' THEN gpu_class
                                 ELSE coalesce(sku_id, charge_description, '') END AS ref,
           component, k.tier, qty, qty_listed, list_value, billed
    FROM lines
    JOIN (VALUES ('input_token', 'token', 'standard'), ('cached_input_token', 'token', 'standard'),
                 ('cache_write_token', 'token', 'cache_5m'), ('output_token', 'token', 'standard'),
                 ('gpu_second', 'gpu', ''), ('unit', 'line', '')) k(component, basis, tier) USING (component)
    WHERE ((k.basis = 'token' AND product_kind = 'hosted_api' AND model IS NOT NULL)
        OR (k.basis = 'gpu' AND product_kind = 'serverless_gpu' AND gpu_class IS NOT NULL)
        OR (k.basis = 'line' AND product_kind NOT IN ('hosted_api', 'serverless_gpu')))
      -- token and GPU components are only priced on a flagged day; a billed SKU's history is read on any earlier day
      AND (k.basis = 'line' OR EXISTS (SELECT 1 FROM flagged f WHERE f.team = lines.team AND f.provider = lines.provider
                                                               AND f.charge_date = lines.charge_date))
),
cday AS (   -- implied price: list price x quantity / the quantity with a list price, else billed cost / quantity
    SELECT team, provider, scope_kind, scope_value, recurring, recurring_scope, basis, ref, component, tier, charge_date,
           any_value(currency) AS currency, any_value(fx_rate) AS fx_rate, sum(qty) AS qty,
           coalesce(sum(list_value) / nullif(sum(qty_listed), 0), sum(billed) / nullif(sum(qty), 0)) AS implied_price
    FROM comp WHERE qty IS NOT NULL AND qty <> 0
    GROUP BY ALL
),
token_prices AS (
    SELECT provider, model, component, tier, currency, valid_from, valid_to, CAST(price_per_token AS DOUBLE) AS price
    FROM {{ ref('stg_token_prices') }}
),
priced_models AS (SELECT DISTINCT provider, model FROM token_prices),
gpu_prices AS (
    SELECT provider, gpu_class, currency, valid_from, valid_to,
           CAST(amount_per_gpu AS DOUBLE) / CASE unit WHEN 'hour' THEN 3600 ELSE 1 END AS price
    FROM {{ ref('stg_gpu_prices') }}
    WHERE product_kind = 'serverless_gpu' AND unit IN ('second', 'hour')
    QUALIFY dense_rank() OVER (PARTITION BY provider, gpu_class ORDER BY
        CASE tier WHEN 'flex' THEN 0 WHEN 'on_demand' THEN 1 ELSE 2 END, coalesce(tier, ''), sku) = 1
),
cmp AS (   -- each component of a flagged day, with the day it is compared with
    SELECT c.*, f.scope, f.series_kind,
           CAST(coalesce(f.ref_date, c.charge_date - 1) AS TIMESTAMP) + INTERVAL 12 HOUR AS old_at,
           CAST(c.charge_date AS TIMESTAMP) + INTERVAL 12 HOUR AS new_at,
           CASE WHEN c.basis = 'token' THEN CASE WHEN pm.model IS NOT NULL THEN c.ref
                ELSE regexp_replace(c.ref, '-(\d{4}-\d{2}-\d{2}|\d{8})$', '') END END AS price_model
    FROM flagged f
    JOIN cday c ON c.team = f.team AND c.provider = f.provider AND c.charge_date = f.charge_date
     AND CASE WHEN f.series_kind = 'recurring' THEN c.recurring_scope = f.scope
              ELSE NOT c.recurring AND (f.scope = '*' OR f.scope = c.scope_kind || ':' || c.scope_value) END
    LEFT JOIN priced_models pm ON pm.provider = c.provider AND pm.model = c.ref
),
tok_new AS (
    SELECT a.*, tp.price AS p_new, tp.valid_to AS new_to, tp.currency AS price_currency FROM cmp a
    ASOF LEFT JOIN token_prices tp ON tp.provider = a.provider AND tp.model = a.price_model AND tp.component = a.component
        AND tp.tier = a.tier AND tp.valid_from <= a.new_at
    WHERE a.basis = 'token'
),
tok AS (
    SELECT a.*, tp.price AS p_old, tp.valid_to AS old_to FROM tok_new a
    ASOF LEFT JOIN token_prices tp ON tp.provider = a.provider AND tp.model = a.price_model AND tp.component = a.component
        AND tp.tier = a.tier AND tp.valid_from <= a.old_at
),
gpu_new AS (
    SELECT a.*, gp.price AS p_new, gp.valid_to AS new_to, gp.currency AS price_currency FROM cmp a
    ASOF LEFT JOIN gpu_prices gp ON gp.provider = a.provider AND gp.gpu_class = a.ref AND gp.valid_from <= a.new_at
    WHERE a.basis = 'gpu'
),
gpu AS (
    SELECT a.*, gp.price AS p_old, gp.valid_to AS old_to FROM gpu_new a
    ASOF LEFT JOIN gpu_prices gp ON gp.provider = a.provider AND gp.gpu_class = a.ref AND gp.valid_from <= a.old_at
),
line_hist AS (
    SELECT team, provider, basis, ref, component, recurring_scope, CAST(charge_date AS TIMESTAMP) AS day_at, implied_price
    FROM cday WHERE basis = 'line'
),
line AS (
    SELECT a.*, a.implied_price AS p_new, CAST(NULL AS TIMESTAMP) AS new_to, a.currency AS price_currency,
           CASE WHEN a.series_kind = 'recurring' OR h.day_at >= a.old_at - INTERVAL 112 DAY THEN h.implied_price END AS p_old,
           CAST(NULL AS TIMESTAMP) AS old_to
    FROM cmp a
    ASOF LEFT JOIN line_hist h ON h.team = a.team AND h.provider = a.provider AND h.ref = a.ref
        AND h.recurring_scope IS NOT DISTINCT FROM a.recurring_scope AND h.day_at <= a.old_at
    WHERE a.basis = 'line'
),
priced AS (
    SELECT * FROM tok UNION ALL BY NAME SELECT * FROM gpu UNION ALL BY NAME SELECT * FROM line
),
effects AS (
    SELECT team, provider, scope, charge_date,
           sum(CASE WHEN price_currency = currency AND (new_to IS NULL OR new_to > new_at) AND (old_to IS NULL OR old_to > old_at)
                    THEN (p_new - p_old) * qty * CAST(fx_rate AS DOUBLE) END) AS price_effect
    FROM priced GROUP BY ALL
),
flagged_days AS (   -- each flagged day and the day it is compared with, as two rows: the lines are joined on the day
    SELECT f.team, f.provider, f.scope, f.series_kind, f.charge_date, d.line_date
    FROM flagged f, unnest(list_distinct([f.charge_date, f.ref_date])) AS d(line_date)
),
day_lines AS (
    SELECT f.team, f.provider, f.scope, f.charge_date, l.line_label, l.model, l.gpu_class, l.endpoint_id, l.sku_id,
           sum(l.amount_reporting) FILTER (WHERE l.charge_date = f.charge_date) AS amount,
           sum(l.amount_reporting) FILTER (WHERE l.charge_date < f.charge_date) AS before
    FROM flagged_days f
    JOIN lines l ON l.component = '' AND l.team = f.team AND l.provider = f.provider AND l.charge_date = f.line_date
     AND CASE WHEN f.series_kind = 'recurring' THEN l.recurring_scope = f.scope
              ELSE NOT l.recurring AND (f.scope = '*' OR f.scope = l.scope_kind || ':' || l.scope_value) END
    GROUP BY ALL
),
top AS (
    SELECT team, provider, scope, charge_date,
           list(json_object('line', line_label, 'model', model, 'gpu_class', gpu_class, 'endpoint', endpoint_id, 'sku', sku_id,
                            'amount', CAST(CAST(coalesce(amount, 0) AS DECIMAL(18, 2)) AS VARCHAR),
                            'before', CAST(CAST(coalesce(before, 0) AS DECIMAL(18, 2)) AS VARCHAR))
                ORDER BY coalesce(amount, 0) - coalesce(before, 0) DESC, line_label)[1:3] AS top_lines
    FROM day_lines GROUP BY ALL
)
SELECT CAST(date_trunc('month', f.charge_date) AS DATE) AS charge_month, f.team, f.provider, f.scope, f.charge_date, f.currency,
       CAST(coalesce(e.price_effect, 0) AS DECIMAL(18, 2)) AS price_effect,
       CAST(f.actual - f.expected - CAST(coalesce(e.price_effect, 0) AS DECIMAL(18, 6)) AS DECIMAL(18, 2)) AS volume_effect,
       t.top_lines
FROM flagged f
LEFT JOIN effects e USING (team, provider, scope, charge_date)
LEFT JOIN top t USING (team, provider, scope, charge_date)

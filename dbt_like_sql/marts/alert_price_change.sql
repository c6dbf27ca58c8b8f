-- materialized: view
-- Alert conditions for price changes: one row per change of a price the organisation pays (the same GPU class on the same kind of product, or the model, or its dateless alias, it is billed for), from a non-catalog source, with old and new price and the teams that use it (organisation-wide: team '*').
WITH used AS (
    SELECT DISTINCT b.x_provider AS provider, b.x_product_kind AS product_kind, b.x_gpu_class AS gpu_class,
           b.x_model AS model, regexp_replace(b.x_model, '-(\d{4}-\d{2}-\d{2}|\d{8})$', '') AS model_alias, l.team
    FROM {{ source('raw', 'billing_line_items') }} b
    JOIN {{ ref('stg_line_items') }} l ON l.line_id = b.x_line_id   -- the team of the attribution model
),
ch AS (
    SELECT o.provider, o.source_id, o.product_kind, o.sku, o.component, o.tier, o.region, o.gpu_model, o.unit,
           o.currency, o.amount AS old_amount, n.amount AS new_amount, n.currency AS new_currency, n.valid_from AS changed_at
    FROM {{ source('raw', 'price_history') }} o
    JOIN {{ source('raw', 'price_history') }} n ON n.price_key = o.price_key AND n.valid_from = o.valid_to
    LEFT JOIN {{ source('raw', 'price_sources') }} ps ON ps.source_id = o.source_id
    WHERE o.closed_reason = 'changed' AND NOT coalesce(ps.is_catalog, false)
),
m AS (
    SELECT ch.*, u.team
    FROM ch JOIN used u ON u.provider = ch.provider AND (
        (ch.gpu_model IS NOT NULL AND u.gpu_class = ch.gpu_model AND u.product_kind = ch.product_kind)
        OR (u.model IS NOT NULL AND ch.sku IN (u.model, u.model_alias)))
),
rep AS (
    SELECT * FROM m
    QUALIFY row_number() OVER (PARTITION BY provider, sku, component, tier, changed_at
                               ORDER BY region NULLS FIRST, unit, source_id, team) = 1
),
agg AS (
    SELECT provider, sku, component, tier, changed_at, list(DISTINCT team ORDER BY team) AS teams,
           count(DISTINCT coalesce(region, '')) AS regions
    FROM m GROUP BY provider, sku, component, tier, changed_at
)
SELECT 'price_change' AS kind, '*' AS team, strftime(r.changed_at, '%Y-%m') AS period,
       concat_ws('|', r.provider, r.sku, r.component, coalesce(r.tier, ''), strftime(r.changed_at, '%Y-%m-%dT%H:%M:%S')) AS subject,
       json_object(
           'provider', r.provider, 'source_id', r.source_id, 'product_kind', r.product_kind, 'sku', r.sku,
           'component', r.component, 'tier', r.tier, 'region', r.region, 'regions', a.regions, 'gpu_model', r.gpu_model,
           'unit', r.unit, 'currency', r.currency, 'new_currency', r.new_currency,
           'old_amount', CAST(r.old_amount AS VARCHAR), 'new_amount', CAST(r.new_amount AS VARCHAR),
           'changed_at', strftime(r.changed_at, '%Y-%m-%dT%H:%M:%S'), 'teams', a.teams) AS details
FROM rep r JOIN agg a ON a.provider = r.provider AND a.sku = r.sku AND a.component = r.component
                     AND a.tier IS NOT DISTINCT FROM r.tier AND a.changed_at = r.changed_at

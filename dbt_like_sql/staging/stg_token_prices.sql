-- Per-token list prices of hosted models from the providers' own sources (never the catalogs), one row per model, component, tier and period in force, as USD (or the source's currency) per single token.
SELECT
    h.provider,
    h.sku                     AS model,
    h.component,
    coalesce(h.tier, 'standard') AS tier,
    h.currency,
    CASE h.unit WHEN '1M_tokens' THEN CAST(h.amount / 1000000 AS DECIMAL(24, 15)) ELSE CAST(h.amount AS DECIMAL(24, 15)) END AS price_per_token,
    h.amount                  AS list_amount,
    h.unit                    AS list_unit,
    h.source_id,
    h.valid_from,
    h.valid_to
FROM {{ source('raw', 'price_history') }} h
JOIN {{ source('raw', 'price_sources') }} s USING (source_id)
WHERE NOT s.is_catalog
  AND h.product_kind = 'hosted_api'
  AND h.unit IN ('token', '1M_tokens')
  AND h.component IN ('input_token', 'output_token', 'cached_input_token', 'cache_write_token')

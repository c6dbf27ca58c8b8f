-- GPU prices from the providers' own sources (never the cross-check catalogs), one row per price and period in force, normalised to ONE GPU: a 'gpu' price is already per GPU, an 'instance' price is divided by its GPU count. Spot tiers are left out: they can be taken away and are not comparable to dedicated or serverless capacity. Dedicated prices carry what they commit you to (term_months, billing, upfront_amount, min_units; NULL for serverless). Per-GPU prices by the second and by the hour (price_per_gpu_second, price_per_gpu_hour) are computed here, once, for second and hour prices; monthly prices are turned into a day's cost by the decision windows (price / the days of its own month).
SELECT
    h.source_id,
    h.provider,
    h.product_kind,
    h.sku,
    h.tier,
    h.region,
    h.gpu_model                                 AS gpu_class,
    coalesce(nullif(h.gpu_count, 0), 1)         AS gpu_count,
    h.component,
    h.unit,
    h.amount,
    h.currency,
    CASE WHEN h.component = 'instance'
         THEN CAST(h.amount / coalesce(nullif(h.gpu_count, 0), 1) AS DECIMAL(24, 12))
         ELSE h.amount END                      AS amount_per_gpu,
    CAST(CASE h.unit WHEN 'second' THEN 1.0 WHEN 'hour' THEN 1.0 / 3600 END
         * CASE WHEN h.component = 'instance' THEN h.amount / coalesce(nullif(h.gpu_count, 0), 1) ELSE h.amount END
         AS DECIMAL(24, 15))                    AS price_per_gpu_second,
    CAST(CASE h.unit WHEN 'second' THEN 3600 WHEN 'hour' THEN 1 END
         * CASE WHEN h.component = 'instance' THEN h.amount / coalesce(nullif(h.gpu_count, 0), 1) ELSE h.amount END
         AS DECIMAL(24, 12))                    AS price_per_gpu_hour,
    h.valid_from,
    h.valid_to,
    h.term_months,
    h.billing,
    h.upfront_amount,
    h.min_units
FROM {{ source('raw', 'price_history') }} h
JOIN {{ source('raw', 'price_sources') }} s USING (source_id)
WHERE NOT s.is_catalog
  AND h.gpu_model IS NOT NULL
  AND h.component IN ('gpu', 'instance')
  AND h.product_kind IN ('serverless_gpu', 'dedicated_gpu')
  AND h.unit IN ('second', 'hour', 'month')
  AND coalesce(h.tier, '') NOT LIKE 'spot%'

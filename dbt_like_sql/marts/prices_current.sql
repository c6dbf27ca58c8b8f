-- materialized: view
-- The prices in force now: the open rows of price_history (valid_to IS NULL), one per source, SKU, component, unit, region and tier.
SELECT *
FROM {{ source('raw', 'price_history') }}
WHERE valid_to IS NULL

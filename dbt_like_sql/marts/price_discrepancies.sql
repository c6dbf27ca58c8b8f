-- Where a provider's own price and a cross-check catalog (OpenRouter, genai-prices, LiteLLM's cost map) price the same model and component (a catalog's aliases of one model are folded by its parser, so a model appears once), and disagree by more than 1 %: both prices per 1M tokens and the difference. A disagreement is a finding to show, not noise.
WITH own AS (
    SELECT provider, sku, component, source_id, amount_per_1m_tokens, currency
    FROM {{ ref('prices_normalised') }}
    WHERE NOT is_catalog AND amount_per_1m_tokens IS NOT NULL AND coalesce(tier, 'standard') = 'standard'
),
cat AS (
    SELECT provider, sku, component, source_id, amount_per_1m_tokens, currency
    FROM {{ ref('prices_normalised') }}
    WHERE is_catalog AND amount_per_1m_tokens IS NOT NULL AND coalesce(tier, 'standard') = 'standard'
)
SELECT
    o.provider,
    o.sku AS model,
    o.component,
    o.currency,
    o.source_id AS provider_source,
    o.amount_per_1m_tokens AS provider_price_per_1m,
    c.source_id AS catalog_source,
    c.amount_per_1m_tokens AS catalog_price_per_1m,
    CAST(round(100 * (CAST(c.amount_per_1m_tokens AS DOUBLE) - CAST(o.amount_per_1m_tokens AS DOUBLE)) / CAST(o.amount_per_1m_tokens AS DOUBLE), 2) AS DECIMAL(12, 2)) AS diff_pct
FROM own o
JOIN cat c ON c.provider = o.provider AND c.sku = o.sku AND c.component = o.component AND c.currency = o.currency
WHERE abs(c.amount_per_1m_tokens - o.amount_per_1m_tokens) > o.amount_per_1m_tokens * 0.01

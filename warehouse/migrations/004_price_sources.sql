-- 004: the registry of price sources, refreshed from scrapers/sources at every price refresh.
CREATE TABLE IF NOT EXISTS price_sources (
    source_id     VARCHAR NOT NULL PRIMARY KEY,
    provider      VARCHAR NOT NULL,
    product_kind  VARCHAR NOT NULL,
    is_catalog    BOOLEAN NOT NULL,  -- a cross-check catalog (OpenRouter, genai-prices), never used to price usage
    discontinued  BOOLEAN NOT NULL,
    url           VARCHAR
);

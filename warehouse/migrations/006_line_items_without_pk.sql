-- 006: billing_line_items without the PRIMARY KEY index on x_line_id.
--
-- x_line_id is unique by construction: it is the file's sha256 prefix and the data row,
-- a file is ingested once (ingested_files.file_hash is the primary key there) and the
-- framework numbers the rows of a file once (warehouse/ingest.py checks that a loader's
-- row numbers are unique).  The ART index added nothing to that, and it cost more than
-- the rest of the table: on a warehouse already holding 500,000 lines, deleting 70,000
-- restated rows took 4.1 s with it and 0.01 s without, committing another 500,000-row
-- export 5.9 s instead of 0.1 s.  DuckDB cannot drop a primary key in place, so the
-- table is rebuilt with the same columns in the same order and every row copied.
CREATE TABLE billing_line_items_006 (
    x_line_id               VARCHAR   NOT NULL,  -- file hash prefix + data row, unique by construction
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

INSERT INTO billing_line_items_006 SELECT * FROM billing_line_items;
DROP TABLE billing_line_items;
ALTER TABLE billing_line_items_006 RENAME TO billing_line_items;

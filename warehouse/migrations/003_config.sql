-- 003: the organisation's config, mirrored from spendwatch.toml at every run so that
-- SQL models read it as data ({{ source('config', ...) }}), never through templating.
CREATE SCHEMA IF NOT EXISTS config;

CREATE TABLE IF NOT EXISTS config.settings (
    reporting_currency  VARCHAR NOT NULL,
    default_threshold   DECIMAL(18, 2) NOT NULL,  -- in reporting_currency
    tolerance_pct       DECIMAL(9, 6) NOT NULL,
    tolerance_abs       DECIMAL(18, 2) NOT NULL,  -- in reporting_currency
    config_path         VARCHAR
);

CREATE TABLE IF NOT EXISTS config.teams (
    team               VARCHAR NOT NULL PRIMARY KEY,
    lead               VARCHAR,
    monthly_threshold  DECIMAL(18, 2) NOT NULL,  -- in reporting currency (default or override)
    threshold_currency VARCHAR NOT NULL,
    slack_webhook_env  VARCHAR NOT NULL,
    slack_channel      VARCHAR
);

CREATE TABLE IF NOT EXISTS config.dedicated_servers (
    server_id      VARCHAR NOT NULL PRIMARY KEY,
    provider       VARCHAR NOT NULL,
    team           VARCHAR NOT NULL,
    gpu_class      VARCHAR NOT NULL,
    gpu_count      INTEGER NOT NULL,
    monthly_price  DECIMAL(18, 6) NOT NULL,
    currency       VARCHAR NOT NULL,
    since_month    VARCHAR
);

CREATE TABLE IF NOT EXISTS config.throughput (
    model_class        VARCHAR NOT NULL,
    gpu_class          VARCHAR NOT NULL,
    tokens_per_second  DECIMAL(18, 3) NOT NULL,
    utilisation        DECIMAL(9, 6) NOT NULL,
    model_pattern      VARCHAR NOT NULL   -- glob, matched with GLOB in SQL
);

-- 010: the [[attribution]] rules of spendwatch.toml as data, so attribution is a SQL model
-- (dbt_like_sql/staging/stg_line_attribution.sql) that re-attributes every stored line at
-- each build, instead of a team frozen into billing_line_items at ingest.  Synced with the
-- other config tables (warehouse/config_sync.py), replaced whole at every run.
CREATE SCHEMA IF NOT EXISTS config;

CREATE TABLE IF NOT EXISTS config.attribution_rules (
    ordinal      INTEGER NOT NULL PRIMARY KEY,  -- 0-based position in spendwatch.toml: the first matching rule wins
    match_kind   VARCHAR NOT NULL,              -- account | project | workspace | api_key | endpoint | resource | tag
    match_value  VARCHAR,                       -- the value a line's key must equal; NULL: the tag's value names the team
    tag_key      VARCHAR,                       -- match_kind = 'tag': the tag's name, as written in the file
    provider     VARCHAR,                       -- only lines of this provider id; NULL: any provider
    team         VARCHAR                        -- NULL only when the tag's value names the team
);

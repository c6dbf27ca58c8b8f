-- 017: writer turns.  On a DuckLake many processes write at once; a transaction that allocates
-- ids as max + 1 (a delivery, an alert) first adds 1 to its turn's row here, so two such
-- transactions always conflict at commit and the later one runs again with fresh ids
-- (warehouse/lake.py: transaction).  On a DuckDB file there is one writer and the update is free.
CREATE TABLE IF NOT EXISTS writer_turns (
    name  VARCHAR NOT NULL,  -- ingest | alerts
    turn  BIGINT  NOT NULL   -- how many turns were taken
);

INSERT INTO writer_turns SELECT t.name, 0 FROM (VALUES ('ingest'), ('alerts')) AS t(name)
WHERE t.name NOT IN (SELECT name FROM writer_turns);

-- Each alert records the warehouse snapshot it was raised on (a DuckLake snapshot id; NULL on a
-- DuckDB file), so `spendwatch alerts show ID --as-raised` can recompute its figures as they were.
ALTER TABLE alerts ADD COLUMN raised_snapshot BIGINT;

-- Incremental models: the months whose line items changed, and what each incremental model was last
-- built from.  Every ingest transaction (load, re-delivery, forget) records the months of the lines it
-- added, archived, restored or removed, under its ingest turn; a model built through turn n rebuilds
-- only the months recorded after n (warehouse/incremental.py).
CREATE TABLE IF NOT EXISTS changed_months (
    month        DATE   NOT NULL,  -- first day of a month of ChargePeriodStart (UTC)
    ingest_turn  BIGINT NOT NULL   -- writer_turns.turn of the ingest that changed it
);

CREATE TABLE IF NOT EXISTS model_builds (
    model        VARCHAR   NOT NULL,
    sql_sha      VARCHAR   NOT NULL,  -- sha256 of the model's rendered SQL: another SQL means a full build
    inputs_sha   VARCHAR   NOT NULL,  -- sha256 of the config tables: other settings or rules mean a full build
    ingest_turn  BIGINT    NOT NULL,  -- the ingest turn the build saw
    fx_count     BIGINT    NOT NULL,  -- fx_rates rows it saw, and the latest rate date
    fx_max       DATE,
    mode         VARCHAR   NOT NULL,  -- full | incremental
    months       INTEGER,             -- months rebuilt (incremental)
    built_at     TIMESTAMP NOT NULL
);

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

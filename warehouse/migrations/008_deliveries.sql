-- 008: deliveries and the scopes they restate; superseded lines kept apart.
--
-- A delivery is one export file (or the parts a manifest names) as it arrived.  Each
-- format declares the scope a file restates (warehouse/loaders: SCOPE), e.g. a FOCUS
-- file restates each (provider, BillingAccountId, BillingPeriodStart) it holds.  For
-- every scope, the delivery that arrived last is current: billing_line_items holds
-- exactly the lines of current (delivery, scope) pairs; the lines of superseded pairs
-- move to billing_line_items_archive, so a forgotten delivery gives the scope back to
-- the one before it, and bytes delivered again (A -> B -> A) become current again
-- without being read.  Written only by warehouse/ingest/deliveries.py.
CREATE TABLE IF NOT EXISTS deliveries (
    delivery_id   BIGINT    NOT NULL,  -- 1, 2, ... (max + 1; one writer holds the warehouse)
    content_hash  VARCHAR   NOT NULL,  -- sha256 of the file; for a manifest's parts, of the part hashes
    format        VARCHAR   NOT NULL,
    path          VARCHAR   NOT NULL,  -- the file, or the manifest naming the parts
    files         INTEGER   NOT NULL,  -- 1, or the number of parts
    status        VARCHAR   NOT NULL,  -- loaded | failed (nothing of a failed one is stored)
    error         VARCHAR,             -- why it failed (one line)
    first_arrival BIGINT    NOT NULL,  -- arrival order, shared with delivery_scopes.arrival
    last_arrival  BIGINT    NOT NULL,  -- the latest time these bytes arrived
    arrived_at    TIMESTAMP NOT NULL,  -- UTC, of the latest arrival
    scoped        BOOLEAN   NOT NULL   -- false: ingested before 008, scopes computed at the next ingest
);

CREATE TABLE IF NOT EXISTS delivery_scopes (
    delivery_id  BIGINT   NOT NULL,
    scope_key    VARCHAR  NOT NULL,  -- format|part|part..., e.g. focus|aws|123456789012|2026-10-01
    arrival      BIGINT   NOT NULL,  -- when this delivery last became the truth for the scope
    is_current   BOOLEAN  NOT NULL,  -- exactly one current delivery per scope_key
    line_count   BIGINT   NOT NULL
);

-- Data-quality notes: a row that loaded, with something about it worth knowing (a tag key
-- trimmed into a duplicate, an odd enum spelling, a rounded amount, an unknown column).
CREATE TABLE IF NOT EXISTS ingest_notes (
    file_hash    VARCHAR   NOT NULL,
    file_path    VARCHAR   NOT NULL,
    row_number   INTEGER,              -- NULL for the whole file
    column_name  VARCHAR,
    note         VARCHAR   NOT NULL,
    raw          VARCHAR,
    noted_at     TIMESTAMP NOT NULL
);

ALTER TABLE ingested_files ADD COLUMN delivery_id BIGINT;
ALTER TABLE ingested_files ADD COLUMN rows_noted INTEGER DEFAULT 0;
ALTER TABLE billing_line_items ADD COLUMN x_delivery_id BIGINT;

-- Files ingested before: one delivery each, in the order they arrived.
INSERT INTO deliveries
SELECT n, file_hash, format, file_path, 1, 'loaded', NULL, n, n, ingested_at, false
FROM (SELECT *, row_number() OVER (ORDER BY ingested_at, file_hash) AS n FROM ingested_files);
UPDATE ingested_files f SET delivery_id = d.delivery_id, rows_noted = 0 FROM deliveries d WHERE d.content_hash = f.file_hash;
UPDATE billing_line_items l SET x_delivery_id = d.delivery_id FROM deliveries d WHERE d.content_hash = l.x_source_hash;

CREATE TABLE IF NOT EXISTS billing_line_items_archive AS SELECT * FROM billing_line_items LIMIT 0;

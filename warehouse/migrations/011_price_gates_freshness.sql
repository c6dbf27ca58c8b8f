-- 011: price gates, held suspect changes, and truthful freshness.
--
-- price_fetches learns what the gates skipped and held, and when the payload it applied was
-- captured: the fetch time for a live fetch, the recorded capture's own date for a replay
-- (scrapers/snapshots/captures.json), the as-of date for a backfill.  Freshness ages the
-- prices in force from captured_at, never from when a recorded file was replayed.
ALTER TABLE price_fetches ADD COLUMN zeros INTEGER DEFAULT 0;        -- zero prices ("not offered", "free"): skipped
ALTER TABLE price_fetches ADD COLUMN implausible INTEGER DEFAULT 0;  -- catalog entries outside the bounds: dropped
ALTER TABLE price_fetches ADD COLUMN held INTEGER DEFAULT 0;         -- suspect changes held, not applied
ALTER TABLE price_fetches ADD COLUMN captured_at TIMESTAMP;          -- UTC; NULL = unknown (a replay recorded before 011)
ALTER TABLE price_fetches ADD COLUMN capture_basis VARCHAR;          -- how captured_at is known

-- Fetches recorded before this migration: a live fetch was captured when it was observed;
-- a backfill replayed captures as of its date.  Replays of recorded files stay unknown.
UPDATE price_fetches SET captured_at = observed_at, capture_basis = 'live fetch'
WHERE captured_at IS NULL AND mode IN ('live', 'local');
UPDATE price_fetches SET captured_at = observed_at, capture_basis = 'backfill as of its date'
WHERE captured_at IS NULL AND mode = 'backfill';

-- Per source, how old its prices in force may get before they count as stale (spendwatch.toml
-- [prices] max_age_days, per source under [prices.sources.<id>]; default 7).
ALTER TABLE price_sources ADD COLUMN max_age_days INTEGER DEFAULT 7;

-- A price on a provider's own page or API that moved more than 3x from its last good price is held
-- here instead of being applied.  It is applied when the next capture agrees (status 'confirmed')
-- or an operator runs `spendwatch prices accept SOURCE` ('accepted'); a later capture with the old
-- price again drops it ('withdrawn'); a later capture with yet another price replaces it.
CREATE TABLE IF NOT EXISTS price_holds (
    price_key      VARCHAR   NOT NULL,
    source_id      VARCHAR   NOT NULL,
    sku            VARCHAR   NOT NULL,
    component      VARCHAR   NOT NULL,
    unit           VARCHAR   NOT NULL,
    tier           VARCHAR,
    region         VARCHAR,
    old_amount     DECIMAL(24, 12) NOT NULL,
    new_amount     DECIMAL(24, 12) NOT NULL,
    currency       VARCHAR   NOT NULL,
    first_seen_at  TIMESTAMP NOT NULL,  -- observed_at of the capture that first showed it
    last_seen_at   TIMESTAMP NOT NULL,
    record_json    VARCHAR   NOT NULL,  -- the full record, applied as is when released
    status         VARCHAR   NOT NULL,  -- held | confirmed | accepted | withdrawn | replaced
    resolved_at    TIMESTAMP
);

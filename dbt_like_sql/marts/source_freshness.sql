-- materialized: view
-- One row per registered price source: its last live fetch (NULL = never), its last attempt and how it went, the capture the prices in force come from (mode, date, basis, sha256), their age in whole days, and whether they are stale. THE definition of staleness, read by `spendwatch prices sources`, the review, the Dagster freshness checks and the stale-source alert: a source that is not discontinued is stale when it has no prices in force, when the date of the capture they come from is unknown, or when that capture is older than the source's max_age_days (spendwatch.toml [prices], default 7). Ages are measured from the capture (captured_at), never from when a recorded file was replayed. A view, so the ages are those of the moment it is read.
WITH f AS (
    SELECT * FROM {{ source('raw', 'price_fetches') }}
),
last_attempt AS (
    SELECT source_id,
           max(attempted_at) AS last_attempt_at,
           arg_max(status, attempted_at) AS last_status,
           arg_max(mode, attempted_at) AS last_mode,
           arg_max(error, attempted_at) AS last_error
    FROM f GROUP BY source_id
),
last_live AS (
    SELECT source_id, max(attempted_at) AS last_live_fetch_at
    FROM f WHERE mode = 'live' AND status = 'ok' GROUP BY source_id
),
in_force AS (
    -- the latest capture that was applied: the prices in force come from it
    SELECT source_id,
           arg_max(mode, (observed_at, attempted_at)) AS capture_mode,
           arg_max(captured_at, (observed_at, attempted_at)) AS captured_at,
           arg_max(capture_basis, (observed_at, attempted_at)) AS capture_basis,
           arg_max(payload_sha256, (observed_at, attempted_at)) AS capture_sha256,
           max(observed_at) AS observed_at
    FROM f WHERE status = 'ok' GROUP BY source_id
),
open_prices AS (
    SELECT source_id, count(*) AS prices_in_force
    FROM {{ source('raw', 'price_history') }} WHERE valid_to IS NULL GROUP BY source_id
),
held AS (
    SELECT source_id, count(*) AS held_prices
    FROM {{ source('raw', 'price_holds') }} WHERE status = 'held' GROUP BY source_id
),
j AS (
    SELECT
        s.source_id, s.provider, s.product_kind, s.is_catalog, s.discontinued, coalesce(s.max_age_days, 7) AS max_age_days,
        ll.last_live_fetch_at,
        la.last_attempt_at, la.last_status, la.last_mode, la.last_error,
        i.capture_mode, i.captured_at, i.capture_basis, i.capture_sha256, i.observed_at AS capture_observed_at,
        coalesce(o.prices_in_force, 0) AS prices_in_force,
        coalesce(h.held_prices, 0) AS held_prices,
        CAST(floor(epoch(CAST(now() AT TIME ZONE 'UTC' AS TIMESTAMP) - i.captured_at) / 86400) AS INTEGER) AS age_days
    FROM {{ source('raw', 'price_sources') }} s
    LEFT JOIN last_attempt la USING (source_id)
    LEFT JOIN last_live ll USING (source_id)
    LEFT JOIN in_force i USING (source_id)
    LEFT JOIN open_prices o USING (source_id)
    LEFT JOIN held h USING (source_id)
)
SELECT
    *,
    CAST(captured_at AS DATE) AS capture_date,
    NOT discontinued AND (prices_in_force = 0 OR captured_at IS NULL OR age_days > max_age_days) AS stale,
    CASE
        WHEN discontinued THEN NULL
        WHEN prices_in_force = 0 THEN 'no prices in force'
        WHEN captured_at IS NULL THEN 'the capture date of the prices in force is unknown'
        WHEN age_days > max_age_days THEN 'prices in force are ' || age_days || ' days old (max ' || max_age_days || ')'
    END AS stale_reason
FROM j
ORDER BY source_id

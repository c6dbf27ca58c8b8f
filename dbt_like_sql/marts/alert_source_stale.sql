-- materialized: view
-- Alert conditions for price sources: one row per source whose latest attempt failed and that has had no good fetch for more than 24 hours, keyed by the day the failing episode began (so a source is raised once per stale episode and resolves when a fetch succeeds again); organisation-wide: team '*'.
WITH a AS (
    SELECT source_id, attempted_at, status, error FROM {{ source('raw', 'price_fetches') }} WHERE status IN ('ok', 'failed')
),
s AS (
    SELECT source_id, max(attempted_at) AS last_attempt, arg_max(status, attempted_at) AS last_status,
           arg_max(error, attempted_at) AS last_error, max(attempted_at) FILTER (WHERE status = 'ok') AS last_ok
    FROM a GROUP BY source_id
),
f AS (
    SELECT s.source_id, min(a.attempted_at) AS failing_since, count(*) AS failures
    FROM s JOIN a ON a.source_id = s.source_id AND a.status = 'failed' AND (s.last_ok IS NULL OR a.attempted_at > s.last_ok)
    GROUP BY s.source_id
)
SELECT 'source_stale' AS kind, '*' AS team, strftime(f.failing_since, '%Y-%m-%d') AS period, s.source_id AS subject,
       json_object(
           'source_id', s.source_id, 'provider', ps.provider,
           'last_ok', strftime(s.last_ok, '%Y-%m-%d %H:%M'), 'last_attempt', strftime(s.last_attempt, '%Y-%m-%d %H:%M'),
           'failing_since', strftime(f.failing_since, '%Y-%m-%d %H:%M'), 'failures', f.failures,
           'last_error', left(s.last_error, 300)) AS details
FROM s JOIN f USING (source_id)
LEFT JOIN {{ source('raw', 'price_sources') }} ps USING (source_id)
WHERE s.last_status = 'failed' AND NOT coalesce(ps.discontinued, false)
  AND CASE WHEN s.last_ok IS NOT NULL THEN s.last_attempt - s.last_ok > INTERVAL 24 HOUR
           ELSE s.last_attempt - f.failing_since > INTERVAL 24 HOUR END

-- materialized: view
-- Alert conditions for price sources: one row per source that source_freshness calls stale (the one definition of staleness, shared with `spendwatch prices sources`, the review and the freshness checks), keyed by the capture date of the prices in force ('never' without one), so a source is raised once per stale episode and resolves when a newer capture makes it fresh; organisation-wide: team '*'.
SELECT 'source_stale' AS kind, '*' AS team,
       coalesce(strftime(capture_date, '%Y-%m-%d'), 'never') AS period,
       source_id AS subject,
       json_object(
           'source_id', source_id, 'provider', provider, 'stale_reason', stale_reason,
           'capture_date', CAST(capture_date AS VARCHAR), 'age_days', age_days, 'max_age_days', max_age_days,
           'prices_in_force', prices_in_force,
           'last_live_fetch', strftime(last_live_fetch_at, '%Y-%m-%d %H:%M'),
           'last_attempt', strftime(last_attempt_at, '%Y-%m-%d %H:%M'), 'last_status', last_status,
           'last_error', left(last_error, 300)) AS details
FROM {{ ref('source_freshness') }}
WHERE stale

-- materialized: view
-- Alert conditions for export files: one row per ingested file with rejected rows, with the counts and its five most frequent reasons (organisation-wide: team '*').
WITH r AS (
    SELECT file_hash, reason, count(*) AS n FROM {{ source('raw', 'ingest_rejects') }} GROUP BY file_hash, reason
),
rr AS (
    SELECT file_hash, list(json_object('reason', left(reason, 200), 'rows', n) ORDER BY n DESC, reason)[1:5] AS reasons
    FROM r GROUP BY file_hash
)
SELECT 'ingest_rejects' AS kind, '*' AS team, strftime(f.ingested_at, '%Y-%m') AS period, f.file_hash AS subject,
       json_object(
           'file_hash', f.file_hash, 'file_path', f.file_path, 'format', f.format,
           'rows_read', f.rows_read, 'rows_loaded', f.rows_loaded, 'rows_rejected', f.rows_rejected,
           'period_start', CAST(f.period_start AS VARCHAR), 'period_end', CAST(f.period_end AS VARCHAR),
           'ingested_at', strftime(f.ingested_at, '%Y-%m-%d %H:%M'), 'reasons', rr.reasons) AS details
FROM {{ source('raw', 'ingested_files') }} f LEFT JOIN rr USING (file_hash)
WHERE f.rows_rejected > 0

-- materialized: view
-- Every alert condition true now, one row per alert key (kind, team, period, subject) with its figures as JSON: the union of the alert_* models, one per alert kind.  The alerts asset, `spendwatch alerts` and the review read these same definitions.
SELECT kind, team, period, subject, details FROM {{ ref('alert_threshold') }}
UNION ALL BY NAME SELECT kind, team, period, subject, details FROM {{ ref('alert_dedicated') }}
UNION ALL BY NAME SELECT kind, team, period, subject, details FROM {{ ref('alert_invoice') }}
UNION ALL BY NAME SELECT kind, team, period, subject, details FROM {{ ref('alert_price_change') }}
UNION ALL BY NAME SELECT kind, team, period, subject, details FROM {{ ref('alert_source_stale') }}
UNION ALL BY NAME SELECT kind, team, period, subject, details FROM {{ ref('alert_ingest_rejects') }}
UNION ALL BY NAME SELECT kind, team, period, subject, details FROM {{ ref('alert_anomaly') }}

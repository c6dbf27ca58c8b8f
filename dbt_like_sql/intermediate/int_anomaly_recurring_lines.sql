-- materialized: view
-- The recurring charges' rows of int_anomaly_day_lines, of every month: int_anomaly_explained compares a recurring charge with its previous occurrence however far back it is, while it reads the usage lines of only the months it rebuilds (and the 4 before).
SELECT * FROM {{ ref('int_anomaly_day_lines') }} WHERE recurring

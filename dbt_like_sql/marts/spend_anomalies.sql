-- Spend anomalies: one row per team, day and scope flagged (docs/anomalies.md), in the reporting currency (currency). scope is '*' for the team's whole usage at the provider, 'model:<id>' or 'gpu:<class>' for one model or GPU class, 'recurring:<charge>' for a recurring charge. reason: 'spike' (robust z-score, floor and percentage all reached), 'new_spend' (a team's first spend on a provider, model or GPU class) or 'recurring_change' (a recurring charge above its previous occurrence). Consecutive flagged days of one series are one incident: incident_id (stable: a hash of team, provider, scope and first day), incident_start, incident_day (1 for the first day). price_effect + volume_effect = actual - expected; top_lines are the three lines whose spend rose most. ongoing: the incident's last day is the latest day the provider's data covers (the alert stays open until a day back in the band).
WITH s AS (
    SELECT * FROM {{ ref('int_anomaly_scores') }}
),
-- each provider's last day of usage and each series' last day (int_anomaly_spans: what every scored series covers)
through AS (SELECT provider, max(month_last_day) AS through_date FROM {{ ref('int_anomaly_spans') }} WHERE series_kind = 'usage' GROUP BY provider),
last_day AS (SELECT team, provider, scope, max(month_last_day) AS series_last FROM {{ ref('int_anomaly_spans') }} GROUP BY ALL),
runs AS (   -- consecutive flagged days of a series share a group (usage series are dense; a recurring charge stands alone)
    SELECT s.*,
           CASE WHEN series_kind = 'usage'
                THEN charge_date - CAST(row_number() OVER (PARTITION BY team, provider, scope ORDER BY charge_date) AS INTEGER)
                ELSE charge_date END AS grp
    FROM s WHERE flagged
),
inc AS (
    SELECT r.*, l.series_last,
           min(charge_date) OVER (PARTITION BY team, provider, scope, grp) AS incident_start,
           max(charge_date) OVER (PARTITION BY team, provider, scope, grp) AS incident_end
    FROM runs r JOIN last_day l USING (team, provider, scope)
)
SELECT
    i.team, i.charge_date, i.provider, i.scope,
    CASE WHEN i.scope = '*' THEN 'provider' ELSE split_part(i.scope, ':', 1) END AS scope_kind,
    i.reason, i.method,
    CAST(i.expected AS DECIMAL(18, 2))                     AS expected,
    CAST(i.actual AS DECIMAL(18, 2))                       AS actual,
    CAST(i.actual - i.expected AS DECIMAL(18, 2))          AS excess,
    CASE WHEN i.expected > 0 THEN CAST(i.actual / i.expected - 1 AS DECIMAL(12, 4)) END AS excess_pct,
    CAST(i.band_low AS DECIMAL(18, 2))                     AS band_low,
    CAST(i.band_high AS DECIMAL(18, 2))                    AS band_high,
    round(i.robust_z, 2)                                   AS robust_z,
    e.price_effect, e.volume_effect,
    i.currency,
    left(md5(concat_ws('|', i.team, i.provider, i.scope, CAST(i.incident_start AS VARCHAR))), 12) AS incident_id,
    i.incident_start, i.incident_end,
    CAST(i.charge_date - i.incident_start + 1 AS INTEGER)  AS incident_day,
    (i.incident_end = CASE WHEN i.series_kind = 'usage' THEN t.through_date ELSE i.series_last END) AS ongoing,
    coalesce(e.top_lines, []) AS top_lines
FROM inc i
LEFT JOIN through t USING (provider)
LEFT JOIN {{ ref('int_anomaly_explained') }} e USING (team, provider, scope, charge_date)

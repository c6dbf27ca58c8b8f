-- materialized: view
-- Alert conditions for spend anomalies: one row per incident still going on (spend_anomalies.ongoing: its last flagged day is the latest day of data), keyed by team, the incident's first day and provider|scope, so an incident is raised once and resolved when a day comes back inside the band. An incident of one model or GPU class is left out when the team's whole usage at that provider has an incident on the same days (that one tells it). details: the latest day's figures (money as decimal strings beside their currency), the incident's days and total excess, price and volume effect, and the top lines; fx_stale names each currency pair whose ECB rate was stale (stg_line_items_fx.fx_stale) for the team's lines at the provider on the incident's days, with the oldest rate's date, its age in business days and the last charge date it converted.
WITH a AS (
    SELECT * FROM {{ ref('spend_anomalies') }} WHERE ongoing
),
covered AS (   -- a model or GPU class incident whose days the provider-wide series also flags
    SELECT DISTINCT a.incident_id FROM a
    JOIN {{ ref('spend_anomalies') }} p ON p.team = a.team AND p.provider = a.provider AND p.scope = '*'
     AND p.charge_date = a.charge_date
    WHERE a.scope LIKE 'model:%' OR a.scope LIKE 'gpu:%'
),
fx AS (   -- stale rates behind the incident's figures, one entry per currency pair
    SELECT incident_id,
           list(json_object('currency_pair', pair, 'rate_date', CAST(rate_date AS VARCHAR), 'age_business_days', age,
                            'last_charge_date', CAST(through AS VARCHAR)) ORDER BY pair) AS fx_stale
    FROM (SELECT a.incident_id, l.currency || '/' || l.reporting_currency AS pair, min(l.fx_rate_date) AS rate_date,
                 max(l.fx_rate_age_business_days) AS age, max(l.charge_date) AS through
          FROM (SELECT DISTINCT incident_id, team, provider, incident_start, charge_date FROM a WHERE charge_date = incident_end) a
          JOIN {{ ref('stg_line_items_fx') }} l
            ON l.team = a.team AND l.provider = a.provider AND l.charge_date BETWEEN a.incident_start AND a.charge_date
          WHERE l.fx_stale
          GROUP BY ALL)
    GROUP BY ALL
),
agg AS (
    SELECT incident_id, count(*) AS days, sum(excess) AS total_excess, sum(price_effect) AS total_price_effect,
           sum(volume_effect) AS total_volume_effect, max(robust_z) AS max_z
    FROM a GROUP BY incident_id
)
SELECT 'spend_anomaly' AS kind, a.team, strftime(a.incident_start, '%Y-%m-%d') AS period,
       a.provider || '|' || a.scope AS subject,
       json_object(
           'incident_id', a.incident_id, 'team', a.team, 'provider', a.provider, 'scope', a.scope, 'reason', a.reason,
           'method', a.method, 'currency', a.currency,
           'incident_start', strftime(a.incident_start, '%Y-%m-%d'), 'latest_day', strftime(a.charge_date, '%Y-%m-%d'),
           'days', g.days, 'expected', CAST(a.expected AS VARCHAR), 'actual', CAST(a.actual AS VARCHAR),
           'excess', CAST(a.excess AS VARCHAR), 'excess_pct', CAST(a.excess_pct AS VARCHAR),
           'band_low', CAST(a.band_low AS VARCHAR), 'band_high', CAST(a.band_high AS VARCHAR),
           'robust_z', CAST(a.robust_z AS VARCHAR),
           'price_effect', CAST(a.price_effect AS VARCHAR), 'volume_effect', CAST(a.volume_effect AS VARCHAR),
           'total_excess', CAST(g.total_excess AS VARCHAR), 'total_price_effect', CAST(g.total_price_effect AS VARCHAR),
           'total_volume_effect', CAST(g.total_volume_effect AS VARCHAR),
           'top_lines', a.top_lines, 'fx_stale', x.fx_stale) AS details
FROM a JOIN agg g USING (incident_id)
LEFT JOIN fx x USING (incident_id)
WHERE a.charge_date = a.incident_end
  AND a.incident_id NOT IN (SELECT incident_id FROM covered)

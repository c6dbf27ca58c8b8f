-- incremental: charge_month
-- incremental_input: int_anomaly_daily
-- incremental_lookback: 4
-- incremental_starts: team, provider, scope, series_kind, first_spend
-- incremental_watch: int_anomaly_daily charge_month
-- Every day of every watched series scored against what was expected (docs/anomalies.md). Usage series: the baseline is the median of the same weekday over the last 8 weeks (the 2 to 8 such days the history holds), times the recent trend: the median, over the 7 days before, of each day's spend divided by its own baseline (a one-day spike cannot move it; a level shift moves it within four days, so it becomes the new baseline after one incident). A bursty series (no spend on at least half of the last 56 days, at least 14 of them) is compared with its bursts instead: the median of its days with spend in the last 56 days, no trend. The spread is 1.4826 x the median absolute deviation around the baseline of the same values (of every one of the last 56 days for a bursty series, quiet days included), times the trend, or, when larger, 1.4826 x expected x the median relative deviation of the last 56 days from their own expected (once 7 exist: a spread from a handful of same weekdays can be far too small); at least 1 % of expected and 0.01. A day is flagged when its robust z-score (actual - expected) / spread reaches z_threshold, its excess reaches the floor and it is at least min_excess_pct above expected ([anomalies] in spendwatch.toml: 3.5, 25 in the reporting currency, 25 %). Under 14 days of history a series is only checked for new spend: its first day, when the warehouse holds at least 14 days of the organisation's spend before it and that day reaches the floor. A recurring charge is expected at its previous occurrence's amount. band_high is the spend above which a day is flagged, band_low the bottom of the spread band.
WITH params AS (
    SELECT coalesce(a.floor, 25) AS floor, coalesce(a.min_excess_pct, 0.25) AS min_pct,
           CAST(coalesce(a.z_threshold, 3.5) AS DOUBLE) AS z_thr, s.reporting_currency AS currency
    FROM {{ source('config', 'settings') }} s
    LEFT JOIN {{ source('config', 'anomaly_settings') }} a ON true
),
org AS (SELECT any_value(org_start) AS org_start FROM {{ ref('int_anomaly_daily') }}),   -- the same on every row
d AS (
    SELECT x.*, CAST(x.actual AS DOUBLE) AS v, isodow(x.charge_date) AS dow,
           datediff('day', x.first_spend, x.charge_date) AS history_days
    FROM {{ ref('int_anomaly_daily') }} x
    WHERE series_kind = 'usage'
),
w AS (
    SELECT d.*,
        list(v) OVER (PARTITION BY team, provider, scope, dow ORDER BY charge_date ROWS BETWEEN 8 PRECEDING AND 1 PRECEDING) AS same_weekday,
        list(v) OVER (PARTITION BY team, provider, scope ORDER BY charge_date ROWS BETWEEN 56 PRECEDING AND 1 PRECEDING) AS recent
    FROM d
),
m AS (
    SELECT w.*,
        history_days >= 14 AND len(recent) >= 14 AND 2 * len(list_filter(recent, lambda x: x = 0)) >= len(recent) AS bursty
    FROM w
),
b AS (
    SELECT m.*,
        CASE WHEN bursty THEN list_filter(recent, lambda x: x <> 0) ELSE same_weekday END AS ref_values
    FROM m
),
b2 AS (
    SELECT b.*, CASE WHEN history_days >= 14 THEN coalesce(list_aggregate(ref_values, 'median'), 0) END AS baseline
    FROM b
),
b3 AS (
    SELECT b2.*,
        list_aggregate(list_transform(CASE WHEN bursty THEN recent ELSE ref_values END, lambda x: abs(x - baseline)), 'median') AS mad,
        CASE WHEN NOT bursty AND baseline > 0 THEN v / baseline END AS ratio
    FROM b2
),
t AS (   -- the value lists are not needed past here: dropped so the windows below do not carry them
    SELECT b3.* EXCLUDE (same_weekday, recent, ref_values),
        CASE WHEN bursty THEN 1.0 ELSE coalesce(median(ratio) OVER (
            PARTITION BY team, provider, scope ORDER BY charge_date ROWS BETWEEN 7 PRECEDING AND 1 PRECEDING), 1.0) END AS trend
    FROM b3
),
r AS (   -- each day's deviation from its own expected, relative: pooled over the last 56 days for a steadier spread
    SELECT t.*, baseline * trend AS e,
           CASE WHEN history_days >= 14 AND NOT bursty AND baseline * trend > 0 THEN abs(v / (baseline * trend) - 1) END AS rel_dev
    FROM t
),
p AS (
    SELECT r.*,
        median(rel_dev) OVER w56 AS pooled_rel_mad, count(rel_dev) OVER w56 AS pooled_n
    FROM r
    WINDOW w56 AS (PARTITION BY team, provider, scope ORDER BY charge_date ROWS BETWEEN 56 PRECEDING AND 1 PRECEDING)
),
scored AS (
    SELECT p.*,
           greatest(1.4826 * coalesce(mad, 0) * trend,
                    CASE WHEN pooled_n >= 7 THEN 1.4826 * pooled_rel_mad * e ELSE 0 END,
                    0.01 * e, 0.01) AS spread
    FROM p
),
usage_rows AS (
    SELECT s.team, s.provider, s.scope, s.series_kind, s.charge_date, s.first_spend, s.history_days, s.actual,
           CASE WHEN s.history_days < 14 THEN 'new_spend_check' WHEN s.bursty THEN 'bursts' ELSE 'weekday_median' END AS method,
           s.baseline, s.trend, CASE WHEN s.history_days >= 14 THEN s.e ELSE 0 END AS expected, s.spread,
           CASE WHEN s.history_days >= 14 THEN (s.v - s.e) / s.spread END AS robust_z,
           CASE WHEN s.history_days >= 14 THEN s.e - p.z_thr * s.spread END AS band_low,
           CASE WHEN s.history_days >= 14 THEN greatest(s.e + p.z_thr * s.spread, s.e + CAST(p.floor AS DOUBLE),
                                                        s.e * (1 + CAST(p.min_pct AS DOUBLE))) END AS band_high,
           CASE WHEN s.history_days >= 14 THEN
                    s.v - s.e >= CAST(p.floor AS DOUBLE) AND (s.v - s.e) / s.spread >= p.z_thr
                    AND s.v >= s.e * (1 + CAST(p.min_pct AS DOUBLE)) AND s.v - s.e > 0
                ELSE s.history_days = 0 AND s.charge_date >= o.org_start + 14 AND s.actual >= p.floor END AS flagged,
           CASE WHEN s.history_days < 14 THEN 'new_spend' ELSE 'spike' END AS reason,
           p.currency
    FROM scored s CROSS JOIN params p CROSS JOIN org o
),
rec AS (   -- a recurring charge's previous occurrence, read across all history by int_anomaly_daily
    SELECT x.*, x.previous_actual AS previous
    FROM {{ ref('int_anomaly_daily') }} x WHERE series_kind = 'recurring'
),
recurring_rows AS (
    SELECT r.team, r.provider, r.scope, r.series_kind, r.charge_date, r.first_spend,
           datediff('day', r.first_spend, r.charge_date) AS history_days, r.actual,
           'previous_charge' AS method, CAST(r.previous AS DOUBLE) AS baseline, 1.0 AS trend,
           CAST(coalesce(r.previous, 0) AS DOUBLE) AS expected, CAST(NULL AS DOUBLE) AS spread, CAST(NULL AS DOUBLE) AS robust_z,
           CAST(r.previous AS DOUBLE) AS band_low,
           CASE WHEN r.previous IS NOT NULL THEN greatest(CAST(r.previous + p.floor AS DOUBLE), CAST(r.previous AS DOUBLE) * (1 + CAST(p.min_pct AS DOUBLE))) END AS band_high,
           CASE WHEN r.previous IS NULL THEN r.charge_date >= o.org_start + 14 AND r.actual >= p.floor
                ELSE r.actual - r.previous >= p.floor AND r.actual >= r.previous * (1 + p.min_pct) END AS flagged,
           CASE WHEN r.previous IS NULL THEN 'new_spend' ELSE 'recurring_change' END AS reason,
           p.currency
    FROM rec r CROSS JOIN params p CROSS JOIN org o
)
SELECT team, provider, scope, series_kind, charge_date, CAST(date_trunc('month', charge_date) AS DATE) AS charge_month,
       first_spend, history_days, method,
       actual, CAST(expected AS DECIMAL(18, 6)) AS expected, CAST(band_low AS DECIMAL(18, 6)) AS band_low,
       CAST(band_high AS DECIMAL(18, 6)) AS band_high, currency, baseline, trend, spread, robust_z, coalesce(flagged, false) AS flagged,
       CASE WHEN coalesce(flagged, false) THEN reason END AS reason
FROM (SELECT * FROM usage_rows UNION ALL BY NAME SELECT * FROM recurring_rows)

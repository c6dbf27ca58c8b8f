-- What each watched series of int_anomaly_daily covers, one row per series and month: a usage series runs from its first day with spend (first_spend; a series that never spends has none) to the last day its provider's data covers (any team, any series), month_first_day and month_last_day being its first and last days within the month; a recurring charge has a row per month it falls in, with its first occurrence (first_spend) and the amount of its last occurrence before the month (previous_actual, in the reporting currency: currency). org_start is the first day of any series (the organisation's first spend). A small table rebuilt whole at each build, from int_anomaly_series_days: int_anomaly_daily rebuilds the months whose rows here changed (a series that starts earlier, a horizon that moves, an earlier occurrence restated).
WITH d AS (SELECT * FROM {{ ref('int_anomaly_series_days') }}),
through AS (SELECT provider, max(charge_date) AS through_date FROM d GROUP BY provider),
usage_series AS (
    SELECT team, provider, scope, min(charge_date) FILTER (WHERE actual <> 0) AS first_spend
    FROM d WHERE series_kind = 'usage'
    GROUP BY ALL HAVING min(charge_date) FILTER (WHERE actual <> 0) IS NOT NULL
),
usage_months AS (
    SELECT s.team, s.provider, s.scope, 'usage' AS series_kind, CAST(m.month AS DATE) AS month, s.first_spend,
           CAST(greatest(s.first_spend, m.month) AS DATE) AS month_first_day,
           CAST(least(t.through_date, m.month + INTERVAL 1 MONTH - INTERVAL 1 DAY) AS DATE) AS month_last_day,
           CAST(NULL AS DECIMAL(18, 6)) AS previous_actual
    FROM usage_series s JOIN through t USING (provider),
         LATERAL (SELECT unnest(generate_series(date_trunc('month', s.first_spend), date_trunc('month', t.through_date), INTERVAL 1 MONTH)) AS month) m
),
recurring_months AS (   -- per month with occurrences: the series' first occurrence and its last one before the month
    SELECT team, provider, scope, 'recurring' AS series_kind, charge_month AS month,
           min(min(charge_date)) OVER (PARTITION BY team, provider, scope) AS first_spend,
           min(charge_date) AS month_first_day, max(charge_date) AS month_last_day,
           CAST(lag(arg_max_null(actual, charge_date)) OVER (PARTITION BY team, provider, scope ORDER BY charge_month) AS DECIMAL(18, 6)) AS previous_actual
    FROM d WHERE series_kind = 'recurring'
    GROUP BY team, provider, scope, charge_month
),
spans AS (
    SELECT * FROM usage_months
    UNION ALL
    SELECT * FROM recurring_months
)
SELECT s.*, o.org_start, st.reporting_currency AS currency
FROM spans s
CROSS JOIN (SELECT min(month_first_day) AS org_start FROM spans) o
CROSS JOIN {{ source('config', 'settings') }} st

-- incremental: charge_month
-- incremental_input: int_anomaly_spans month
-- incremental_watch: int_anomaly_spans month
-- Daily spend per watched series (int_anomaly_series_days over what int_anomaly_spans says each series covers), in the reporting currency: per team and provider (scope '*', every usage line), and per team, provider and model ('model:<id>') or GPU class ('gpu:<class>') where the lines have one. Usage series are dense: one row per day from the series' first spend to the last day the provider's data covers (any team), a day without spend being 0. Recurring charges form one series per charge ('recurring:<resource, SKU or category>') with a row per day the charge falls on. first_spend is the series' first day with spend; previous_actual a recurring charge's previous occurrence; org_start the first day of any series (the organisation's first spend); actual is in the reporting currency (currency), each line converted at its own day's rate. A table rebuilt month by month: a month's rows read its days' spend and the series' facts (int_anomaly_spans, watched by month).
WITH spans AS (SELECT * FROM {{ ref('int_anomaly_spans') }}),   -- in an incremental rebuild: the rebuilt months only
grid AS (   -- a usage series: every day it covers in the month
    SELECT s.team, s.provider, s.scope, s.month, s.first_spend,
           CAST(unnest(generate_series(CAST(s.month_first_day AS TIMESTAMP), CAST(s.month_last_day AS TIMESTAMP), INTERVAL 1 DAY)) AS DATE) AS charge_date
    FROM spans s WHERE s.series_kind = 'usage'
),
days AS (SELECT * FROM {{ ref('int_anomaly_series_days') }}),
series_days AS (
    SELECT g.team, g.provider, g.scope, 'usage' AS series_kind, g.charge_date, g.first_spend,
           coalesce(d.actual, CAST(0 AS DECIMAL(18, 6))) AS actual, CAST(NULL AS DECIMAL(18, 6)) AS previous_actual
    FROM grid g
    LEFT JOIN days d ON d.series_kind = 'usage' AND d.charge_month = g.month AND d.team = g.team AND d.provider = g.provider
                    AND d.scope = g.scope AND d.charge_date = g.charge_date
    UNION ALL
    SELECT d.team, d.provider, d.scope, 'recurring', d.charge_date, s.first_spend, d.actual,
           CASE WHEN row_number() OVER w = 1 THEN s.previous_actual ELSE lag(d.actual) OVER w END   -- the month's first: the month before's last
    FROM spans s
    JOIN days d ON d.series_kind = 'recurring' AND d.charge_month = s.month AND d.team = s.team AND d.provider = s.provider AND d.scope = s.scope
    WHERE s.series_kind = 'recurring'
    WINDOW w AS (PARTITION BY d.team, d.provider, d.scope, d.charge_month ORDER BY d.charge_date)
)
SELECT x.team, x.provider, x.scope, x.series_kind, x.charge_date, CAST(date_trunc('month', x.charge_date) AS DATE) AS charge_month,
       x.first_spend, x.actual, x.previous_actual, st.reporting_currency AS currency, o.org_start
FROM series_days x
CROSS JOIN {{ source('config', 'settings') }} st
CROSS JOIN (SELECT any_value(org_start) AS org_start FROM {{ ref('int_anomaly_spans') }}) o

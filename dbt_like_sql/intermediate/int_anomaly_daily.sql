-- Daily spend per watched series, in the reporting currency: per team and provider (scope '*', every usage line), and per team, provider and model ('model:<id>') or GPU class ('gpu:<class>') where the lines have one. Usage series are dense: one row per day from the series' first spend to the last day the provider's data covers (any team), a day without spend being 0. Recurring charges form one series per charge ('recurring:<resource, SKU or category>') with a row per day the charge falls on. first_spend is the series' first day with spend; previous_actual a recurring charge's previous occurrence; org_start the first day of any series (the organisation's first spend); actual is in the reporting currency (currency), each line converted at its own day's rate.
WITH agg AS (   -- per team, provider, scope, recurring series and day, from the day's sums of the lines
    SELECT team, provider, recurring, recurring_scope, scope_kind, scope_value, charge_date, sum(amount_reporting) AS amount
    FROM {{ ref('int_anomaly_day_lines') }}
    WHERE component = ''   -- the lines' amount (the other rows are their priced components)
    GROUP BY ALL
),
through AS (SELECT provider, max(charge_date) AS through_date FROM agg GROUP BY provider),
usage AS (
    SELECT team, provider, '*' AS scope, charge_date, amount FROM agg WHERE NOT recurring
    UNION ALL
    SELECT team, provider, scope_kind || ':' || scope_value, charge_date, amount
    FROM agg WHERE NOT recurring AND scope_value IS NOT NULL
),
daily AS (
    SELECT team, provider, scope, charge_date, sum(amount) AS actual FROM usage GROUP BY ALL
),
series AS (
    SELECT team, provider, scope, min(charge_date) FILTER (WHERE actual <> 0) AS first_spend
    FROM daily GROUP BY ALL HAVING min(charge_date) FILTER (WHERE actual <> 0) IS NOT NULL
),
grid AS (
    SELECT s.team, s.provider, s.scope, s.first_spend,
           CAST(unnest(generate_series(CAST(s.first_spend AS TIMESTAMP), CAST(t.through_date AS TIMESTAMP), INTERVAL 1 DAY)) AS DATE) AS charge_date
    FROM series s JOIN through t USING (provider)
),
recurring AS (
    SELECT team, provider, recurring_scope AS scope, charge_date,
           sum(amount) AS actual
    FROM agg WHERE recurring GROUP BY ALL
),
series_days AS (
    SELECT g.team, g.provider, g.scope, 'usage' AS series_kind, g.charge_date, g.first_spend,
           CAST(coalesce(d.actual, 0) AS DECIMAL(18, 6)) AS actual, CAST(NULL AS DECIMAL(18, 6)) AS previous_actual
    FROM grid g LEFT JOIN daily d USING (team, provider, scope, charge_date)
    UNION ALL
    SELECT team, provider, scope, 'recurring', charge_date, min(charge_date) OVER (PARTITION BY team, provider, scope),
           CAST(actual AS DECIMAL(18, 6)), CAST(lag(actual) OVER (PARTITION BY team, provider, scope ORDER BY charge_date) AS DECIMAL(18, 6))
    FROM recurring
)
SELECT x.team, x.provider, x.scope, x.series_kind, x.charge_date, CAST(date_trunc('month', x.charge_date) AS DATE) AS charge_month,
       x.first_spend, x.actual, x.previous_actual, s.reporting_currency AS currency, o.org_start
FROM series_days x
CROSS JOIN {{ source('config', 'settings') }} s
CROSS JOIN (SELECT min(charge_date) AS org_start FROM series_days) o

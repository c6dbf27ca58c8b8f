-- Daily spend per watched series, in the reporting currency: per team and provider (scope '*', every usage line), and per team, provider and model ('model:<id>') or GPU class ('gpu:<class>') where the lines have one. Usage series are dense: one row per day from the series' first spend to the last day the provider's data covers (any team), a day without spend being 0. Recurring charges form one series per charge ('recurring:<resource, SKU or category>') with a row per day the charge falls on. first_spend is the series' first day with spend; actual is in the reporting currency (currency), each line converted at its own day's rate.
WITH agg AS (   -- per team, provider, scope, recurring series and day, from the day's sums of the lines
    SELECT team, provider, recurring, recurring_scope, scope_kind, scope_value, charge_date, sum(amount_reporting) AS amount
    FROM {{ ref('int_anomaly_day_lines') }}
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
)
SELECT g.team, g.provider, g.scope, 'usage' AS series_kind, g.charge_date, g.first_spend,
       CAST(coalesce(d.actual, 0) AS DECIMAL(18, 6)) AS actual, s.reporting_currency AS currency
FROM grid g LEFT JOIN daily d USING (team, provider, scope, charge_date)
CROSS JOIN {{ source('config', 'settings') }} s
UNION ALL
SELECT team, provider, scope, 'recurring', charge_date, min(charge_date) OVER (PARTITION BY team, provider, scope),
       CAST(actual AS DECIMAL(18, 6)), s.reporting_currency
FROM recurring CROSS JOIN {{ source('config', 'settings') }} s

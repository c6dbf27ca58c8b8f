-- incremental: charge_month
-- incremental_input: int_anomaly_day_lines
-- Each watched series' spend per day it has lines on, in the reporting currency (currency; int_anomaly_day_lines, the lines' amount rows): per team and provider (scope '*', every usage line) and per team, provider and model ('model:<id>') or GPU class ('gpu:<class>') where the lines have one (series_kind 'usage'), and per recurring charge ('recurring:<resource, SKU or category>', series_kind 'recurring'). actual may be 0 (lines that cancel out). A table rebuilt month by month; int_anomaly_spans and int_anomaly_daily read it instead of the day lines.
WITH agg AS (   -- per team, provider, scope, recurring series and day, from the day's sums of the lines
    SELECT team, provider, recurring, recurring_scope, scope_kind, scope_value, charge_date, sum(amount_reporting) AS amount
    FROM {{ ref('int_anomaly_day_lines') }}
    WHERE component = ''   -- the lines' amount (the other rows are their priced components)
    GROUP BY ALL
),
usage AS (
    SELECT team, provider, '*' AS scope, charge_date, amount FROM agg WHERE NOT recurring
    UNION ALL
    SELECT team, provider, scope_kind || ':' || scope_value, charge_date, amount
    FROM agg WHERE NOT recurring AND scope_value IS NOT NULL
),
series_days AS (
    SELECT team, provider, scope, 'usage' AS series_kind, charge_date, sum(amount) AS actual FROM usage GROUP BY ALL
    UNION ALL
    SELECT team, provider, recurring_scope, 'recurring', charge_date, sum(amount) FROM agg WHERE recurring GROUP BY ALL
)
SELECT x.team, x.provider, x.scope, x.series_kind, x.charge_date, CAST(date_trunc('month', x.charge_date) AS DATE) AS charge_month,
       CAST(x.actual AS DECIMAL(18, 6)) AS actual, st.reporting_currency AS currency
FROM series_days x
CROSS JOIN {{ source('config', 'settings') }} st

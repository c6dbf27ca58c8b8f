-- materialized: view
-- Every line item with its amount converted to the reporting currency at the ECB rate of its charge day (the latest rate on or before it), the rate and the rate's date kept beside it.
WITH day_fx AS (   -- the rate looked up once per currency and charge day (a few thousand pairs), then joined to the lines
    SELECT d.currency, d.charge_date, fx.rate_to_reporting, fx.rate_date
    FROM (SELECT DISTINCT currency, charge_date FROM {{ ref('stg_line_items') }}) d
    ASOF LEFT JOIN {{ ref('stg_fx_rates') }} fx
        ON fx.currency = d.currency AND fx.rate_date <= d.charge_date
)
SELECT
    l.*,
    s.reporting_currency,
    CASE WHEN l.currency = s.reporting_currency THEN CAST(1 AS DECIMAL(18, 10)) ELSE fx.rate_to_reporting END AS fx_rate,
    CASE WHEN l.currency = s.reporting_currency THEN l.charge_date ELSE fx.rate_date END                   AS fx_rate_date,
    CAST(round(l.billed_cost * CASE WHEN l.currency = s.reporting_currency THEN 1 ELSE fx.rate_to_reporting END, 6) AS DECIMAL(18, 6)) AS amount_reporting
FROM {{ ref('stg_line_items') }} l
CROSS JOIN {{ source('config', 'settings') }} s
LEFT JOIN day_fx fx ON fx.currency = l.currency AND fx.charge_date = l.charge_date

-- materialized: view
-- Every line item with its amount converted to the reporting currency at the ECB rate of its charge day (the latest rate on or before it, stg_fx_days), the rate and the rate's date kept beside it, the rate's age in business days (Monday to Friday after the rate's date up to the charge date; 0 when no conversion was needed) and fx_stale when that age exceeds [decisions] fx_stale_business_days (default 3): a figure converted at a stale rate is marked wherever it is summed.
WITH stale_after AS (SELECT coalesce(any_value(fx_stale_business_days), 3) AS days FROM {{ source('config', 'decision_settings') }})
SELECT
    l.*,
    s.reporting_currency,
    CASE WHEN l.currency = s.reporting_currency THEN CAST(1 AS DECIMAL(18, 10)) ELSE fx.rate_to_reporting END AS fx_rate,
    CASE WHEN l.currency = s.reporting_currency THEN l.charge_date ELSE fx.rate_date END                   AS fx_rate_date,
    CAST(CASE WHEN l.currency = s.reporting_currency THEN 0 ELSE fx.age END AS INTEGER)                    AS fx_rate_age_business_days,
    coalesce(l.currency <> s.reporting_currency AND fx.age > sa.days, false)                                AS fx_stale,
    CAST(round(l.billed_cost * CASE WHEN l.currency = s.reporting_currency THEN 1 ELSE fx.rate_to_reporting END, 6) AS DECIMAL(18, 6)) AS amount_reporting
FROM {{ ref('stg_line_items') }} l
CROSS JOIN {{ source('config', 'settings') }} s
CROSS JOIN stale_after sa
LEFT JOIN {{ ref('stg_fx_days') }} fx ON fx.currency = l.currency AND fx.charge_date = l.charge_date

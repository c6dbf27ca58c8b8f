-- incremental: month
-- incremental_input: stg_line_items_fx charge_month
-- Converted figures resting on a stale ECB rate, per month and currency pair (e.g. USD/GBP): the oldest rate used and its age in business days at the latest charge date it converted, the charge days and lines affected and the amount converted with it (reporting currency), per team. A rate is stale when it is more than [decisions] fx_stale_business_days (default 3) business days older than its charge date (stg_line_items_fx). Read by the review, the Dagster check on fct_spend_daily and the alerts.
SELECT
    charge_month AS month,
    team,
    currency || '/' || reporting_currency      AS currency_pair,
    currency,
    reporting_currency,
    min(fx_rate_date)                           AS oldest_rate_date,
    max(fx_rate_date)                           AS newest_rate_date,
    max(fx_rate_age_business_days)              AS max_age_business_days,
    min(charge_date)                            AS first_stale_charge_date,
    max(charge_date)                            AS last_stale_charge_date,
    count(DISTINCT charge_date)                 AS stale_days,
    count(*)                                    AS lines,
    CAST(sum(amount_reporting) AS DECIMAL(18, 2)) AS amount_reporting
FROM {{ ref('stg_line_items_fx') }}
WHERE fx_stale
GROUP BY ALL

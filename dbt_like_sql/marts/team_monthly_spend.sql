-- Spend per month and team in the reporting currency: by product kind, variable spend (serverless GPU plus hosted APIs), and a projected month-end that runs the month-to-date variable spend at its daily rate over the days with data: the days of the month up to the latest day any export covers (so a team that spent nothing on some days is not over-projected, and a complete month projects to its actual spend).
WITH daily AS (
    SELECT charge_month, charge_date, team, product_kind, reporting_currency, amount_reporting
    FROM {{ ref('fct_spend_daily') }}
),
monthly AS (
    SELECT
        charge_month AS month,
        team,
        any_value(reporting_currency) AS currency,
        sum(amount_reporting) FILTER (WHERE product_kind = 'serverless_gpu') AS serverless_gpu,
        sum(amount_reporting) FILTER (WHERE product_kind = 'dedicated_gpu')  AS dedicated_gpu,
        sum(amount_reporting) FILTER (WHERE product_kind = 'hosted_api')     AS hosted_api,
        sum(amount_reporting) FILTER (WHERE product_kind = 'other')          AS other,
        sum(amount_reporting)                                                AS total_spend,
        count(DISTINCT charge_date) FILTER (WHERE product_kind IN ('serverless_gpu', 'hosted_api')) AS days_with_data,
        max(charge_date) FILTER (WHERE product_kind IN ('serverless_gpu', 'hosted_api'))             AS last_data_date
    FROM daily
    GROUP BY ALL
),
-- how far into each month the organisation's variable-spend data reaches
data_through AS (
    SELECT charge_month AS month, max(charge_date) AS through_date
    FROM daily WHERE product_kind IN ('serverless_gpu', 'hosted_api')
    GROUP BY ALL
),
m AS (
    SELECT monthly.*, CAST(day(coalesce(d.through_date, monthly.last_data_date)) AS INTEGER) AS days_elapsed
    FROM monthly LEFT JOIN data_through d USING (month)
)
SELECT
    month,
    team,
    currency,
    CAST(coalesce(serverless_gpu, 0) AS DECIMAL(18, 2))                         AS serverless_gpu,
    CAST(coalesce(dedicated_gpu, 0) AS DECIMAL(18, 2))                          AS dedicated_gpu,
    CAST(coalesce(hosted_api, 0) AS DECIMAL(18, 2))                             AS hosted_api,
    CAST(coalesce(other, 0) AS DECIMAL(18, 2))                                  AS other,
    CAST(coalesce(serverless_gpu, 0) + coalesce(hosted_api, 0) AS DECIMAL(18, 2)) AS variable_spend,
    CAST(total_spend AS DECIMAL(18, 2))                                          AS total_spend,
    CAST(coalesce(serverless_gpu, 0) + coalesce(hosted_api, 0) AS DECIMAL(18, 2)) AS month_to_date_variable,
    CAST(day(last_day(month)) AS INTEGER)                                        AS days_in_month,
    days_with_data,
    last_data_date,
    CASE WHEN days_elapsed > 0 THEN
        CAST((coalesce(serverless_gpu, 0) + coalesce(hosted_api, 0)) * day(last_day(month)) / days_elapsed AS DECIMAL(18, 2))
    END                                                                          AS projected_variable,
    days_elapsed                                                                 AS projection_days_used
FROM m

-- Spend per month and team in the reporting currency: by product kind (tax apart), variable spend (serverless GPU plus hosted APIs, plus tax when [decisions] tax_in_thresholds) and the projected month-end variable spend: the actual to date plus a forecast of the remaining days, per provider from that provider's own last complete day at its recent level with weekday factors (int_projection_daily), and its 80 % band from backtesting the method on the team's own history (int_projection_band: projected_low, projected_high, band_method, backtests). A closed month projects to its actual spend. projection_days_used is the days of the month with actual data for the team's least advanced provider; projection_from the last complete day the forecast starts after.
WITH daily AS (
    SELECT charge_month, charge_date, team, product_kind, reporting_currency, amount_reporting
    FROM {{ ref('fct_spend_daily') }}
),
settings AS (
    SELECT coalesce(any_value(tax_in_thresholds), false) AS tax_in FROM {{ source('config', 'decision_settings') }}
),
monthly AS (
    SELECT
        charge_month AS month,
        team,
        any_value(reporting_currency) AS currency,
        sum(amount_reporting) FILTER (WHERE product_kind = 'serverless_gpu') AS serverless_gpu,
        sum(amount_reporting) FILTER (WHERE product_kind = 'dedicated_gpu')  AS dedicated_gpu,
        sum(amount_reporting) FILTER (WHERE product_kind = 'hosted_api')     AS hosted_api,
        sum(amount_reporting) FILTER (WHERE product_kind = 'tax')            AS tax,
        sum(amount_reporting) FILTER (WHERE product_kind NOT IN ('serverless_gpu', 'dedicated_gpu', 'hosted_api', 'tax')) AS other,
        sum(amount_reporting)                                                AS total_spend,
        count(DISTINCT charge_date) FILTER (WHERE product_kind IN ('serverless_gpu', 'hosted_api')) AS days_with_data,
        max(charge_date) FILTER (WHERE product_kind IN ('serverless_gpu', 'hosted_api'))             AS last_data_date
    FROM daily
    GROUP BY ALL
),
projection AS (
    SELECT month, team,
           sum(amount) AS projected,
           sum(amount) FILTER (WHERE is_forecast) AS forecast,
           sum(amount) FILTER (WHERE NOT is_forecast) AS actual_used,
           min(origin_day) AS projection_from
    FROM {{ ref('int_projection_daily') }}
    GROUP BY ALL
),
days_used AS (
    SELECT month, team, min(n) AS days_used
    FROM (SELECT month, team, provider, count(*) FILTER (WHERE NOT is_forecast) AS n FROM {{ ref('int_projection_daily') }} GROUP BY ALL)
    GROUP BY ALL
),
m AS (
    SELECT monthly.*,
           coalesce(serverless_gpu, 0) + coalesce(hosted_api, 0) + CASE WHEN s.tax_in THEN coalesce(tax, 0) ELSE 0 END AS variable,
           p.projected, coalesce(p.forecast, 0) AS forecast, p.actual_used, p.projection_from, d.days_used,
           b.ratio_low, b.ratio_high, b.band_method, b.backtests
    FROM monthly
    CROSS JOIN settings s
    LEFT JOIN projection p USING (month, team)
    LEFT JOIN days_used d USING (month, team)
    LEFT JOIN {{ ref('int_projection_band') }} b USING (month, team)
)
SELECT
    month,
    team,
    currency,
    CAST(coalesce(serverless_gpu, 0) AS DECIMAL(18, 2))                         AS serverless_gpu,
    CAST(coalesce(dedicated_gpu, 0) AS DECIMAL(18, 2))                          AS dedicated_gpu,
    CAST(coalesce(hosted_api, 0) AS DECIMAL(18, 2))                             AS hosted_api,
    CAST(coalesce(tax, 0) AS DECIMAL(18, 2))                                    AS tax,
    CAST(coalesce(other, 0) AS DECIMAL(18, 2))                                  AS other,
    CAST(variable AS DECIMAL(18, 2))                                            AS variable_spend,
    CAST(total_spend AS DECIMAL(18, 2))                                         AS total_spend,
    CAST(variable AS DECIMAL(18, 2))                                            AS month_to_date_variable,
    CAST(day(last_day(month)) AS INTEGER)                                       AS days_in_month,
    days_with_data,
    last_data_date,
    CAST(CASE WHEN forecast > 0 THEN projected ELSE variable END AS DECIMAL(18, 2)) AS projected_variable,
    CAST(CASE WHEN forecast > 0 THEN actual_used + forecast * coalesce(ratio_low, 1) ELSE variable END AS DECIMAL(18, 2))  AS projected_low,
    CAST(CASE WHEN forecast > 0 THEN actual_used + forecast * coalesce(ratio_high, 1) ELSE variable END AS DECIMAL(18, 2)) AS projected_high,
    CASE WHEN forecast > 0 THEN band_method END                                 AS band_method,
    CASE WHEN forecast > 0 THEN backtests END                                   AS backtests,
    CAST(coalesce(days_used, day(last_day(month))) AS INTEGER)                  AS projection_days_used,
    projection_from
FROM m

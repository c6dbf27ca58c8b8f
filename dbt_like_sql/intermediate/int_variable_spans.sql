-- The dense daily series of variable spend int_daily_variable reads (serverless GPU and hosted APIs; tax too when [decisions] tax_in_thresholds), one row per series and month it covers: a team and provider's series runs from the pair's first day of spend (first_day) to its provider's last complete day (stg_data_horizon, last_day); the team's total (provider '(all)') from its earliest first_day to its least advanced provider's last complete day. month_first_day and month_last_day are the series' first and last days within the month. A small table rebuilt whole at each build: int_daily_variable rebuilds the months whose rows here changed (a series that starts earlier changes every month it covers; a horizon that moves, the months it moves through).
WITH spend AS (
    SELECT f.team, f.provider, min(f.charge_date) AS first_day
    FROM {{ ref('fct_spend_daily') }} f
    LEFT JOIN {{ source('config', 'decision_settings') }} ds ON true
    WHERE f.product_kind IN ('serverless_gpu', 'hosted_api') OR (f.product_kind = 'tax' AND coalesce(ds.tax_in_thresholds, false))
    GROUP BY ALL
),
spans AS (
    SELECT s.team, s.provider, s.first_day, h.last_complete_day AS last_day
    FROM spend s JOIN {{ ref('stg_data_horizon') }} h USING (provider)
),
series AS (
    SELECT team, provider, first_day, last_day FROM spans
    UNION ALL
    SELECT team, '(all)', min(first_day), min(last_day) FROM spans GROUP BY team
)
SELECT team, provider, first_day, last_day, CAST(m.month AS DATE) AS month,
       CAST(greatest(first_day, m.month) AS DATE) AS month_first_day,
       CAST(least(last_day, m.month + INTERVAL 1 MONTH - INTERVAL 1 DAY) AS DATE) AS month_last_day
FROM series,
     LATERAL (SELECT unnest(generate_series(date_trunc('month', first_day), date_trunc('month', last_day), INTERVAL 1 MONTH)) AS month) m
WHERE first_day <= last_day

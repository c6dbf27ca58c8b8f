-- The window each decision is taken over, per month, team and GPU class used on serverless: the calendar month when the data of every provider the team used for that class reaches the month's last day (a closed month), otherwise the trailing 30 days ending at the last complete day of that data (window_kind trailing_30_days), so a decision read on the 8th or the 15th weighs a whole month of demand against a whole month of rent. A month whose first day is not yet complete has no window.
WITH used AS (
    SELECT DISTINCT charge_month AS month, team, gpu_class, provider
    FROM {{ ref('int_serverless_hours') }}   -- lines with GPU-seconds only
),
through AS (
    SELECT u.month, u.team, u.gpu_class, min(h.last_complete_day) AS data_through
    FROM used u JOIN {{ ref('stg_data_horizon') }} h USING (provider)
    GROUP BY ALL
),
w AS (
    SELECT *,
           CASE WHEN data_through >= last_day(month) THEN 'calendar_month' ELSE 'trailing_30_days' END AS window_kind
    FROM through
    WHERE data_through >= month
)
SELECT
    month, team, gpu_class, window_kind, data_through,
    CAST(CASE window_kind WHEN 'calendar_month' THEN month ELSE data_through - 29 END AS DATE) AS window_start,
    CAST(CASE window_kind WHEN 'calendar_month' THEN last_day(month) ELSE data_through END AS DATE) AS window_end,
    CAST(CASE window_kind WHEN 'calendar_month' THEN day(last_day(month)) ELSE 30 END AS INTEGER) AS window_days,
    CAST(CASE window_kind WHEN 'calendar_month' THEN day(last_day(month)) ELSE 30 END AS BIGINT) * 86400 AS seconds_in_window
FROM w

-- The decision window of each month, team, provider and hosted model with token usage (api_vs_selfhost): the calendar month when the provider's data reaches its last day (a closed month), otherwise the trailing 30 days ending at the provider's last complete day (window_kind trailing_30_days), like int_decision_windows for serverless GPUs. A month whose first day is not yet complete has no window. month_fraction is the window's share of a month of rent: each of its days counts 1 / the days of its own month (a monthly price in force that day / the days of its month, as in int_window_offers).
WITH months AS (
    SELECT l.charge_month AS month, l.team, l.provider, l.model, h.last_complete_day AS data_through
    FROM {{ ref('int_api_models_used') }} l JOIN {{ ref('stg_data_horizon') }} h USING (provider)
    WHERE h.last_complete_day >= l.charge_month
),
w AS (
    SELECT *,
           CASE WHEN data_through >= last_day(month) THEN 'calendar_month' ELSE 'trailing_30_days' END AS window_kind,
           CAST(CASE WHEN data_through >= last_day(month) THEN month ELSE data_through - 29 END AS DATE) AS window_start,
           CAST(CASE WHEN data_through >= last_day(month) THEN last_day(month) ELSE data_through END AS DATE) AS window_end
    FROM months
)
SELECT
    month, team, provider, model, window_kind, data_through, window_start, window_end,
    CAST(window_end - window_start + 1 AS INTEGER) AS window_days,
    CASE WHEN date_trunc('month', window_start) = date_trunc('month', window_end)
         THEN CAST(window_end - window_start + 1 AS DOUBLE) / day(last_day(window_end))
         ELSE CAST(last_day(window_start) - window_start + 1 AS DOUBLE) / day(last_day(window_start))
              + CAST(day(window_end) AS DOUBLE) / day(last_day(window_end))
              -- a whole month in between (31 January - 1 March skips February): a whole month of rent
              + (date_diff('month', date_trunc('month', window_start), date_trunc('month', window_end)) - 1) END AS month_fraction
FROM w

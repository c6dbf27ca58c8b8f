-- The 80 % band of each month-end projection, from backtesting the same method on the team's own history: for a month still in progress with H forecast days left, every earlier day o of the team's total variable spend series (int_daily_variable, provider '(all)') with at least 28 days behind it and H days after it is taken as an origin; the method forecasts days o+1..o+H (rate_7d(o) x weekday factors seen from o), and the ratio actual / forecast is recorded. ratio_low and ratio_high are the 10th and 90th percentiles of those ratios (backtests = their number); the band is the actual to date plus the forecast times each ratio. With fewer than 5 backtests the ratios are 0.75 and 1.25 (band_method says which).
WITH need AS (
    SELECT month, team,
           max(forecast_days) AS horizon_days
    FROM (SELECT month, team, provider, count(*) FILTER (WHERE is_forecast) AS forecast_days
          FROM {{ ref('int_projection_daily') }} GROUP BY ALL)
    GROUP BY ALL
    HAVING max(forecast_days) > 0
),
series AS (
    SELECT * FROM {{ ref('int_daily_variable') }} WHERE provider = '(all)'
),
origins AS (
    SELECT n.month, n.team, n.horizon_days, s.day AS origin_day, s.rate_7d, s.mean_28d
    FROM need n
    JOIN series s ON s.team = n.team AND s.day_number >= 28
    WHERE s.day + CAST(n.horizon_days AS INTEGER) <= (SELECT max(day) FROM series x WHERE x.team = n.team)
),
steps AS (
    SELECT o.*, CAST(r.j AS INTEGER) AS j
    FROM origins o, LATERAL (SELECT unnest(range(1, CAST(o.horizon_days AS BIGINT) + 1)) AS j) r
),
scored AS (
    SELECT st.month, st.team, st.origin_day,
           sum(CAST(a.amount AS DOUBLE)) AS actual,
           sum(st.rate_7d * CASE WHEN st.mean_28d > 0 THEN f.dow_mean_4w / st.mean_28d ELSE 1 END) AS forecast
    FROM steps st
    JOIN series a ON a.team = st.team AND a.day = st.origin_day + st.j
    JOIN series f ON f.team = st.team AND f.day = st.origin_day + st.j - 7 * CAST(ceil(st.j / 7.0) AS INTEGER)
    GROUP BY ALL
),
q AS (
    SELECT month, team, count(*) AS backtests,
           quantile_cont(actual / forecast, 0.1) AS q10, quantile_cont(actual / forecast, 0.9) AS q90
    FROM scored WHERE forecast > 0
    GROUP BY ALL
)
SELECT
    n.month, n.team, n.horizon_days,
    coalesce(q.backtests, 0) AS backtests,
    CAST(CASE WHEN coalesce(q.backtests, 0) >= 5 THEN least(q.q10, 1) ELSE 0.75 END AS DECIMAL(12, 6)) AS ratio_low,
    CAST(CASE WHEN coalesce(q.backtests, 0) >= 5 THEN greatest(q.q90, 1) ELSE 1.25 END AS DECIMAL(12, 6)) AS ratio_high,
    CASE WHEN coalesce(q.backtests, 0) >= 5 THEN 'backtest p10-p90 of ' || q.backtests || ' origins'
         ELSE 'default 0.75-1.25 (fewer than 5 backtests)' END AS band_method
FROM need n
LEFT JOIN q USING (month, team)

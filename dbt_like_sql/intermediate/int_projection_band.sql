-- The 80 % band of each month-end projection, from backtesting the same method on the team's own history (docs/warehouse.md, "Month-end projection"). For a month in progress, each provider p of the team is forecast from its own last complete day O_p to the month's end E. A backtest shifts the whole projection s days back: each provider is forecast from O_p - s (int_daily_variable's level and weekday factors seen from that day, when it has 28 days of history behind it) to E - s, and actual / forecast of those days summed over the providers is recorded, for every shift s from the largest horizon (E - min O_p, so every forecast day has an actual) to 62 days beyond it. q10 and q90 are the 10th and 90th percentiles of those ratios (backtests = their number). Overlapping backtests of a short history understate the spread, so the band is at least the spread implied by the day-to-day noise of the series: noise_sd = sqrt(sum over p of H_p x daily_sd_p^2 + H_p^2 x level_sd_p^2) / forecast (H_p the provider's forecast days), A ramp (or cut) in progress is a risk the history cannot show: for a provider whose level shifted, its trend continued for up to 7 more days (then flat) gives trend_ratio = 1 + (that path - the flat forecast, summed over providers) / forecast. ratio_low = min(q10, 1 - 1.2816 noise_sd, trend_ratio, 1), ratio_high = max(q90, 1 + 1.2816 noise_sd, trend_ratio, 1). With fewer than 5 backtests q10 and q90 are 0.75 and 1.25 (band_method says which). The band is the actual to date plus the forecast times each ratio (team_monthly_spend).
WITH horizons AS (   -- per month, team and provider still being forecast: its origin, forecast days and forecast
    SELECT month, team, provider, min(origin_day) AS origin_day,
           count(*) FILTER (WHERE is_forecast) AS horizon_days,
           sum(CAST(amount AS DOUBLE)) FILTER (WHERE is_forecast) AS forecast
    FROM {{ ref('int_projection_daily') }}
    GROUP BY ALL
    HAVING count(*) FILTER (WHERE is_forecast) > 0
),
need AS (
    SELECT month, team, max(horizon_days) AS min_shift, sum(forecast) AS forecast FROM horizons GROUP BY ALL
),
noise AS (   -- the spread of the forecast total implied by each provider's day-to-day noise and its level's error
    SELECT h.month, h.team,
           sqrt(sum(h.horizon_days * coalesce(v.daily_sd, 0) ^ 2 + h.horizon_days ^ 2 * coalesce(v.level_sd, 0) ^ 2)) AS forecast_sd
    FROM horizons h
    JOIN {{ ref('int_daily_variable') }} v ON v.team = h.team AND v.provider = h.provider AND v.day = h.origin_day
    GROUP BY ALL
),
trend AS (   -- a ramp (or cut) in progress: the shifted level's trend continued for up to 7 more days (as long as the
               -- window it was measured on), then flat; how much that adds to (or takes from) the flat forecast
    SELECT h.month, h.team,
           sum(CASE WHEN v.level_shift AND isfinite(v.trend_7d)
                    THEN (greatest(0, v.level + v.trend_7d * least(d.day - h.origin_day, 7)) - v.level) * v.weekday_factors[isodow(d.day)]
                    ELSE 0 END) AS trend_extra
    FROM horizons h
    JOIN {{ ref('int_daily_variable') }} v ON v.team = h.team AND v.provider = h.provider AND v.day = h.origin_day
    JOIN {{ ref('int_projection_daily') }} d ON d.month = h.month AND d.team = h.team AND d.provider = h.provider AND d.is_forecast
    GROUP BY ALL
),
shifts AS (
    SELECT n.month, n.team, CAST(n.min_shift + r.i AS INTEGER) AS shift
    FROM need n, LATERAL (SELECT unnest(range(0, 63)) AS i) r
),
origins AS (   -- each provider moved back by the shift, where it has 28 days of history
    SELECT s.month, s.team, s.shift, h.provider, v.day AS origin_day, h.horizon_days, v.level, v.weekday_factors
    FROM shifts s
    JOIN horizons h ON h.month = s.month AND h.team = s.team
    JOIN {{ ref('int_daily_variable') }} v
      ON v.team = h.team AND v.provider = h.provider AND v.day = h.origin_day - s.shift AND v.day_number >= 28
),
steps AS (
    SELECT o.*, CAST(o.origin_day + CAST(r.j AS INTEGER) AS DATE) AS day
    FROM origins o, LATERAL (SELECT unnest(range(1, CAST(o.horizon_days AS BIGINT) + 1)) AS j) r
),
scored AS (
    SELECT st.month, st.team, st.shift,
           sum(CAST(a.amount AS DOUBLE)) AS actual,
           sum(st.level * st.weekday_factors[isodow(st.day)]) AS forecast
    FROM steps st
    JOIN {{ ref('int_daily_variable') }} a ON a.team = st.team AND a.provider = st.provider AND a.day = st.day
    GROUP BY ALL
),
q AS (
    SELECT month, team, count(*) AS backtests,
           quantile_cont(actual / forecast, 0.1) AS q10, quantile_cont(actual / forecast, 0.9) AS q90
    FROM scored WHERE forecast > 0
    GROUP BY ALL
),
b AS (
    SELECT n.month, n.team, n.min_shift AS horizon_days, coalesce(q.backtests, 0) AS backtests,
           coalesce(q.backtests, 0) >= 5 AS backtested,
           CASE WHEN coalesce(q.backtests, 0) >= 5 THEN q.q10 ELSE 0.75 END AS q10,
           CASE WHEN coalesce(q.backtests, 0) >= 5 THEN q.q90 ELSE 1.25 END AS q90,
           CASE WHEN n.forecast > 0 THEN 1.2816 * x.forecast_sd / n.forecast ELSE 0 END AS noise_half_width,
           CASE WHEN n.forecast > 0 THEN 1 + coalesce(t.trend_extra, 0) / n.forecast ELSE 1 END AS trend_ratio
    FROM need n
    LEFT JOIN q USING (month, team)
    LEFT JOIN noise x USING (month, team)
    LEFT JOIN trend t USING (month, team)
)
SELECT
    month, team, horizon_days, backtests,
    CAST(greatest(0, least(q10, 1 - coalesce(noise_half_width, 0), trend_ratio, 1)) AS DECIMAL(12, 6)) AS ratio_low,
    CAST(greatest(q90, 1 + coalesce(noise_half_width, 0), trend_ratio, 1) AS DECIMAL(12, 6)) AS ratio_high,
    CASE WHEN backtested THEN 'backtest p10-p90 of ' || backtests || ' origins' ELSE 'default 0.75-1.25 (fewer than 5 backtests)' END
    || CASE WHEN 1 - coalesce(noise_half_width, 0) < least(q10, trend_ratio) OR 1 + coalesce(noise_half_width, 0) > greatest(q90, trend_ratio)
            THEN ', widened to the day-to-day noise' ELSE '' END
    || CASE WHEN trend_ratio < least(q10, 1 - coalesce(noise_half_width, 0)) OR trend_ratio > greatest(q90, 1 + coalesce(noise_half_width, 0))
            THEN ', widened to the trend continued 7 days' ELSE '' END AS band_method
FROM b

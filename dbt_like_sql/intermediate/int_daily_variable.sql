-- incremental: month
-- incremental_input: int_variable_spans month
-- incremental_lookback: 6
-- incremental_watch: int_variable_spans month
-- Variable spend (serverless GPU and hosted APIs; tax too when [decisions] tax_in_thresholds) per team, provider and day in the reporting currency, as a dense series (and the team's total across providers as provider '(all)', up to its least advanced provider's last complete day): every day from the pair's first day of spend to its provider's last complete day (stg_data_horizon), 0 on days without spend (int_variable_spans), day_number counting from its first day. With the month-end projection's forecast as seen from each day o taken as an origin (docs/warehouse.md, "Month-end projection"): weekday_factors (Monday first) from the 8 weeks ending 3 days before o (each weekday's spend over its centred 7-day mean, normalised to average 1; all 1 with fewer than 14 such days), level_shift (the last 7 days' mean differs from the 21 days before by more than 2 standard errors of the deseasonalised daily spend), level (after a shift, the last 7 days' mean brought to o by their trend; for an intermittent or erratic series (Syntetos-Boylan: ADI >= 1.32 or CV² >= 0.49 over up to 91 days) whose older history agrees with its last 28 days within 2 standard errors, the mean of up to 91 days (level_method 'long'); otherwise the 28-day mean; fewer than 28 days: the last 7 days' mean) and level_sd (the standard error of the level, the day-to-day spread of the window it is taken from): the forecast of a later day t is level x weekday_factors[isodow(t)].
WITH spend AS (
    SELECT f.team, f.provider, f.charge_date AS day, sum(f.amount_reporting) AS amount
    FROM {{ ref('fct_spend_daily') }} f
    LEFT JOIN {{ source('config', 'decision_settings') }} ds ON true
    WHERE f.product_kind IN ('serverless_gpu', 'hosted_api') OR (f.product_kind = 'tax' AND coalesce(ds.tax_in_thresholds, false))
    GROUP BY ALL
),
by_series AS (   -- and the team's total as provider '(all)'
    SELECT * FROM spend
    UNION ALL
    SELECT team, '(all)' AS provider, day, sum(amount) AS amount FROM spend GROUP BY ALL
),
dense AS (   -- every day of the series' months (int_variable_spans; an incremental rebuild reads its months and 6 before)
    SELECT p.team, p.provider, p.first_day, CAST(p.month_first_day + CAST(r.i AS INTEGER) AS DATE) AS day
    FROM {{ ref('int_variable_spans') }} p,
         LATERAL (SELECT unnest(range(0, p.month_last_day - p.month_first_day + 1)) AS i) r
),
series AS (
    SELECT d.team, d.provider, d.day, d.day - d.first_day + 1 AS day_number, coalesce(s.amount, 0) AS amount
    FROM dense d LEFT JOIN by_series s USING (team, provider, day)
),
centred AS (   -- each day's spend over its centred 7-day mean (NULL within 3 days of either end of the series, or when that mean is 0)
    SELECT team, provider, day, CAST(amount AS DOUBLE) AS y, isodow(day) AS dow,
           CASE WHEN count(*) OVER w = 7 AND avg(CAST(amount AS DOUBLE)) OVER w > 0
                THEN CAST(amount AS DOUBLE) / avg(CAST(amount AS DOUBLE)) OVER w END AS rho,
           day_number,
           amount
    FROM series
    WINDOW w AS (PARTITION BY team, provider ORDER BY day ROWS BETWEEN 3 PRECEDING AND 3 FOLLOWING)
),
by_weekday AS (   -- at each day t: the mean and variance of that weekday's ratio over the 8 same-weekday days ending at t
    SELECT *,
           count(rho) OVER d8 AS n_8w, avg(rho) OVER d8 AS rho_8w, var_samp(rho) OVER d8 AS var_8w
    FROM centred
    WINDOW d8 AS (PARTITION BY team, provider, dow ORDER BY day ROWS 7 PRECEDING)
),
raw_factors AS (   -- per origin o, over the 8 weeks of days o-58 .. o-3: each weekday's mean ratio, and how much of their
                   -- spread is more than noise: k = 1 - (mean variance of a weekday's mean) / (variance across weekdays)
    SELECT o.team, o.provider, o.day,
           sum(w.n_8w) AS factor_days, count(w.rho_8w) AS weekdays,
           list(w.rho_8w ORDER BY w.dow) AS r,
           greatest(0, least(1, 1 - coalesce(avg(w.var_8w / w.n_8w), 0) / nullif(var_pop(w.rho_8w), 0))) AS k
    FROM (   -- the days o-9 .. o-3: each weekday once (the day worked out first: an equality join on it)
        SELECT c.team, c.provider, c.day, CAST(c.day - b.back AS DATE) AS back_day
        FROM centred c CROSS JOIN (SELECT CAST(unnest(range(3, 10)) AS INTEGER) AS back) b
    ) o
    JOIN by_weekday w ON w.team = o.team AND w.provider = o.provider AND w.day = o.back_day
    GROUP BY o.team, o.provider, o.day
),
factors AS (   -- normalised to average 1 and shrunk towards 1 by k
    SELECT c.*,
           CASE WHEN f.factor_days >= 14 AND f.weekdays = 7 AND list_sum(f.r) > 0 AND f.k > 0
                THEN [1 + f.k * (x * 7 / list_sum(f.r) - 1) FOR x IN f.r]
                ELSE [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0] END AS weekday_factors
    FROM centred c LEFT JOIN raw_factors f USING (team, provider, day)
),
deseasonalised AS (   -- the day's spend over its weekday's factor as seen that day (a factor under 0.05: as spent)
    SELECT *, y / CASE WHEN weekday_factors[dow] >= 0.05 THEN weekday_factors[dow] ELSE 1 END AS z
    FROM factors
),
windows AS (
    SELECT *,
           avg(y) OVER (PARTITION BY team, provider ORDER BY day ROWS 6 PRECEDING)  AS mean_7d,
           avg(y) OVER (PARTITION BY team, provider ORDER BY day ROWS BETWEEN 27 PRECEDING AND 7 PRECEDING) AS mean_21d_before,
           avg(y) OVER (PARTITION BY team, provider ORDER BY day ROWS 27 PRECEDING) AS mean_28d,
           regr_slope(z, day_number) OVER (PARTITION BY team, provider ORDER BY day ROWS 6 PRECEDING) AS trend_7d,
           stddev_samp(z) OVER (PARTITION BY team, provider ORDER BY day ROWS 6 PRECEDING)  AS sd_7d,
           stddev_samp(z) OVER (PARTITION BY team, provider ORDER BY day ROWS 27 PRECEDING) AS sd_28d,
           -- the long window (up to 91 days) an intermittent or erratic series' level is taken from, and its
           -- Syntetos-Boylan statistics: ADI (days per day with spend) and CV² of the spend on days with spend
           avg(y) OVER l91 AS mean_91d,
           count(*) OVER l91 AS days_91d,
           count(*) OVER l91 / nullif(count(nullif(y, 0)) OVER l91, 0) AS adi_91d,
           var_pop(nullif(y, 0)) OVER l91 / nullif(avg(nullif(y, 0)) OVER l91, 0) ^ 2 AS cv2_91d,
           stddev_samp(z) OVER l91 AS sd_91d,
           avg(y) OVER (PARTITION BY team, provider ORDER BY day ROWS BETWEEN 90 PRECEDING AND 28 PRECEDING) AS mean_older,
           count(*) OVER (PARTITION BY team, provider ORDER BY day ROWS BETWEEN 90 PRECEDING AND 28 PRECEDING) AS days_older
    FROM deseasonalised
    WINDOW l91 AS (PARTITION BY team, provider ORDER BY day ROWS 90 PRECEDING)
),
shifted AS (
    SELECT *,
           day_number >= 28 AND abs(mean_7d - mean_21d_before) > 2 * coalesce(sd_28d, 0) * sqrt(1.0 / 7 + 1.0 / 21) AS level_shift
    FROM windows
),
classified AS (   -- intermittent (ADI >= 1.32) or erratic (CV² >= 0.49), with history older than 28 days that agrees
                  -- with the last 28 (within 2 standard errors): the long window is the rate's unbiased, steadier estimate
    SELECT *,
           NOT level_shift AND day_number > 28 AND (coalesce(adi_91d, 99) >= 1.32 OR coalesce(cv2_91d, 0) >= 0.49)
           AND abs(mean_28d - mean_older) <= 2 * coalesce(sd_91d, 0) * sqrt(1.0 / 28 + 1.0 / days_older) AS long_window
    FROM shifted
)
SELECT
    team, provider, day, CAST(date_trunc('month', day) AS DATE) AS month, (SELECT reporting_currency FROM {{ source('config', 'settings') }}) AS currency,
    CAST(amount AS DECIMAL(18, 6)) AS amount,
    day_number,
    mean_7d, mean_28d, mean_91d, adi_91d, cv2_91d, trend_7d, level_shift, weekday_factors,
    CASE WHEN level_shift THEN 'shift' WHEN long_window THEN 'long' WHEN day_number >= 28 THEN '28d' ELSE '7d' END AS level_method,
    CASE WHEN level_shift THEN greatest(0, mean_7d + 3 * coalesce(nullif(trend_7d, 'NaN'::DOUBLE), 0))
         WHEN long_window THEN mean_91d
         WHEN day_number >= 28 THEN mean_28d
         ELSE mean_7d END AS level,
    CASE WHEN level_shift THEN coalesce(sd_7d, 0) * sqrt(1.0 / 7 + 9.0 / 28)
         WHEN long_window THEN coalesce(sd_91d, 0) / sqrt(days_91d)
         WHEN day_number >= 28 THEN coalesce(sd_28d, 0) / sqrt(28)
         ELSE coalesce(sd_7d, 0) / sqrt(least(day_number, 7)) END AS level_sd,
    CASE WHEN level_shift THEN sd_7d WHEN long_window THEN sd_91d WHEN day_number >= 28 THEN sd_28d ELSE sd_7d END AS daily_sd
FROM classified

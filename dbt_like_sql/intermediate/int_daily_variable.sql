-- Variable spend (serverless GPU and hosted APIs; tax too when [decisions] tax_in_thresholds) per team, provider and day in the reporting currency, as a dense series (and the team's total across providers as provider '(all)', up to its least advanced provider's last complete day): every day from the pair's first day of spend to its provider's last complete day (stg_data_horizon), 0 on days without spend. With the features the projection reads at each day taken as an origin: rate_7d (the mean of the 7 days ending that day), mean_28d (the mean of the up to 28 days ending that day) and dow_mean_4w (the mean of the up to 4 same-weekday days ending that day): the weekday factor of a later day t, seen from origin o, is dow_mean_4w at the last day <= o with t's weekday over mean_28d at o.
WITH spend AS (
    SELECT f.team, f.provider, f.charge_date AS day, sum(f.amount_reporting) AS amount
    FROM {{ ref('fct_spend_daily') }} f
    LEFT JOIN {{ source('config', 'decision_settings') }} ds ON true
    WHERE f.product_kind IN ('serverless_gpu', 'hosted_api') OR (f.product_kind = 'tax' AND coalesce(ds.tax_in_thresholds, false))
    GROUP BY ALL
),
spans AS (
    SELECT s.team, s.provider, min(s.day) AS first_day, any_value(h.last_complete_day) AS last_day
    FROM spend s JOIN {{ ref('stg_data_horizon') }} h USING (provider)
    GROUP BY ALL
),
dense AS (
    SELECT p.team, p.provider, CAST(p.first_day + CAST(r.i AS INTEGER) AS DATE) AS day
    FROM spans p, LATERAL (SELECT unnest(range(0, greatest(0, p.last_day - p.first_day + 1))) AS i) r
),
by_provider AS (
    SELECT d.team, d.provider, d.day, coalesce(s.amount, 0) AS amount
    FROM dense d LEFT JOIN spend s USING (team, provider, day)
),
series AS (   -- and the team's total as provider '(all)', up to the day its least advanced provider reaches
    SELECT * FROM by_provider
    UNION ALL
    SELECT b.team, '(all)' AS provider, b.day, sum(b.amount) AS amount
    FROM by_provider b
    JOIN (SELECT team, min(last_day) AS through FROM spans GROUP BY ALL) t ON t.team = b.team AND b.day <= t.through
    GROUP BY ALL
)
SELECT
    team, provider, day, (SELECT reporting_currency FROM {{ source('config', 'settings') }}) AS currency,
    CAST(amount AS DECIMAL(18, 6)) AS amount,
    avg(CAST(amount AS DOUBLE)) OVER (PARTITION BY team, provider ORDER BY day ROWS 6 PRECEDING)  AS rate_7d,
    avg(CAST(amount AS DOUBLE)) OVER (PARTITION BY team, provider ORDER BY day ROWS 27 PRECEDING) AS mean_28d,
    avg(CAST(amount AS DOUBLE)) OVER (PARTITION BY team, provider, isodow(day) ORDER BY day ROWS 3 PRECEDING) AS dow_mean_4w,
    row_number() OVER (PARTITION BY team, provider ORDER BY day) AS day_number
FROM series

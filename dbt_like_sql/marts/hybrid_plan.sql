-- incremental: month
-- incremental_input: int_serverless_hours charge_month
-- incremental_lookback: 2
-- incremental_watch: breakeven month
-- Per month, team and GPU class with hourly serverless data, over the decision window of breakeven (window_start, window_end): the number k of dedicated GPUs that minimises k x D + s x 3600 x sum over the window's hours of max(0, demand - k), where demand is the GPUs in use each hour, D one GPU of the verdict's dedicated offer for the window and s the team's effective serverless price per GPU-second; k is a whole number of the offer's rentable units (multiples of min_units). With the cost at that k and at k = 0 (all serverless), and the date of the ECB rate D was converted at; fx_stale marks figures resting on a stale ECB rate (the serverless cost's, breakeven.fx_stale, or D's, breakeven.dedicated_fx_stale). Ties go to the smaller k.
WITH params AS (
    SELECT b.month, b.team, b.gpu_class, b.currency, b.window_start, b.window_end, b.dedicated_monthly,
           b.serverless_price_per_second, b.fx_rate_date, coalesce(b.dedicated_min_units, 1) AS min_units,
           coalesce(b.fx_stale OR b.dedicated_fx_stale, false) AS fx_stale
    FROM {{ ref('breakeven') }} b
    WHERE b.dedicated_monthly IS NOT NULL
),
lines AS (
    SELECT p.month, p.team, p.gpu_class, u.hour_start, u.hourly, u.gpu_seconds
    FROM params p
    JOIN {{ ref('int_serverless_hours') }} u   -- the lines with GPU-seconds, summed per hour
      ON u.team = p.team AND u.gpu_class = p.gpu_class AND u.charge_date BETWEEN p.window_start AND p.window_end
),
-- only windows whose every serverless line for the class is hourly or finer
complete AS (
    SELECT month, team, gpu_class FROM lines GROUP BY ALL
    HAVING bool_and(hourly)
),
demand AS (
    SELECT l.month, l.team, l.gpu_class, l.hour_start, sum(l.gpu_seconds) / 3600.0 AS gpus
    FROM lines l JOIN complete USING (month, team, gpu_class)
    GROUP BY ALL
),
peaks AS (
    SELECT month, team, gpu_class, count(*) AS hours_observed, max(gpus) AS peak
    FROM demand GROUP BY ALL
),
candidates AS (
    SELECT p.month, p.team, p.gpu_class, k.k
    FROM peaks p JOIN params pr USING (month, team, gpu_class),
         LATERAL (SELECT unnest(range(0, CAST(ceil(p.peak / pr.min_units) * pr.min_units AS BIGINT) + 1, pr.min_units)) AS k) k
),
costs AS (
    SELECT c.month, c.team, c.gpu_class, c.k,
           c.k * CAST(pr.dedicated_monthly AS DOUBLE)
             + CAST(pr.serverless_price_per_second AS DOUBLE) * 3600 * coalesce(sum(greatest(0, d.gpus - c.k)), 0) AS cost
    FROM candidates c
    JOIN params pr USING (month, team, gpu_class)
    LEFT JOIN demand d ON d.month = c.month AND d.team = c.team AND d.gpu_class = c.gpu_class
    GROUP BY c.month, c.team, c.gpu_class, c.k, pr.dedicated_monthly, pr.serverless_price_per_second
),
best AS (
    SELECT month, team, gpu_class,
           first(k ORDER BY round(cost, 6), k) AS best_k,   -- ties: the smaller k
           min(cost) AS cost_at_best,
           any_value(cost) FILTER (WHERE k = 0) AS cost_at_zero
    FROM costs GROUP BY ALL
)
SELECT
    b.month, b.team, b.gpu_class, pr.currency, pr.window_start, pr.window_end,
    CAST(pk.hours_observed AS INTEGER)        AS hours_observed,
    CAST(pk.peak AS DECIMAL(12, 3))           AS peak_demand_gpus,
    CAST(b.best_k AS INTEGER)                 AS best_k,
    CAST(b.cost_at_best AS DECIMAL(18, 2))    AS cost_at_best,
    CAST(b.cost_at_zero AS DECIMAL(18, 2))    AS cost_at_zero,
    CAST(b.cost_at_zero - b.cost_at_best AS DECIMAL(18, 2)) AS saving,
    pr.dedicated_monthly,
    pr.min_units                              AS dedicated_min_units,
    pr.serverless_price_per_second,
    pr.fx_rate_date,
    pr.fx_stale
FROM best b
JOIN params pr USING (month, team, gpu_class)
JOIN peaks pk USING (month, team, gpu_class)

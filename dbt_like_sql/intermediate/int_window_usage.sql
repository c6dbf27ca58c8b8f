-- incremental: month
-- incremental_input: int_serverless_hours charge_month
-- incremental_lookback: 2
-- incremental_watch: int_decision_windows month
-- Serverless GPU usage over each decision window (int_decision_windows): GPU-seconds, the serverless cost in the reporting currency, whether any GPU-seconds were estimated, whether any of the cost was converted at a stale ECB rate (fx_stale, stg_line_items_fx), each stale rate behind it (fx_stale_rates: per currency pair the oldest ECB date used, its age in business days at the latest charge it converted, and that charge date), and the busiest hour's demand in GPUs (peak_demand_gpus) with every hour's GPU-seconds (hourly_gpu_seconds, what recommendations caps at a server's GPUs x 3,600), from lines of an hour or less; NULL when the team's lines are coarser.
WITH lines AS (
    SELECT w.month, w.team, w.gpu_class, u.*  EXCLUDE (team, gpu_class)
    FROM {{ ref('int_decision_windows') }} w
    JOIN {{ ref('int_serverless_hours') }} u   -- the lines with GPU-seconds, summed per hour
      ON u.team = w.team AND u.gpu_class = w.gpu_class AND u.charge_date BETWEEN w.window_start AND w.window_end
),
hours AS (
    SELECT month, team, gpu_class, hour_start, sum(gpu_seconds) / 3600.0 AS gpus,
           sum(gpu_seconds) AS secs
    FROM lines
    GROUP BY ALL
),
peaks AS (
    SELECT month, team, gpu_class, max(gpus) AS peak, list(secs ORDER BY hour_start) AS hourly FROM hours GROUP BY ALL
),
stale AS (   -- one entry per currency pair converted at a stale rate in the window
    SELECT month, team, gpu_class,
           list({'currency_pair': pair, 'rate_date': rate_date, 'age_business_days': age, 'last_charge_date': through} ORDER BY pair) AS rates
    FROM (SELECT month, team, gpu_class, currency || '/' || reporting_currency AS pair, min(fx_rate_date) AS rate_date,
                 max(fx_rate_age_business_days) AS age, max(charge_date) AS through
          FROM lines WHERE fx_stale GROUP BY ALL)
    GROUP BY ALL
)
SELECT
    l.month, l.team, l.gpu_class,
    any_value(l.reporting_currency)      AS currency,
    sum(l.gpu_seconds)                   AS gpu_seconds,
    sum(l.amount_reporting)              AS serverless_cost,
    bool_or(l.gpu_seconds_estimated)     AS gpu_seconds_estimated,
    bool_or(l.fx_stale)                  AS fx_stale,
    bool_and(l.hourly)                   AS hourly,
    CASE WHEN bool_and(l.hourly) THEN CAST(any_value(p.peak) AS DECIMAL(12, 3)) END AS peak_demand_gpus,
    CASE WHEN bool_and(l.hourly) THEN any_value(p.hourly) END AS hourly_gpu_seconds,
    any_value(x.rates)                   AS fx_stale_rates
FROM lines l
LEFT JOIN peaks p USING (month, team, gpu_class)
LEFT JOIN stale x USING (month, team, gpu_class)
GROUP BY l.month, l.team, l.gpu_class

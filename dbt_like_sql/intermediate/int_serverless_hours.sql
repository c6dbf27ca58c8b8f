-- incremental: charge_month
-- incremental_input: stg_serverless_usage
-- Serverless GPU usage (the lines of stg_serverless_usage with GPU-seconds, estimated from cost where the export gives none) summed per hour of its charge period's start, team, GPU class, provider, currency and ECB rate: the decision windows (int_decision_windows, int_window_usage) and the hybrid plan read these sums instead of the lines, so their cost grows with hours, not lines; a table rebuilt month by month. hourly says every line summed covers an hour or less (a coarser line makes its window's hourly demand unknown).
SELECT
    charge_month, charge_date, date_trunc('hour', period_start) AS hour_start, team, gpu_class, provider,
    currency, reporting_currency, fx_rate_date, fx_rate_age_business_days, fx_stale,
    count(*)                                                  AS lines,
    sum(gpu_seconds)                                          AS gpu_seconds,
    sum(amount_reporting)                                     AS amount_reporting,
    bool_or(gpu_seconds_estimated)                            AS gpu_seconds_estimated,
    bool_and(period_end - period_start <= INTERVAL 1 HOUR)    AS hourly
FROM {{ ref('stg_serverless_usage') }}
WHERE gpu_seconds > 0
GROUP BY ALL

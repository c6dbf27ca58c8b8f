-- incremental: month
-- incremental_input: stg_line_items_fx charge_month
-- For each dedicated server the organisation rents, per month: the hours paid (the billing period) and the hours used (where the invoice or export gives usage), the utilisation, the cost per used hour, and what the used hours would have cost on the cheapest serverless offer for the same GPU class in force that month, so whether serverless would have been cheaper.
WITH servers AS (
    SELECT charge_month AS month, team, provider, resource_id AS server_id, gpu_class,
           coalesce(any_value(gpu_count), 1) AS gpu_count,
           any_value(reporting_currency) AS currency,
           sum(amount_reporting) AS cost,
           sum(date_diff('second', period_start, period_end)) / 3600.0 AS hours_paid,
           sum(consumed_quantity) FILTER (WHERE lower(consumed_unit) IN ('hours', 'hour', 'h')) AS hours_used
    FROM {{ ref('stg_line_items_fx') }}
    WHERE product_kind = 'dedicated_gpu' AND resource_id IS NOT NULL AND charge_category IN ('Purchase', 'Usage')
    GROUP BY ALL
),
serverless AS (
    SELECT m.month, p.gpu_class,
           min(CASE p.unit WHEN 'second' THEN p.amount_per_gpu * 3600 WHEN 'hour' THEN p.amount_per_gpu END
               * CASE WHEN p.currency = st.reporting_currency THEN 1 ELSE fx.rate_to_reporting END) AS per_gpu_hour
    FROM (SELECT DISTINCT month FROM servers) m
    JOIN {{ ref('stg_gpu_prices') }} p
      ON p.product_kind = 'serverless_gpu' AND p.unit IN ('second', 'hour')
     AND coalesce(p.tier, '') <> 'active'  -- always-on workers: not a pay-per-use rate
     AND p.valid_from < (m.month + INTERVAL 1 MONTH) AND (p.valid_to IS NULL OR p.valid_to > m.month)
    CROSS JOIN {{ source('config', 'settings') }} st
    ASOF LEFT JOIN {{ ref('stg_fx_rates') }} fx ON fx.currency = p.currency AND fx.rate_date <= last_day(m.month)
    GROUP BY ALL
)
SELECT
    s.month, s.team, s.provider, s.server_id, s.gpu_class, s.gpu_count, s.currency,
    CAST(s.cost AS DECIMAL(18, 2))          AS cost,
    CAST(s.hours_paid AS DECIMAL(12, 2))    AS hours_paid,
    CAST(s.hours_used AS DECIMAL(12, 2))    AS hours_used,
    CAST(s.hours_used / nullif(s.hours_paid, 0) AS DECIMAL(12, 6)) AS utilisation,
    CAST(CAST(s.cost AS DOUBLE) / nullif(s.hours_used, 0) AS DECIMAL(18, 4)) AS cost_per_used_hour,
    CAST(v.per_gpu_hour AS DECIMAL(18, 6))  AS serverless_per_gpu_hour,
    CAST(s.hours_used * s.gpu_count * v.per_gpu_hour AS DECIMAL(18, 2)) AS serverless_cost_for_used_hours,
    CASE WHEN s.hours_used IS NULL OR v.per_gpu_hour IS NULL THEN NULL
         ELSE s.hours_used * s.gpu_count * v.per_gpu_hour < s.cost END AS serverless_would_be_cheaper
FROM servers s
LEFT JOIN serverless v ON v.month = s.month AND v.gpu_class = s.gpu_class

-- Every dedicated offer (stg_offer_prices) priced for each decision window of its GPU class (int_decision_windows, and int_window_api for the GPU classes of the throughput assumptions): each day of the window costs the price in force that day (the latest-starting period overlapping the day) divided by the days of its own month (a monthly price) or x 24 (an hourly one), so a window across two months, or across a price change, is paid at each side's rate. Only offers in force on every day of the window are kept. window_cost_per_gpu is in the reporting currency at the ECB rate of the window's last day (or the latest before it); fx_rate_date is NULL when no conversion was needed; fx_rate_age_business_days counts the business days (Monday to Friday) after it up to the window's last day, and fx_stale marks a rate more than [decisions] fx_stale_business_days (default 3) of them old, as stg_line_items_fx does for a charge.
WITH wins AS (   -- the serverless decision windows, and the hosted-API windows for every GPU class a throughput assumption names
    SELECT DISTINCT gpu_class, window_start, window_end, window_days FROM {{ ref('int_decision_windows') }}
    UNION
    SELECT DISTINCT t.gpu_class, a.window_start, a.window_end, a.window_days
    FROM {{ ref('int_window_api') }} a CROSS JOIN (SELECT DISTINCT gpu_class FROM {{ source('config', 'throughput') }}) t
),
days AS (
    SELECT w.*, CAST(w.window_start + CAST(r.i AS INTEGER) AS DATE) AS day
    FROM wins w, LATERAL (SELECT unnest(range(0, w.window_days)) AS i) r
),
day_price AS (
    SELECT d.gpu_class, d.window_start, d.window_end, d.window_days, d.day, p.offer_key,
           arg_max(CASE p.unit WHEN 'hour' THEN p.amount_per_gpu * 24
                               ELSE CAST(p.amount_per_gpu AS DECIMAL(38, 18)) / day(last_day(d.day)) END, p.valid_from) AS day_cost,
           arg_max(p.amount, p.valid_from)          AS amount,
           arg_max_null(p.upfront_amount, p.valid_from) AS upfront_amount
    FROM days d
    JOIN {{ ref('stg_offer_prices') }} p
      ON p.gpu_class = d.gpu_class
     AND p.valid_from < CAST(d.day + 1 AS TIMESTAMP)
     AND (p.valid_to IS NULL OR p.valid_to > CAST(d.day AS TIMESTAMP))
    GROUP BY ALL
),
offer_info AS (
    SELECT DISTINCT offer_key, source_id, provider, sku, tier, region, component, unit, currency, term_months, billing,
           min_units, committed, is_org_server
    FROM {{ ref('stg_offer_prices') }}
),
windowed AS (
    SELECT gpu_class, window_start, window_end, offer_key,
           sum(day_cost)                     AS window_cost_native,
           arg_max(amount, day)              AS amount,
           arg_max_null(upfront_amount, day) AS upfront_amount
    FROM day_price
    GROUP BY gpu_class, window_start, window_end, window_days, offer_key
    HAVING count(*) = window_days
)
SELECT
    w.gpu_class, w.window_start, w.window_end, w.offer_key,
    i.source_id, i.provider, i.sku, i.tier, i.region, i.component, i.unit, w.amount, i.currency,
    i.term_months, i.billing, w.upfront_amount, i.min_units, i.committed, i.is_org_server,
    s.reporting_currency,
    CASE WHEN i.currency = s.reporting_currency THEN CAST(1 AS DECIMAL(18, 10)) ELSE fx.rate_to_reporting END AS fx_rate,
    CASE WHEN i.currency = s.reporting_currency THEN NULL ELSE fx.rate_date END AS fx_rate_date,
    CAST(w.window_cost_native AS DECIMAL(24, 6)) AS window_cost_native,
    CAST(round(w.window_cost_native * CASE WHEN i.currency = s.reporting_currency THEN 1 ELSE fx.rate_to_reporting END, 2) AS DECIMAL(18, 2)) AS window_cost_per_gpu,
    a.age AS fx_rate_age_business_days,
    coalesce(a.age > st.days, false) AS fx_stale
FROM windowed w
JOIN offer_info i USING (offer_key)
CROSS JOIN {{ source('config', 'settings') }} s
CROSS JOIN (SELECT coalesce(any_value(fx_stale_business_days), 3) AS days FROM {{ source('config', 'decision_settings') }}) st
ASOF LEFT JOIN {{ ref('stg_fx_rates') }} fx
    ON fx.currency = i.currency AND fx.rate_date <= w.window_end
CROSS JOIN LATERAL (
    SELECT CAST(CASE WHEN i.currency = s.reporting_currency THEN 0
                     ELSE len(list_filter(range(CAST(fx.rate_date AS TIMESTAMP) + INTERVAL 1 DAY, CAST(w.window_end AS TIMESTAMP) + INTERVAL 1 DAY, INTERVAL 1 DAY),
                                          lambda x: isodow(x) < 6)) END AS INTEGER) AS age
) a
WHERE i.currency = s.reporting_currency OR fx.rate_to_reporting IS NOT NULL

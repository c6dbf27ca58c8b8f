-- For every calendar month with spend, each dedicated GPU offer in force during that month (valid for any part of it; stg_offer_prices: the tracked offers and the organisation's own servers at contract price), priced per GPU for the whole month in its own currency and in the reporting currency at the ECB rate of the month's last day (or the latest rate before it). Hourly prices count every hour of the calendar month. Each offer says what it commits you to: its minimum term in months (0 for none; committed when longer), its billing (hourly, monthly, or upfront with upfront_amount in its own currency) and its smallest rentable unit in GPUs (min_units). Verdicts read decision windows (int_window_offers); this table is the monthly list of offers.
WITH months AS (
    SELECT DISTINCT CAST(date_trunc('month', charge_date) AS DATE) AS month FROM {{ ref('stg_fx_days') }}   -- the lines' days, a few thousand
),
settings AS (SELECT reporting_currency FROM {{ source('config', 'settings') }}),
offers AS (
    SELECT
        m.month,
        p.*,
        CAST(day(last_day(m.month)) AS INTEGER) AS days_in_month,
        CASE p.unit
            WHEN 'month' THEN p.amount_per_gpu
            WHEN 'hour' THEN CAST(p.amount_per_gpu * 24 * day(last_day(m.month)) AS DECIMAL(24, 12))
        END AS monthly_per_gpu
    FROM months m
    JOIN {{ ref('stg_offer_prices') }} p
      ON p.valid_from < (m.month + INTERVAL 1 MONTH)
     AND (p.valid_to IS NULL OR p.valid_to > m.month)
)
SELECT
    o.month, o.gpu_class, o.provider, o.source_id, o.sku, o.tier, o.region, o.unit, o.amount, o.amount_per_gpu,
    o.currency, o.monthly_per_gpu, o.valid_from, o.valid_to,
    o.term_months, o.billing, o.upfront_amount, o.min_units, o.committed, o.is_org_server,
    s.reporting_currency,
    CASE WHEN o.currency = s.reporting_currency THEN CAST(1 AS DECIMAL(18, 10)) ELSE fx.rate_to_reporting END AS fx_rate,
    CASE WHEN o.currency = s.reporting_currency THEN NULL ELSE fx.rate_date END AS fx_rate_date,
    CAST(round(o.monthly_per_gpu * CASE WHEN o.currency = s.reporting_currency THEN 1 ELSE fx.rate_to_reporting END, 2) AS DECIMAL(18, 2)) AS monthly_reporting
FROM offers o
CROSS JOIN settings s
ASOF LEFT JOIN {{ ref('stg_fx_rates') }} fx
    ON fx.currency = o.currency AND fx.rate_date <= last_day(o.month)
WHERE o.monthly_per_gpu > 0

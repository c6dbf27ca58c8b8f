-- For every ECB reference date and currency, the rate that turns one unit of that currency into the reporting currency (1 EUR = rate units; cross rates via EUR). The quotient is rounded to 10 decimal places.
WITH settings AS (
    SELECT reporting_currency FROM {{ source('config', 'settings') }}
),
rep AS (
    SELECT f.rate_date, f.rate
    FROM {{ source('raw', 'fx_rates') }} f
    JOIN settings s ON f.currency = s.reporting_currency
)
SELECT
    f.rate_date,
    f.currency,
    s.reporting_currency,
    CAST(CAST(rep.rate AS DOUBLE) / CAST(f.rate AS DOUBLE) AS DECIMAL(18, 10)) AS rate_to_reporting
FROM {{ source('raw', 'fx_rates') }} f
JOIN rep USING (rate_date)
CROSS JOIN settings s

-- materialized: view
-- How far each provider's usage data reaches. The organisation's last complete day is the day before the latest ChargePeriodEnd of any usage line (a line ending at midnight completes the day before it). A provider's last_complete_day is the day its own latest usage line ends in (the instant just before its end), capped at the organisation's: a provider whose data reaches into the organisation's last complete day is complete through it (hourly exports of bursty work have no line in a quiet last hour), one whose data stops earlier lags and is read up to where it stops. Decision windows and projections start from here, per provider.
WITH p AS (
    SELECT x_provider AS provider, max(ChargePeriodEnd) AS data_until
    FROM {{ source('raw', 'billing_line_items') }}
    WHERE ChargeCategory = 'Usage'
    GROUP BY ALL
),
org AS (SELECT CAST(CAST(max(data_until) AS DATE) - 1 AS DATE) AS org_last_complete_day FROM p)
SELECT
    p.provider,
    CAST(least(org.org_last_complete_day, CAST(p.data_until - INTERVAL 1 MICROSECOND AS DATE)) AS DATE) AS last_complete_day,
    org.org_last_complete_day,
    p.data_until
FROM p CROSS JOIN org

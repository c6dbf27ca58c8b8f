-- The month-end projection of variable spend, day by day, per month, team and provider: each day of the month up to the provider's last complete day carries its actual spend; each later day carries a forecast from that provider's own last complete day o (so a lagging export is projected from where it stops): the level seen from o times the weekday factor of the day (int_daily_variable: the 28-day mean, or after a level shift the last 7 days' mean brought to o by their trend, so a ramp after a launch is followed, not averaged away with the month's start). docs/warehouse.md, "Month-end projection", describes the method.
WITH months AS (
    SELECT DISTINCT charge_month AS month, team FROM {{ ref('fct_spend_daily') }}
),
origin AS (   -- each team and provider at its last complete day
    SELECT v.team, v.provider, v.day AS origin_day, v.level, v.weekday_factors
    FROM {{ ref('int_daily_variable') }} v
    WHERE v.provider <> '(all)'
    QUALIFY row_number() OVER (PARTITION BY v.team, v.provider ORDER BY v.day DESC) = 1
),
days AS (
    SELECT m.month, m.team, o.provider, o.origin_day, o.level, o.weekday_factors,
           CAST(m.month + CAST(r.i AS INTEGER) AS DATE) AS day
    FROM months m
    JOIN origin o ON o.team = m.team AND o.origin_day >= m.month - INTERVAL 31 DAY
    , LATERAL (SELECT unnest(range(0, day(last_day(m.month)))) AS i) r
)
SELECT
    d.month, d.team, d.provider, d.day, d.origin_day,
    d.day > d.origin_day AS is_forecast,
    (SELECT reporting_currency FROM {{ source('config', 'settings') }}) AS currency,
    CAST(CASE WHEN d.day <= d.origin_day THEN coalesce(a.amount, 0)
              ELSE d.level * d.weekday_factors[isodow(d.day)]
         END AS DECIMAL(18, 6)) AS amount
FROM days d
LEFT JOIN {{ ref('int_daily_variable') }} a ON a.team = d.team AND a.provider = d.provider AND a.day = d.day

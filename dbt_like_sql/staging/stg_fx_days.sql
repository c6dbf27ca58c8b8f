-- The ECB rate each line of a currency and charge day is converted at (stg_line_items_fx): the latest rate on or before the day (stg_fx_rates), its date and its age in business days (Monday to Friday after the rate's date up to the charge date), once per currency and charge day of the lines (a few thousand pairs). A table rebuilt whole at each build: the lines' view reads it for the months it is asked for, instead of finding every line's day again on each read.
SELECT d.currency, d.charge_date, fx.rate_to_reporting, fx.rate_date,
       CAST(len(list_filter(range(CAST(fx.rate_date AS TIMESTAMP) + INTERVAL 1 DAY, CAST(d.charge_date AS TIMESTAMP) + INTERVAL 1 DAY, INTERVAL 1 DAY),
                            lambda x: isodow(x) < 6)) AS INTEGER) AS age
FROM (SELECT DISTINCT currency, charge_date FROM {{ ref('stg_line_items') }}) d
ASOF LEFT JOIN {{ ref('stg_fx_rates') }} fx
    ON fx.currency = d.currency AND fx.rate_date <= d.charge_date

-- incremental: charge_month
-- incremental_input: int_anomaly_lines
-- The lines anomaly detection reads (int_anomaly_lines), summed per day and per everything detection and its explanation look at: team, provider, product kind, watched scope, recurring series, the top-lines label and its parts, currency, FX rate and its date. Detection (int_anomaly_daily) and the explanation (int_anomaly_explained) read these sums instead of the lines, so their cost grows with days and series, not with lines; a table rebuilt month by month. Each group has a row with component '' (its lines and amount) and one per priced component its lines carry (input_token, cached_input_token, cache_write_token, output_token: a hosted model's tokens; gpu_second: a serverless GPU class's GPU-seconds; unit: a billed SKU's pricing quantity), over the lines where that quantity is not 0: the quantity, the quantity of the lines with a list price, list price x quantity and their billed cost; in DOUBLE like the price comparison that reads them.
SELECT
    charge_month, charge_date, team, provider, product_kind, recurring, recurring_scope, scope_kind, scope_value,
    line_label, model, gpu_class, endpoint_id, sku_id, charge_description, currency, fx_rate, fx_rate_date, reporting_currency,
    c.component,
    count(*)                                                          AS lines,
    sum(amount_reporting) FILTER (WHERE c.component = '')            AS amount_reporting,
    sum(c.qty)                                                        AS qty,
    sum(c.qty) FILTER (WHERE list_unit_price IS NOT NULL)             AS qty_listed,
    sum(list_unit_price * c.qty)                                      AS list_value,
    sum(CAST(billed_cost AS DOUBLE)) FILTER (WHERE c.qty IS NOT NULL) AS billed
FROM {{ ref('int_anomaly_lines') }},
LATERAL (VALUES
    ('', CAST(NULL AS DOUBLE)),
    ('input_token', CAST(input_tokens AS DOUBLE)),
    ('cached_input_token', CAST(cached_input_tokens AS DOUBLE)),
    ('cache_write_token', CAST(cache_write_tokens AS DOUBLE)),
    ('output_token', CAST(output_tokens AS DOUBLE)),
    ('gpu_second', CAST(gpu_seconds AS DOUBLE)),
    ('unit', CAST(pricing_quantity AS DOUBLE))
) c(component, qty)
WHERE c.component = '' OR c.qty <> 0
GROUP BY ALL

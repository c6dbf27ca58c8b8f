-- incremental: charge_month
-- incremental_input: int_anomaly_lines
-- The lines anomaly detection reads (int_anomaly_lines), summed per day and per everything detection and its explanation look at: team, provider, product kind, watched scope, recurring series, the top-lines label and its parts, currency, FX rate and its date. Detection (int_anomaly_daily) and the explanation (int_anomaly_explained) read these sums instead of the lines, so their cost grows with days and series, not with lines; a table rebuilt month by month. For each priced component (a hosted model's input, cached input, cache-write and output tokens; a serverless GPU class's GPU-seconds; a billed SKU's pricing quantity) it keeps, over the lines where that quantity is not 0: the quantity (`<c>_qty`), the quantity of the lines with a list price (`<c>_qty_listed`), list price x quantity (`<c>_list_value`) and their billed cost (`<c>_billed`); in DOUBLE like the price comparison that reads them.
SELECT
    charge_month, charge_date, team, provider, product_kind, recurring, recurring_scope, scope_kind, scope_value,
    line_label, model, gpu_class, endpoint_id, sku_id, charge_description, currency, fx_rate, fx_rate_date, reporting_currency,
    count(*)                                                                              AS lines,
    sum(amount_reporting)                                                                 AS amount_reporting,
    sum(CAST(input_tokens AS DOUBLE)) FILTER (WHERE input_tokens <> 0)                    AS input_token_qty,
    sum(CAST(input_tokens AS DOUBLE)) FILTER (WHERE input_tokens <> 0 AND list_unit_price IS NOT NULL) AS input_token_qty_listed,
    sum(list_unit_price * CAST(input_tokens AS DOUBLE)) FILTER (WHERE input_tokens <> 0)  AS input_token_list_value,
    sum(CAST(billed_cost AS DOUBLE)) FILTER (WHERE input_tokens <> 0)                     AS input_token_billed,
    sum(CAST(cached_input_tokens AS DOUBLE)) FILTER (WHERE cached_input_tokens <> 0)      AS cached_input_token_qty,
    sum(CAST(cached_input_tokens AS DOUBLE)) FILTER (WHERE cached_input_tokens <> 0 AND list_unit_price IS NOT NULL) AS cached_input_token_qty_listed,
    sum(list_unit_price * CAST(cached_input_tokens AS DOUBLE)) FILTER (WHERE cached_input_tokens <> 0) AS cached_input_token_list_value,
    sum(CAST(billed_cost AS DOUBLE)) FILTER (WHERE cached_input_tokens <> 0)              AS cached_input_token_billed,
    sum(CAST(cache_write_tokens AS DOUBLE)) FILTER (WHERE cache_write_tokens <> 0)        AS cache_write_token_qty,
    sum(CAST(cache_write_tokens AS DOUBLE)) FILTER (WHERE cache_write_tokens <> 0 AND list_unit_price IS NOT NULL) AS cache_write_token_qty_listed,
    sum(list_unit_price * CAST(cache_write_tokens AS DOUBLE)) FILTER (WHERE cache_write_tokens <> 0) AS cache_write_token_list_value,
    sum(CAST(billed_cost AS DOUBLE)) FILTER (WHERE cache_write_tokens <> 0)               AS cache_write_token_billed,
    sum(CAST(output_tokens AS DOUBLE)) FILTER (WHERE output_tokens <> 0)                  AS output_token_qty,
    sum(CAST(output_tokens AS DOUBLE)) FILTER (WHERE output_tokens <> 0 AND list_unit_price IS NOT NULL) AS output_token_qty_listed,
    sum(list_unit_price * CAST(output_tokens AS DOUBLE)) FILTER (WHERE output_tokens <> 0) AS output_token_list_value,
    sum(CAST(billed_cost AS DOUBLE)) FILTER (WHERE output_tokens <> 0)                    AS output_token_billed,
    sum(CAST(gpu_seconds AS DOUBLE)) FILTER (WHERE gpu_seconds <> 0)                      AS gpu_second_qty,
    sum(CAST(gpu_seconds AS DOUBLE)) FILTER (WHERE gpu_seconds <> 0 AND list_unit_price IS NOT NULL) AS gpu_second_qty_listed,
    sum(list_unit_price * CAST(gpu_seconds AS DOUBLE)) FILTER (WHERE gpu_seconds <> 0)    AS gpu_second_list_value,
    sum(CAST(billed_cost AS DOUBLE)) FILTER (WHERE gpu_seconds <> 0)                      AS gpu_second_billed,
    sum(CAST(pricing_quantity AS DOUBLE)) FILTER (WHERE pricing_quantity <> 0)            AS unit_qty,
    sum(CAST(pricing_quantity AS DOUBLE)) FILTER (WHERE pricing_quantity <> 0 AND list_unit_price IS NOT NULL) AS unit_qty_listed,
    sum(list_unit_price * CAST(pricing_quantity AS DOUBLE)) FILTER (WHERE pricing_quantity <> 0) AS unit_list_value,
    sum(CAST(billed_cost AS DOUBLE)) FILTER (WHERE pricing_quantity <> 0)                 AS unit_billed
FROM {{ ref('int_anomaly_lines') }}
GROUP BY ALL

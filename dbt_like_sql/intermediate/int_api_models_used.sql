-- incremental: charge_month
-- incremental_input: stg_line_items
-- The hosted models used, per month, team and provider (the hosted-API lines that name a model): int_window_api reads these instead of the lines, so its cost grows with months and models, not lines; a table rebuilt month by month.
SELECT DISTINCT charge_month, team, provider, model
FROM {{ ref('stg_line_items') }}
WHERE product_kind = 'hosted_api' AND model IS NOT NULL

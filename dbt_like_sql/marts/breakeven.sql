-- Per month, team and GPU class used on serverless, over the decision window (int_decision_windows: the calendar month when closed, else the trailing 30 days ending at the last complete day of data; window_start, window_end, window_kind): the GPU-seconds and the utilisation of one GPU (GPU-seconds / seconds in the window), the serverless cost, and the cheapest dedicated offer for the class priced over the same window (int_window_offers: each day at the price in force / the days of its month), chosen by what the team would pay for the whole units it needs (dedicated_units: GPUs needed rounded up to the offer's min_units, so a team needing 2 GPUs is not offered an 8-GPU node at an eighth of its price) among offers whose term does not exceed the team's max_commitment_months (default 0: none). dedicated_monthly is one GPU of that offer for the window. The break-even utilisation u* = D / (s x T) and break-even GPU-hours D / (s x 3600) with s the team's effective serverless price per GPU-second; breakeven_note 'never cheaper' when u* >= 100 %. The verdict (dedicated_cheaper, serverless_cheaper, near within 10 %) and the saving if the team moved. fx_stale marks a serverless cost converted (in part) at a stale ECB rate; dedicated_fx_stale marks D converted at a rate more than [decisions] fx_stale_business_days business days older than the window's last day (fx_rate_age_business_days). Beside it, the cheapest committed offer (term, upfront amount, effective monthly cost and what it would save), shown, never used for the verdict beyond max_commitment_months.
WITH w AS (
    SELECT w.*, u.currency, u.gpu_seconds, u.serverless_cost AS serverless_cost_raw, CAST(u.serverless_cost AS DECIMAL(18, 2)) AS serverless_cost, u.gpu_seconds_estimated, u.peak_demand_gpus, u.fx_stale,
           coalesce(td.max_commitment_months, ds.max_commitment_months, 0) AS max_commitment_months
    FROM {{ ref('int_decision_windows') }} w
    JOIN {{ ref('int_window_usage') }} u USING (month, team, gpu_class)
    LEFT JOIN {{ source('config', 'team_decisions') }} td ON td.team = w.team
    LEFT JOIN {{ source('config', 'decision_settings') }} ds ON true
),
base AS (
    SELECT *,
           CAST(CAST(serverless_cost_raw AS DOUBLE) / CAST(gpu_seconds AS DOUBLE) AS DECIMAL(24, 12)) AS serverless_price_per_second,
           CAST(greatest(1, ceil(CAST(gpu_seconds AS DOUBLE) / seconds_in_window)) AS INTEGER) AS gpus_needed
    FROM w
),
priced AS (
    SELECT b.month, b.team, b.gpu_class, b.max_commitment_months, o.*  EXCLUDE (gpu_class, window_start, window_end),
           CAST(ceil(b.gpus_needed / o.min_units) * o.min_units AS INTEGER) AS units,
           CAST(ceil(b.gpus_needed / o.min_units) * o.min_units * o.window_cost_per_gpu AS DECIMAL(18, 2)) AS units_cost
    FROM base b
    JOIN {{ ref('int_window_offers') }} o
      ON o.gpu_class = b.gpu_class AND o.window_start = b.window_start AND o.window_end = b.window_end
),
-- one arg_min of a struct per choice: every field is the chosen offer's own (a NULL tier or rate date included)
cheapest AS (
    SELECT month, team, gpu_class,
           arg_min({'provider': provider, 'source_id': source_id, 'sku': sku, 'tier': tier, 'amount': amount,
                    'currency': currency, 'unit': unit, 'term_months': term_months, 'min_units': min_units,
                    'is_org_server': is_org_server, 'fx_rate': fx_rate, 'fx_rate_date': fx_rate_date,
                    'fx_age': fx_rate_age_business_days, 'fx_stale': fx_stale,
                    'monthly': window_cost_per_gpu, 'units': units},
                   (units_cost, window_cost_per_gpu, offer_key)) AS o
    FROM priced
    WHERE NOT committed OR term_months <= max_commitment_months
    GROUP BY ALL
),
committed AS (
    SELECT month, team, gpu_class,
           arg_min({'offer': provider || ' ' || sku || coalesce(' (' || tier || ')', ''), 'term_months': term_months,
                    'billing': billing, 'upfront_amount': upfront_amount, 'currency': currency,
                    'monthly': window_cost_per_gpu, 'units': units, 'cost': units_cost},
                   (units_cost, offer_key)) AS k
    FROM priced
    WHERE committed
    GROUP BY ALL
),
flat AS (
    SELECT c.month, c.team, c.gpu_class,
           c.o.provider AS dedicated_provider, c.o.source_id AS dedicated_source_id, c.o.sku AS dedicated_sku,
           c.o.tier AS dedicated_tier, c.o.amount AS dedicated_price, c.o.currency AS dedicated_price_currency,
           c.o.unit AS dedicated_price_unit, c.o.term_months AS dedicated_term_months, c.o.min_units AS dedicated_min_units,
           c.o.is_org_server AS dedicated_is_org_server, c.o.fx_rate AS dedicated_fx_rate, c.o.fx_rate_date AS dedicated_fx_rate_date,
           c.o.fx_age AS dedicated_fx_age, c.o.fx_stale AS dedicated_fx_stale,
           c.o.monthly AS dedicated_monthly, c.o.units AS dedicated_units
    FROM cheapest c
),
flat_committed AS (
    SELECT month, team, gpu_class, k.offer AS committed_offer, k.term_months AS committed_term_months,
           k.billing AS committed_billing, k.upfront_amount AS committed_upfront_amount, k.currency AS committed_currency,
           k.monthly AS committed_monthly, k.units AS committed_units, k.cost AS committed_cost
    FROM committed
),
calc AS (
    SELECT b.*, c.* EXCLUDE (month, team, gpu_class), k.* EXCLUDE (month, team, gpu_class),
           CAST(CAST(b.gpu_seconds AS DOUBLE) / b.seconds_in_window AS DECIMAL(12, 6)) AS utilisation,
           CASE WHEN c.dedicated_monthly IS NOT NULL THEN
               CAST(CAST(c.dedicated_monthly AS DOUBLE) / (CAST(b.serverless_price_per_second AS DOUBLE) * b.seconds_in_window) AS DECIMAL(12, 6))
           END AS breakeven_utilisation,
           CASE WHEN c.dedicated_monthly IS NOT NULL THEN
               CAST(CAST(c.dedicated_monthly AS DOUBLE) / (CAST(b.serverless_price_per_second AS DOUBLE) * 3600) AS DECIMAL(18, 2))
           END AS breakeven_gpu_hours,
           CAST(c.dedicated_units * c.dedicated_monthly AS DECIMAL(18, 2)) AS dedicated_cost
    FROM base b
    LEFT JOIN flat c USING (month, team, gpu_class)
    LEFT JOIN flat_committed k USING (month, team, gpu_class)
)
SELECT
    month, team, gpu_class, window_kind, window_start, window_end, window_days, data_through,
    CAST(gpu_seconds AS DECIMAL(20, 3)) AS gpu_seconds, gpu_seconds_estimated,
    CAST(day(last_day(month)) AS BIGINT) * 86400 AS seconds_in_month, seconds_in_window, utilisation, peak_demand_gpus,
    currency, serverless_cost, serverless_price_per_second, fx_stale,
    dedicated_provider, dedicated_source_id, dedicated_sku, dedicated_tier, dedicated_price, dedicated_price_currency,
    dedicated_price_unit, dedicated_term_months, dedicated_min_units, dedicated_is_org_server,
    dedicated_monthly, dedicated_fx_rate AS fx_rate, dedicated_fx_rate_date AS fx_rate_date,
    dedicated_fx_age AS fx_rate_age_business_days, dedicated_fx_stale,
    breakeven_utilisation, breakeven_gpu_hours,
    CASE WHEN breakeven_utilisation >= 1 THEN 'never cheaper' END AS breakeven_note,
    gpus_needed, dedicated_units, dedicated_cost,
    max_commitment_months,
    CASE
        WHEN dedicated_monthly IS NULL THEN 'no_dedicated_offer'
        WHEN abs(serverless_cost - dedicated_cost) <= 0.10 * dedicated_cost THEN 'near'
        WHEN serverless_cost > dedicated_cost THEN 'dedicated_cheaper'
        ELSE 'serverless_cheaper'
    END AS verdict,
    CAST(serverless_cost - dedicated_cost AS DECIMAL(18, 2)) AS monthly_saving,
    committed_offer, committed_term_months, committed_billing, committed_upfront_amount, committed_currency,
    committed_monthly, committed_units, CAST(committed_cost AS DECIMAL(18, 2)) AS committed_cost,
    CAST(serverless_cost - committed_cost AS DECIMAL(18, 2)) AS committed_saving
FROM calc

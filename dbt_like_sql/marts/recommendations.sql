-- One recommendation per month, team and GPU class used on serverless, over breakeven's decision window: the one figure the review, Slack and `spendwatch breakeven` show. In order: (1) use_spare_capacity when the team's load is allotted spare capacity on a server the organisation already pays for (int_spare_capacity), no GPU-hour being offered to two teams: per month and GPU class, the servers with spare are laid end to end (most spare first, ties by server id), each holding its spare_gpus (GPUs free on average), and the teams' loads after them in a stated order (largest saving on spare first, ties by team name), each load being its GPUs on average over its window (a team with hourly data counts each hour only up to the largest server's GPUs: the hours above it stay on serverless); a load larger than every server's spare is left out of the line, and a team is allotted a server when its load lies wholly within that server's share of the line (window functions, so with one server: while the cumulative load fits); the teams not placed, in the same order, are then offered the spare the placed teams leave, the n-th team the n-th largest (row_number on both sides), and take it (spare_fit partial: the rest stays on serverless) only when it saves more than their next option, else they get the next option ('unallocated' is no team and is allotted nothing); saving = the serverless cost of the GPU-hours that move (each hour up to the server's GPUs, no more than the spare offered), at no extra rent; (2) when demand peaks above one GPU and hourly demand is known, the hybrid plan's k and its saving (hybrid, or stay_serverless when k = 0); (3) otherwise the break-even verdict: rent_dedicated (dedicated_units whole units), near, stay_serverless or no_dedicated_offer. When the offer rented is one of the organisation's own [[dedicated_servers]] (dedicated_is_org_server) it means renting more like it at its contract price, never taking that server. breakeven_text reads 'never cheaper' when u* >= 100 %. The plain break-even is context. fx_stale marks figures resting on a stale ECB rate (the serverless cost's, or the dedicated offer's when the action uses it) and fx_stale_note names each currency pair, the rate's date, its age in business days and the last date it converted (fx_stale_rates: the same as a list, one entry per pair: currency_pair, rate_date, age_business_days, last_charge_date).
WITH b AS (
    SELECT b.*, u.hourly_gpu_seconds, u.fx_stale_rates
    FROM {{ ref('breakeven') }} b
    JOIN {{ ref('int_window_usage') }} u USING (month, team, gpu_class)
),
servers AS (   -- the paid servers of each month and class with spare, end to end: server j holds [cap_from, cap_to) GPUs
    SELECT *,
           sum(spare_gpus) OVER w - spare_gpus AS cap_from,
           sum(spare_gpus) OVER w              AS cap_to
    FROM (SELECT b.month, s.gpu_class, s.server_id, any_value(s.gpu_count) AS gpu_count, min(s.spare_gpus) AS spare_gpus
          FROM (SELECT DISTINCT month, gpu_class, window_start, window_end FROM b) b
          JOIN {{ ref('int_spare_capacity') }} s USING (gpu_class, window_start, window_end)
          GROUP BY ALL
          HAVING min(s.spare_gpus) > 0)
    WINDOW w AS (PARTITION BY month, gpu_class ORDER BY spare_gpus DESC, server_id)
),
loads AS (   -- each team's load on spare: its GPU-seconds, each hour capped at the largest server's GPUs when hourly
    SELECT b.month, b.team, b.gpu_class, b.seconds_in_window, b.serverless_price_per_second, c.max_spare_gpus,
           CAST(coalesce(list_sum(list_transform(b.hourly_gpu_seconds, lambda x: least(x, c.max_gpus * 3600))), b.gpu_seconds) AS DECIMAL(38, 12)) AS movable_seconds
    FROM b JOIN (SELECT month, gpu_class, max(gpu_count) AS max_gpus, max(spare_gpus) AS max_spare_gpus FROM servers GROUP BY ALL) c USING (month, gpu_class)
    WHERE b.team <> 'unallocated'
),
teams AS (   -- the loads end to end in the stated order: team i holds [load_from, load_to] GPUs
    SELECT *,
           sum(demand_gpus) OVER w - demand_gpus AS load_from,
           sum(demand_gpus) OVER w               AS load_to
    FROM (SELECT *, CAST(movable_seconds / seconds_in_window AS DECIMAL(38, 12)) AS demand_gpus,   -- summed exactly
                 round(movable_seconds * serverless_price_per_second, 2) AS spare_order_saving
          FROM loads
          WHERE CAST(movable_seconds / seconds_in_window AS DECIMAL(38, 12)) <= max_spare_gpus)   -- a load no server could take alone takes nothing
    WINDOW w AS (PARTITION BY month, gpu_class ORDER BY spare_order_saving DESC, team)
),
placed AS (   -- a team whose load lies wholly within one server's share
    SELECT t.month, t.team, t.gpu_class, s.server_id, s.gpu_count, t.demand_gpus, t.load_from - s.cap_from AS taken_before_gpus
    FROM teams t
    JOIN servers s ON s.month = t.month AND s.gpu_class = t.gpu_class AND t.load_from >= s.cap_from AND t.load_to <= s.cap_to
),
leftover AS (   -- each server's spare the teams placed on it leave, largest first
    SELECT s.month, s.gpu_class, s.server_id, s.gpu_count, s.spare_gpus - coalesce(sum(p.demand_gpus), 0) AS left_gpus,
           row_number() OVER (PARTITION BY s.month, s.gpu_class
                              ORDER BY s.spare_gpus - coalesce(sum(p.demand_gpus), 0) DESC, s.server_id) AS n
    FROM servers s
    LEFT JOIN placed p ON p.month = s.month AND p.gpu_class = s.gpu_class AND p.server_id = s.server_id
    GROUP BY s.month, s.gpu_class, s.server_id, s.gpu_count, s.spare_gpus
    HAVING s.spare_gpus - coalesce(sum(p.demand_gpus), 0) > 0
),
unplaced AS (   -- the teams not placed, in the same order: the n-th is offered the n-th largest leftover
    SELECT l.month, l.team, l.gpu_class,
           row_number() OVER (PARTITION BY l.month, l.gpu_class
                              ORDER BY round(l.movable_seconds * l.serverless_price_per_second, 2) DESC, l.team) AS n
    FROM loads l ANTI JOIN placed p USING (month, team, gpu_class)
),
allotted AS (
    SELECT month, team, gpu_class, server_id, gpu_count, taken_before_gpus, NULL AS left_gpus FROM placed
    UNION ALL BY NAME
    SELECT u.month, u.team, u.gpu_class, l.server_id, l.gpu_count, sp.spare_gpus - l.left_gpus AS taken_before_gpus, l.left_gpus
    FROM unplaced u
    JOIN leftover l USING (month, gpu_class, n)
    JOIN servers sp ON sp.month = l.month AND sp.gpu_class = l.gpu_class AND sp.server_id = l.server_id
),
j AS (
    SELECT b.*, a.server_id AS spare_server_id, a.gpu_count AS spare_server_gpus, a.left_gpus,
           s.utilisation AS spare_server_utilisation, s.spare_gpu_hours,
           CAST(a.taken_before_gpus * b.seconds_in_window / 3600 AS DECIMAL(12, 2)) AS spare_gpu_hours_taken,
           -- GPU-seconds the server can take: each hour up to its GPUs (all of them when not hourly)
           coalesce(list_sum(list_transform(b.hourly_gpu_seconds, lambda x: least(x, a.gpu_count * 3600))), b.gpu_seconds) AS fit_seconds,
           h.best_k, h.saving AS hybrid_saving, h.cost_at_best AS hybrid_cost
    FROM b
    LEFT JOIN allotted a USING (month, team, gpu_class)
    LEFT JOIN {{ ref('int_spare_capacity') }} s
      ON s.server_id = a.server_id AND s.gpu_class = b.gpu_class AND s.window_start = b.window_start AND s.window_end = b.window_end
    LEFT JOIN {{ ref('hybrid_plan') }} h USING (month, team, gpu_class)
),
moves AS (   -- what moves onto the server (a leftover takes no more than it holds), and the option without spare
    SELECT *,
           CASE WHEN left_gpus IS NULL THEN fit_seconds
                ELSE least(fit_seconds, CAST(left_gpus * seconds_in_window AS DECIMAL(38, 12))) END AS moved_seconds,
           CASE
               WHEN peak_demand_gpus > 1 AND best_k IS NOT NULL THEN CASE WHEN best_k > 0 THEN 'hybrid' ELSE 'stay_serverless' END
               WHEN verdict = 'dedicated_cheaper' THEN 'rent_dedicated'
               WHEN verdict = 'near' THEN 'near'
               WHEN verdict = 'no_dedicated_offer' THEN 'no_dedicated_offer'
               ELSE 'stay_serverless'
           END AS next_action
    FROM j
),
r AS (
    SELECT *,
           -- a team placed whole takes the spare; a team offered a leftover takes it when it saves more than the next option
           CASE WHEN spare_server_id IS NOT NULL
                 AND (left_gpus IS NULL
                      OR round(CAST(moved_seconds AS DECIMAL(38, 12)) * serverless_price_per_second, 2)
                         > CASE next_action WHEN 'hybrid' THEN hybrid_saving WHEN 'rent_dedicated' THEN monthly_saving ELSE 0 END)
                THEN 'use_spare_capacity' ELSE next_action END AS action
    FROM moves
),
fx AS (   -- the stale rates behind the figures, one entry per currency pair
    SELECT month, team, gpu_class,
           string_agg(pair || ' rate of ' || rate_date || ', ' || age || ' business days old by ' || through, '; ' ORDER BY pair) AS fx_stale_note,
           list({'currency_pair': pair, 'rate_date': rate_date, 'age_business_days': age, 'last_charge_date': through}
                ORDER BY pair) AS fx_stale_rates
    FROM (SELECT month, team, gpu_class, pair, min(rate_date) AS rate_date, max(age) AS age, max(through) AS through
          FROM (SELECT month, team, gpu_class, x.currency_pair AS pair, x.rate_date, x.age_business_days AS age, x.last_charge_date AS through
                FROM (SELECT month, team, gpu_class, unnest(fx_stale_rates) AS x FROM r)
                UNION ALL   -- D, when the action's figures use it
                SELECT month, team, gpu_class, dedicated_price_currency || '/' || currency, fx_rate_date, fx_rate_age_business_days, window_end
                FROM r WHERE dedicated_fx_stale AND action <> 'use_spare_capacity')
          GROUP BY ALL)
    GROUP BY ALL
)
SELECT
    month, team, gpu_class, window_kind, window_start, window_end, currency, action,
    CASE action WHEN 'use_spare_capacity' THEN 0 WHEN 'hybrid' THEN best_k WHEN 'rent_dedicated' THEN dedicated_units
                WHEN 'stay_serverless' THEN 0 END                     AS dedicated_gpus,
    CAST(CASE action WHEN 'use_spare_capacity' THEN round(CAST(moved_seconds AS DECIMAL(38, 12)) * serverless_price_per_second, 2)
                     WHEN 'hybrid' THEN hybrid_saving
                     WHEN 'rent_dedicated' THEN monthly_saving ELSE 0 END AS DECIMAL(18, 2)) AS saving,
    -- the spare figures, for a team the spare is allotted to
    CASE WHEN action = 'use_spare_capacity' THEN spare_server_id END          AS spare_server_id,
    CASE WHEN action = 'use_spare_capacity' THEN spare_server_gpus END        AS spare_server_gpus,
    CASE WHEN action = 'use_spare_capacity' THEN spare_server_utilisation END AS spare_server_utilisation,
    CASE WHEN action = 'use_spare_capacity' THEN spare_gpu_hours END          AS spare_gpu_hours,
    CASE WHEN action = 'use_spare_capacity' THEN spare_gpu_hours_taken END    AS spare_gpu_hours_taken,
    CASE WHEN action = 'use_spare_capacity' THEN CASE WHEN moved_seconds < fit_seconds THEN 'partial' ELSE 'whole' END END AS spare_fit,
    CASE WHEN action = 'use_spare_capacity' THEN CAST(moved_seconds / 3600 AS DECIMAL(18, 2)) END AS spare_moved_gpu_hours,
    CASE WHEN action = 'use_spare_capacity' THEN CAST((gpu_seconds - moved_seconds) / 3600 AS DECIMAL(18, 2)) END AS spare_overflow_gpu_hours,
    CAST(gpu_seconds / 3600 AS DECIMAL(18, 2)) AS gpu_hours, peak_demand_gpus,
    serverless_cost, coalesce(x.fx_stale_note IS NOT NULL, false) AS fx_stale, x.fx_stale_note, x.fx_stale_rates,
    dedicated_provider, dedicated_sku, dedicated_tier, dedicated_monthly, dedicated_units, dedicated_is_org_server,
    breakeven_utilisation,
    CASE WHEN breakeven_utilisation IS NULL THEN NULL
         WHEN breakeven_utilisation >= 1 THEN 'never cheaper'
         ELSE CAST(round(breakeven_utilisation * 100, 1) AS VARCHAR) || ' %' END AS breakeven_text,
    verdict AS breakeven_verdict, monthly_saving AS breakeven_saving,
    committed_offer, committed_term_months, committed_upfront_amount, committed_currency, committed_monthly, committed_saving
FROM r
LEFT JOIN fx x USING (month, team, gpu_class)

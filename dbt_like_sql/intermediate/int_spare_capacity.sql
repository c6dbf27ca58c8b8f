-- Spare capacity on the servers the organisation already pays for ([[dedicated_servers]]), for each decision window of their GPU class: the server's utilisation in its latest month with recorded usage up to the window's end (dedicated_utilisation: hours used / hours paid), and the GPU-hours it leaves unused over a window of the same length ((1 - utilisation) x window days x 24 x its GPUs), and the same as GPUs free on average (spare_gpus = (1 - utilisation) x its GPUs, what recommendations allocates between teams). recommendations allots the spare between teams, so no GPU-hour is offered twice (docs/warehouse.md, "Spare capacity: who gets it").
WITH used AS (
    SELECT server_id, month, utilisation
    FROM {{ ref('dedicated_utilisation') }}
    WHERE utilisation IS NOT NULL
),
wins AS (
    SELECT DISTINCT gpu_class, window_start, window_end, window_days FROM {{ ref('int_decision_windows') }}
)
SELECT
    w.gpu_class, w.window_start, w.window_end,
    s.server_id, s.team AS server_team, s.provider, s.gpu_count,
    arg_max(u.month, u.month)            AS utilisation_month,
    arg_max(u.utilisation, u.month)      AS utilisation,
    CAST((1 - arg_max(u.utilisation, u.month)) * w.window_days * 24 * s.gpu_count AS DECIMAL(12, 2)) AS spare_gpu_hours,
    CAST((1 - arg_max(u.utilisation, u.month)) * s.gpu_count AS DECIMAL(18, 6)) AS spare_gpus
FROM wins w
JOIN {{ source('config', 'dedicated_servers') }} s ON s.gpu_class = w.gpu_class
JOIN used u ON u.server_id = s.server_id AND u.month <= w.window_end
GROUP BY w.gpu_class, w.window_start, w.window_end, w.window_days, s.server_id, s.team, s.provider, s.gpu_count

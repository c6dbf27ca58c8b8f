-- materialized: view
-- Alert conditions for invoices: one row per provider invoice (or provider and month for charges without an invoice id) with lines off by more than the audit tolerance, the amount at stake in the reporting currency, the findings by kind and examples (organisation-wide: team '*').
WITH f AS (
    SELECT *, provider || '|' || coalesce(invoice_id, '') || '|'
              || CASE WHEN invoice_id IS NULL THEN strftime(charge_month, '%Y-%m') ELSE '' END AS gk
    FROM {{ ref('invoice_audit') }}
),
g AS (
    SELECT gk, any_value(provider) AS provider, any_value(invoice_id) AS invoice_id,
           strftime(min(charge_month), '%Y-%m') AS period,
           count(*) FILTER (WHERE above_tolerance) AS findings,
           sum(amount_at_stake_reporting) FILTER (WHERE above_tolerance) AS at_stake,
           any_value(reporting_currency) AS reporting_currency,
           count(DISTINCT currency) FILTER (WHERE above_tolerance) AS currencies,
           any_value(currency) FILTER (WHERE above_tolerance) AS currency,
           sum(billed) FILTER (WHERE above_tolerance) AS billed,
           sum(expected) FILTER (WHERE above_tolerance) AS expected,
           min(charge_date) FILTER (WHERE above_tolerance) AS first_date,
           max(charge_date) FILTER (WHERE above_tolerance) AS last_date
    FROM f GROUP BY gk
    HAVING count(*) FILTER (WHERE above_tolerance) > 0
),
k AS (
    SELECT gk, finding, count(*) AS lines, sum(amount_at_stake_reporting) AS amt
    FROM f WHERE above_tolerance GROUP BY gk, finding
),
kk AS (
    SELECT gk, list(json_object('finding', finding, 'lines', lines, 'at_stake', CAST(amt AS VARCHAR)) ORDER BY amt DESC, finding) AS by_finding
    FROM k GROUP BY gk
),
ex AS (
    SELECT gk, list(DISTINCT team ORDER BY team) AS teams,
           list(description ORDER BY abs(amount_at_stake_reporting) DESC, line_id)[1:3] AS examples
    FROM f WHERE above_tolerance GROUP BY gk
)
SELECT 'invoice_discrepancy' AS kind, '*' AS team, g.period AS period, g.provider || '|' || coalesce(g.invoice_id, '') AS subject,
       json_object(
           'provider', g.provider, 'invoice_id', g.invoice_id, 'month', g.period, 'findings', g.findings,
           'at_stake', CAST(g.at_stake AS VARCHAR), 'reporting_currency', g.reporting_currency,
           'tolerance_pct', (SELECT CAST(tolerance_pct AS VARCHAR) FROM {{ source('config', 'settings') }} LIMIT 1),
           'tolerance_abs', (SELECT CAST(tolerance_abs AS VARCHAR) FROM {{ source('config', 'settings') }} LIMIT 1),
           'currency', CASE WHEN g.currencies = 1 THEN g.currency END,
           'billed', CASE WHEN g.currencies = 1 THEN CAST(g.billed AS VARCHAR) END,
           'expected', CASE WHEN g.currencies = 1 THEN CAST(g.expected AS VARCHAR) END,
           'first_date', CAST(g.first_date AS VARCHAR), 'last_date', CAST(g.last_date AS VARCHAR),
           'by_finding', kk.by_finding, 'teams', ex.teams, 'examples', ex.examples) AS details
FROM g JOIN kk USING (gk) JOIN ex USING (gk)

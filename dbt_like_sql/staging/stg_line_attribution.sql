-- incremental: charge_month
-- incremental_input: raw.billing_line_items ChargePeriodStart
-- The team, in each month, of every combination of the keys an [[attribution]] rule can look at (provider, accounts, project, workspace, API key, endpoint, resource, tags) found among the billed lines and matched by a rule, with the winning rule: the first matching rule in file order. A rule matches when its provider (if any) is the line's provider and: account = SubAccountId or BillingAccountId; project, workspace, api_key, endpoint, resource = that key; tag with a value = the tag's value; tag without a value = a tag whose value, trimmed and lower-cased, is a declared team (that team). Combinations absent here match no rule: stg_line_items gives their lines the team 'unallocated'. Built from every stored line and the current rules, so editing the rules re-attributes every month (a full rebuild); a new delivery rebuilds the months it touches only. Set-based: the rules are matched once per distinct combination by equality joins on (kind, value), each tag set read once per distinct tag key, and the lowest ordinal wins.
WITH rules AS (
    SELECT * FROM {{ ref('stg_attribution_rules') }}
),
keys AS MATERIALIZED (   -- far fewer combinations than lines; computed once, so key_no is stable below
    SELECT row_number() OVER () AS key_no, *
    FROM (
        SELECT DISTINCT CAST(date_trunc('month', ChargePeriodStart) AS DATE) AS charge_month,
                        x_provider, SubAccountId, BillingAccountId, x_project_id, x_workspace_id, x_api_key_id,
                        x_endpoint_id, ResourceId, Tags
        FROM {{ source('raw', 'billing_line_items') }}
    )
),
key_values AS (   -- each key of each combination as (rule kind, tag path, value); a tag's value read once per tag key
    SELECT k.key_no, k.x_provider, kv.match_kind, NULL AS tag_path, kv.value
    FROM keys k, unnest([
        {'match_kind': 'account', 'value': k.SubAccountId}, {'match_kind': 'account', 'value': k.BillingAccountId},
        {'match_kind': 'project', 'value': k.x_project_id}, {'match_kind': 'workspace', 'value': k.x_workspace_id},
        {'match_kind': 'api_key', 'value': k.x_api_key_id}, {'match_kind': 'endpoint', 'value': k.x_endpoint_id},
        {'match_kind': 'resource', 'value': k.ResourceId}
    ]) AS u(kv)
    WHERE kv.value IS NOT NULL
    UNION ALL
    SELECT k.key_no, k.x_provider, 'tag', p.tag_path, json_extract_string(k.Tags, p.tag_path)
    FROM keys k
    CROSS JOIN (SELECT DISTINCT tag_path FROM rules WHERE match_kind = 'tag') p
    WHERE k.Tags IS NOT NULL
),
matches AS (
    SELECT v.key_no, r.ordinal, r.team       -- a rule naming its team: the value must be equal
    FROM key_values v
    JOIN rules r ON r.match_kind = v.match_kind AND r.match_value = v.value
                AND r.tag_path IS NOT DISTINCT FROM v.tag_path AND (r.provider IS NULL OR r.provider = v.x_provider)
    UNION ALL
    SELECT v.key_no, r.ordinal, t.team       -- a tag rule without a value: the tag's value names a declared team
    FROM key_values v
    JOIN rules r ON r.match_kind = 'tag' AND v.match_kind = 'tag' AND r.match_value IS NULL AND r.tag_path = v.tag_path
                AND (r.provider IS NULL OR r.provider = v.x_provider)
    JOIN {{ source('config', 'teams') }} t ON t.team = lower(trim(v.value))
),
winners AS (
    SELECT key_no, arg_min(team, ordinal) AS team, min(ordinal) AS rule_ordinal
    FROM matches
    GROUP BY key_no
)
SELECT
    k.charge_month,
    k.x_provider                                AS provider,
    k.SubAccountId                              AS sub_account_id,
    k.BillingAccountId                          AS billing_account_id,
    k.x_project_id                              AS project_id,
    k.x_workspace_id                            AS workspace_id,
    k.x_api_key_id                              AS api_key_id,
    k.x_endpoint_id                             AS endpoint_id,
    k.ResourceId                                AS resource_id,
    k.Tags                                      AS tags,
    w.team,
    w.rule_ordinal,
    'attribution[' || w.rule_ordinal || ']'     AS attribution_rule
FROM winners w
JOIN keys k USING (key_no)

-- The team of every combination of the keys an [[attribution]] rule can look at (provider, accounts, project, workspace, API key, endpoint, resource, tags) found among the billed lines and matched by a rule, with the winning rule: the first matching rule in file order. A rule matches when its provider (if any) is the line's provider and: account = SubAccountId or BillingAccountId; project, workspace, api_key, endpoint, resource = that key; tag with a value = the tag's value; tag without a value = a tag whose value, trimmed and lower-cased, is a declared team (that team). Combinations absent here match no rule: stg_line_items gives their lines the team 'unallocated'. Rebuilt from every stored line and the current rules at each build, so editing the rules re-attributes every month. Set-based: one equality join per key column, each tag set read once per distinct tag key, the lowest ordinal wins.
WITH rules AS (
    SELECT * FROM {{ ref('stg_attribution_rules') }}
),
keys AS MATERIALIZED (   -- far fewer combinations than lines: the rules are matched once per combination
    SELECT DISTINCT x_provider, SubAccountId, BillingAccountId, x_project_id, x_workspace_id, x_api_key_id,
                    x_endpoint_id, ResourceId, Tags
    FROM {{ source('raw', 'billing_line_items') }}
),
tag_values AS (   -- one JSON read per tag set and distinct tag key
    SELECT k.*, p.tag_path, json_extract_string(k.Tags, p.tag_path) AS tag_value
    FROM keys k
    CROSS JOIN (SELECT DISTINCT tag_path FROM rules WHERE match_kind = 'tag') p
    WHERE k.Tags IS NOT NULL
),
matches AS (
    SELECT k.*, r.ordinal, r.team FROM keys k
    JOIN rules r ON r.match_kind = 'account' AND r.match_value = k.SubAccountId AND (r.provider IS NULL OR r.provider = k.x_provider)
    UNION ALL
    SELECT k.*, r.ordinal, r.team FROM keys k
    JOIN rules r ON r.match_kind = 'account' AND r.match_value = k.BillingAccountId AND (r.provider IS NULL OR r.provider = k.x_provider)
    UNION ALL
    SELECT k.*, r.ordinal, r.team FROM keys k
    JOIN rules r ON r.match_kind = 'project' AND r.match_value = k.x_project_id AND (r.provider IS NULL OR r.provider = k.x_provider)
    UNION ALL
    SELECT k.*, r.ordinal, r.team FROM keys k
    JOIN rules r ON r.match_kind = 'workspace' AND r.match_value = k.x_workspace_id AND (r.provider IS NULL OR r.provider = k.x_provider)
    UNION ALL
    SELECT k.*, r.ordinal, r.team FROM keys k
    JOIN rules r ON r.match_kind = 'api_key' AND r.match_value = k.x_api_key_id AND (r.provider IS NULL OR r.provider = k.x_provider)
    UNION ALL
    SELECT k.*, r.ordinal, r.team FROM keys k
    JOIN rules r ON r.match_kind = 'endpoint' AND r.match_value = k.x_endpoint_id AND (r.provider IS NULL OR r.provider = k.x_provider)
    UNION ALL
    SELECT k.*, r.ordinal, r.team FROM keys k
    JOIN rules r ON r.match_kind = 'resource' AND r.match_value = k.ResourceId AND (r.provider IS NULL OR r.provider = k.x_provider)
    UNION ALL
    SELECT v.* EXCLUDE (tag_path, tag_value), r.ordinal, r.team FROM tag_values v
    JOIN rules r ON r.match_kind = 'tag' AND r.tag_path = v.tag_path AND r.match_value = v.tag_value
                AND (r.provider IS NULL OR r.provider = v.x_provider)
    UNION ALL
    SELECT v.* EXCLUDE (tag_path, tag_value), r.ordinal, t.team FROM tag_values v
    JOIN rules r ON r.match_kind = 'tag' AND r.tag_path = v.tag_path AND r.match_value IS NULL
                AND (r.provider IS NULL OR r.provider = v.x_provider)
    JOIN {{ source('config', 'teams') }} t ON t.team = lower(trim(v.tag_value))
)
SELECT
    x_provider                                  AS provider,
    SubAccountId                                AS sub_account_id,
    BillingAccountId                            AS billing_account_id,
    x_project_id                                AS project_id,
    x_workspace_id                              AS workspace_id,
    x_api_key_id                                AS api_key_id,
    x_endpoint_id                               AS endpoint_id,
    ResourceId                                  AS resource_id,
    Tags                                        AS tags,
    arg_min(team, ordinal)                      AS team,
    min(ordinal)                                AS rule_ordinal,
    'attribution[' || min(ordinal) || ']'       AS attribution_rule
FROM matches
GROUP BY ALL

-- materialized: view
-- The [[attribution]] rules of spendwatch.toml, one row per rule in file order (ordinal 0 first; the first rule that matches a line wins), named as spendwatch.toml errors name them ('attribution[<ordinal>]'). A tag rule also carries the JSON pointer (RFC 6901) to its tag, '~' written '~0' and '/' written '~1', so a tag key may hold any character.
SELECT
    ordinal,
    'attribution[' || ordinal || ']'            AS rule,
    match_kind,
    match_value,
    tag_key,
    CASE WHEN match_kind = 'tag' THEN '/' || replace(replace(tag_key, '~', '~0'), '/', '~1') END AS tag_path,
    provider,
    team
FROM {{ source('config', 'attribution_rules') }}

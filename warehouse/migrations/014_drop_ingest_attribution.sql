-- 014: lines no longer carry an ingest-time team.
--
-- x_team / x_attribution_rule held the team the [[attribution]] rules of the ingest's day
-- gave a line; editing the rules never changed them.  Attribution is a model now
-- (dbt_like_sql/staging/stg_line_attribution.sql, over every stored line and the rules of
-- config.attribution_rules), so the stored columns go, from the live lines and from the
-- archive of superseded ones.  A view of your own that reads x_team must read the team of
-- stg_line_items instead.
ALTER TABLE billing_line_items DROP COLUMN IF EXISTS x_team;
ALTER TABLE billing_line_items DROP COLUMN IF EXISTS x_attribution_rule;
ALTER TABLE billing_line_items_archive DROP COLUMN IF EXISTS x_team;
ALTER TABLE billing_line_items_archive DROP COLUMN IF EXISTS x_attribution_rule;

-- 012: what a dedicated offer commits you to (issue 12, item 9).
--
-- Every dedicated_gpu price now carries its minimum term in months (0 for none), how it is
-- billed (hourly, monthly, or upfront with the amount paid before use) and its smallest
-- rentable unit in GPUs (8 for an 8-GPU node).  Other prices leave the columns NULL.
ALTER TABLE price_history ADD COLUMN term_months DECIMAL(6, 2);
ALTER TABLE price_history ADD COLUMN billing VARCHAR;          -- hourly | monthly | upfront
ALTER TABLE price_history ADD COLUMN upfront_amount DECIMAL(24, 12);  -- in `currency`, with billing = 'upfront'
ALTER TABLE price_history ADD COLUMN min_units INTEGER;        -- GPUs

-- Dedicated prices stored before this migration get what the parsers now record for them,
-- so the next capture finds the same offer and changes nothing:
--   * RunPod savings plans (tier reserved_Nm) are paid up front for the whole term: the
--     effective hourly rate x 730.5 h x N months for one GPU (scrapers.base.term_upfront);
--   * a one-off setup fee (Hetzner) is paid up front, once, with no term;
--   * monthly prices are billed monthly, the rest hourly, with no term;
--   * a Lambda instance or any whole-machine ('instance') price rents all its GPUs at once.
UPDATE price_history
SET term_months = CASE
        WHEN source_id = 'runpod_pods' AND regexp_matches(coalesce(tier, ''), '^reserved_[0-9]+m$')
        THEN CAST(regexp_extract(tier, '^reserved_([0-9]+)m$', 1) AS DECIMAL(6, 2))
        ELSE 0 END,
    billing = CASE
        WHEN component = 'setup_fee' THEN 'upfront'
        WHEN source_id = 'runpod_pods' AND regexp_matches(coalesce(tier, ''), '^reserved_[0-9]+m$') THEN 'upfront'
        WHEN unit = 'month' THEN 'monthly'
        ELSE 'hourly' END,
    upfront_amount = CASE
        WHEN component = 'setup_fee' THEN amount
        WHEN source_id = 'runpod_pods' AND regexp_matches(coalesce(tier, ''), '^reserved_[0-9]+m$')
        THEN round(amount * 730.5 * CAST(regexp_extract(tier, '^reserved_([0-9]+)m$', 1) AS INTEGER), 2)
        END,
    min_units = CASE
        WHEN source_id = 'lambda' OR component = 'instance' THEN coalesce(nullif(gpu_count, 0), 1)
        ELSE 1 END
WHERE product_kind = 'dedicated_gpu';

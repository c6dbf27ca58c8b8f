-- 018: what each month of an incremental model was last built from, beyond its lines.  A charge is
-- converted at the FX rate in force on its day and priced at the list price in force at its time, so a
-- new rate or price reaches only some months.  For each month an incremental model holds, this keeps a
-- digest of the FX rates and the prices that can apply to that month's charges; the next incremental
-- build rebuilds the months whose digest differs (warehouse/incremental.py: month_digests).
CREATE TABLE IF NOT EXISTS model_build_months (
    model   VARCHAR NOT NULL,
    month   DATE    NOT NULL,  -- first day of a month the model held after the build
    digest  VARCHAR NOT NULL,  -- md5 of the FX rates up to the month's end and the prices in force during it
    starts_digest VARCHAR      -- for a model with incremental_starts: md5 of its input's series that start in the month
);

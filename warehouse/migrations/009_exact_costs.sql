-- 009: costs stored exactly.  DECIMAL(18, 6) rounded an AWS line's 10-decimal cost, so a
-- file's total in the warehouse matched its own sum only to the cent.  DECIMAL(38, 18)
-- holds every amount an export writes (20 integer digits, 18 decimals); a value with more
-- decimals is rounded at ingest with a data-quality note.  Unit prices likewise.
ALTER TABLE billing_line_items ALTER COLUMN BilledCost TYPE DECIMAL(38, 18);
ALTER TABLE billing_line_items ALTER COLUMN EffectiveCost TYPE DECIMAL(38, 18);
ALTER TABLE billing_line_items ALTER COLUMN ListCost TYPE DECIMAL(38, 18);
ALTER TABLE billing_line_items ALTER COLUMN ContractedCost TYPE DECIMAL(38, 18);
ALTER TABLE billing_line_items ALTER COLUMN ListUnitPrice TYPE DECIMAL(38, 18);
ALTER TABLE billing_line_items ALTER COLUMN ContractedUnitPrice TYPE DECIMAL(38, 18);
ALTER TABLE billing_line_items_archive ALTER COLUMN BilledCost TYPE DECIMAL(38, 18);
ALTER TABLE billing_line_items_archive ALTER COLUMN EffectiveCost TYPE DECIMAL(38, 18);
ALTER TABLE billing_line_items_archive ALTER COLUMN ListCost TYPE DECIMAL(38, 18);
ALTER TABLE billing_line_items_archive ALTER COLUMN ContractedCost TYPE DECIMAL(38, 18);
ALTER TABLE billing_line_items_archive ALTER COLUMN ListUnitPrice TYPE DECIMAL(38, 18);
ALTER TABLE billing_line_items_archive ALTER COLUMN ContractedUnitPrice TYPE DECIMAL(38, 18);

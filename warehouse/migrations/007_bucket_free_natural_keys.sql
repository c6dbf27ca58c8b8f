-- 007: RunPod and Modal natural keys without the bucket.
--
-- Neither a bare RunPod billing array nor a Modal billing report states its bucket size,
-- so the loaders infer it per file; sparse data (an endpoint idle for days, an hourly
-- report with usage only at midnight) can read as another bucket than a denser
-- re-delivery of the same records.  With the bucket in the key such a re-delivery added
-- its lines instead of replacing them.  The keys are now the resource and the bucket
-- start only (warehouse/loaders/runpod_billing.py, modal_billing.py); this rewrites the
-- keys already stored the same way, keeping a '#n' duplicate suffix, so files ingested
-- before and after restate each other.
UPDATE billing_line_items
SET x_natural_key = regexp_replace(x_natural_key, '\|(hour|day|week|month|year)(#[0-9]+)?$', '\2')
WHERE x_source_format = 'runpod_billing' AND regexp_matches(x_natural_key, '\|(hour|day|week|month|year)(#[0-9]+)?$');

UPDATE billing_line_items
SET x_natural_key = regexp_replace(x_natural_key, '\|(hour|day)(#[0-9]+)?$', '\2')
WHERE x_source_format = 'modal_billing' AND regexp_matches(x_natural_key, '\|(hour|day)(#[0-9]+)?$');

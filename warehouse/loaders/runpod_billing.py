"""RunPod billing history: ``GET https://rest.runpod.io/v1/billing/{pods,endpoints,networkvolumes}`` as line items.

The v1 REST API answers each of the three endpoints with a bare JSON array of
records ``{amount, diskSpaceBilledGb, endpointId, gpuTypeId, podId, time,
timeBilledMs}``: ``amount`` is float USD for the record's bucket, ``time`` the RFC
3339 start of the bucket, ``timeBilledMs`` the billed time in milliseconds, and
only the grouping field (``grouping=endpointId|podId|gpuTypeId``) is set among the
ids.  The bucket length is a query parameter (``bucketSize`` hour, day, week,
month, year; default day) and is NOT echoed in the response.  Confirmed against
docs.runpod.io (``/api-reference/billing/GET/billing/endpoints``, ``.../pods``,
``.../networkvolumes``) on 2026-12-01.

Two file shapes are read:

* the bare array the API returns (saved by hand with curl), and
* the wrapper ``scrapers.billing_api.pull_runpod_billing`` writes, which keeps the
  request context the array lacks: ``{"object": "runpod.billing", "resource":
  "endpoints", "bucketSize": "hour", "grouping": "endpointId", "startTime",
  "endTime", "records": [...]}``.

Mapping: endpoint records are ``serverless_gpu`` with ``x_endpoint_id``; pod records
are ``dedicated_gpu`` with ``ResourceId = podId``; network-volume records are
storage (``other``).  ``x_gpu_class`` comes from ``gpuTypeId`` through
``scrapers.gpus`` (the raw name stays in ``SkuId``); ``x_gpu_seconds`` is
``timeBilledMs / 1000`` (times ``gpuCount`` where a record carries one; v1
records do not, so ``x_gpu_count`` stays NULL).  ``ChargePeriodEnd = time +
bucket``.  In a bare array the resource is told from the grouping id present
(endpointId -> endpoint, podId -> pod, no id and no GPU -> network volume); a
record grouped by ``gpuTypeId`` alone cannot be told apart and is rejected with
that reason.  The bucket is the wrapper's ``bucketSize``; without one it is
inferred per file (one response has one bucket size): any start off midnight, or
a gap under a day between distinct starts, means hourly, and otherwise the API
default, day.  Gaps do not reveal weeks or months (an endpoint idle for six days
leaves daily records a week apart), so those need the wrapper, which spendwatch's
puller always writes.  The bucket sets ``ChargePeriodEnd``; it is not part of the
natural key (endpoint/pod/volume, GPU type and bucket start), so a re-delivery
whose bucket reads differently still replaces the lines it restates.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from warehouse.ingest.sqlkit import number_sql
from warehouse.ingest.contract import UnreadableFile
from warehouse.loaders import DAY
from warehouse.loaders._declared import Check, Declared, amount, billed, gpu_classes, iso, key, missing, usage_line
from warehouse.loaders._io import COUNT_SQL, RFC3339_SQL, drop_temp, head_text, read_json_docs

FORMAT = "runpod_billing"
SCOPE = ("ServiceName", DAY)  # dataset: pods, endpoints or network volumes; the bucket day

RESOURCES = ("pods", "endpoints", "networkvolumes")
BUCKET_SIZES = ("hour", "day", "week", "month", "year")

_RECORD_KEY = re.compile(r'"(timeBilledMs|diskSpaceBilledG[bB])"\s*:')
_TIME = re.compile(r'"time"\s*:')
_AMOUNT = re.compile(r'"amount"\s*:')
_WRAPPER = re.compile(r'"object"\s*:\s*"runpod\.billing"')


def sniff(path: Path, head: bytes) -> bool:
    """RunPod billing records (``amount``, ``time``, ``timeBilledMs``/``diskSpaceBilledGb``) or our wrapper."""
    text = head_text(head).lstrip()
    if not text.startswith(("{", "[")):
        return False
    if _WRAPPER.search(text):
        return True
    return bool(_RECORD_KEY.search(text) and _TIME.search(text) and _AMOUNT.search(text))


def _read_records(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> None:
    """Load the file's records into ``table(x_source_row, grp, resource, bucket_size, rec)``.

    ``grp`` is one response: the whole file for the bare array (streamed record by
    record), each wrapper object otherwise; the bucket size is inferred per response.
    """
    read_json_docs(con, path, "_sw_runpod_docs", "RunPod billing")
    try:
        bad = con.execute(
            """SELECT doc_i, json_type(doc), doc ->> '$.resource', doc ->> '$.bucketSize' FROM _sw_runpod_docs
               WHERE NOT in_array AND (
                     json_type(doc) IS DISTINCT FROM 'OBJECT' OR json_type(doc -> '$.records') IS DISTINCT FROM 'ARRAY'
                  OR (doc ->> '$.resource') NOT IN ('pods', 'endpoints', 'networkvolumes')
                  OR (doc ->> '$.bucketSize') NOT IN ('hour', 'day', 'week', 'month', 'year'))
               ORDER BY doc_i LIMIT 1"""
        ).fetchone()
        if bad is not None:
            if bad[2] is not None and bad[2] not in RESOURCES:
                reason = f"unknown resource {bad[2]!r} (expected one of {', '.join(RESOURCES)})"
            elif bad[3] is not None and bad[3] not in BUCKET_SIZES:
                reason = f"unknown bucketSize {bad[3]!r} (expected one of {', '.join(BUCKET_SIZES)})"
            else:
                reason = ("expected the JSON array of billing records the API returns ($[*]), or an object with "
                          "a 'records' array ($.records[*])")
            raise UnreadableFile(f"{path}: JSON value {bad[0]}: {reason}")
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {table} AS
            WITH wrapped AS (
                SELECT doc_i AS grp, CAST(doc -> '$.records' AS JSON[]) AS recs,
                       doc ->> '$.resource' AS resource, doc ->> '$.bucketSize' AS bucket_size
                FROM _sw_runpod_docs WHERE NOT in_array
            ), records AS (
                SELECT grp, rec_i, resource, bucket_size, rec
                FROM (SELECT grp, resource, bucket_size, unnest(recs) AS rec, generate_subscripts(recs, 1) AS rec_i
                      FROM wrapped)
                UNION ALL
                SELECT 0 AS grp, doc_i AS rec_i, NULL AS resource, NULL AS bucket_size, doc AS rec
                FROM _sw_runpod_docs WHERE in_array
            )
            SELECT CAST(row_number() OVER (ORDER BY grp, rec_i) AS INTEGER) AS x_source_row,
                   grp, resource, bucket_size, rec
            FROM records
            """
        )
    finally:
        drop_temp(con, "_sw_runpod_docs")


_PARSE = f"""
WITH fields AS (
    SELECT
        x_source_row, grp, resource AS wrapper_resource, bucket_size AS wrapper_bucket,
        CAST(rec AS VARCHAR) AS raw,
        json_type(rec) AS rec_type,
        rec ->> '$.amount' AS amount_raw,
        rec ->> '$.time' AS time_raw,
        rec ->> '$.timeBilledMs' AS ms_raw,
        coalesce(rec ->> '$.diskSpaceBilledGb', rec ->> '$.diskSpaceBilledGB') AS disk_raw,
        rec ->> '$.gpuCount' AS gpu_count_raw,
        rec ->> '$.endpointId' AS endpoint_id,
        rec ->> '$.podId' AS pod_id,
        rec ->> '$.gpuTypeId' AS gpu_type_id,
        rec ->> '$.networkVolumeId' AS network_volume_id
    FROM {{raw}}
), typed AS (
    SELECT *,
        {RFC3339_SQL.format('time_raw')} AS period_start,
        -- a JSON number comes back as its shortest decimal text: the float dollars, exactly as written
        {number_sql('amount_raw', 'DECIMAL(38, 18)')} AS amount,
        {number_sql('ms_raw', 'DECIMAL(38, 3)')} AS billed_ms,
        {number_sql('disk_raw', 'DECIMAL(24, 6)')} AS disk_gb,
        TRY_CAST({COUNT_SQL.format('gpu_count_raw')} AS INTEGER) AS gpu_count,
        coalesce(wrapper_resource, CASE
            WHEN endpoint_id IS NOT NULL THEN 'endpoints'
            WHEN pod_id IS NOT NULL THEN 'pods'
            WHEN gpu_type_id IS NULL THEN 'networkvolumes'
            ELSE 'unknown'  -- grouped by gpuTypeId alone: a pod or an endpoint (noted)
        END) AS resource
    FROM fields
), starts AS (
    SELECT grp, period_start, lead(period_start) OVER (PARTITION BY grp ORDER BY period_start) AS next_start
    FROM (SELECT DISTINCT grp, period_start FROM typed WHERE period_start IS NOT NULL)
), inferred AS (
    SELECT grp,
        CASE
            WHEN bool_or(period_start <> date_trunc('day', period_start)) THEN 'hour'
            WHEN min(next_start - period_start) < INTERVAL 1 DAY THEN 'hour'
            ELSE 'day'
        END AS inferred_bucket
    FROM starts GROUP BY grp
), bucketed AS (
    SELECT t.*, coalesce(t.wrapper_bucket, i.inferred_bucket) AS bucket,
        CASE WHEN t.gpu_count >= 1 THEN t.gpu_count END AS gpu_ok
    FROM typed t LEFT JOIN inferred i USING (grp)
)
SELECT * REPLACE (
        CASE WHEN billed_ms >= 0 AND billed_ms / 1000 * coalesce(gpu_ok, 1) < 1e14 THEN billed_ms END AS billed_ms,
        CASE WHEN disk_gb >= 0 THEN disk_gb END AS disk_gb, gpu_ok AS gpu_count),
    billed_ms AS billed_ms_read, gpu_count AS gpu_count_read,
    period_start + CASE bucket
        WHEN 'hour' THEN INTERVAL 1 HOUR WHEN 'day' THEN INTERVAL 1 DAY WHEN 'week' THEN INTERVAL 7 DAY
        WHEN 'month' THEN INTERVAL 1 MONTH WHEN 'year' THEN INTERVAL 1 YEAR END AS period_end
FROM bucketed
"""

_CHECKS = [
    Check(None, "rec_type IS DISTINCT FROM 'OBJECT'", "'record is not a JSON object'"),
    missing("time", "time_raw"),
    Check("time", "period_start IS NULL", "'time ' || time_raw || ' is not an RFC 3339 timestamp'"),
    *amount("amount", "amount_raw", "amount"),
]

# Not knowing the GPU, or whether it ran as a pod or an endpoint, is no reason to lose the
# money: the record loads with a note; so is a billed time, size or GPU count that cannot be
# read (stored NULL, never a guess).  An unknown gpuTypeId stays in SkuId as written with
# x_gpu_class NULL; a record grouped by gpuTypeId alone is product kind 'other' (neither
# serverless nor dedicated: the break-even and serverless usage models do not count it).
_NOTES = [
    Check("timeBilledMs", "ms_raw IS NOT NULL AND (billed_ms_read IS NULL OR billed_ms_read < 0)",
          "'timeBilledMs ' || ms_raw || ' is not a duration in milliseconds: billed time unknown (NULL)'"),
    Check("timeBilledMs", "billed_ms_read / 1000 * coalesce(gpu_count, 1) >= 1e14",
          "'timeBilledMs ' || ms_raw || ' is out of range: billed time unknown (NULL)'"),
    Check("diskSpaceBilledGb", "disk_raw IS NOT NULL AND (disk_gb IS NULL OR disk_gb < 0)",
          "'diskSpaceBilledGb ' || disk_raw || ' is not a size in GB: size unknown (NULL)'"),
    Check("gpuCount", "gpu_count_raw IS NOT NULL AND (gpu_count IS NULL OR gpu_count < 1)",
          "'gpuCount ' || gpu_count_raw || ' is not a GPU count: GPU count unknown (NULL)'"),
    Check("gpuTypeId", "resource = 'unknown'",
          "'record grouped by gpuTypeId alone: cannot tell a pod from a serverless endpoint, loaded as product kind "
          "other (save the response with spendwatch''s RunPod puller, or group by podId / endpointId)'"),
    Check("gpuTypeId", "gpu_type_id IS NOT NULL AND gpu_type_id NOT IN "
          "(SELECT raw FROM _sw_runpod_gpu WHERE gpu_class IS NOT NULL)",
          "'unknown gpuTypeId ' || gpu_type_id || ': GPU class unknown (x_gpu_class NULL; add it to scrapers/gpus.py)'"),
]


_LINES = f"""
SELECT {usage_line('RunPod', 'runpod')}, {billed('amount')},
    CASE WHEN resource = 'networkvolumes' THEN disk_gb ELSE billed_ms / 1000 END AS ConsumedQuantity,
    CASE WHEN resource = 'networkvolumes' THEN CASE WHEN disk_gb IS NOT NULL THEN 'GB' END
         ELSE CASE WHEN billed_ms IS NOT NULL THEN 'Seconds' END END AS ConsumedUnit,
    CASE resource
        WHEN 'endpoints' THEN 'Serverless endpoint ' || coalesce(endpoint_id, pod_id, '') || coalesce(' on ' || gpu_type_id, '')
        WHEN 'pods' THEN 'Pod ' || coalesce(pod_id, '') || coalesce(' on ' || gpu_type_id, '')
        WHEN 'unknown' THEN 'GPU ' || gpu_type_id || ' (pod or endpoint unknown)'
        ELSE 'Network volume ' || coalesce(network_volume_id, '') || coalesce(' (' || disk_raw || ' GB)', '')
    END || ' per ' || bucket AS ChargeDescription,
    CASE resource WHEN 'endpoints' THEN 'RunPod Serverless' WHEN 'pods' THEN 'RunPod Pods'
                  WHEN 'unknown' THEN 'RunPod GPU (by type)' ELSE 'RunPod Network Volumes' END AS ServiceName,
    CASE WHEN resource = 'networkvolumes' THEN 'Storage' ELSE 'Compute' END AS ServiceCategory,
    CASE resource WHEN 'endpoints' THEN coalesce(endpoint_id, pod_id) WHEN 'pods' THEN pod_id
                  WHEN 'unknown' THEN NULL ELSE network_volume_id END AS ResourceId,
    CASE resource WHEN 'endpoints' THEN 'Serverless Endpoint' WHEN 'pods' THEN 'Pod'
                  WHEN 'unknown' THEN NULL ELSE 'Network Volume' END AS ResourceType,
    gpu_type_id AS SkuId,
    CASE resource WHEN 'endpoints' THEN 'serverless_gpu' WHEN 'pods' THEN 'dedicated_gpu' ELSE 'other' END
        AS x_product_kind,
    endpoint_id AS x_endpoint_id, g.gpu_class AS x_gpu_class, gpu_count AS x_gpu_count,
    CASE WHEN billed_ms IS NOT NULL AND resource <> 'networkvolumes' AND (gpu_count_raw IS NULL OR gpu_count IS NOT NULL)
         THEN billed_ms / 1000 * coalesce(gpu_count, 1) END AS x_gpu_seconds,  -- an unreadable gpuCount: unknown
    'runpod|' || {key('resource', 'endpoint_id', 'pod_id', 'gpu_type_id', 'network_volume_id', iso('period_start'))} AS base_key,
    x_source_row
FROM {{accepted}} r LEFT JOIN _sw_runpod_gpu g ON g.raw = r.gpu_type_id
"""

LOADER = Declared(
    format=FORMAT, read=_read_records, parse=_PARSE, checks=_CHECKS, lines=_LINES, notes=_NOTES,
    prepare=gpu_classes("gpu_type_id", "_sw_runpod_gpu"))
stage = LOADER.stage

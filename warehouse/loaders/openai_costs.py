"""OpenAI organisation costs: saved pages of ``GET /v1/organization/costs`` as billed line items.

The Admin API answers with a page envelope
``{object: "page", data: [bucket...], has_more, next_page}``; each daily bucket
``{object: "bucket", start_time, end_time, results: [...]}`` holds one
``organization.costs.result`` per (project, line item[, API key]) with
``amount: {value, currency}``.  A saved file holds one page object or a JSON
array of pages (``scrapers.billing_api.pull_openai_costs`` writes one page per file).

Unit traps handled here:

* ``amount.value`` is a binary FLOAT in dollars.  It is converted through its
  shortest decimal text (``0.06`` stays ``0.06``), never with float arithmetic.
* ``currency`` is lower case (``"usd"``); it is stored upper case.  OpenAI bills in
  USD only, so any other currency is rejected as unknown.
* ``start_time`` / ``end_time`` are Unix seconds, UTC.
"""

from __future__ import annotations

import re
from pathlib import Path

from warehouse.ingest.sqlkit import number_sql
from warehouse.loaders import DAY
from warehouse.loaders._declared import admin, amount, billed, iso, key, noted, period, usage_line, usd
from warehouse.loaders._io import COUNT_SQL, head_text

FORMAT = "openai_costs"
SCOPE = ("BillingAccountId", DAY)  # organisation (when known) and bucket day; the format is the dataset

_PAGE_OBJECT = re.compile(r'"object"\s*:\s*"(page|bucket)"')


def is_admin_page(head: bytes, result_object: str) -> bool:
    """Whether ``head`` starts a JSON page/bucket envelope holding objects ``"object": result_object``."""
    text = head_text(head).lstrip()
    if not text.startswith(("{", "[")):
        return False
    result = re.compile(r'"object"\s*:\s*"' + re.escape(result_object) + '"')
    return bool(result.search(text) and _PAGE_OBJECT.search(text))


def sniff(path: Path, head: bytes) -> bool:
    """An OpenAI costs page: a page/bucket envelope holding ``organization.costs.result`` objects."""
    return is_admin_page(head, "organization.costs.result")


# Unix seconds between 1970 and 3000; anything else is not a bucket boundary.
UNIX_SECONDS = "CASE WHEN TRY_CAST({0} AS BIGINT) BETWEEN 0 AND 32503680000 THEN " + COUNT_SQL + " END"

_START, _END = "bucket ->> '$.start_time'", "bucket ->> '$.end_time'"
BUCKET_PERIOD = (f"make_timestamp(({UNIX_SECONDS.format(_START)}) * 1000000) AS period_start, "
                 f"make_timestamp(({UNIX_SECONDS.format(_END)}) * 1000000) AS period_end, "
                 f"{_START} AS start_raw, {_END} AS end_raw")
BUCKET_CHECKS = period("start_time", "end_time", "start_raw", "end_raw", "period_start", "period_end",
                       what="Unix seconds", label="bucket ")

LOADER = admin(
    "OpenAI", BUCKET_PERIOD, fmt=FORMAT,
    fields=f"""
        -- a JSON number comes back as its shortest decimal text: the float dollars, exactly as written
        res ->> '$.amount.value' AS amount_raw,
        {number_sql("res ->> '$.amount.value'", 'DECIMAL(38, 18)')} AS amount,
        res ->> '$.amount.currency' AS currency_raw,
        res ->> '$.line_item' AS line_item, res ->> '$.project_id' AS project_id,
        res ->> '$.project_name' AS project_name, res ->> '$.api_key_id' AS api_key_id,
        res ->> '$.quantity' AS quantity_raw, {number_sql("res ->> '$.quantity'", 'DECIMAL(38, 6)')} AS quantity,
        res ->> '$.quantity_unit' AS quantity_unit""",
    checks=[*BUCKET_CHECKS, *amount("amount.value", "amount_raw", "amount"), *usd("amount.currency", "currency_raw", "OpenAI")],
    # The quantity is not the money: one that cannot be read loads the line with a note, quantity NULL.
    notes=noted(amount("quantity", "quantity_raw", "quantity", "1e15", optional=True), "quantity"),
    lines=f"""
    SELECT {usage_line('OpenAI', 'openai')}, {billed('amount')},
        project_id AS SubAccountId, project_name AS SubAccountName,
        quantity AS PricingQuantity, quantity_unit AS PricingUnit, quantity AS ConsumedQuantity, quantity_unit AS ConsumedUnit,
        coalesce(line_item, 'OpenAI API usage') AS ChargeDescription,
        'OpenAI API' AS ServiceName, 'AI and Machine Learning' AS ServiceCategory, line_item AS SkuId,
        'hosted_api' AS x_product_kind, project_id AS x_project_id, api_key_id AS x_api_key_id,
        -- line items read "<model>, <token kind>" (e.g. "gpt-4o-2024-08-06, cached input")
        CASE WHEN line_item LIKE '%, %' THEN split_part(line_item, ', ', 1) END AS x_model,
        'openai|costs|' || {key('project_id', 'line_item', 'api_key_id', iso('period_start'), iso('period_end'))} AS base_key,
        x_source_row
    FROM {{accepted}}""",
)
stage = LOADER.stage

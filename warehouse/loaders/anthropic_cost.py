"""Anthropic cost report: saved pages of ``GET /v1/organizations/cost_report`` as billed line items.

Page envelope ``{data: [{starting_at, ending_at, results: [...]}], has_more, next_page}``
with daily buckets; each result carries ``amount``, ``currency`` and, depending on
``group_by[]`` (``workspace_id``, ``description``), ``workspace_id``, ``description``,
``cost_type`` (tokens, web_search, code_execution, session_usage), ``model``,
``token_type``, ``service_tier``, ``context_window``, ``inference_geo`` and ``speed``
(null when not grouped by them).  Confirmed against platform.claude.com's API
reference (``/docs/en/api/admin/cost_report``) on 2026-12-01.

Unit traps handled here:

* ``amount`` is a DECIMAL STRING IN CENTS ("lowest currency units"): ``"123.45"``
  means $1.2345.  It is divided by 100 in exact decimal arithmetic.
* ``currency`` is upper case and currently always ``"USD"``; anything else is
  rejected as unknown.
* ``starting_at`` / ``ending_at`` are RFC 3339 timestamps, converted to UTC.
"""

from __future__ import annotations

import re
from pathlib import Path

from warehouse.ingest.sqlkit import number_sql
from warehouse.loaders import DAY
from warehouse.loaders._declared import admin, amount, billed, iso, key, period, usage_line, usd
from warehouse.loaders._io import RFC3339_SQL, head_text

FORMAT = "anthropic_cost"
SCOPE = ("BillingAccountId", DAY)  # organisation (when known) and bucket day; the format is the dataset

_STARTING_AT = re.compile(r'"starting_at"\s*:')
_AMOUNT = re.compile(r'"amount"\s*:')
_CURRENCY = re.compile(r'"currency"\s*:')
_USAGE_KEYS = re.compile(r'"(uncached_input_tokens|cache_read_input_tokens|output_tokens)"\s*:')


def sniff(path: Path, head: bytes) -> bool:
    """An Anthropic cost report page: ``starting_at`` buckets with ``amount``/``currency`` results, no token counts."""
    text = head_text(head).lstrip()
    if not text.startswith(("{", "[")):
        return False
    return bool(
        _STARTING_AT.search(text) and _AMOUNT.search(text) and _CURRENCY.search(text) and not _USAGE_KEYS.search(text)
    )


_START, _END = "bucket ->> '$.starting_at'", "bucket ->> '$.ending_at'"
# Anthropic's bucket: RFC 3339 starting_at / ending_at (converted to UTC).
BUCKET_PERIOD = (f"{RFC3339_SQL.format(_START)} AS period_start, {RFC3339_SQL.format(_END)} AS period_end, "
                 f"{_START} AS start_raw, {_END} AS end_raw")
BUCKET_CHECKS = period("starting_at", "ending_at", "start_raw", "end_raw", "period_start", "period_end", label="bucket ")
_GROUPS = ("workspace_id", "description", "cost_type", "model", "token_type", "service_tier", "context_window",
           "inference_geo", "speed")

LOADER = admin(
    "Anthropic", BUCKET_PERIOD, fmt=FORMAT,
    fields=f"""
        res ->> '$.amount' AS amount_raw, res ->> '$.currency' AS currency_raw,
        -- cents -> dollars in exact decimal arithmetic ("123.45" -> 1.2345)
        {number_sql("res ->> '$.amount'", 'DECIMAL(38, 16)')} * CAST(0.01 AS DECIMAL(3, 2)) AS amount,
        {", ".join(f"res ->> '$.{g}' AS {g}" for g in _GROUPS)}""",
    checks=[*BUCKET_CHECKS, *amount("amount", "amount_raw", "amount", "1e12"), *usd("currency", "currency_raw", "Anthropic")],
    lines=f"""
    SELECT {usage_line('Anthropic', 'anthropic')}, {billed('amount')},
        workspace_id AS SubAccountId, coalesce(description, cost_type, 'Claude API usage') AS ChargeDescription,
        'Claude API' AS ServiceName, 'AI and Machine Learning' AS ServiceCategory, model AS SkuId,
        CASE WHEN model IS NOT NULL
             THEN model || '|' || coalesce(service_tier, '') || '|' || coalesce(token_type, '') || '|' || coalesce(context_window, '')
        END AS SkuPriceId,
        'hosted_api' AS x_product_kind, workspace_id AS x_workspace_id, model AS x_model,
        'anthropic|cost|' || {key(*_GROUPS, iso('period_start'), iso('period_end'))} AS base_key,
        x_source_row
    FROM {{accepted}}""",
)
stage = LOADER.stage

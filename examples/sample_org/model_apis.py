"""Hosted model-API exports of the sample organisation: OpenAI and Anthropic Admin API cost and usage pages."""

from __future__ import annotations

import base64
import random
import struct
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, ROUND_HALF_UP
from typing import Any

from sample_org.common import (
    ANTHROPIC_MODEL_LABEL, ANTHROPIC_PRICES, ANTHROPIC_TOKEN_LABEL, ANTHROPIC_WEB_SEARCH_PER_REQUEST, Ledger,
    MONTHS, MTOK, OPENAI_PRICES, RETRY_LOOP_DAY, RETRY_LOOP_FACTOR, UNALLOCATED, days, json_money, month_bounds,
    plain, q, rfc3339, unix, weekday_factor,
)


# =======================================================================================
# OpenAI Admin API: /v1/organization/costs and /v1/organization/usage/completions
# =======================================================================================


@dataclass
class OpenAIDay:
    """One day of one project's use of one model: tokens (cached is a subset of input)."""

    day: date
    project: str
    model: str
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    requests: int

    def cost(self, piece: str) -> Decimal:
        """The list-price cost of one line item piece (input, cached input, output)."""
        price = OPENAI_PRICES[self.model][piece] / MTOK
        tokens = {
            "input": self.input_tokens - self.cached_tokens,
            "cached input": self.cached_tokens,
            "output": self.output_tokens,
        }[piece]
        return Decimal(tokens) * price


SEARCH_RAMP_START = date(2026, 11, 2)


def search_multiplier(d: date) -> float:
    """Team search's traffic: flat through October, a launch ramp from 2 November."""
    if d < SEARCH_RAMP_START:
        return 1.0
    ramp_days = (d - SEARCH_RAMP_START).days
    return min(1.0 + 0.2 * ramp_days, 3.0)


def openai_days(rng: random.Random, ledger: Ledger) -> list[OpenAIDay]:
    """Daily token use of proj_assistant, proj_search_rerank and the unmapped proj_sandbox."""
    out: list[OpenAIDay] = []
    for i, d in enumerate(days()):
        growth = 1.0 + 0.001 * i
        # Team assistant: a gpt-4o chat product with a gpt-4o-mini router in front.
        f = weekday_factor(d, 0.72) * growth
        out.append(_openai_day(rng, d, "proj_assistant", "gpt-4o-2024-08-06", 27_000_000 * f, 0.45, 0.11, 2600))
        if d == RETRY_LOOP_DAY:
            out[-1] = _retry_loop(out[-1])
        out.append(_openai_day(rng, d, "proj_assistant", "gpt-4o-mini-2024-07-18", 42_000_000 * f, 0.30, 0.12, 1400))
        # Team search: gpt-4o-mini as a reranker (long inputs, tiny outputs).
        m = search_multiplier(d) * weekday_factor(d, 0.85)
        out.append(_openai_day(rng, d, "proj_search_rerank", "gpt-4o-mini-2024-07-18", 74_000_000 * m, 0.50, 0.03, 3200))
        # Nobody's sandbox: a few experiments on some days.
        if rng.random() < 0.6:
            out.append(_openai_day(rng, d, "proj_sandbox", "gpt-4o-mini-2024-07-18", 1_500_000, 0.10, 0.20, 900))
        if rng.random() < 0.2:
            out.append(_openai_day(rng, d, "proj_sandbox", "gpt-4o-2024-08-06", 250_000, 0.05, 0.20, 600))
    teams = {"proj_assistant": "assistant", "proj_search_rerank": "search"}
    for row in out:
        total = sum(row.cost(piece) for piece in ("input", "cached input", "output"))
        ledger.add(row.day, teams.get(row.project, UNALLOCATED), "openai", "variable", total)
    return out


def _retry_loop(row: OpenAIDay) -> OpenAIDay:
    """The day's requests and tokens times RETRY_LOOP_FACTOR (whole tokens, rounded half up)."""
    def scale(n: int) -> int:
        return int((Decimal(n) * RETRY_LOOP_FACTOR).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    return OpenAIDay(row.day, row.project, row.model, scale(row.input_tokens), scale(row.cached_tokens),
                     scale(row.output_tokens), scale(row.requests))


def _openai_day(
    rng: random.Random, d: date, project: str, model: str, input_tokens: float, cached_share: float,
    output_ratio: float, tokens_per_request: int,
) -> OpenAIDay:
    """Draw one day's tokens around the given level (+-8 %)."""
    inp = int(input_tokens * rng.uniform(0.92, 1.08))
    cached = int(inp * cached_share * rng.uniform(0.9, 1.1))
    output = int(inp * output_ratio * rng.uniform(0.9, 1.1))
    return OpenAIDay(d, project, model, inp, cached, output, max(1, inp // tokens_per_request))


def next_page_token(start_time: int) -> str:
    """An opaque cursor in the style OpenAI returns ("page_" + base64)."""
    return "page_" + base64.b64encode(struct.pack(">QQ", start_time, start_time ^ 0x5EED)).decode()


def openai_cost_pages(rows: list[OpenAIDay]) -> dict[str, dict[str, Any]]:
    """Cost pages grouped by project_id and line_item: one per month, November in two pages."""
    by_day: dict[date, list[OpenAIDay]] = defaultdict(list)
    for row in rows:
        by_day[row.day].append(row)

    def bucket(d: date) -> dict[str, Any]:
        results = []
        for row in sorted(by_day[d], key=lambda r: (r.project, r.model)):
            for piece in ("input", "cached input", "output"):
                results.append({
                    "object": "organization.costs.result",
                    "amount": {"value": json_money(row.cost(piece)), "currency": "usd"},
                    "line_item": f"{row.model}, {piece}",
                    "project_id": row.project,
                    "api_key_id": None,
                    "quantity": None,
                    "quantity_unit": None,
                })
        return {"object": "bucket", "start_time": unix(d), "end_time": unix(d + timedelta(days=1)), "results": results}

    pages: dict[str, dict[str, Any]] = {}
    for year, month in MONTHS:
        start, end = month_bounds(year, month)
        buckets = [bucket(d) for d in days(start, end)]
        if (year, month) == (2026, 11):
            split = 15
            pages["openai_costs_2026-11_p1.json"] = _page(buckets[:split], next_page_token(unix(start + timedelta(days=split))))
            pages["openai_costs_2026-11_p2.json"] = _page(buckets[split:], None)
        else:
            pages[f"openai_costs_{year}-{month:02d}.json"] = _page(buckets, None)
    return pages


def openai_usage_page(rows: list[OpenAIDay]) -> dict[str, Any]:
    """Completions usage, 1d buckets grouped by project_id and model, for the whole period."""
    by_day: dict[date, list[OpenAIDay]] = defaultdict(list)
    for row in rows:
        by_day[row.day].append(row)
    buckets = []
    for d in days():
        results = []
        for row in sorted(by_day[d], key=lambda r: (r.project, r.model)):
            results.append({
                "object": "organization.usage.completions.result",
                "input_tokens": row.input_tokens,
                "input_cached_tokens": row.cached_tokens,
                "input_cache_write_tokens": 0,
                "input_uncached_tokens": row.input_tokens - row.cached_tokens,
                "output_tokens": row.output_tokens,
                "input_text_tokens": row.input_tokens,
                "output_text_tokens": row.output_tokens,
                "input_cached_text_tokens": row.cached_tokens,
                "input_audio_tokens": 0,
                "input_cached_audio_tokens": 0,
                "output_audio_tokens": 0,
                "input_image_tokens": 0,
                "input_cached_image_tokens": 0,
                "output_image_tokens": 0,
                "num_model_requests": row.requests,
                "project_id": row.project,
                "user_id": None,
                "api_key_id": None,
                "model": row.model,
                "batch": None,
                "service_tier": None,
            })
        buckets.append({"object": "bucket", "start_time": unix(d), "end_time": unix(d + timedelta(days=1)), "results": results})
    return _page(buckets, None)


def _page(buckets: list[dict[str, Any]], next_page: str | None) -> dict[str, Any]:
    """The OpenAI page envelope."""
    return {"object": "page", "data": buckets, "has_more": next_page is not None, "next_page": next_page}


# =======================================================================================
# Anthropic Admin API: /v1/organizations/cost_report and /usage_report/messages
# =======================================================================================


@dataclass
class AnthropicDay:
    """One day of one workspace's use of one model (uncached, cache reads and writes, output)."""

    day: date
    workspace: str | None
    model: str
    tokens: dict[str, int]  # keyed by cost-report token_type
    web_searches: int

    def cost_cents(self, token_type: str) -> Decimal:
        """List-price cost of one token type, in cents (the cost report's unit)."""
        per_token_cents = ANTHROPIC_PRICES[self.model][token_type] * 100 / MTOK
        return Decimal(self.tokens[token_type]) * per_token_cents


def anthropic_days(rng: random.Random, ledger: Ledger) -> list[AnthropicDay]:
    """Team search's answer synthesis (Sonnet 4.5) and query rewriting (Haiku 4.5), plus a stray default workspace."""
    out: list[AnthropicDay] = []
    for d in days():
        m = search_multiplier(d) * weekday_factor(d, 0.85)
        out.append(_anthropic_day(rng, d, "wrkspc_search", "claude-sonnet-4-5-20250929", m, {
            "uncached_input_tokens": 3_150_000,
            "cache_read_input_tokens": 12_400_000,
            "cache_creation.ephemeral_5m_input_tokens": 840_000,
            "cache_creation.ephemeral_1h_input_tokens": 0,
            "output_tokens": 710_000,
        }, web_searches=200))
        out.append(_anthropic_day(rng, d, "wrkspc_search", "claude-haiku-4-5-20251001", m, {
            "uncached_input_tokens": 3_100_000,
            "cache_read_input_tokens": 5_200_000,
            "cache_creation.ephemeral_5m_input_tokens": 0,
            "cache_creation.ephemeral_1h_input_tokens": 240_000,
            "output_tokens": 420_000,
        }, web_searches=0))
        if rng.random() < 0.35:  # console experiments in the default workspace (no workspace_id)
            out.append(_anthropic_day(rng, d, None, "claude-haiku-4-5-20251001", 1.0, {
                "uncached_input_tokens": 180_000,
                "cache_read_input_tokens": 0,
                "cache_creation.ephemeral_5m_input_tokens": 0,
                "cache_creation.ephemeral_1h_input_tokens": 0,
                "output_tokens": 60_000,
            }, web_searches=0))
    for row in out:
        cents = sum(row.cost_cents(t) for t in row.tokens) + Decimal(row.web_searches) * ANTHROPIC_WEB_SEARCH_PER_REQUEST * 100
        team = "search" if row.workspace == "wrkspc_search" else UNALLOCATED
        ledger.add(row.day, team, "anthropic", "variable", cents / 100)
    return out


def _anthropic_day(
    rng: random.Random, d: date, workspace: str | None, model: str, level: float, base: dict[str, int], web_searches: int,
) -> AnthropicDay:
    """Draw one day's token counts around ``level`` x ``base`` (+-8 %)."""
    noise = rng.uniform(0.92, 1.08)
    tokens = {k: int(v * level * noise * rng.uniform(0.95, 1.05)) for k, v in base.items()}
    searches = int(web_searches * level * noise) if web_searches else 0
    return AnthropicDay(d, workspace, model, tokens, searches)


def cents_str(value: Decimal) -> str:
    """A cents amount as the cost report's decimal string, keeping at least two decimals."""
    text = plain(q(value))
    if "." not in text:
        return text + ".00"
    whole, frac = text.split(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def anthropic_cost_pages(rows: list[AnthropicDay]) -> dict[str, dict[str, Any]]:
    """Cost report pages, 1d buckets grouped by workspace_id and description, one per month."""
    by_day: dict[date, list[AnthropicDay]] = defaultdict(list)
    for row in rows:
        by_day[row.day].append(row)
    pages: dict[str, dict[str, Any]] = {}
    for year, month in MONTHS:
        start, end = month_bounds(year, month)
        buckets = []
        for d in days(start, end):
            results = []
            for row in sorted(by_day[d], key=lambda r: (r.workspace or "", r.model)):
                for token_type in ANTHROPIC_TOKEN_LABEL:
                    if row.tokens[token_type] == 0:
                        continue
                    results.append({
                        "amount": cents_str(row.cost_cents(token_type)),
                        "context_window": "0-200k",
                        "cost_type": "tokens",
                        "currency": "USD",
                        "description": f"{ANTHROPIC_MODEL_LABEL[row.model]} Usage - {ANTHROPIC_TOKEN_LABEL[token_type]}",
                        "inference_geo": None,
                        "model": row.model,
                        "service_tier": "standard",
                        "token_type": token_type,
                        "workspace_id": row.workspace,
                    })
            searches = sum(r.web_searches for r in by_day[d] if r.workspace == "wrkspc_search")
            if searches:
                results.append({
                    "amount": cents_str(Decimal(searches) * ANTHROPIC_WEB_SEARCH_PER_REQUEST * 100),
                    "context_window": None,
                    "cost_type": "web_search",
                    "currency": "USD",
                    "description": "Web Search Usage",
                    "inference_geo": None,
                    "model": None,
                    "service_tier": None,
                    "token_type": None,
                    "workspace_id": "wrkspc_search",
                })
            buckets.append({"starting_at": rfc3339(d), "ending_at": rfc3339(d + timedelta(days=1)), "results": results})
        pages[f"anthropic_cost_report_{year}-{month:02d}.json"] = {"data": buckets, "has_more": False, "next_page": None}
    return pages


def anthropic_usage_page(rows: list[AnthropicDay]) -> dict[str, Any]:
    """Messages usage, 1d buckets grouped by workspace_id and model, for the whole period."""
    by_day: dict[date, list[AnthropicDay]] = defaultdict(list)
    for row in rows:
        by_day[row.day].append(row)
    buckets = []
    for d in days():
        results = []
        for row in sorted(by_day[d], key=lambda r: (r.workspace or "", r.model)):
            t = row.tokens
            results.append({
                "account_id": None,
                "api_key_id": None,
                "cache_creation": {
                    "ephemeral_1h_input_tokens": t["cache_creation.ephemeral_1h_input_tokens"],
                    "ephemeral_5m_input_tokens": t["cache_creation.ephemeral_5m_input_tokens"],
                },
                "cache_read_input_tokens": t["cache_read_input_tokens"],
                "context_window": None,
                "inference_geo": None,
                "model": row.model,
                "output_tokens": t["output_tokens"],
                "server_tool_use": {"web_search_requests": row.web_searches},
                "service_account_id": None,
                "service_tier": None,
                "uncached_input_tokens": t["uncached_input_tokens"],
                "workspace_id": row.workspace,
            })
        buckets.append({"starting_at": rfc3339(d), "ending_at": rfc3339(d + timedelta(days=1)), "results": results})
    return {"data": buckets, "has_more": False, "next_page": None}

"""``spendwatch.toml``: the organisation's teams, attribution rules, thresholds and servers.

Resolution order for the path: ``--config``, then ``SPENDWATCH_CONFIG``, then
``./spendwatch.toml``, then the bundled sample organisation in
``examples/spendwatch.toml``.  The file is validated at load with pydantic; any
unknown key, wrong type or reference to an undeclared team raises
``ConfigError`` naming the file, the key path and the reason.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from spendwatch.core.errors import ConfigError
from spendwatch.core.paths import EXAMPLE_CONFIG

UNALLOCATED = "unallocated"

MatchField = Literal["account", "project", "workspace", "api_key", "endpoint", "resource", "tag"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _currency(v: str) -> str:
    if len(v) != 3 or not v.isalpha() or not v.isupper():
        raise ValueError(f"{v!r} is not an ISO 4217 currency code (three upper-case letters)")
    return v


class Defaults(_Strict):
    monthly_threshold: Decimal = Field(default=Decimal("1500"), gt=0, description="In the reporting currency")
    slack_webhook_env: str = "SLACK_WEBHOOK_URL"


class Team(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    lead: str | None = None
    monthly_threshold: Decimal | None = Field(default=None, gt=0)
    slack_webhook_env: str | None = None
    slack_channel: str | None = None
    max_commitment_months: int | None = Field(default=None, ge=0, description="Longest offer term the team accepts (default [decisions])")
    production: bool = Field(default=True, description="Self-hosting adds the redundancy servers of [decisions]")


class AttributionRule(_Strict):
    """Map lines to a team when one of their keys equals ``value``.

    ``match = "tag"`` compares the tag named ``tag_key`` with ``value``; with
    ``value`` omitted, the tag's value itself names the team.
    """

    team: str | None = None
    match: MatchField
    value: str | None = None
    tag_key: str | None = None
    provider: str | None = None  # restrict to one provider id (openai, runpod, aws, ...)

    @model_validator(mode="after")
    def _check(self) -> "AttributionRule":
        if self.match == "tag":
            if not self.tag_key:
                raise ValueError("match = 'tag' needs tag_key")
            if (self.value is None) != (self.team is None):
                raise ValueError("a tag rule needs both value and team, or neither (the tag value names the team)")
        else:
            if self.tag_key is not None:
                raise ValueError("tag_key is only allowed with match = 'tag'")
            if self.value is None or self.team is None:
                raise ValueError(f"match = {self.match!r} needs value and team")
        return self


class DedicatedServer(_Strict):
    """A dedicated GPU server the organisation already rents."""

    id: str
    provider: str
    team: str
    gpu: str  # normalised GPU class, e.g. RTX4090-24GB
    gpu_count: int = Field(default=1, ge=1)
    monthly_price: Decimal = Field(gt=0)
    currency: str
    since: str | None = None  # YYYY-MM

    _cur = field_validator("currency")(lambda cls, v: _currency(v))


class Throughput(_Strict):
    """Self-host throughput assumption: tokens per second per GPU for a model class."""

    model_class: str
    gpu: str
    tokens_per_second: Decimal = Field(gt=0)
    utilisation: Decimal = Field(default=Decimal("0.6"), gt=0, le=1)
    models: list[str] = Field(default_factory=list, description="model ids (glob) in this class")


# Closed models cannot be self-hosted: each maps to the open-weight class that could stand in for it,
# with a caveat shown beside every figure.  Used when spendwatch.toml has no [[selfhost_equivalents]].
DEFAULT_EQUIVALENT_CAVEAT = "an open-weight stand-in, not the same model: check its quality on your own evaluations first"
DEFAULT_SELFHOST_EQUIVALENTS = (
    ("large", ("gpt-4o", "gpt-4o-2*", "gpt-4.1", "gpt-4.1-2*", "claude-sonnet*", "claude-3-5-sonnet*", "claude-3-7-sonnet*")),
    ("small", ("gpt-4o-mini*", "gpt-4.1-mini*", "gpt-4.1-nano*", "claude-haiku*", "claude-3-5-haiku*", "claude-3-haiku*")),
)
# Model families published with open weights: these are self-hosted as themselves.
DEFAULT_OPEN_WEIGHT = ("*llama*", "*qwen*", "*mistral*", "*mixtral*", "*deepseek*", "*gpt-oss*", "*gemma*", "*phi-*")


class SelfhostEquivalent(_Strict):
    """Closed models (globs) and the open-weight [[throughput]] class that stands in for them."""

    models: list[str] = Field(min_length=1)
    model_class: str
    caveat: str = DEFAULT_EQUIVALENT_CAVEAT


class Decisions(_Strict):
    """Assumptions of the decisions (break-even, hybrid plan, API against self-host, thresholds)."""

    max_commitment_months: int = Field(default=0, ge=0, description="Longest offer term a verdict may use (0: no commitment)")
    redundancy_servers: int = Field(default=1, ge=0, description="Extra servers for production self-hosting (1 = N+1)")
    ops_cost_per_server_month: Decimal = Field(default=Decimal("0"), ge=0, description="Operations cost per self-hosted server-month, reporting currency")
    cache_read_weight: Decimal = Field(default=Decimal("0.1"), ge=0, le=1, description="A cache-read token counts as this many tokens of self-host work")
    tax_in_thresholds: bool = Field(default=False, description="Count tax lines in the variable spend thresholds apply to")
    serverless_cpu_cores_per_gpu: Decimal = Field(default=Decimal("4"), ge=0, description="CPU cores a serverless GPU container reserves (Modal bills them apart)")
    serverless_memory_gib_per_gpu: Decimal = Field(default=Decimal("32"), ge=0, description="Memory GiB a serverless GPU container reserves")
    fx_stale_business_days: int = Field(default=3, ge=0, description="An ECB rate older than this many business days before its charge date is stale")
    open_weight_models: list[str] = Field(default_factory=lambda: list(DEFAULT_OPEN_WEIGHT))


class Exports(_Strict):
    paths: list[str] = Field(default_factory=lambda: ["exports"])
    inbox: str = "exports/inbox"
    # Day/month order of slash dates per source: a file or folder (relative to this config) -> dmy | mdy.
    date_order: dict[str, Literal["dmy", "mdy"]] = Field(default_factory=dict)


class PriceBackfill(_Strict):
    """Price captures recorded before spendwatch ran, replayed as the prices in force from ``as_of``.

    Applied once, before any later observation of the same source; history is never rewritten,
    so a backfill older than a source's first observation is skipped and reported.
    """

    as_of: date
    snapshot_dir: str


class PriceSource(_Strict):
    """Per-source settings under ``[prices.sources.<source_id>]``."""

    max_age_days: int = Field(ge=1, description="Prices in force older than this many days are stale")


class Prices(_Strict):
    backfill: list[PriceBackfill] = Field(default_factory=list)
    max_age_days: int = Field(default=7, ge=1, description="Default for every source: prices older than this are stale")
    sources: dict[str, PriceSource] = Field(default_factory=dict)

    def max_age(self, source_id: str) -> int:
        s = self.sources.get(source_id)
        return s.max_age_days if s is not None else self.max_age_days


class Audit(_Strict):
    tolerance_pct: Decimal = Field(default=Decimal("0.01"), ge=0)
    tolerance_abs: Decimal = Field(default=Decimal("1"), ge=0, description="In the reporting currency")


class Anomalies(_Strict):
    """Spend anomaly detection (docs/anomalies.md): a day is flagged when all three hold."""

    floor: Decimal = Field(default=Decimal("25"), ge=0, description="Smallest excess over expected, in the reporting currency")
    min_excess_pct: Decimal = Field(default=Decimal("0.25"), ge=0, description="Smallest excess as a fraction of expected (0.25 = 25 %)")
    z_threshold: Decimal = Field(default=Decimal("3.5"), gt=0, description="Smallest robust z-score")


class Review(_Strict):
    base_url: str | None = Field(default=None, description="Where the HTML review is published; alerts link to the team's section")


class Config(_Strict):
    reporting_currency: str = "GBP"
    defaults: Defaults = Defaults()
    teams: list[Team]
    attribution: list[AttributionRule] = Field(default_factory=list)
    dedicated_servers: list[DedicatedServer] = Field(default_factory=list)
    throughput: list[Throughput] = Field(default_factory=list)
    selfhost_equivalents: list[SelfhostEquivalent] | None = None
    decisions: Decisions = Decisions()
    exports: Exports = Exports()
    prices: Prices = Prices()
    audit: Audit = Audit()
    anomalies: Anomalies = Anomalies()
    review: Review = Review()

    # Not part of the file: where it was loaded from, for resolving relative paths.
    path: Path | None = Field(default=None, exclude=True)

    _rc = field_validator("reporting_currency")(lambda cls, v: _currency(v))

    @model_validator(mode="after")
    def _teams_declared(self) -> "Config":
        names = [t.name for t in self.teams]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"team declared twice: {', '.join(dup)}")
        if UNALLOCATED in names:
            raise ValueError(f"{UNALLOCATED!r} is reserved for lines that match no rule")
        declared = set(names)
        for i, rule in enumerate(self.attribution):
            if rule.team is not None and rule.team not in declared:
                raise _Ref(f"attribution[{i}].team", rule.team)
        for i, srv in enumerate(self.dedicated_servers):
            if srv.team not in declared:
                raise _Ref(f"dedicated_servers[{i}].team", srv.team)
        return self

    # --- convenience -------------------------------------------------------
    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def resolve(self, p: str) -> Path:
        q = Path(p)
        return q if q.is_absolute() else (self.base_dir / q)

    def export_paths(self) -> list[Path]:
        return [self.resolve(p) for p in self.exports.paths]

    def date_order_for(self, file: Path) -> str | None:
        """The ``[exports.date_order]`` of the most specific source path holding ``file``, if any."""
        real = Path(file).resolve()
        best: tuple[int, str] | None = None
        for source, order in self.exports.date_order.items():
            root = self.resolve(source).resolve()
            if (real == root or real.is_relative_to(root)) and (best is None or len(root.parts) > best[0]):
                best = (len(root.parts), order)
        return best[1] if best else None

    def price_backfills(self) -> list[tuple[date, Path]]:
        return sorted((b.as_of, self.resolve(b.snapshot_dir)) for b in self.prices.backfill)

    def inbox(self) -> Path:
        return self.resolve(self.exports.inbox)

    def team(self, name: str) -> Team:
        for t in self.teams:
            if t.name == name:
                return t
        raise KeyError(name)

    def threshold(self, name: str) -> Decimal:
        t = self.team(name)
        return t.monthly_threshold if t.monthly_threshold is not None else self.defaults.monthly_threshold

    def max_commitment(self, name: str) -> int:
        t = self.team(name)
        return t.max_commitment_months if t.max_commitment_months is not None else self.decisions.max_commitment_months

    def equivalents(self) -> list[tuple[str, str, str]]:
        """(closed model glob, open-weight class, caveat): the file's [[selfhost_equivalents]] or the documented default."""
        if self.selfhost_equivalents is not None:
            return [(m, e.model_class, e.caveat) for e in self.selfhost_equivalents for m in e.models]
        return [(m, cls, DEFAULT_EQUIVALENT_CAVEAT) for cls, pats in DEFAULT_SELFHOST_EQUIVALENTS for m in pats]

    def webhook_env(self, name: str | None) -> str:
        if name and name != UNALLOCATED:
            t = self.team(name)
            if t.slack_webhook_env:
                return t.slack_webhook_env
        return self.defaults.slack_webhook_env


class _Ref(ValueError):
    def __init__(self, loc: str, team: str):
        super().__init__(f"{loc}: team {team!r} is not declared in [[teams]]")


def resolve_config_path(explicit: str | os.PathLike | None = None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get("SPENDWATCH_CONFIG")
    if env:
        return Path(env)
    local = Path.cwd() / "spendwatch.toml"
    if local.exists():
        return local
    return EXAMPLE_CONFIG


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Load and validate spendwatch.toml; raise ConfigError naming file, key path and reason."""
    p = resolve_config_path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from None
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        loc = _loc(err.get("loc", ()))
        msg = err.get("msg", "invalid")
        if err.get("type") == "extra_forbidden":
            msg = "unknown key"
        msg = msg.removeprefix("Value error, ")
        more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
        raise ConfigError(f"{p}: {loc}: {msg}{more}" if loc else f"{p}: {msg}{more}") from None
    return cfg.model_copy(update={"path": p.resolve()})


def _loc(parts) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out

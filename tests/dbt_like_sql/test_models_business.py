"""The business figures of the SQL models, against values worked out by hand.

Each test builds a small warehouse under tmp_path: a spendwatch.toml written for the test,
ECB rates, price history and billing line items inserted directly, then every model in
dbt_like_sql/ is built.  The expected values are worked out in the comments (DOMAIN.md §1
for break-even, FOCUS for the invoice rules); none is copied from a model's output.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from spendwatch.core.config import load_config
from warehouse.config_sync import sync_config
from warehouse.db import connect
from warehouse.models import build, load_project

D = Decimal
NOV = date(2026, 11, 1)
H100 = "H100-80GB-SXM"
INGESTED_AT = datetime(2026, 12, 1, 6, 0)

# billing_line_items columns that are NOT NULL and have no natural default in a test line:
# they are always filled by Warehouse.line().
_REQUIRED = ("x_line_id", "BillingCurrency", "BilledCost", "ChargeCategory", "ChargePeriodStart", "ChargePeriodEnd",
             "x_provider", "x_product_kind", "x_natural_key", "x_source_format", "x_source_file",
             "x_source_hash", "x_source_row", "x_ingested_at")


@dataclass
class Warehouse:
    """A migrated DuckDB file with helpers that insert hand-made config, rates, prices and lines."""

    path: Path
    _con: duckdb.DuckDBPyConnection = field(init=False)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _columns: set[str] = field(default_factory=set)
    # Lines queued by line(), (column names, rows) in order: ``con`` inserts them first, a run of lines of the same
    # columns in one INSERT (an INSERT a line costs ~2 ms of DuckDB each, and some tests insert a thousand lines).
    _pending: list[tuple[tuple[str, ...], list[list[Any]]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._con = connect(self.path)
        self._columns = {r[0] for r in self._con.execute("DESCRIBE billing_line_items").fetchall()}

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The warehouse's connection, with every line inserted."""
        for names, rows in self._pending:
            one = f"({', '.join('?' for _ in names)})"
            for i in range(0, len(rows), 500):
                chunk = rows[i:i + 500]
                # Column names come from this file (checked against the table in line()); values are parameters.
                self._con.execute(f"INSERT INTO billing_line_items ({', '.join(names)}) VALUES {', '.join(one for _ in chunk)}",
                                  [v for r in chunk for v in r])
        self._pending.clear()
        return self._con

    # --- config -------------------------------------------------------------
    def config(self, teams: dict[str, Decimal | None], reporting_currency: str = "GBP",
               tolerance_pct: str = "0.01", tolerance_abs: str = "1", extra: str = "",
               team_settings: dict[str, str] | None = None) -> None:
        """Write a spendwatch.toml with these teams (name -> threshold override) and sync it.

        ``team_settings`` adds TOML lines to a team's table, ``extra`` is appended to the file."""
        lines = [f'reporting_currency = "{reporting_currency}"', "", "[defaults]", "monthly_threshold = 1500", "",
                 "[audit]", f"tolerance_pct = {tolerance_pct}", f"tolerance_abs = {tolerance_abs}", ""]
        for name, threshold in teams.items():
            lines += ["[[teams]]", f'name = "{name}"']
            if threshold is not None:
                lines.append(f"monthly_threshold = {threshold}")
            if team_settings and name in team_settings:
                lines.append(team_settings[name])
            lines.append("")
        # Each hand-made line carries its team as the tag "team" (see line()); a value that is no declared team
        # ("unallocated") matches no rule.
        lines += ["[[attribution]]", 'match = "tag"', 'tag_key = "team"', "", extra]
        toml = self.path.parent / "spendwatch.toml"
        toml.write_text("\n".join(lines), encoding="utf-8")
        sync_config(self.con, load_config(toml))

    # --- ECB rates ------------------------------------------------------------
    def fx(self, day: date, **rates: str) -> None:
        """ECB reference rates of one day: 1 EUR = rate units of each currency (EUR itself at 1)."""
        rows = [[day, "EUR", D(1), "ecb"]] + [[day, ccy, D(r), "ecb"] for ccy, r in rates.items()]
        self.con.executemany("INSERT INTO fx_rates (rate_date, currency, rate, source) VALUES (?, ?, ?, ?)", rows)

    # --- prices -----------------------------------------------------------------
    def price(self, *, source_id: str, provider: str, kind: str, sku: str, component: str, unit: str,
              amount: str, currency: str, valid_from: datetime, valid_to: datetime | None = None,
              gpu_model: str | None = None, gpu_count: int | None = None, tier: str | None = None,
              region: str | None = None, is_catalog: bool = False, term_months: int = 0, billing: str | None = None,
              upfront_amount: str | None = None, min_units: int | None = None) -> None:
        """One period in force of one price (and its source in the registry)."""
        self.con.execute(
            "INSERT INTO price_sources (source_id, provider, product_kind, is_catalog, discontinued, url) SELECT ?, ?, ?, ?, false, NULL WHERE NOT EXISTS (SELECT 1 FROM price_sources WHERE source_id = ?)",
            [source_id, provider, kind, is_catalog, source_id],
        )
        key = hashlib.sha256("|".join(map(str, (source_id, provider, kind, sku, component, unit, region, tier))).encode()).hexdigest()
        self.con.execute(
            """INSERT INTO price_history (price_key, source_id, provider, product_kind, sku, component, unit, region, tier,
                                          gpu_model, gpu_count, amount, currency, valid_from, valid_to, fetched_at, closed_reason,
                                          term_months, billing, upfront_amount, min_units)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [key, source_id, provider, kind, sku, component, unit, region, tier, gpu_model, gpu_count, D(amount), currency,
             valid_from, valid_to, valid_from, "changed" if valid_to else None,
             term_months if kind == "dedicated_gpu" else None,
             billing or ({"hour": "hourly", "month": "monthly"}.get(unit) if kind == "dedicated_gpu" else None),
             D(upfront_amount) if upfront_amount else None,
             (min_units or gpu_count or 1) if kind == "dedicated_gpu" else None],
        )

    # --- billing lines ------------------------------------------------------------
    def line(self, *, start: datetime, cost: str, team: str, provider: str, kind: str, currency: str = "GBP",
             end: datetime | None = None, category: str = "Usage", natural_key: str | None = None,
             source_file: str = "hand_made.csv", source_format: str = "test", **columns: Any) -> str:
        """Insert one billing line (every NOT NULL column filled); return its line id.

        ``columns`` are further billing_line_items columns by their real names
        (x_gpu_class, x_gpu_seconds, ListCost, ChargeClass, ...).
        """
        n = next(self._ids)
        line_id = f"line-{n:05d}"
        row: dict[str, Any] = {
            "x_line_id": line_id, "BillingCurrency": currency, "BilledCost": D(cost), "ChargeCategory": category,
            "ChargePeriodStart": start, "ChargePeriodEnd": end or start + timedelta(hours=1),
            "x_provider": provider, "x_product_kind": kind, "Tags": json.dumps({"team": team}),
            "x_natural_key": natural_key or f"{provider}|{line_id}", "x_source_format": source_format,
            "x_source_file": source_file, "x_source_hash": hashlib.sha256(source_file.encode()).hexdigest(),
            "x_source_row": n, "x_ingested_at": INGESTED_AT,
        }
        for k, v in columns.items():
            row[k] = D(v) if isinstance(v, str) and k in _DECIMAL_COLUMNS else v
        unknown = set(row) - self._columns
        assert not unknown, f"not billing_line_items columns: {unknown}"
        assert all(row.get(c) is not None for c in _REQUIRED)
        names = tuple(row)
        if not self._pending or self._pending[-1][0] != names:
            self._pending.append((names, []))
        self._pending[-1][1].append([row[c] for c in names])
        return line_id

    # --- models -------------------------------------------------------------------
    def data_through(self, day: date, provider: str = "runpod") -> None:
        """Mark ``provider``'s export as complete through the end of ``day``: a zero-cost usage line of no team
        ending at the next midnight (stg_data_horizon reads how far each provider's data reaches)."""
        end = datetime(day.year, day.month, day.day) + timedelta(days=1)
        self.line(start=end - timedelta(hours=1), end=end, cost="0", team="unallocated", provider=provider, kind="other")

    def build(self) -> None:
        results = build(self.con, _project())
        failed = [(r.model, r.status, r.error) for r in results if r.status != "ok"]
        assert not failed, failed

    def rows(self, sql: str, params: list | None = None) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, params or [])
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]

    def one(self, sql: str, params: list | None = None) -> dict[str, Any]:
        found = self.rows(sql, params)
        assert len(found) == 1, found
        return found[0]


@functools.cache
def _project():
    """The dbt_like_sql project, read once per test process (its files do not change during a run)."""
    return load_project()


_DECIMAL_COLUMNS = {"BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ListUnitPrice", "ContractedUnitPrice",
                    "PricingQuantity", "ConsumedQuantity", "x_gpu_seconds"}


@pytest.fixture
def wh(tmp_path: Path, new_warehouse):
    w = Warehouse(new_warehouse(tmp_path / "warehouse.duckdb"))
    yield w
    w.con.close()


def _at(day: date, hour: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour)


def _dedicated(wh: Warehouse, gpu: str, amount: str, *, sku: str, valid_from: datetime = datetime(2026, 9, 1),
               valid_to: datetime | None = None, unit: str = "month", component: str = "gpu", gpu_count: int = 1) -> None:
    """A GigaGPU-style dedicated server offer in GBP."""
    wh.price(source_id="gigagpu", provider="gigagpu", kind="dedicated_gpu", sku=sku, component=component, unit=unit,
             amount=amount, currency="GBP", gpu_model=gpu, gpu_count=gpu_count, valid_from=valid_from, valid_to=valid_to)


def _serverless(wh: Warehouse, team: str, day: date, gpu_seconds: str, cost: str, gpu: str = "L40S-48GB",
                hours: int = 24, **extra: Any) -> str:
    """A serverless GPU line in GBP covering ``hours`` from midnight of ``day``."""
    start = _at(day)
    return wh.line(start=start, end=start + timedelta(hours=hours), cost=cost, team=team, provider="runpod",
                   kind="serverless_gpu", x_gpu_class=gpu, x_gpu_seconds=gpu_seconds, **extra)


# =============================================================================================
# Break-even: u* = D / (s x T), break-even GPU-hours = D / (s x 3600)
# =============================================================================================

def test_domain_worked_example(wh):
    """DOMAIN.md: D = £800/month, s = £0.0004/s, a 30-day month -> s x T = £1,036.80, u* = 77.16 %, 555.6 GPU-hours."""
    wh.config({"vision": None})
    # The offer in force in November: £800 a month for one L40S.
    _dedicated(wh, "L40S-48GB", "800.00", sku="L40S 48GB")
    # An autumn promotion at £700 that ended on 1 November (valid_to is exclusive): not in force in November.
    _dedicated(wh, "L40S-48GB", "700.00", sku="L40S 48GB autumn offer", valid_to=datetime(2026, 11, 1))
    # An hourly offer: £1.20/h x 24 h x 30 days = £864.00 for November, dearer than £800.
    _dedicated(wh, "L40S-48GB", "1.20", sku="L40S 48GB hourly", unit="hour")
    # A 2 x L40S machine at £1,700/month: £1,700 / 2 = £850.00 per GPU, dearer than £800.
    _dedicated(wh, "L40S-48GB", "1700.00", sku="2x L40S 48GB", component="instance", gpu_count=2)
    # Serverless: 10 days x 100,000 GPU-s at £40.00 -> 1,000,000 GPU-s for £400.00, so s = 400 / 1,000,000 = £0.0004/s.
    for d in range(10):
        _serverless(wh, "vision", NOV + timedelta(days=d), "100000", "40.00")
    wh.data_through(date(2026, 11, 30))  # November is closed: the window is the calendar month
    wh.build()

    offers = {r["sku"]: r["monthly_reporting"] for r in wh.rows("SELECT sku, monthly_reporting FROM stg_dedicated_offers WHERE month = ?", [NOV])}
    assert offers == {"L40S 48GB": D("800.00"), "L40S 48GB hourly": D("864.00"), "2x L40S 48GB": D("850.00")}

    b = wh.one("SELECT * FROM breakeven")
    assert b["month"] == NOV and b["team"] == "vision" and b["gpu_class"] == "L40S-48GB"
    assert b["seconds_in_month"] == 2_592_000                      # T = 30 x 86,400
    assert b["gpu_seconds"] == D("1000000.000")
    assert b["serverless_cost"] == D("400.00") and b["currency"] == "GBP"
    assert b["serverless_price_per_second"] == D("0.000400000000")  # s
    assert b["dedicated_monthly"] == D("800.00")                   # D: the cheapest offer in force
    assert (b["dedicated_provider"], b["dedicated_sku"], b["dedicated_price_currency"], b["dedicated_price_unit"]) == (
        "gigagpu", "L40S 48GB", "GBP", "month")
    # s x T = 0.0004 x 2,592,000 = 1,036.80; u* = 800 / 1,036.80 = 0.7716049... (77.16 %)
    assert b["breakeven_utilisation"] == D("0.771605")
    # 800 / (0.0004 x 3,600) = 800 / 1.44 = 555.5555... GPU-hours (DOMAIN's 555.6)
    assert b["breakeven_gpu_hours"] == D("555.56")
    # utilisation = 1,000,000 / 2,592,000 = 0.3858024...: below u*, so serverless is cheaper by 800 - 400 = 400
    assert b["utilisation"] == D("0.385802")
    assert b["gpus_needed"] == 1 and b["dedicated_cost"] == D("800.00")
    assert b["verdict"] == "serverless_cheaper"
    assert b["monthly_saving"] == D("-400.00")


def test_february_and_a_31_day_month_give_different_breakeven(wh):
    """The same D and s: u* depends on the calendar month's seconds (28, 29 or 31 days), break-even hours do not."""
    wh.config({"vision": None})
    _dedicated(wh, "L40S-48GB", "800.00", sku="L40S 48GB")
    for month in (date(2027, 1, 1), date(2027, 2, 1), date(2028, 2, 1)):
        # 1,000,000 GPU-s for £400.00 each month -> s = £0.0004/s
        _serverless(wh, "vision", month, "1000000", "400.00")
    wh.data_through(date(2028, 2, 29))  # every month closed
    wh.build()
    got = {r["month"]: r for r in wh.rows("SELECT * FROM breakeven")}
    # January 2027: T = 31 x 86,400 = 2,678,400; s x T = 1,071.36; u* = 800 / 1,071.36 = 0.7467144...
    jan = got[date(2027, 1, 1)]
    assert (jan["seconds_in_month"], jan["breakeven_utilisation"]) == (2_678_400, D("0.746714"))
    # utilisation = 1,000,000 / 2,678,400 = 0.3733572...
    assert jan["utilisation"] == D("0.373357")
    # February 2027: T = 28 x 86,400 = 2,419,200; s x T = 967.68; u* = 800 / 967.68 = 0.8267195...
    feb = got[date(2027, 2, 1)]
    assert (feb["seconds_in_month"], feb["breakeven_utilisation"]) == (2_419_200, D("0.826720"))
    assert feb["utilisation"] == D("0.413360")  # 1,000,000 / 2,419,200 = 0.4133597...
    # February 2028 (leap): T = 29 x 86,400 = 2,505,600; s x T = 1,002.24; u* = 800 / 1,002.24 = 0.7982120...
    feb28 = got[date(2028, 2, 1)]
    assert (feb28["seconds_in_month"], feb28["breakeven_utilisation"]) == (2_505_600, D("0.798212"))
    # Break-even GPU-hours D / (s x 3600) = 555.56 whatever the month's length.
    assert {r["breakeven_gpu_hours"] for r in got.values()} == {D("555.56")}


def test_verdicts_either_side_of_breakeven_and_near(wh):
    """D = £800, s = £0.0004/s (Nov 2026): break-even at 800 / 0.0004 = 2,000,000 GPU-s (£800 of serverless)."""
    wh.config({"below": None, "near-below": None, "near-above": None, "above": None, "fleet": None})
    _dedicated(wh, "L40S-48GB", "800.00", sku="L40S 48GB")
    # Each team's lines cost exactly £0.0004 per GPU-second, so s = 0.0004 for every team.
    # below: 1,000,000 + 760,000 = 1,760,000 s for 400 + 304 = £704: 96 under 800, more than 10 % of 800 (80)
    _serverless(wh, "below", NOV, "1000000", "400.00")
    _serverless(wh, "below", NOV + timedelta(days=1), "760000", "304.00")
    # near-below: 1,900,000 s = £760: 40 under 800, within 80
    _serverless(wh, "near-below", NOV, "1900000", "760.00")
    # near-above: 2,100,000 s = £840: 40 over 800, within 80
    _serverless(wh, "near-above", NOV, "2100000", "840.00")
    # above: 2,240,000 s = £896: 96 over 800
    _serverless(wh, "above", NOV, "2240000", "896.00")
    # fleet: 5,000,000 s = £2,000; 5,000,000 / 2,592,000 = 1.93 GPUs -> 2 dedicated GPUs = £1,600; 400 over, > 160
    _serverless(wh, "fleet", NOV, "5000000", "2000.00")
    wh.data_through(date(2026, 11, 30))
    wh.build()
    got = {r["team"]: r for r in wh.rows("SELECT * FROM breakeven")}
    assert {t: got[t]["breakeven_utilisation"] for t in got} == {t: D("0.771605") for t in got}
    expected = {
        # team: (utilisation = GPU-s / 2,592,000, verdict, gpus_needed, dedicated_cost, saving = serverless - dedicated)
        "below": (D("0.679012"), "serverless_cheaper", 1, D("800.00"), D("-96.00")),       # 1.76e6 / 2.592e6 = 0.6790123
        "near-below": (D("0.733025"), "near", 1, D("800.00"), D("-40.00")),                # 1.9e6 / 2.592e6 = 0.7330247
        "near-above": (D("0.810185"), "near", 1, D("800.00"), D("40.00")),                 # 2.1e6 / 2.592e6 = 0.8101852
        "above": (D("0.864198"), "dedicated_cheaper", 1, D("800.00"), D("96.00")),         # 2.24e6 / 2.592e6 = 0.8641975
        "fleet": (D("1.929012"), "dedicated_cheaper", 2, D("1600.00"), D("400.00")),       # 5e6 / 2.592e6 = 1.9290123
    }
    assert {t: (r["utilisation"], r["verdict"], r["gpus_needed"], r["dedicated_cost"], r["monthly_saving"])
            for t, r in got.items()} == expected
    # Below u* (0.771605) serverless is cheaper, above it dedicated is.
    assert got["below"]["utilisation"] < got["below"]["breakeven_utilisation"] < got["above"]["utilisation"]


def test_no_dedicated_offer_for_the_class(wh):
    """A class nobody rents as dedicated: no D, so no u*, and the verdict says so."""
    wh.config({"vision": None})
    _dedicated(wh, "L40S-48GB", "800.00", sku="L40S 48GB")
    _serverless(wh, "vision", NOV, "3600", "1.80", gpu="RTXA5000-24GB")
    wh.data_through(date(2026, 11, 30))
    wh.build()
    b = wh.one("SELECT * FROM breakeven")
    assert (b["verdict"], b["dedicated_monthly"], b["breakeven_utilisation"], b["monthly_saving"]) == ("no_dedicated_offer", None, None, None)


def _h100_offers(wh: Warehouse, valid_from: datetime = datetime(2026, 9, 1)) -> None:
    """GigaGPU H100 at £1,400/month (no tier, GBP) and RunPod Pods H100 SXM secure at $2.69/h (USD)."""
    _dedicated(wh, H100, "1400.00", sku="H100 80GB", valid_from=valid_from)
    wh.price(source_id="runpod_pods", provider="runpod", kind="dedicated_gpu", sku="NVIDIA H100 80GB HBM3", component="gpu",
             unit="hour", amount="2.69", currency="USD", gpu_model=H100, gpu_count=1, tier="secure", valid_from=valid_from)


def test_breakeven_reports_the_cheapest_offers_own_details(wh):
    """The cheapest offer has no tier and needs no FX: its tier, rate and rate date must not come from another offer."""
    wh.config({"research": None})
    wh.fx(date(2026, 11, 2), USD="1.16", GBP="0.87")  # 1 USD = 0.75 GBP
    _h100_offers(wh)
    _serverless(wh, "research", NOV, "100000", "100.00", gpu=H100)
    wh.data_through(date(2026, 11, 30))
    wh.build()
    offers = {r["provider"]: r for r in wh.rows("SELECT * FROM stg_dedicated_offers WHERE month = ?", [NOV])}
    # RunPod: $2.69 x 24 h x 30 days = $1,936.80 a month; x 0.75 = £1,452.60 (dearer than GigaGPU's £1,400).
    rp = offers["runpod"]
    assert (rp["monthly_per_gpu"], rp["fx_rate"], rp["fx_rate_date"], rp["monthly_reporting"]) == (
        D("1936.80"), D("0.75"), date(2026, 11, 2), D("1452.60"))
    b = wh.one("SELECT * FROM breakeven")
    assert (b["dedicated_provider"], b["dedicated_source_id"], b["dedicated_sku"], b["dedicated_tier"]) == (
        "gigagpu", "gigagpu", "H100 80GB", None)
    assert (b["dedicated_price"], b["dedicated_price_currency"], b["dedicated_price_unit"], b["dedicated_monthly"]) == (
        D("1400.00"), "GBP", "month", D("1400.00"))
    assert (b["fx_rate"], b["fx_rate_date"]) == (D("1"), None)  # GBP already: no conversion, so no rate date


def test_breakeven_table_from_the_prices_in_force(wh):
    """Today's prices: the cheapest serverless and dedicated H100, at the latest ECB rate (1 USD = 0.75 GBP)."""
    wh.config({"research": None})
    wh.fx(date(2026, 11, 2), USD="1.16", GBP="0.87")
    now = datetime(2026, 11, 1)
    _h100_offers(wh, valid_from=now)
    # Serverless H100: RunPod flex $0.00116/s -> x 3600 x 0.75 = £3.132/h; Modal $0.001097/s -> £2.9619/h (cheapest, no tier).
    wh.price(source_id="runpod_serverless", provider="runpod", kind="serverless_gpu", sku="H100 PRO", component="gpu",
             unit="second", amount="0.00116", currency="USD", gpu_model=H100, gpu_count=1, tier="flex", valid_from=now)
    wh.price(source_id="modal", provider="modal", kind="serverless_gpu", sku="Nvidia H100", component="gpu",
             unit="second", amount="0.001097", currency="USD", gpu_model=H100, gpu_count=1, valid_from=now)
    wh.build()
    t = wh.one("SELECT * FROM breakeven_table")
    assert (t["month"], t["gpu_class"], t["currency"], t["seconds_in_month"]) == (NOV, H100, "GBP", 2_592_000)
    assert (t["serverless_provider"], t["serverless_sku"], t["serverless_tier"]) == ("modal", "Nvidia H100", None)
    # s = 2.9619 / 3600 = £0.00082275 per GPU-second
    assert (t["serverless_per_second"], t["serverless_per_hour"]) == (D("0.000822750000"), D("2.9619"))
    # D = min(£1,400 GigaGPU, £1,452.60 RunPod) = £1,400
    assert (t["dedicated_provider"], t["dedicated_offer"], t["dedicated_monthly"]) == ("gigagpu", "H100 80GB", D("1400.00"))
    # s x T = 0.00082275 x 2,592,000 = 2,132.568; u* = 1,400 / 2,132.568 = 0.6564855...
    assert t["breakeven_utilisation"] == D("0.656486")
    # 1,400 / (0.00082275 x 3,600) = 1,400 / 2.9619 = 472.6696 GPU-hours; per day 24 x u* = 15.7557
    assert (t["breakeven_gpu_hours_per_month"], t["breakeven_hours_per_day"]) == (D("472.67"), D("15.76"))
    assert t["fx_rate_date"] == date(2026, 11, 2)  # Modal's USD price was converted at the 2 Nov rate


# =============================================================================================
# Hybrid: k dedicated GPUs for the core, serverless for the peaks
# =============================================================================================

def _hourly_curve(wh: Warehouse, team: str, pattern: list[list[int]], days: int, per_second: str) -> None:
    """Hourly serverless lines for ``days`` days from 1 Nov 2026: hour h of each day has one line per entry of
    pattern[h], of that many GPUs for the whole hour, billed at ``per_second`` per GPU-second (GBP)."""
    cols = ", ".join(_REQUIRED + ("x_gpu_class", "x_gpu_seconds", "x_endpoint_id", "Tags"))
    wh.con.execute(
        f"""
        INSERT INTO billing_line_items ({cols})
        WITH hours AS (SELECT i, CAST(? AS TIMESTAMP) + i * INTERVAL 1 HOUR AS start FROM range(?) t(i)),
        lines AS (
            SELECT i, start, unnest(CAST(? AS INTEGER[][])[(i % 24) + 1]) AS gpus,
                   generate_subscripts(CAST(? AS INTEGER[][])[(i % 24) + 1], 1) AS j
            FROM hours
        )
        SELECT 'hy-' || ? || '-' || i || '-' || j, 'GBP', CAST(gpus * 3600 * CAST(? AS DECIMAL(24, 12)) AS DECIMAL(18, 6)),
               'Usage', start, start + INTERVAL 1 HOUR, 'runpod', 'serverless_gpu', 'runpod|' || ? || '|' || i || '|' || j,
               'test', 'hourly.json', 'hourly', CAST(i * 10 + j AS INTEGER), ?, 'H100-80GB-SXM', gpus * 3600, 'ep-' || j,
               json_object('team', ?)
        FROM lines
        """,
        [_at(NOV), days * 24, pattern, pattern, team, per_second, team, INGESTED_AT, team],
    )


def test_hybrid_optimum_on_a_hand_made_demand_curve(wh):
    """D = £1,400/month, s = £0.001/s (£3.60 per GPU-hour): a further dedicated GPU pays off only when it would be
    busy more than 1,400 / 3.60 = 388.89 hours of the month."""
    wh.config({"steady": None, "peaky": None})
    _dedicated(wh, "H100-80GB-SXM", "1400.00", sku="H100 80GB")
    one, two, three = [[1]], [[2]], [[2, 1]]  # the 3-GPU hours arrive as two lines (2 + 1 GPUs) in the same hour
    # steady, every day of November: 12 h at 1 GPU, 10 h at 2, 2 h at 3.
    #   GPU-hours = 30 x (12 + 20 + 6) = 1,140 -> all serverless 1,140 x 3.60 = 4,104.00
    #   k=1: 1,400 + 3.60 x 30 x (10 x 1 + 2 x 2) = 1,400 + 1,512 = 2,912.00
    #   k=2: 2,800 + 3.60 x 30 x (2 x 1)          = 2,800 +   216 = 3,016.00
    #   k=3: 4,200.00.  Best k = 1: the 2nd GPU would be busy 12 h x 30 = 360 h < 388.89 h.
    _hourly_curve(wh, "steady", one * 12 + two * 10 + three * 2, 30, "0.001")
    # peaky, every day: 11 h at 1 GPU, 11 h at 2, 2 h at 3.
    #   GPU-hours = 30 x (11 + 22 + 6) = 1,170 -> 4,212.00
    #   k=1: 1,400 + 3.60 x 30 x (11 + 4) = 1,400 + 1,620 = 3,020.00
    #   k=2: 2,800 + 3.60 x 30 x 2        = 2,800 +   216 = 3,016.00
    #   k=3: 4,200.00.  Best k = 2: the 2nd GPU is busy 13 h x 30 = 390 h > 388.89 h (saves (390 - 388.89) x 3.60 = 4.00).
    _hourly_curve(wh, "peaky", one * 11 + two * 11 + three * 2, 30, "0.001")
    wh.build()
    got = {r["team"]: r for r in wh.rows("SELECT * FROM hybrid_plan")}
    assert set(got) == {"steady", "peaky"}
    for r in got.values():
        assert (r["month"], r["gpu_class"], r["currency"]) == (NOV, "H100-80GB-SXM", "GBP")
        assert r["hours_observed"] == 720 and r["peak_demand_gpus"] == D("3.000")
        assert r["dedicated_monthly"] == D("1400.00") and r["serverless_price_per_second"] == D("0.001000000000")
    s, p = got["steady"], got["peaky"]
    assert (s["best_k"], s["cost_at_best"], s["cost_at_zero"], s["saving"]) == (1, D("2912.00"), D("4104.00"), D("1192.00"))
    assert (p["best_k"], p["cost_at_best"], p["cost_at_zero"], p["saving"]) == (2, D("3016.00"), D("4212.00"), D("1196.00"))


# =============================================================================================
# Thresholds: crossed on a known day, and projected before it
# =============================================================================================

def _threshold_lines(wh: Warehouse, days: int) -> None:
    for d in range(days):
        day = NOV + timedelta(days=d)
        # alpha: £100.00 a day of hosted API (variable spend)
        wh.line(start=_at(day), end=_at(day + timedelta(days=1)), cost="100.00", team="alpha", provider="openai",
                kind="hosted_api", x_model="gpt-4o-2024-08-06", ChargeDescription="gpt-4o-2024-08-06, output")
        # beta: £100.00 a day of serverless GPU (variable spend): 250,000 GPU-s at £0.0004
        _serverless(wh, "beta", day, "250000", "100.00")
        # gamma: £10.00 a day
        _serverless(wh, "gamma", day, "25000", "10.00")
    # alpha's rented server: £800 on 1 November, NOT variable spend.
    wh.line(start=_at(NOV), end=_at(date(2026, 12, 1)), cost="800.00", team="alpha", provider="gigagpu",
            kind="dedicated_gpu", category="Purchase", ResourceId="gg-l40s-01")


def test_threshold_crossed_on_a_known_day(wh):
    wh.config({"alpha": None, "beta": D("2450"), "gamma": None})
    _threshold_lines(wh, 20)  # 1-20 November
    wh.build()
    got = {r["team"]: r for r in wh.rows("SELECT * FROM threshold_flags WHERE month = ?", [NOV])}
    a, b, g = got["alpha"], got["beta"], got["gamma"]
    # alpha: cumulative £100 x d exceeds £1,500 first on d = 16 (day 15 is exactly 1,500, not over).
    assert (a["variable_spend"], a["threshold"], a["status"], a["crossed_on"]) == (D("2000.00"), D("1500.00"), "over", date(2026, 11, 16))
    assert a["projected_variable"] == D("3000.00")  # 2,000 x 30 days / 20 days with data
    assert a["projected_cross_date"] is None       # already crossed
    assert a["currency"] == "GBP" and a["threshold_currency"] == "GBP"
    # beta: 2,000 <= 2,450 so not crossed; projected 2,000 x 30 / 20 = 3,000 > 2,450.
    # 100 x d > 2,450 first on d = 25 -> projected to cross on 25 November.
    assert (b["variable_spend"], b["threshold"], b["status"], b["crossed_on"]) == (D("2000.00"), D("2450.00"), "projected_over", None)
    assert (b["projected_variable"], b["projected_cross_date"]) == (D("3000.00"), date(2026, 11, 25))
    # gamma: 200 spent, 300 projected: ok.
    assert (g["variable_spend"], g["projected_variable"], g["status"], g["crossed_on"], g["projected_cross_date"]) == (
        D("200.00"), D("300.00"), "ok", None, None)
    # The dedicated server is spend, but not variable spend.
    tm = wh.one("SELECT * FROM team_monthly_spend WHERE team = 'alpha'")
    assert (tm["hosted_api"], tm["dedicated_gpu"], tm["variable_spend"], tm["total_spend"]) == (
        D("2000.00"), D("800.00"), D("2000.00"), D("2800.00"))


def test_threshold_projection_before_the_crossing(wh):
    """Only 1-10 November are in: the run-rate says alpha crosses on the day it really does (16 November)."""
    wh.config({"alpha": None, "beta": D("2450"), "gamma": None})
    _threshold_lines(wh, 10)
    wh.build()
    got = {r["team"]: r for r in wh.rows("SELECT * FROM threshold_flags WHERE month = ?", [NOV])}
    a = got["alpha"]
    # 1,000 in 10 days -> £100 a day -> 3,000 by 30 November, over 1,500.
    assert (a["variable_spend"], a["projected_variable"], a["projection_days_used"]) == (D("1000.00"), D("3000.00"), 10)
    assert (a["status"], a["crossed_on"]) == ("projected_over", None)
    # 100 x d > 1,500 first on d = 16 (day 15 is exactly 1,500, which is not over: the rule crossed_on uses).
    assert a["projected_cross_date"] == date(2026, 11, 16)
    # beta: 100 x d > 2,450 first on d = 25.
    assert (got["beta"]["status"], got["beta"]["projected_cross_date"]) == ("projected_over", date(2026, 11, 25))
    # gamma: 100 in 10 days -> 300 projected: ok.
    assert (got["gamma"]["status"], got["gamma"]["projected_cross_date"]) == ("ok", None)


# =============================================================================================
# Invoice audit
# =============================================================================================


def _runpod_h100_prices(wh: Warehouse) -> None:
    # RunPod Serverless H100 PRO: flex $0.00116/s, active $0.00093/s (docs.runpod.io/serverless/pricing).
    for tier, amount in (("flex", "0.00116"), ("active", "0.00093")):
        wh.price(source_id="runpod_serverless", provider="runpod", kind="serverless_gpu", sku="H100 PRO", component="gpu",
                 unit="second", amount=amount, currency="USD", gpu_model=H100, gpu_count=1, tier=tier,
                 valid_from=datetime(2026, 9, 1))


def _openai_prices(wh: Warehouse) -> None:
    # gpt-4o standard: $2.50 input, $1.25 cached input, $10.00 output per 1M tokens.
    for component, amount in (("input_token", "2.50"), ("cached_input_token", "1.25"), ("output_token", "10.00")):
        wh.price(source_id="openai", provider="openai", kind="hosted_api", sku="gpt-4o", component=component,
                 unit="1M_tokens", amount=amount, currency="USD", tier="standard", valid_from=datetime(2026, 9, 1))


def _runpod(wh: Warehouse, start: datetime, seconds: str | None, cost: str, gpu: str = H100, hours: int = 1, **extra) -> str:
    cols = {"x_gpu_class": gpu, "x_endpoint_id": "ep-vision-detector", **extra}
    if seconds is not None:
        cols["x_gpu_seconds"] = seconds
    return wh.line(start=start, end=start + timedelta(hours=hours), cost=cost, currency="USD", team="vision",
                   provider="runpod", kind="serverless_gpu", source_format="runpod_billing", **cols)


def _openai_cost(wh: Warehouse, day: date, what: str, cost: str) -> str:
    return wh.line(start=_at(day), end=_at(day + timedelta(days=1)), cost=cost, currency="USD", team="assistant",
                   provider="openai", kind="hosted_api", source_format="openai_costs", x_project_id="proj_assistant",
                   x_model="gpt-4o-2024-08-06", ChargeDescription=f"gpt-4o-2024-08-06, {what}")


def _openai_usage(wh: Warehouse, day: date, input_tokens: int, cached: int = 0, output: int = 0) -> str:
    return wh.line(start=_at(day), end=_at(day + timedelta(days=1)), cost="0", currency="USD", team="assistant",
                   provider="openai", kind="hosted_api", source_format="openai_usage", x_project_id="proj_assistant",
                   x_model="gpt-4o-2024-08-06", x_input_tokens=input_tokens, x_cached_input_tokens=cached,
                   x_output_tokens=output, x_cache_write_tokens=0)


def _focus(wh: Warehouse, day: date, unit_price: str, quantity: str, list_cost: str, category: str = "Usage",
           charge_class: str | None = None) -> str:
    return wh.line(start=_at(day), end=_at(day + timedelta(days=1)), cost=list_cost, currency="USD", team="platform",
                   provider="aws", kind="other", category=category, source_format="focus", ChargeClass=charge_class,
                   ListUnitPrice=unit_price, PricingQuantity=quantity, ListCost=list_cost, PricingUnit="Hours",
                   InvoiceId="EUINGB26-1131457")


def test_invoice_audit_findings_and_tolerance(wh):
    """Every kind of finding, with its amount at stake and the max(1 %, £1) tolerance; 1 USD = 0.75 GBP."""
    wh.config({"vision": None, "assistant": None, "platform": None})
    wh.fx(date(2026, 11, 2), USD="1.16", GBP="0.87")  # GBP per USD = 0.87 / 1.16 = 0.75
    _runpod_h100_prices(wh)
    _openai_prices(wh)
    d3, d4, d5, d6 = (date(2026, 11, n) for n in (3, 4, 5, 6))

    exact = _runpod(wh, _at(d3, 10), "1000", "1.16")  # 1,000 s x 0.00116 = 1.16: no finding
    # 10 GPUs for an hour: 36,000 s. flex 36,000 x 0.00116 = 41.76, active 33.48; billed 45.00 -> closest tier flex.
    over_big = _runpod(wh, _at(d3, 11), "36000", "45.00")
    # 3,600 s: flex 4.176, active 3.348; billed 4.50 -> flex, 0.324 over.
    over_small = _runpod(wh, _at(d3, 12), "3600", "4.50")
    # 8 GPUs for a day: 691,200 s. flex 691,200 x 0.00116 = 801.792, active 642.816.
    under_big = _runpod(wh, _at(d4), "691200", "790.00", hours=24)    # 11.792 under
    under_small = _runpod(wh, _at(d5), "691200", "797.00", hours=24)  # 4.792 under
    unpriced = _runpod(wh, _at(d3, 14), "3600", "8.64", gpu="B200-180GB")  # no B200 price on file
    _runpod(wh, _at(d3, 13), "1000", "1.16", natural_key="runpod|ep-vision-detector|2026-11-03T13", source_file="a.json")
    dup = _runpod(wh, _at(d3, 13), "1000", "1.16", natural_key="runpod|ep-vision-detector|2026-11-03T13", source_file="b.json")
    # A correction of an earlier period (ChargeClass Correction) is never priced, however far off.
    _runpod(wh, _at(d3, 15), "3600", "1.00", ChargeClass="Correction")

    # OpenAI, 3 Nov: usage 2,000,000 input, 1,000,000 cached, 500,000 output tokens (price of the 'gpt-4o' alias).
    _openai_usage(wh, d3, 2_000_000, 1_000_000, 500_000)
    _openai_cost(wh, d3, "input", "5.00")           # 2,000,000 x 2.50 / 1e6 = 5.00: no finding
    _openai_cost(wh, d3, "cached input", "1.25")    # 1,000,000 x 1.25 / 1e6 = 1.25: no finding
    tok_over = _openai_cost(wh, d3, "output", "6.40")  # 500,000 x 10.00 / 1e6 = 5.00: 1.40 over
    no_usage = _openai_cost(wh, d4, "output", "12.40")  # no usage on 4 Nov
    no_charge = _openai_usage(wh, d5, 1_000_000)        # usage on 5 Nov, no cost line
    _openai_usage(wh, d6, 4_000_000)
    tok_under = _openai_cost(wh, d6, "input", "9.60")   # 4,000,000 x 2.50 / 1e6 = 10.00: 0.40 under

    _focus(wh, d3, "0.192", "24", "4.608")              # 0.192 x 24 = 4.608: no finding
    focus_small = _focus(wh, d4, "0.192", "24", "5.608")    # 4.608 expected: 1.00 over
    focus_big = _focus(wh, d5, "32.7726", "24", "800.00")   # 32.7726 x 24 = 786.5424: 13.4576 over
    _focus(wh, d6, "0.192", "24", "0.92", category="Tax")   # tax: not ListUnitPrice x PricingQuantity
    _focus(wh, d6, "0.192", "-24", "-3.00", charge_class="Correction")  # correction: left out
    wh.build()

    got = {r["line_id"]: r for r in wh.rows("SELECT * FROM invoice_audit")}
    gpu, tok, foc = "GPU-seconds x list price", "tokens x list price", "ListUnitPrice x PricingQuantity = ListCost"
    expected = {
        # line: (finding, rule, billed, expected, amount_at_stake [USD], at stake [GBP = x 0.75], tolerance [GBP], above)
        # tolerance = max(£1, 1 % x expected x 0.75)
        over_big: ("overcharge", gpu, D("45.00"), D("41.76"), D("3.24"), D("2.43"), D("1.00"), True),          # 1 % = 0.31
        over_small: ("overcharge", gpu, D("4.50"), D("4.176"), D("0.324"), D("0.24"), D("1.00"), False),       # 0.243 < 1
        under_big: ("undercharge", gpu, D("790.00"), D("801.792"), D("11.792"), D("8.84"), D("6.01"), True),   # 8.844 > 1 % = 6.01344
        under_small: ("undercharge", gpu, D("797.00"), D("801.792"), D("4.792"), D("3.59"), D("6.01"), False), # 3.594 > £1 but < 1 %
        unpriced: ("unpriced_sku", gpu, D("8.64"), None, D("8.64"), D("6.48"), D("1.00"), True),
        dup: ("duplicate_charge", "natural key billed more than once", D("1.16"), D("0"), D("1.16"), D("0.87"), D("1.00"), True),
        tok_over: ("overcharge", tok, D("6.40"), D("5.00"), D("1.40"), D("1.05"), D("1.00"), True),            # 1.05 > £1
        tok_under: ("undercharge", tok, D("9.60"), D("10.00"), D("0.40"), D("0.30"), D("1.00"), False),
        no_usage: ("charge_without_usage", tok, D("12.40"), None, D("12.40"), D("9.30"), D("1.00"), True),
        no_charge: ("usage_without_charge", "usage has no cost line", D("0"), None, None, None, D("1.00"), True),
        focus_small: ("overcharge", foc, D("5.608"), D("4.608"), D("1.00"), D("0.75"), D("1.00"), False),
        focus_big: ("overcharge", foc, D("800.00"), D("786.5424"), D("13.4576"), D("10.09"), D("5.90"), True),  # 1 % = 5.899
    }
    actual = {k: (r["finding"], r["rule"], r["billed"], r["expected"], r["amount_at_stake"], r["amount_at_stake_reporting"],
                  r["tolerance_reporting"], r["above_tolerance"]) for k, r in got.items()}
    assert actual == expected
    assert exact not in got
    for r in got.values():
        assert (r["currency"], r["reporting_currency"]) == ("USD", "GBP")
        assert r["fx_rate"] == D("0.75") and r["fx_rate_date"] == date(2026, 11, 2)
    # The price each GPU and token finding was checked against, and where it came from.
    assert (got[over_big]["unit_price"], got[over_big]["price_source_id"].split()[0]) == (D("0.00116"), "runpod_serverless")
    assert (got[tok_over]["unit_price"], got[tok_over]["price_source_id"]) == (D("0.00001"), "openai")  # 10.00 / 1e6
    assert got[focus_big]["unit_price"] == D("32.7726")


def test_price_change_mid_month_is_priced_on_each_side(wh):
    """RunPod cuts H100 flex from $0.00116/s to $0.00105/s on 15 Nov 00:00: each line at the price of its time."""
    wh.config({"vision": None})
    wh.fx(date(2026, 11, 2), USD="1.16", GBP="0.87")  # 1 USD = 0.75 GBP
    change = datetime(2026, 11, 15)
    for amount, start, end in (("0.00116", datetime(2026, 9, 1), change), ("0.00105", change, None)):
        wh.price(source_id="runpod_serverless", provider="runpod", kind="serverless_gpu", sku="H100 PRO", component="gpu",
                 unit="second", amount=amount, currency="USD", gpu_model=H100, gpu_count=1, tier="flex",
                 valid_from=start, valid_to=end)
    # 3,600 s at the old price = 4.176, at the new price = 3.78.
    _runpod(wh, datetime(2026, 11, 10, 12), "3600", "4.176")        # before, old price: fine
    _runpod(wh, datetime(2026, 11, 14, 23), "3600", "4.176")        # the last hour before the change: fine
    _runpod(wh, datetime(2026, 11, 15, 0), "3600", "3.78")          # the first hour after: fine
    _runpod(wh, datetime(2026, 11, 20, 12), "3600", "3.78")         # after, new price: fine
    late_cut = _runpod(wh, datetime(2026, 11, 21, 12), "3600", "4.176")   # after, still the old price: 0.396 over
    early_cut = _runpod(wh, datetime(2026, 11, 12, 12), "3600", "3.78")   # before, already the new price: 0.396 under
    # Cost without GPU time: GPU-seconds estimated at the price in force then.
    est_before = _runpod(wh, datetime(2026, 11, 10, 13), None, "4.176")   # 4.176 / 0.00116 = 3,600 s
    est_after = _runpod(wh, datetime(2026, 11, 20, 13), None, "3.78")     # 3.78 / 0.00105 = 3,600 s (not 3.78 / 0.00116 = 3,258.6)
    wh.build()

    got = {r["line_id"]: r for r in wh.rows("SELECT * FROM invoice_audit")}
    assert set(got) == {late_cut, early_cut}
    lc, ec = got[late_cut], got[early_cut]
    assert (lc["finding"], lc["billed"], lc["expected"], lc["amount_at_stake"], lc["unit_price"], lc["price_valid_from"]) == (
        "overcharge", D("4.176"), D("3.78"), D("0.396"), D("0.00105"), change)
    assert (ec["finding"], ec["billed"], ec["expected"], ec["amount_at_stake"], ec["unit_price"], ec["price_valid_from"]) == (
        "undercharge", D("3.78"), D("4.176"), D("0.396"), D("0.00116"), datetime(2026, 9, 1))
    # 0.396 x 0.75 = £0.297 -> 0.30, under the £1 floor.
    assert (lc["amount_at_stake_reporting"], lc["above_tolerance"]) == (D("0.30"), False)
    est = {r["line_id"]: r for r in wh.rows("SELECT line_id, gpu_seconds, gpu_seconds_estimated FROM stg_serverless_usage WHERE line_id IN (?, ?)",
                                             [est_before, est_after])}
    assert {k: (v["gpu_seconds"], v["gpu_seconds_estimated"]) for k, v in est.items()} == {
        est_before: (D("3600.000"), True), est_after: (D("3600.000"), True)}


# =============================================================================================
# FX: each charge at the ECB rate of its day, never today's
# =============================================================================================

def test_fx_at_the_rate_of_the_charge_date(wh):
    wh.config({"assistant": None, "platform": None})
    wh.fx(date(2026, 11, 2), USD="1.1600", GBP="0.8700")   # USD -> GBP 0.87 / 1.16 = 0.75; EUR -> GBP 0.87
    wh.fx(date(2026, 11, 3), USD="1.1500", GBP="0.8740")   # 0.874 / 1.15 = 0.76;             EUR 0.874
    wh.fx(date(2026, 11, 6), USD="1.2000", GBP="0.9240")   # 0.924 / 1.20 = 0.77 (Friday)
    wh.fx(date(2026, 11, 30), USD="1.0000", GBP="0.8000")  # "today's" rate, 0.80: must not touch earlier charges

    def api(day: date, cost: str) -> None:
        wh.line(start=_at(day), end=_at(day + timedelta(days=1)), cost=cost, currency="USD", team="assistant",
                provider="openai", kind="hosted_api", x_model="gpt-4o-2024-08-06")

    api(date(2026, 11, 2), "100.00")   # x 0.75 = 75.00 (rate of 2 Nov)
    api(date(2026, 11, 3), "200.00")   # x 0.76 = 152.00 (rate of 3 Nov)
    api(date(2026, 11, 4), "10.00")    # no rate on 4 Nov in this warehouse: 3 Nov's, x 0.76 = 7.60
    api(date(2026, 11, 7), "50.00")    # Saturday: Friday 6 Nov's, x 0.77 = 38.50
    wh.line(start=_at(date(2026, 11, 3)), end=_at(date(2026, 11, 4)), cost="100.00", currency="EUR", team="platform",
            provider="hetzner", kind="other")  # EUR 100 x 0.874 = 87.40
    wh.line(start=_at(date(2026, 11, 3)), end=_at(date(2026, 11, 4)), cost="20.00", currency="GBP", team="platform",
            provider="gigagpu", kind="other")  # already GBP: rate 1
    wh.build()

    got = {(r["charge_date"], r["native_currency"]): r for r in wh.rows("SELECT * FROM fct_spend_daily")}
    expected = {
        # (day, currency): (fx_rate, fx_rate_date, amount_native, amount_reporting)
        (date(2026, 11, 2), "USD"): (D("0.75"), date(2026, 11, 2), D("100.00"), D("75.00")),
        (date(2026, 11, 3), "USD"): (D("0.76"), date(2026, 11, 3), D("200.00"), D("152.00")),
        (date(2026, 11, 4), "USD"): (D("0.76"), date(2026, 11, 3), D("10.00"), D("7.60")),
        (date(2026, 11, 7), "USD"): (D("0.77"), date(2026, 11, 6), D("50.00"), D("38.50")),
        (date(2026, 11, 3), "EUR"): (D("0.874"), date(2026, 11, 3), D("100.00"), D("87.40")),
        (date(2026, 11, 3), "GBP"): (D("1"), date(2026, 11, 3), D("20.00"), D("20.00")),
    }
    assert {k: (r["fx_rate"], r["fx_rate_date"], r["amount_native"], r["amount_reporting"]) for k, r in got.items()} == expected
    assert {r["reporting_currency"] for r in got.values()} == {"GBP"}
    # The month in GBP: 75 + 152 + 7.60 + 38.50 = 273.10 (at today's 0.80 it would have been 360 x 0.80 = 288.00).
    tm = {r["team"]: r for r in wh.rows("SELECT * FROM team_monthly_spend")}
    assert tm["assistant"]["hosted_api"] == D("273.10")
    assert tm["platform"]["other"] == D("107.40")  # 87.40 + 20.00


# =============================================================================================
# Schema: every money column says its currency, every converted figure carries its rate's date
# =============================================================================================

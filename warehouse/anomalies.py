"""Spend anomalies (docs/anomalies.md): the detection parameters as a config table, and the read queries.

The detection itself is SQL (``dbt_like_sql/intermediate/int_anomaly_*`` and the ``spend_anomalies``
mart).  This module mirrors ``[anomalies]`` of spendwatch.toml into ``config.anomaly_settings`` (created
here rather than by a migration: it holds nothing but the current file, rewritten whole at every sync)
and reads the mart and the expected band for the CLI and the review.  No network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb

from spendwatch.core.config import Config
from warehouse.db import relation_exists

SETTINGS_COLUMNS = ("floor DECIMAL(18, 2) NOT NULL, floor_currency VARCHAR NOT NULL, "
                    "min_excess_pct DECIMAL(9, 6) NOT NULL, z_threshold DECIMAL(9, 3) NOT NULL")


def sync_anomaly_settings(con: duckdb.DuckDBPyConnection, cfg: Config) -> None:
    """Rewrite config.anomaly_settings from ``[anomalies]`` (inside the caller's transaction)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS config")
    con.execute(f"CREATE TABLE IF NOT EXISTS config.anomaly_settings ({SETTINGS_COLUMNS})")
    con.execute("DELETE FROM config.anomaly_settings")
    a = cfg.anomalies
    con.execute("INSERT INTO config.anomaly_settings VALUES (?, ?, ?, ?)",
                [a.floor, cfg.reporting_currency, a.min_excess_pct, a.z_threshold])


@dataclass(frozen=True)
class Anomaly:
    """One flagged day of one series (a row of ``spend_anomalies``); money in ``currency``."""

    team: str
    charge_date: date
    provider: str
    scope: str
    reason: str
    method: str
    expected: Decimal
    actual: Decimal
    excess: Decimal
    excess_pct: Decimal | None
    band_low: Decimal | None
    band_high: Decimal | None
    robust_z: float | None
    price_effect: Decimal
    volume_effect: Decimal
    currency: str
    incident_id: str
    incident_start: date
    incident_day: int
    ongoing: bool
    top_lines: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in self.__dict__.items():
            out[k] = str(v) if isinstance(v, (Decimal, date)) else v
        return out


_FIELDS = [f for f in Anomaly.__dataclass_fields__]


def _month_bounds(month: str | None) -> tuple[date | None, date | None]:
    if not month:
        return None, None
    y, m = (int(x) for x in month.split("-"))
    return date(y, m, 1), date(y + (m == 12), m % 12 + 1, 1)


def anomalies(con: duckdb.DuckDBPyConnection, month: str | None = None, team: str | None = None) -> list[Anomaly]:
    """Rows of ``spend_anomalies`` (a month ``YYYY-MM`` and a team, when given), oldest first."""
    if not relation_exists(con, "spend_anomalies"):
        return []
    lo, hi = _month_bounds(month)
    rows = con.execute(
        f"""SELECT {', '.join(_FIELDS)} FROM spend_anomalies
            WHERE (CAST(? AS DATE) IS NULL OR charge_date >= ?) AND (CAST(? AS DATE) IS NULL OR charge_date < ?)
              AND (CAST(? AS VARCHAR) IS NULL OR team = ?)
            ORDER BY charge_date, team, provider, scope""",
        [lo, lo, hi, hi, team, team],
    ).fetchall()
    out = []
    for r in rows:
        d = dict(zip(_FIELDS, r))
        d["top_lines"] = [json.loads(x) if isinstance(x, str) else x for x in (d["top_lines"] or [])]
        out.append(Anomaly(**d))
    return out


@dataclass(frozen=True)
class BandPoint:
    charge_date: date
    actual: Decimal
    expected: Decimal | None
    band_low: Decimal | None
    band_high: Decimal | None
    flagged: bool


def band(con: duckdb.DuckDBPyConnection, team: str, provider: str, scope: str, month: str) -> list[BandPoint]:
    """A usage series' days in a month: actual spend against the expected band (int_anomaly_scores)."""
    if not relation_exists(con, "int_anomaly_scores"):
        return []
    lo, hi = _month_bounds(month)
    rows = con.execute(
        """SELECT charge_date, actual, expected, greatest(band_low, 0), band_high, flagged FROM int_anomaly_scores
           WHERE team = ? AND provider = ? AND scope = ? AND series_kind = 'usage' AND charge_date >= ? AND charge_date < ?
           ORDER BY charge_date""",
        [team, provider, scope, lo, hi],
    ).fetchall()
    return [BandPoint(*r) for r in rows]

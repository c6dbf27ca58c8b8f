"""Ingest-time attribution: each line's team by the first matching ``[[attribution]]`` rule.

Moved unchanged from the former ``warehouse/ingest.py``; it fills ``x_team`` and
``x_attribution_rule`` as before until attribution becomes a SQL model.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from spendwatch.core.config import Config
from warehouse.ingest.sqlkit import quote_ident as _q

# --------------------------------------------------------------------------- attribution


def load_rules(con: duckdb.DuckDBPyConnection, cfg: Config) -> None:
    """Put the config's attribution rules (with their 0-based ordinal) and declared teams into temp tables."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE stage_rules (ordinal INTEGER, match VARCHAR, value VARCHAR, "
        "tag_key VARCHAR, tag_path VARCHAR, provider VARCHAR, team VARCHAR)"
    )
    rows = [
        [i, r.match, r.value, r.tag_key, _json_pointer(r.tag_key) if r.tag_key else None, r.provider, r.team]
        for i, r in enumerate(cfg.attribution)
    ]
    if rows:
        con.executemany("INSERT INTO stage_rules VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute("CREATE OR REPLACE TEMP TABLE stage_teams (name VARCHAR)")
    teams = [[t.name] for t in cfg.teams]
    if teams:
        con.executemany("INSERT INTO stage_teams VALUES (?)", teams)


# match kind -> the staged column it compares (``account`` compares two).
_MATCH_COLUMNS: tuple[tuple[str, str], ...] = (
    ("account", "SubAccountId"),
    ("account", "BillingAccountId"),
    ("project", "x_project_id"),
    ("workspace", "x_workspace_id"),
    ("api_key", "x_api_key_id"),
    ("endpoint", "x_endpoint_id"),
    ("resource", "ResourceId"),
)


def attribute(con: duckdb.DuckDBPyConnection, cfg: Config) -> None:
    """Compute, for each staged line, the first matching attribution rule into ``stage_attribution``.

    Result columns: ``x_source_row``, ``ordinal`` (of the winning rule), ``team``.
    Lines that no rule matches are absent (the insert maps them to ``unallocated``).
    """
    load_rules(con, cfg)
    provider_ok = "(r.provider IS NULL OR r.provider = l.x_provider)"
    kinds = {r.match for r in cfg.attribution}
    parts = [  # one equality join per key column that some rule matches on
        f"SELECT l.x_source_row, r.ordinal, r.team FROM stage_lines l "
        f"JOIN stage_rules r ON r.match = '{kind}' AND l.{_q(col)} = r.value WHERE {provider_ok}"
        for kind, col in _MATCH_COLUMNS
        if kind in kinds
    ]
    # Tag rules: one scan per rule (few rules), the JSON pointer being a constant per scan.
    tag_rules = con.execute(
        "SELECT ordinal, tag_path, value, team, provider FROM stage_rules WHERE match = 'tag' ORDER BY ordinal"
    ).fetchall()
    params: list[object] = []
    for ordinal, path, value, team, provider in tag_rules:
        prov = "(CAST(? AS VARCHAR) IS NULL OR l.x_provider = ?)"
        if value is not None:
            parts.append(
                "SELECT l.x_source_row, CAST(? AS INTEGER), CAST(? AS VARCHAR) FROM stage_lines l "
                f"WHERE l.Tags IS NOT NULL AND {prov} AND json_extract_string(l.Tags, ?) = ?"
            )
            params += [ordinal, team, provider, provider, path, value]
        else:
            parts.append(
                "SELECT l.x_source_row, CAST(? AS INTEGER), t.name FROM stage_lines l "
                "JOIN stage_teams t ON t.name = lower(trim(json_extract_string(l.Tags, ?))) "
                f"WHERE l.Tags IS NOT NULL AND {prov}"
            )
            params += [ordinal, path, provider, provider]
    if not parts:  # no rules: every line is unallocated
        parts = ["SELECT CAST(NULL AS INTEGER) AS x_source_row, CAST(NULL AS INTEGER) AS ordinal, "
                 "CAST(NULL AS VARCHAR) AS team WHERE false"]
    union = "\nUNION ALL\n".join(parts)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE stage_attribution AS "
        f"SELECT x_source_row, min(ordinal) AS ordinal, arg_min(team, ordinal) AS team FROM ({union}) m "
        "GROUP BY x_source_row",
        params,
    )


def attribution_sql(cfg: Config, available: Iterable[str], row: str = "l") -> tuple[str, dict[str, object]]:
    """SQL picking, for one line, the first matching attribution rule, and its named parameters.

    The same rules as ``attribute`` (same order, same matching, provider restriction,
    tag rules with and without a value), written as one ``CASE`` over the line's
    columns ``{row}.<column>`` so a direct insert needs no join.  The expression is a
    ``STRUCT(o INTEGER, t VARCHAR)`` (rule ordinal, team), NULL when no rule matches.
    Columns not in ``available`` are NULL for every line, so the rules on them never match.
    """
    have = set(available)
    col = lambda c: f"{row}.{_q(c)}"  # noqa: E731
    params: dict[str, object] = {}
    whens: list[str] = []
    match_columns: dict[str, list[str]] = {}
    for kind, c in _MATCH_COLUMNS:
        match_columns.setdefault(kind, []).append(c)
    teams_param = "sw_attr_teams"
    for i, rule in enumerate(cfg.attribution):
        mine: dict[str, object] = {}  # this rule's parameters, kept only when the rule can match
        conds: list[str] = []
        if rule.provider is not None:
            if "x_provider" not in have:
                continue
            mine[f"sw_attr_{i}_provider"] = rule.provider
            conds.append(f"{col('x_provider')} = $sw_attr_{i}_provider")
        if rule.match == "tag":
            if "Tags" not in have:
                continue
            mine[f"sw_attr_{i}_path"] = _json_pointer(str(rule.tag_key))
            tag = f"json_extract_string({col('Tags')}, $sw_attr_{i}_path)"
            conds.insert(0, f"{col('Tags')} IS NOT NULL")
            if rule.value is not None:
                mine[f"sw_attr_{i}_value"], mine[f"sw_attr_{i}_team"] = rule.value, rule.team
                conds.append(f"{tag} = $sw_attr_{i}_value")
                team = f"CAST($sw_attr_{i}_team AS VARCHAR)"
            else:  # the tag's value names the team, when it is a declared team
                mine[teams_param] = [t.name for t in cfg.teams]
                conds.append(f"list_contains(CAST(${teams_param} AS VARCHAR[]), lower(trim({tag})))")
                team = f"lower(trim({tag}))"
        else:
            cols = [c for c in match_columns[rule.match] if c in have]
            if not cols:
                continue
            mine[f"sw_attr_{i}_value"], mine[f"sw_attr_{i}_team"] = rule.value, rule.team
            conds.append("(" + " OR ".join(f"{col(c)} = $sw_attr_{i}_value" for c in cols) + ")")
            team = f"CAST($sw_attr_{i}_team AS VARCHAR)"
        params.update(mine)
        whens.append(f"WHEN {' AND '.join(conds)} THEN struct_pack(o := CAST({i} AS INTEGER), t := {team})")
    none = "CAST(NULL AS STRUCT(o INTEGER, t VARCHAR))"
    if not whens:
        return none, params
    return f"CASE {' '.join(whens)} ELSE {none} END", params


def _json_pointer(key: str) -> str:
    """The JSON pointer (RFC 6901) addressing one top-level key, whatever characters it contains."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


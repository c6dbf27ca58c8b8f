"""``spendwatch models build | list``: the SQL models in dbt_like_sql/."""

from __future__ import annotations

import argparse

from spendwatch.cli import common
from spendwatch.render import Col

NAME = "models"


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(NAME, help="the SQL models in dbt_like_sql/")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION", parser_class=common.Parser, required=True)
    b = common.add_command(msub, "build", help="build the models in dependency order, one transaction each")
    b.add_argument("--select", action="append", metavar="NAME", help="build NAME and what it depends on (repeatable)")
    b.add_argument("--full", action="store_true",
                   help="rebuild every model from all of history (default: incremental models rebuild only the months "
                        "whose line items changed since their last build)")
    common.add_command(msub, "list", help="list the models with their dependencies")
    return p


def run(args: argparse.Namespace) -> int:
    from warehouse import models as sqlmodels

    project = sqlmodels.load_project()
    if args.models_command == "list":
        rows = [(n, project.models[n].materialized, ", ".join(project.models[n].refs) or "-",
                 ", ".join(".".join(s) for s in project.models[n].sources) or "-") for n in project.order]
        return common.print_rows([Col("model", priority=0), "kind", "refs", "sources"], rows, title="SQL models (build order)")
    for name in args.select or []:
        common.check_choice("--select", name, project.models, "model")
    from spendwatch.progress import track
    from warehouse.config_sync import sync_config
    from warehouse.model_state import build_and_stamp

    with common.connection() as con:
        sync_config(con, common.load_config())
        with track("building models", total=len(project.upstream(args.select) if args.select else project.order)) as bar:
            results = build_and_stamp(con, select=args.select, on_model=bar.on_model, project=project,
                                      incremental=not args.full)
    rows = [(r.model, r.status if r.months is None else f"{r.status} ({len(r.months)} month(s))", f"{r.seconds:.2f} s",
             r.rows, r.error or "") for r in results]
    common.print_rows([Col("model", priority=0), Col("status", priority=0), "time", "rows", "error"], rows, title="models built")
    return 0 if all(r.status == "ok" for r in results) else 1

"""The dbt_like_sql runner: SQL models as files, dependencies as ``ref`` and ``source``.

Each ``.sql`` file under ``dbt_like_sql/`` is one SELECT that builds the table (or,
with a ``-- materialized: view`` header line, the view) named after the file.
Dependencies are written in the SQL as ``{{ ref('model') }}`` and
``{{ source('raw', 'table') }}``; the graph is derived from them, never kept by hand.
The leading ``--`` comment block is the model's description.

Templating is limited to ``ref`` and ``source``: no other Jinja variable exists, and
values never reach SQL through the template (config lives in tables under the
``config`` schema, read with ``source('config', ...)``).
"""

from __future__ import annotations

import functools
import graphlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import jinja2
import jinja2.sandbox

from spendwatch.core.errors import SpendwatchError
from spendwatch.core.paths import PROJECT_ROOT
from warehouse import incremental as inc
from warehouse import lake

MODELS_DIR = PROJECT_ROOT / "dbt_like_sql"
SOURCE_SCHEMAS = {"raw": "main", "config": "config"}
_HEADER_DIRECTIVE = re.compile(r"^\s*([a-z_]+)\s*:\s*(\S.*?)\s*$")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # a raw table's column (FOCUS names are CamelCase)


class ModelError(SpendwatchError):
    """A model file is invalid, its graph is broken, or its build failed.  Names the file."""


@dataclass(frozen=True)
class Model:
    name: str
    path: Path
    template: str
    description: str
    materialized: str  # table | view
    refs: tuple[str, ...]
    sources: tuple[tuple[str, str], ...]
    incremental: inc.Spec | None = None  # ``-- incremental: <month column>`` and the rest: rebuilt month by month

    @property
    def group(self) -> str:
        return self.path.parent.name


@dataclass
class BuildResult:
    model: str
    status: str  # ok | failed | skipped
    seconds: float = 0.0
    rows: int | None = None
    error: str | None = None
    months: list | None = None  # incremental build: the months rebuilt; None: built in full


@dataclass
class Project:
    models: dict[str, Model]
    order: list[str] = field(default_factory=list)

    def render(self, name: str) -> str:
        return _render(self.models[name], self.models)

    def render_months(self, name: str) -> str:
        """The SQL of an incremental rebuild: the model's month-local input read for the rebuilt months only."""
        model = self.models[name]
        rec = _Recorder(model.path)
        if model.incremental and model.incremental.input:
            rec.restrict = model.incremental
        return _render_with(model.path, model.template, rec)

    def input_relation(self, name: str) -> str | None:
        """The table or view an incremental model's month-local input names (a model, or a source schema.table)."""
        spec = self.models[name].incremental
        if not spec or not spec.input:
            return None
        if "." in spec.input:
            schema, table = spec.input.split(".", 1)
            return f'{SOURCE_SCHEMAS[schema]}."{table}"'
        return f'"{spec.input}"'

    def lineage(self, name: str) -> str:
        """The SQL of the model and of every model upstream of it: what an incremental model was built from."""
        # By name: the build order may differ from one process to the next (sets of refs, hash seeds).
        return "\n;\n".join(f"-- {n}\n{self.render(n)}" for n in sorted(self.upstream([name])))

    def upstream(self, names: list[str]) -> list[str]:
        """The models ``names`` depend on (transitively), in build order, including themselves."""
        want: set[str] = set()
        stack = list(names)
        while stack:
            n = stack.pop()
            if n in want:
                continue
            want.add(n)
            stack.extend(self.models[n].refs)
        return [n for n in self.order if n in want]


def _split_header(text: str) -> tuple[str, dict[str, str]]:
    desc_lines: list[str] = []
    directives: dict[str, str] = {}
    for line in text.splitlines():
        s = line.strip()
        if not s:
            if desc_lines:
                break
            continue
        if not s.startswith("--"):
            break
        body = s[2:].strip()
        m = _HEADER_DIRECTIVE.match(body)
        if m and m.group(1) in {"materialized", "incremental", "incremental_input", "incremental_lookback", "incremental_starts",
                                              "incremental_watch", "incremental_rows"}:
            directives[m.group(1)] = m.group(2)
        else:
            desc_lines.append(body)
    return " ".join(desc_lines).strip(), directives


class _Recorder:
    def __init__(self, path: Path):
        self.path = path
        self.refs: list[str] = []
        self.sources: list[tuple[str, str]] = []
        self.restrict: inc.Spec | None = None  # an incremental rebuild: its input is read for the rebuilt months

    def ref(self, name: str) -> str:
        if not isinstance(name, str) or not _IDENT.match(name):
            raise ModelError(f"{self.path}: ref({name!r}) is not a valid model name")
        self.refs.append(name)
        if self.restrict and self.restrict.input == name:
            return inc.restricted_input(f'"{name}"', self.restrict, self.path.stem)
        return f'"{name}"'

    def source(self, schema: str, table: str) -> str:
        if schema not in SOURCE_SCHEMAS:
            raise ModelError(f"{self.path}: source({schema!r}, {table!r}): unknown source {schema!r} (known: {', '.join(SOURCE_SCHEMAS)})")
        if not isinstance(table, str) or not _IDENT.match(table):
            raise ModelError(f"{self.path}: source({schema!r}, {table!r}): invalid table name")
        self.sources.append((schema, table))
        relation = f'{SOURCE_SCHEMAS[schema]}."{table}"'
        if self.restrict and self.restrict.input == f"{schema}.{table}":
            return inc.restricted_input(relation, self.restrict, self.path.stem)
        return relation


def _env() -> jinja2.Environment:
    return jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)


@functools.lru_cache(maxsize=256)
def _compiled(template: str) -> jinja2.Template:
    """A model's template, compiled once per process: a process renders each model many times (reading the project,
    building it, the alert queries, the incremental bookkeeping), and compiling is most of a render's cost."""
    return _env().from_string(template)


def _render_with(path: Path, template: str, rec: _Recorder) -> str:
    try:
        return _compiled(template).render(ref=rec.ref, source=rec.source)
    except ModelError:
        raise
    except jinja2.TemplateError as e:
        raise ModelError(f"{path}: template error: {e} (only ref() and source() are available)") from None


def _render(model: Model, models: dict[str, Model]) -> str:
    return _render_with(model.path, model.template, _Recorder(model.path))


def _incremental_spec(path: Path, directives: dict[str, str], materialized: str, refs: list[str],
                      sources: list[tuple[str, str]]) -> inc.Spec | None:
    column = directives.get("incremental")
    if column is None:
        if any(k.startswith("incremental_") for k in directives):
            raise ModelError(f"{path}: incremental_* lines need an 'incremental: <month column>' line")
        return None
    if materialized != "table" or not _IDENT.match(column):
        raise ModelError(f"{path}: incremental needs a table model and a month column name, not {column!r}")
    source, input_column = None, None
    if "incremental_input" in directives:
        source, *rest = directives["incremental_input"].split()
        input_column = rest[0] if len(rest) == 1 else None
        known = {*refs, *(f"{s}.{t}" for s, t in sources)}
        if source not in known or len(rest) > 1 or (rest and not _COLUMN.match(input_column)):
            raise ModelError(f"{path}: incremental_input must name a model this model refs or a source it reads "
                             f"(schema.table), then optionally that input's month, date or timestamp column; "
                             f"got {directives['incremental_input']!r}")
    lookback = directives.get("incremental_lookback", "0")
    if not lookback.isdigit() or (int(lookback) and source is None):
        raise ModelError(f"{path}: incremental_lookback must be a whole number of months, with an incremental_input")
    starts = tuple(c.strip() for c in directives.get("incremental_starts", "").split(",") if c.strip())
    if starts and (source is None or len(starts) < 2 or not all(_IDENT.match(c) for c in starts)):
        raise ModelError(f"{path}: incremental_starts needs an incremental_input and its series key columns and start date")
    watch = []
    for item in (w.strip() for w in directives.get("incremental_watch", "").split(",") if w.strip()):
        parts = item.split()
        if len(parts) != 2 or parts[0] not in refs or not all(_IDENT.match(x) for x in parts):
            raise ModelError(f"{path}: incremental_watch lists '<model> <month column>' pairs of models this model "
                             f"refs, separated by commas; got {item!r}")
        watch.append((parts[0], parts[1]))
    rows = None
    if "incremental_rows" in directives:
        parts = directives["incremental_rows"].split()
        if len(parts) != 2 or source is None or int(lookback) or not all(_COLUMN.match(x) for x in parts):
            raise ModelError(f"{path}: incremental_rows names the model's key column and its input's (one row per input "
                             f"row), with an incremental_input and no lookback; got {directives['incremental_rows']!r}")
        rows = (parts[0], parts[1])
    return inc.Spec(column, source, int(lookback), starts, input_column, tuple(watch), rows)


def load_project(models_dir: Path = MODELS_DIR) -> Project:
    """Read every model, derive the graph, and fail clearly on duplicates, missing refs or cycles."""
    models: dict[str, Model] = {}
    for path in sorted(models_dir.rglob("*.sql")):
        name = path.stem
        if not _IDENT.match(name):
            raise ModelError(f"{path}: model file names must be lower_snake_case identifiers")
        if name in models:
            raise ModelError(f"{path}: model {name!r} is also defined in {models[name].path}")
        text = path.read_text(encoding="utf-8")
        desc, directives = _split_header(text)
        rec = _Recorder(path)
        sql = _render_with(path, text, rec)
        statements = duckdb.extract_statements(sql) if sql.strip() else []
        if len(statements) != 1:
            raise ModelError(f"{path}: a model must be exactly one SELECT statement, found {len(statements)}")
        if statements[0].type != duckdb.StatementType.SELECT:
            raise ModelError(f"{path}: a model must be a SELECT, found {statements[0].type.name}")
        mat = directives.get("materialized", "table")
        if mat not in ("table", "view"):
            raise ModelError(f"{path}: materialized must be 'table' or 'view', not {mat!r}")
        if not desc:
            raise ModelError(f"{path}: a model needs a header comment saying what it means")
        models[name] = Model(name, path, text, desc, mat, tuple(dict.fromkeys(rec.refs)), tuple(dict.fromkeys(rec.sources)),
                             _incremental_spec(path, directives, mat, rec.refs, rec.sources))
    for m in models.values():
        for r in m.refs:
            if r not in models:
                raise ModelError(f"{m.path}: ref('{r}') names a model that does not exist")
    sorter = graphlib.TopologicalSorter({m.name: set(m.refs) for m in models.values()})
    try:
        order = list(sorter.static_order())
    except graphlib.CycleError as e:
        cycle = e.args[1]
        files = " -> ".join(str(models[n].path.relative_to(models_dir)) for n in cycle)
        raise ModelError(f"{models[cycle[0]].path}: dependency cycle: {files}") from None
    return Project(models, order)


def build_model(con: duckdb.DuckDBPyConnection, project: Project, name: str, incremental: bool = False) -> BuildResult:
    """Build one model in its own transaction; on failure the previous version stays intact.

    With ``incremental``, a model with an ``incremental`` header rebuilds only the months whose
    lines changed since its last build (``BuildResult.months``; None: it was built in full).
    """
    model = project.models[name]
    sql = project.render(name)
    kind = "VIEW" if model.materialized == "view" else "TABLE"
    t0 = time.perf_counter()
    rebuilt: list = [None]

    def work() -> int | None:
        months = None
        spec = model.incremental
        # Its watched inputs are built before it and do not change during its build: read them once.
        watched = inc.watch_digests(con, spec) if spec and spec.watch else None
        inputs = inc.inputs_sha(con) if spec else None  # so are the config tables
        lineage = project.lineage(name) if spec else ""
        if incremental and spec:
            months = inc.months_to_rebuild(con, name, spec, lineage, watched, inputs)
        if months is not None:
            inc.rebuild_months(con, name, spec, project.render_months(name), months, project.input_relation(name))
        else:
            # A view of the same name from an earlier definition must go first (and a table for a view).
            _drop_other_kind(con, name, "VIEW" if kind == "TABLE" else "TABLE")
            con.execute(f'CREATE OR REPLACE {kind} "{name}" AS\n{sql}')
        if spec:
            inc.record_build(con, name, spec, lineage, months, watched, inputs)
        rebuilt[0] = months
        return con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] if kind == "TABLE" else None

    try:
        rows = lake.transaction(con, work)  # on a lake, again if another process rebuilt it meanwhile
    except Exception as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        return BuildResult(name, "failed", time.perf_counter() - t0, None, f"{model.path.relative_to(PROJECT_ROOT) if model.path.is_relative_to(PROJECT_ROOT) else model.path}: {msg}")
    return BuildResult(name, "ok", time.perf_counter() - t0, rows, months=rebuilt[0])


def _drop_other_kind(con: duckdb.DuckDBPyConnection, name: str, kind: str) -> None:
    exists = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND schema_name = 'main' AND NOT internal "
        "AND database_name = current_database()"
        if kind == "VIEW"
        else "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main' "
        "AND database_name = current_database()",
        [name],
    ).fetchone()[0]
    if exists:
        con.execute(f'DROP {kind} "{name}"')


def build(
    con: duckdb.DuckDBPyConnection,
    project: Project | None = None,
    select: list[str] | None = None,
    on_model: Callable[[BuildResult], None] | None = None,
    incremental: bool = False,
) -> list[BuildResult]:
    """Build the selected models (default all) and their upstream models, in dependency order.

    A model whose upstream failed is skipped; its previous version stays.
    """
    project = project or load_project()
    if select:
        unknown = [s for s in select if s not in project.models]
        if unknown:
            raise ModelError(f"unknown model(s): {', '.join(unknown)} (known: {', '.join(sorted(project.models))})")
        names = project.upstream(select)
    else:
        names = list(project.order)
    failed: set[str] = set()
    results = []
    for n in names:
        bad = [r for r in project.models[n].refs if r in failed]
        if bad:
            res = BuildResult(n, "skipped", error=f"upstream failed: {', '.join(bad)}")
            failed.add(n)
        else:
            res = build_model(con, project, n, incremental)
            if res.status != "ok":
                failed.add(n)
        results.append(res)
        if on_model:
            on_model(res)
    return results

"""Bench: the warehouse at scale, on the DuckDB file and on a DuckLake (PostgreSQL catalog, Parquet files).

Builds a warehouse of --rows generated line items (default 50,000,000) over 24 months (December 2024 -
November 2026; the generator of bench/models.py, run once per 12 months), then prints per backend:

* a full build of every SQL model;
* an incremental daily run that adds one day: one FOCUS export of one day's EC2 instance-hours
  (bench/ingest.py's generator: 2,000 instances x 24 hours, in October 2026) ingested, then the models
  built incrementally (stg_line_items and fct_spend_daily rebuild that month only);
* four ingests at once (four `spendwatch ingest` processes on four billing accounts' exports) against the
  same four one after another, on an empty warehouse.  On the DuckDB file only one writer can hold the
  file, so there the four run one after another only.

Target: the incremental daily run under 10 % of the full build at 50M line items.
The DuckLake runs need PostgreSQL's server binaries (Debian's postgresql): a throwaway server is started
on 127.0.0.1 in a temporary folder and stopped at the end.
Usage: python bench/scale.py [--rows 50000000] [--backends file,lake] [--ingest-rows 200000] [--keep DIR] [--timings CSV]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from bench import ingest as ingest_bench  # noqa: E402
from bench import models as models_bench  # noqa: E402
from spendwatch.core.config import load_config  # noqa: E402
from spendwatch.core.paths import EXAMPLE_CONFIG  # noqa: E402
from warehouse.db import connect  # noqa: E402
from warehouse.ingest import ingest_file  # noqa: E402
from warehouse.models import build, load_project  # noqa: E402

TARGET_RATIO = 0.10
DAY_ROWS = 48_000  # one day of 2,000 instance-hours
SPENDWATCH = str(Path(sys.executable).parent / "spendwatch")


class PgServer:
    """A throwaway PostgreSQL on 127.0.0.1 (initdb / pg_ctl; as the postgres user when run as root)."""

    def __init__(self, root: Path):
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[4]))
        if not found:
            raise SystemExit("DuckLake runs need PostgreSQL's server binaries (apt-get install postgresql)")
        self.bin = found[-1].parent
        self.root = root
        self.user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.user:
            os.chown(root, *_ids("postgres"))
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._run("initdb", "-D", str(root / "data"), "-A", "trust", "-U", "postgres", "--no-sync")
        self._run("pg_ctl", "-D", str(root / "data"), "-l", str(root / "log"), "-w", "-o",
                  f"-p {self.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        self.n = 0

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.user, str(self.bin / tool), *args], check=True, capture_output=True, cwd="/")

    def new_lake(self) -> str:
        self.n += 1
        name = f"bench_lake_{self.n}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"ducklake:postgres:host=127.0.0.1 port={self.port} user=postgres dbname={name}"

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "stop")


def _ids(user: str) -> tuple[int, int]:
    import pwd

    p = pwd.getpwnam(user)
    return p.pw_uid, p.pw_gid


def fill(con, rows: int, folder: Path | None = None) -> float:
    """Config, prices and FX of bench/models.py's organisation, then ``rows`` line items over 24 months.

    bench/models.py generates 12 months (its prices start there); the 12 months before are the same lines a
    year earlier (new ids and natural keys), so every month has lines of every kind.  The generator scatters
    each slice over all 12 months; the lines are then stored month by month, as 24 months of ingests store
    them (each delivery's lines land together), so a month's lines share row groups as they would in use.
    """
    t = time.perf_counter()
    models_bench.prepare_generated(con, Path(tempfile.mkdtemp(prefix="scale-cfg-")))
    scratch = (folder or Path(tempfile.mkdtemp(prefix="scale-gen-"))) / "generated_lines.duckdb"  # the generated lines before they are stored month by month
    scratch.unlink(missing_ok=True)
    con.execute(f"ATTACH '{str(scratch).replace(chr(39), chr(39) * 2)}' AS gen")  # DuckDB 1.5's ATTACH takes no parameters
    con.execute("CREATE TABLE gen.gen_lines AS FROM billing_line_items LIMIT 0")
    generate = models_bench._GENERATE.replace("INSERT INTO billing_line_items (", "INSERT INTO gen.gen_lines (", 1)
    recent = rows - rows // 2
    for a in range(0, recent, 5_000_000):  # in slices: bounded memory on a small machine
        con.execute(generate, [a, min(recent, a + 5_000_000), models_bench.START])
    shifted = ", ".join(f"{c} - INTERVAL 12 MONTH AS {c}" for c in
                        ("ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd"))
    con.execute(f"INSERT INTO gen.gen_lines SELECT * REPLACE (x_line_id || '-y' AS x_line_id, "
                f"x_natural_key || '-y' AS x_natural_key, {shifted}) FROM gen.gen_lines LIMIT $n", {"n": rows // 2})
    months = [m for (m,) in con.execute("SELECT DISTINCT date_trunc('month', ChargePeriodStart) AS m FROM gen.gen_lines ORDER BY m").fetchall()]
    for m in months:  # one month at a time: bounded memory
        con.execute("INSERT INTO billing_line_items SELECT * FROM gen.gen_lines WHERE ChargePeriodStart >= $m "
                    "AND ChargePeriodStart < $m + INTERVAL 1 MONTH", {"m": m})
    con.execute("DETACH gen")
    scratch.unlink()
    con.execute("CHECKPOINT")
    return time.perf_counter() - t


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def full_and_incremental(location: str, rows: int, folder: Path) -> dict[str, float]:
    con = connect(location)
    try:
        out = {"fill": fill(con, rows, folder)}
        cfg = load_config(EXAMPLE_CONFIG)
        project = load_project()
        full: list = []
        out["full"] = timed(lambda: full.extend(_ok(build(con, project))))
        out["full_models"] = full
        day = folder / "one_day.csv"
        ingest_bench.generate(day, DAY_ROWS)

        def daily() -> None:
            out["day_ingest"] = timed(lambda: ingest_file(con, day, cfg))
            results = _ok(build(con, project, incremental=True))
            out["incremental_models"] = results
            out["months"] = max(len(r.months) for r in results if r.months is not None)

        out["incremental"] = timed(daily)
    finally:
        con.close()
    return out


def _ok(results):
    bad = [r for r in results if r.status != "ok"]
    if bad:
        raise SystemExit(f"model build failed: {bad[0].model}: {bad[0].error}")
    return results


def slowest(results, n: int = 6) -> str:
    """The ``n`` slowest models of a build, for seeing where the time goes."""
    top = sorted(results, key=lambda r: -r.seconds)[:n]
    return ", ".join(f"{r.model} {r.seconds:.1f}" for r in top)


def write_timings(path: Path, backend: str, r: dict) -> None:
    """Append each model's seconds in the full build and the daily run to a CSV (header written once)."""
    new = not path.exists()
    with path.open("a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["backend", "build", "model", "seconds", "months"])
        for build_name, key in (("full", "full_models"), ("incremental", "incremental_models")):
            for m in r[key]:
                months = "" if m.months is None else len(m.months)
                w.writerow([backend, build_name, m.model, f"{m.seconds:.3f}", months])


def four_files(folder: Path, rows: int) -> list[Path]:
    """Four billing accounts' exports (rows/4 lines each; separate scopes, so none supersedes another)."""
    src = folder / "four_accounts.csv"
    ingest_bench.generate(src, rows * 10 // 4)
    out = []
    with duckdb.connect() as c:
        for k in range(4):
            dst = folder / f"account_{k}.csv"
            c.execute("COPY (SELECT * FROM read_csv($src, all_varchar = true) WHERE BillingAccountId = $acct) "
                      "TO $dst (HEADER)", {"src": str(src), "acct": str(431927506180 + k), "dst": str(dst)})
            out.append(dst)
    return out


def ingests(location: str, files: list[Path], data_path: Path | None, at_once: bool) -> float:
    env = {**os.environ, "SPENDWATCH_WAREHOUSE": location, "SPENDWATCH_CONFIG": str(EXAMPLE_CONFIG)}
    if data_path:
        env["SPENDWATCH_DATA_PATH"] = str(data_path)
    saved = os.environ.get("SPENDWATCH_DATA_PATH")
    if data_path:
        os.environ["SPENDWATCH_DATA_PATH"] = str(data_path)  # the lake is made with the data path its ingests use
    try:
        connect(location).close()  # migrated before the clock starts
    finally:
        if saved is None:
            os.environ.pop("SPENDWATCH_DATA_PATH", None)
        else:
            os.environ["SPENDWATCH_DATA_PATH"] = saved
    t = time.perf_counter()
    if at_once:
        procs = [subprocess.Popen([SPENDWATCH, "ingest", str(f)], env=env, stdout=subprocess.DEVNULL) for f in files]
        codes = [p.wait() for p in procs]
    else:
        codes = [subprocess.run([SPENDWATCH, "ingest", str(f)], env=env, stdout=subprocess.DEVNULL).returncode for f in files]
    if any(codes):
        raise SystemExit(f"an ingest failed: exit codes {codes}")
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=50_000_000, help="line items over 24 months (default 50,000,000)")
    ap.add_argument("--backends", default="file,lake", help="file, lake or both (default file,lake)")
    ap.add_argument("--ingest-rows", type=int, default=200_000, help="lines per file of the four-ingest test (default 200,000)")
    ap.add_argument("--keep", type=Path, metavar="DIR", help="keep the warehouses in DIR instead of a temporary folder")
    ap.add_argument("--timings", type=Path, metavar="CSV",
                    help="write every model's seconds (backend, build, model, seconds, months rebuilt) to CSV")
    args = ap.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    folder = args.keep or Path(tempfile.mkdtemp(prefix="spendwatch-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    pg = PgServer(Path(tempfile.mkdtemp(prefix="spendwatch-scale-pg-"))) if "lake" in backends else None
    files = four_files(folder, args.ingest_rows)
    print(f"{args.rows:,} line items over 24 months; daily run adds {DAY_ROWS:,} lines of one day; "
          f"four ingests of {args.ingest_rows:,} lines each")
    failed = False
    try:
        for backend in backends:
            if backend == "file":
                loc, data, conc = str(folder / "scale.duckdb"), None, None
                os.environ.pop("SPENDWATCH_DATA_PATH", None)
            else:
                loc, data = pg.new_lake(), folder / "lake_data"
                os.environ["SPENDWATCH_DATA_PATH"] = str(data)
            r = full_and_incremental(loc, args.rows, folder)
            ratio = r["incremental"] / r["full"]
            failed |= ratio >= TARGET_RATIO
            serial_loc = str(folder / "serial.duckdb") if backend == "file" else pg.new_lake()
            serial = ingests(serial_loc, files, data and folder / "lake_serial", at_once=False)
            if backend == "lake":
                conc = ingests(pg.new_lake(), files, folder / "lake_conc", at_once=True)
            print(f"\n[{backend}] generated in {r['fill']:.1f} s")
            print(f"  full build                   {r['full']:8.1f} s")
            print(f"  incremental daily run        {r['incremental']:8.1f} s  ({r['months']} month rebuilt; "
                  f"{ratio:.1%} of the full build, target < {TARGET_RATIO:.0%}: {'met' if ratio < TARGET_RATIO else 'NOT met'})")
            print(f"    of which the day's ingest  {r['day_ingest']:8.1f} s")
            print(f"    slowest models, full:        {slowest(r['full_models'])}")
            print(f"    slowest models, incremental: {slowest(r['incremental_models'])}")
            if args.timings:
                write_timings(args.timings, backend, r)
            print(f"  four ingests, one by one     {serial:8.1f} s")
            print(f"  four ingests at once         " + (f"{conc:8.1f} s  ({serial / conc:.2f}x)" if conc else
                                                         "     n/a  (a DuckDB file has one writer)"))
    finally:
        if pg:
            pg.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

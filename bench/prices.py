"""Bench: refresh every price source from a local server that adds 200 ms of latency per response.

Every source that is not discontinued takes part: HTTP sources are served their recorded
capture by the local server (through the real fetch path: core.http, parse, plausibility
gates); sources bundled with a package (genai-prices, ...) are read from it.  Prints the wall
time of the whole refresh against the slowest single source's time (target: at most 1.5x,
which shows the fetches run concurrently), and the time to re-apply an unchanged day
(target: under 1 s, with nothing written).
Usage: python bench/prices.py [--latency 0.2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Response

from scrapers.fetch import SNAPSHOT_DIR, FetchPolicy, fetch_all
from scrapers.sources import all_sources
from spendwatch import operations
from warehouse.db import connect


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency", type=float, default=0.2, help="seconds added to every response")
    args = ap.parse_args()
    sources = [s for s in all_sources() if not s.discontinued]
    served = [s for s in sources if s.local_payload() is None]
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log lines in the figures
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        overrides = {}
        for s in served:
            body = (SNAPSHOT_DIR / f"{s.source_id}.{s.extension}").read_bytes()

            def handler(_req, body=body):
                time.sleep(args.latency)
                return Response(body)

            path = f"/{s.source_id}"
            server.expect_request(path, method=s.requests()[0].method).respond_with_handler(handler)
            overrides[s.source_id] = server.url_for(path)
        policy = FetchPolicy(timeout=10, attempts=1)
        at = datetime(2026, 12, 1, 6, 0)
        fetch_all(sources, "offline", fetched_at=at)  # warm up parser imports, so no source pays them
        alone = {}
        for s in sources:  # each source on its own: its fetch + parse time
            t = time.perf_counter()
            [o] = fetch_all([s], "live", fetched_at=at, policy=policy, url_overrides=overrides)
            alone[s.source_id] = time.perf_counter() - t
        slowest_id, slowest = max(alone.items(), key=lambda kv: kv[1])
        t0 = time.perf_counter()
        outcomes = fetch_all(sources, "live", fetched_at=at, policy=policy, url_overrides=overrides)
        wall = time.perf_counter() - t0
        failed = [o.source_id for o in outcomes if not o.ok]
        with tempfile.TemporaryDirectory() as tmp:
            con = connect(Path(tmp) / "bench.duckdb")
            t1 = time.perf_counter()
            res = operations.refresh_prices(con, mode="live", as_of=at, url_overrides=overrides,
                                            source_ids=[s.source_id for s in sources], policy=policy)
            full = time.perf_counter() - t1
            rows = con.execute("SELECT count(*) FROM price_history").fetchone()[0]
            fetches = con.execute("SELECT count(*) FROM price_fetches").fetchone()[0]
            t2 = time.perf_counter()
            res2 = operations.refresh_prices(con, mode="live", as_of=at, url_overrides=overrides,
                                             source_ids=[s.source_id for s in sources], policy=policy)
            reapply = time.perf_counter() - t2
            written = (con.execute("SELECT count(*) FROM price_history").fetchone()[0] - rows) + (
                con.execute("SELECT count(*) FROM price_fetches").fetchone()[0] - fetches)
            unchanged = len(res2.by_status("unchanged"))
            failed += [r.source_id for r in res.failed]
            con.close()
    finally:
        server.clear()
        server.stop()
    ratio = wall / slowest
    print(f"sources refreshed:             {len(sources)} ({len(served)} over HTTP, {len(sources) - len(served)} from a package; "
          f"{len(sources) - len(set(failed))} ok{', failed: ' + ', '.join(sorted(set(failed))) if failed else ''})")
    print(f"latency per response:          {args.latency * 1000:.0f} ms")
    print(f"fetch + parse, all at once:    {wall:6.3f} s")
    print(f"slowest single source alone:   {slowest:6.3f} s ({slowest_id})")
    print(f"wall / slowest:                {ratio:6.2f}x  (target <= 1.5x: {'met' if ratio <= 1.5 else 'NOT met'})")
    print(f"full refresh into DuckDB:      {full:6.3f} s (fetch, parse and history writes, {rows} price rows)")
    print(f"re-apply unchanged day:        {reapply:6.3f} s, {written} rows written, {unchanged} sources unchanged "
          f"(target < 1 s, nothing written: {'met' if reapply < 1 and written == 0 else 'NOT met'})")
    return 0 if not failed else 1



if __name__ == "__main__":
    sys.exit(main())

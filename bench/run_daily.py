"""Bench: wall time and peak RSS of one `spendwatch run` on the sample data, and of `dagster definitions validate`.

Target: the daily run under 10 s wall on a 2-core machine.  Each measured command runs
in its own child process on a fresh temporary warehouse, so the figures are its own.
Usage: python bench/run_daily.py [--offline]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def measure(cmd: list[str], env: dict) -> tuple[float, float, int]:
    """Run cmd in a fresh child; return (wall seconds, peak RSS MiB of that child, exit code)."""
    code = (
        "import resource, subprocess, sys, time;"
        "t=time.perf_counter(); rc=subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode;"
        "w=time.perf_counter()-t; r=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
        "print(w, r, rc)"
    )
    out = subprocess.run([sys.executable, "-c", code, *cmd], env=env, capture_output=True, text=True, cwd=ROOT)
    wall, rss_kib, rc = out.stdout.split()
    return float(wall), int(rss_kib) / 1024, int(rc)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--offline", action="store_true", help="use the recorded price snapshots (no network attempts)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # As `make run`: an in-memory Dagster instance (DAGSTER_HOME unset), the warehouse on disk.
        env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
        env["SPENDWATCH_WAREHOUSE"] = str(Path(tmp) / "bench.duckdb")
        run_cmd = [str(BIN / "spendwatch"), "run", "--no-review"] + (["--offline"] if args.offline else [])
        wall, rss, rc = measure(run_cmd, env)
        print(f"spendwatch run (fresh warehouse):      wall {wall:6.2f} s   peak RSS {rss:7.1f} MiB   exit {rc}")
        wall2, rss2, rc2 = measure(run_cmd, env)
        print(f"spendwatch run (again, same day):      wall {wall2:6.2f} s   peak RSS {rss2:7.1f} MiB   exit {rc2}")
        (Path(tmp) / "dagster_home").mkdir()
        vwall, vrss, vrc = measure([str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
                                   dict(env, DAGSTER_HOME=str(Path(tmp) / "dagster_home")))
        print(f"dagster definitions validate:          wall {vwall:6.2f} s   peak RSS {vrss:7.1f} MiB   exit {vrc}")
        target = 10.0
        print(f"target: the daily run under {target:.0f} s wall -> {'met' if wall2 < target else 'NOT met'} ({wall2:.2f} s);"
              f" the first run on an empty warehouse (FX history, price backfill, every export) "
              f"{'also meets it' if wall < target else f'does not ({wall:.2f} s)'}")
        return 0 if rc == rc2 == vrc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

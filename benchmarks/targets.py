"""Every published performance target, measured: runs each target's benchmark in turn as
its own process (so one's memory and threads never weigh on the next), shows its output as
it goes, then prints one table of figure against target with "met" or "not met".

    .venv/bin/python benchmarks/targets.py [--runs 3] [--no-carbon]

The benchmarks, each also runnable alone:
  ingest_compare.py  ingestion into SQLite, and against carbon-cache 1.1.10
  memory_series.py   peak RSS with 1,000,000 active series
  http_queries.py    /paths and /metrics/find over 1,000,000 paths
  render_sqlite.py   /render sumSeries over 1,000 series x 1 day from SQLite
  slow_store.py      a slow store does not slow ingestion until the writer's bound
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path

from common import VERDICT_PREFIX, load_average

HERE = Path(__file__).resolve().parent
TIMEOUT = 1800


def run(script: str, arguments: list[str]) -> tuple[list[list[str]], str]:
    """Run one benchmark, echoing its output (killed after `TIMEOUT` seconds); its verdict
    rows, and how it ended."""
    print(f"\n== {script} {' '.join(arguments)}", flush=True)
    rows = []
    process = subprocess.Popen(
        [sys.executable, str(HERE / script), *arguments],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    watchdog = threading.Timer(TIMEOUT, process.kill)
    watchdog.start()
    try:
        for line in process.stdout:
            print(line, end="", flush=True)
            if line.startswith(VERDICT_PREFIX):
                rows.append([script] + [part.strip() for part in line.split("|")[1:]])
        code = process.wait()
    finally:
        watchdog.cancel()
    return rows, "ok" if code == 0 else f"exited with {code}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="ingestion runs per server")
    parser.add_argument("--no-carbon", action="store_true", help="skip carbon-cache")
    args = parser.parse_args()
    ingest = ["--runs", str(args.runs), *(["--no-carbon"] if args.no_carbon else [])]
    plan = [
        ("ingest_compare.py", ingest),
        ("memory_series.py", []),
        ("http_queries.py", []),
        ("render_sqlite.py", []),
        ("slow_store.py", []),
    ]
    rows = []
    began = time.monotonic()
    for script, arguments in plan:
        found, ended = run(script, arguments)
        rows.extend(found)
        if ended != "ok":
            rows.append([script, "(the benchmark)", ended, "", "not met"])
    header = ["benchmark", "what", "figure", "target", "verdict"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    print(f"\n== targets ({time.monotonic() - began:.0f} s; {load_average()})")
    for row in [header, ["-" * width for width in widths], *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    met = sum(row[-1] == "met" for row in rows)
    print(f"{met} of {len(rows)} met")


if __name__ == "__main__":
    main()

"""Memory target: the peak RSS of the server and its parse workers once 1,000,000 series
are active, two resolutions each (10s:1d, 5m:30d), so 2,000,000 windows are open: target
<= 1 GiB.

Starts `cyanite-py serve` with the default SQLite store in a temporary directory, sends one
point, stamped now, for each path of the dc.host.group.metric tree of
`benchmarks/glob_query.py` (4 x 250 x 10 x 100) over C TCP connections, waits until the
engine has counted every point, the memory index holds every path and the writer has
nothing buffered, then reads the high-water RSS (VmHWM) and the RSS now of the server and
its parse workers together.

    .venv/bin/python benchmarks/memory_series.py [--connections 4]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import (
    load_average,
    metric,
    one_point_each,
    peak_rss_mib,
    rss_mib,
    running_server,
    send_concurrently,
    verdict,
    wait_for,
    wait_settled,
)
from glob_query import tree
from series_scaling import process_rss_mib

SETTLE_TIMEOUT = 600


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    names = tree()
    payloads = one_point_each(names, args.connections, int(time.time()))
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as (process, ports):
        api = ports["api"]
        idle = peak_rss_mib(process.pid)
        began = time.perf_counter()
        send_concurrently(ports["carbon"], payloads)
        wait_for(api, "cyanite_engine_points_total", len(names), SETTLE_TIMEOUT)
        counted = time.perf_counter() - began
        wait_settled(api, len(names), SETTLE_TIMEOUT)
        series = metric(api, "cyanite_engine_series")
        windows = metric(api, "cyanite_engine_open_windows")
        peak, now = peak_rss_mib(process.pid), rss_mib(process.pid)
        server_peak = process_rss_mib(process.pid, "VmHWM")
    print(
        f"{len(names):,} series, one point each over {args.connections} connections "
        f"({sum(map(len, payloads)) / 2**20:.0f} MiB), counted in {counted:.1f} s"
    )
    print(f"engine: {series:,.0f} series, {windows:,.0f} open windows")
    rss = f"{idle:.0f} MiB at start, {now:.0f} MiB after, peak {peak:.0f} MiB"
    print(f"RSS with parse workers: {rss} (the server's own peak {server_peak:.0f} MiB)")
    print(load_average())
    verdict(f"peak RSS with {len(names):,} active series", peak, "MiB", "<=", 1024)


if __name__ == "__main__":
    main()

"""Hostile clients of the inputs: idle sockets, unfinished pickle messages, spoofed and
flooding sFlow agents; what the server refuses, its memory, and /ping's latency.

Starts `cyanite-py serve` (SQLite in a temporary directory) with carbon, pickle and sFlow
on free loopback ports and the default bounds, except an idle timeout of 5 s so the run
is short. Then, one after the other:

- 1,100 idle carbon connections (the default cap is 512): how many were refused, /ping
  while they are open, and how many are left 7 s later;
- 500 pickle connections each announcing a 1 MiB message and sending 256 KiB of it: how
  many were closed for holding too much, and the server's memory;
- 100,000 sFlow datagrams claiming as many agents: the series made, samples refused and
  memory;
- maximum-size sFlow datagrams (about 64 KB of counter samples) at about 200 a second
  for 10 s: /ping's latency meanwhile, and how many were decoded or dropped busy.

    .venv/bin/python benchmarks/hostile_inputs.py
"""

from __future__ import annotations

import socket
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from common import HOST, free_port, load_average, metric, peak_rss_mib, rss_mib, running_server
from hostile_requests import PingSampler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.sflow_vectors import BINS


def counted(api: int, reason: str) -> int:
    text = httpx.get(f"http://{HOST}:{api}/prometheus", timeout=60).text
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in text.splitlines()
        if line.startswith("cyanite_input_rejected_total{") and f'reason="{reason}"' in line
    )


def ping_stats(latencies: list[float]) -> str:
    ordered = sorted(latencies) or [float("nan")]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"/ping p50 {ordered[len(ordered) // 2]:.1f} ms, p99 {p99:.1f} ms, max {ordered[-1]:.1f} ms"
    )


def idle_sockets(api: int, carbon: int) -> None:
    with PingSampler(f"http://{HOST}:{api}") as pings:
        sockets = [socket.create_connection((HOST, carbon)) for _ in range(1100)]
        time.sleep(1)
    print(
        f"1,100 idle carbon connections: {counted(api, 'too_many_connections')} refused; "
        f"{ping_stats(pings.latencies)}"
    )
    time.sleep(7)
    closed = sum(1 for sock in sockets if _closed(sock))
    print(f"  7 s later: {closed} closed by the server ({counted(api, 'idle_timeout')} idle)")
    for sock in sockets:
        sock.close()


def _closed(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def unfinished_pickles(api: int, pickle_port: int, pid: int) -> None:
    before = rss_mib(pid)
    sockets = []
    for _ in range(500):
        sock = socket.create_connection((HOST, pickle_port))
        sock.sendall(struct.pack("!I", 1024 * 1024) + b"x" * 256 * 1024)
        sockets.append(sock)
    time.sleep(2)
    print(
        f"500 pickle connections holding 256 KiB of a 1 MiB message: "
        f"{counted(api, 'buffered_over_limit')} closed over the cap; "
        f"buffered {metric(api, 'cyanite_input_bytes_buffered') / 2**20:.0f} MiB; "
        f"RSS {before:.0f} -> {rss_mib(pid):.0f} MiB"
    )
    for sock in sockets:
        sock.close()


def spoofed(agent: int, data: bytes) -> bytes:
    return data[:8] + struct.pack("!I", 0x0A000000 + agent) + data[12:]


def spoofed_agents(api: int, sflow: int, pid: int) -> None:
    data = BINS[0].read_bytes()
    paths = metric(api, "cyanite_index_paths")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for agent in range(100_000):
            sock.sendto(spoofed(agent, data), (HOST, sflow))
            if agent % 1000 == 999:
                time.sleep(0.02)  # about what the kernel's buffer takes
    time.sleep(5)
    print(
        f"100,000 spoofed sFlow agents: {metric(api, 'cyanite_index_paths') - paths:,.0f} new "
        f"series; refused {counted(api, 'too_many_agents'):,} for agents, "
        f"{counted(api, 'too_many_sources'):,} for sources; RSS {rss_mib(pid):.0f} MiB"
    )


def big_datagram() -> tuple[bytes, int]:
    """One datagram of as many copies of the first vector's counter sample as fit, and
    how many that is."""
    data = BINS[0].read_bytes()
    header, sample = data[:28], data[28:]
    copies = (65_000 - len(header)) // len(sample)
    return header[:24] + struct.pack("!I", copies) + sample * copies, copies


def datagram_flood(api: int, sflow: int) -> None:
    data, copies = big_datagram()
    busy = counted(api, "busy")
    decoded = metric(api, "cyanite_input_samples_decoded_total")
    stop = threading.Event()

    def flood() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            while not stop.is_set():
                sock.sendto(data, (HOST, sflow))
                stop.wait(0.005)

    sender = threading.Thread(target=flood)
    with PingSampler(f"http://{HOST}:{api}") as pings:
        sender.start()
        time.sleep(10)
        stop.set()
        sender.join()
    whole = (metric(api, "cyanite_input_samples_decoded_total") - decoded) / copies
    print(
        f"{len(data):,}-byte sFlow datagrams at about 200/s for 10 s: "
        f"{counted(api, 'busy') - busy:,} dropped busy, {whole:,.0f} decoded; "
        f"{ping_stats(pings.latencies)}"
    )


def main() -> None:
    carbon, pickle_port, sflow = free_port(), free_port(), free_port()
    inputs = [
        {"type": "carbon", "host": HOST, "port": carbon, "idle_timeout": 5},
        {"type": "pickle", "host": HOST, "port": pickle_port, "idle_timeout": 5},
        {"type": "sflow", "host": HOST, "port": sflow},
    ]
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_server(Path(tmp), input=inputs) as (
            process,
            ports,
        ),
    ):
        api = ports["api"]
        print(f"server RSS {rss_mib(process.pid):.0f} MiB; {load_average()}")
        idle_sockets(api, carbon)
        unfinished_pickles(api, pickle_port, process.pid)
        spoofed_agents(api, sflow, process.pid)
        datagram_flood(api, sflow)
        print(f"peak RSS {peak_rss_mib(process.pid):.0f} MiB; {load_average()}")


if __name__ == "__main__":
    main()

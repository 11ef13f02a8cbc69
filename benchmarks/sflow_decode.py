"""sFlow decoding speed: the published real datagrams, decoded over and over.

Uses every version-5 datagram of the test data (tests/data/sflow: the four
single datagrams and the 25 sFlow v5 packets of the tcpdump capture, 148 counter samples
in all) and prints datagrams/s, samples/s and points/s for raw counters and for rates:
the best pass (least disturbed by other work on the machine) and the median one.
For rates, each round's copies carry later sequence numbers and uptimes (as a live agent's
would), so every round after the first computes real rates.

    .venv/bin/python benchmarks/sflow_decode.py --passes 20 --rounds 100
"""

from __future__ import annotations

import argparse
import statistics
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cyanite_py.sflow.decoder import SflowDecoder
from tests.sflow_vectors import all_datagrams, walk

NOW = 1_700_000_000


def later(datagrams: list[bytes], rounds: int) -> list[list[bytes]]:
    """`rounds` copies of `datagrams`, each a minute and a hundred datagrams later."""
    copies = []
    for number in range(rounds):
        copy = []
        for data in datagrams:
            patched = bytearray(data)
            at = walk(data).count_at - 8
            sequence, uptime = struct.unpack_from(">II", data, at)
            struct.pack_into(
                ">II", patched, at, sequence + 100 * number, (uptime + 60_000 * number) % 2**32
            )
            copy.append(bytes(patched))
        copies.append(copy)
    return copies


def measure(label: str, rounds: list[list[bytes]], passes: int, rates: bool) -> None:
    """Decode all `rounds` `passes` times with a fresh decoder; print the best and median pass."""
    timings = []
    for _ in range(passes):
        decoder = SflowDecoder(rates=rates)
        datagrams = samples = points = 0
        start = time.perf_counter()
        for datagram_round in rounds:
            for data in datagram_round:
                decoded = decoder.decode(data, NOW)
                samples += decoded.samples
                points += len(decoded.batch)
            datagrams += len(datagram_round)
        timings.append(time.perf_counter() - start)
    for name, elapsed in (("best", min(timings)), ("median", statistics.median(timings))):
        print(
            f"{label:>5} {name:>6}: {datagrams / elapsed:>9,.0f} datagrams/s "
            f"{samples / elapsed:>10,.0f} samples/s {points / elapsed:>11,.0f} points/s"
        )
    print(f"{'':>13}({passes} passes of {datagrams} datagrams giving {points} points)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passes", type=int, default=20, help="timed passes per mode")
    parser.add_argument("--rounds", type=int, default=100, help="rounds of datagrams per pass")
    args = parser.parse_args()
    datagrams = [data for data in all_datagrams() if data[:4] == b"\x00\x00\x00\x05"]
    print(f"{len(datagrams)} datagrams, {sum(map(len, datagrams))} bytes per round")
    measure("raw", [datagrams] * args.rounds, args.passes, rates=False)
    measure("rates", later(datagrams, args.rounds), args.passes, rates=True)


if __name__ == "__main__":
    main()

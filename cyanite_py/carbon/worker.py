"""A parse worker process: carbon plaintext chunks in on stdin, keyed points out on stdout.

Parsing lines and looking their paths up take most of the server's interpreter time; a
worker does both on another core. Its answer to each chunk (`frames`) holds the
points as columns of path keys, and the text of a path only the first time it is seen.

The worker ignores SIGINT and SIGTERM (a terminal or service manager signals the whole
process group) and ends when its input ends, so the server finishes every chunk it sent
before it shuts down.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections import Counter
from typing import BinaryIO

import numpy as np

from cyanite_py.allocator import return_large_blocks
from cyanite_py.carbon.frames import CHUNK_HEADER, result_frame
from cyanite_py.carbon.lines import parse_chunk
from cyanite_py.carbon.numbering import Numbering
from cyanite_py.carbon.plain import read_plain


def parse_frame(chunk: bytes, numbering: Numbering, max_line_length: int) -> bytes:
    """The result frame for one chunk: read column-wise when it is plain, else line by line."""
    rejected: Counter[str] = Counter()
    plain = read_plain(chunk, max_line_length)
    if plain is not None:
        distinct_keys, new = numbering.keys(plain.paths)
        keys = distinct_keys.astype("<u4")[plain.path_index]
        times, values = plain.times, plain.values
    else:

        def reject(reason: str, count: int) -> None:
            rejected[reason] += count

        batch = parse_chunk(chunk, int(time.time()), max_line_length, reject)
        point_keys, new = numbering.keys(batch.paths)
        keys = point_keys.astype("<u4")
        times, values = np.asarray(batch.times), np.asarray(batch.values, dtype=np.float64)
    return result_frame(
        np.asarray(times, dtype=np.int64), np.asarray(values, dtype=np.float64), keys, new, rejected
    )


def serve(source: BinaryIO, sink: BinaryIO, max_line_length: int) -> None:
    """Answer every chunk frame from `source` with a result frame on `sink`, until EOF."""
    numbering = Numbering()
    while header := source.read(CHUNK_HEADER.size):
        (size,) = CHUNK_HEADER.unpack(header)
        chunk = source.read(size)
        if len(chunk) < size:
            return
        sink.write(parse_frame(chunk, numbering, max_line_length))
        sink.flush()


def main() -> None:
    """Serve until the server closes the input, then exit without the interpreter's
    teardown: every answer is already written, and the server's final flush waits for
    this exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return_large_blocks()
    serve(sys.stdin.buffer, sys.stdout.buffer, int(sys.argv[1]))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()

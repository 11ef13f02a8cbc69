"""sFlow v5 datagrams to counter samples, with every read checked against the bytes at hand.

Only counter samples (0:2) and expanded counter samples (0:4) are read; flow samples and
every unknown sample or record are skipped by their declared length. A count or length
from the wire is never trusted beyond the enclosing frame: each loop step consumes bytes
or stops, so a lying count cannot make work or memory grow.

Damage is reported, never raised: the datagram's samples that were complete before it are
kept, and `Datagram.problem` names the first damage found:

- `bad_version`: the version is not 5;
- `bad_address`: the agent address type is not unknown (0), IPv4 (1) or IPv6 (2);
- `truncated`: the datagram ends before its header, a sample count or a sample length
  says it should; decoding stops there;
- `bad_sample`: a counter sample's records overrun the sample's own length; that sample is
  dropped, decoding goes on with the next one;
- `bad_record`: a known record is shorter than its layout, or a string or list inside it
  overruns it or exceeds the specification's limit; its sample is dropped, decoding goes
  on. (A partial sample is never used: a lost port-name record would rename its series.)
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field

from cyanite_py.sflow.layouts import FIXED

_U32 = struct.Struct(">I")
_U32X2 = struct.Struct(">II")
_U32X3 = struct.Struct(">III")
_U32X4 = struct.Struct(">IIII")

COUNTER_SAMPLE = 2
EXPANDED_COUNTER_SAMPLE = 4
PORT_NAME = 1005
HOST_DESCR = 2000
HOST_ADAPTERS = 2001
MAX_HOSTNAME = 64  # host_descr: string hostname<64>
MAX_PORT_NAME = 255  # port_name: string name<>, bounded here
MAC_SIZE = 8  # a 6-byte MAC padded to 4-byte alignment
_ADDRESS_END = {0: 8, 1: 12, 2: 24}  # where the agent address ends, by address type


class _Damage(Exception):
    """Raised inside the parser only, caught at the sample or datagram level."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class CounterSample:
    """One counter sample: its data source, the names it carries, its known values."""

    source_type: int
    source_index: int
    sequence: int
    port_name: str = ""
    hostname: str = ""
    counters: list[tuple[str, int, int]] = field(default_factory=list)
    """`(name, raw value, modulus)`: the value wraps to 0 at `modulus`."""
    gauges: list[tuple[str, float]] = field(default_factory=list)


@dataclass(slots=True)
class Datagram:
    """A datagram's header and the counter samples decoded before any damage."""

    agent: str = ""
    sub_agent: int = 0
    sequence: int = 0
    uptime: int = 0
    samples: list[CounterSample] = field(default_factory=list)
    problem: str | None = None


def _padded(length: int) -> int:
    """XDR pads opaque data to a multiple of four bytes."""
    return (length + 3) & ~3


def parse_datagram(data: bytes) -> Datagram:
    """Decode the header and counter samples of one sFlow v5 datagram."""
    datagram = Datagram()
    end = len(data)
    if end >= 4 and _U32.unpack_from(data, 0)[0] != 5:
        datagram.problem = "bad_version"
        return datagram
    if end < 8:
        datagram.problem = "truncated"
        return datagram
    (address_type,) = _U32.unpack_from(data, 4)
    offset = _ADDRESS_END.get(address_type)
    if offset is None:
        datagram.problem = "bad_address"
        return datagram
    if end < offset + 16:
        datagram.problem = "truncated"
        return datagram
    if address_type == 1:
        datagram.agent = socket.inet_ntoa(data[8:12])
    elif address_type == 2:
        datagram.agent = socket.inet_ntop(socket.AF_INET6, data[8:24])
    datagram.sub_agent, datagram.sequence, datagram.uptime, count = _U32X4.unpack_from(data, offset)
    try:
        _read_samples(data, offset + 16, end, count, datagram)
    except _Damage as damage:
        datagram.problem = datagram.problem or damage.reason
    return datagram


def _read_samples(data: bytes, offset: int, end: int, count: int, datagram: Datagram) -> None:
    samples = datagram.samples
    for _ in range(count):
        if offset + 8 > end:
            raise _Damage("truncated")
        kind, length = _U32X2.unpack_from(data, offset)
        start = offset + 8
        offset = start + _padded(length)
        if offset > end:
            raise _Damage("truncated")
        if kind not in (COUNTER_SAMPLE, EXPANDED_COUNTER_SAMPLE):
            continue
        try:
            samples.append(_counter_sample(data, start, start + length, kind))
        except _Damage as damage:
            datagram.problem = datagram.problem or damage.reason


def _counter_sample(data: bytes, offset: int, end: int, kind: int) -> CounterSample:
    if kind == EXPANDED_COUNTER_SAMPLE:
        if offset + 16 > end:
            raise _Damage("bad_sample")
        sequence, source_type, source_index, count = _U32X4.unpack_from(data, offset)
        offset += 16
    else:
        if offset + 12 > end:
            raise _Damage("bad_sample")
        sequence, source_id, count = _U32X3.unpack_from(data, offset)
        source_type, source_index = source_id >> 24, source_id & 0xFFFFFF
        offset += 12
    sample = CounterSample(source_type, source_index, sequence)
    for _ in range(count):
        if offset + 8 > end:
            raise _Damage("bad_sample")
        record_format, length = _U32X2.unpack_from(data, offset)
        start = offset + 8
        offset = start + _padded(length)
        if offset > end:
            raise _Damage("bad_sample")
        if record_format >> 12 == 0:
            _record(data, start, start + length, record_format, sample)
    return sample


def _record(data: bytes, start: int, end: int, number: int, sample: CounterSample) -> None:
    """Add one enterprise-0 counter record's known values or names to `sample`."""
    layouts = FIXED.get(number)
    if layouts is not None:
        length = end - start
        for layout in layouts:
            if layout.struct.size <= length:
                break
        else:
            raise _Damage("bad_record")
        values = layout.struct.unpack_from(data, start)
        sample.counters.extend(
            [
                (name, values[at], modulus)
                for name, at, unknown, modulus in layout.counters
                if values[at] != unknown
            ]
        )
        sample.gauges.extend(
            [
                (name, values[at] / divisor)
                for name, at, limit, divisor in layout.gauges
                if 0 <= values[at] < limit
            ]
        )
    elif number == PORT_NAME:
        sample.port_name = _string(data, start, end, MAX_PORT_NAME)
    elif number == HOST_DESCR:
        sample.hostname = _string(data, start, end, MAX_HOSTNAME)
    elif number == HOST_ADAPTERS:
        sample.gauges.append(("adapters", float(_count_adapters(data, start, end))))


def _string(data: bytes, offset: int, end: int, limit: int) -> str:
    """An XDR `string<limit>` that must lie within `end`."""
    if offset + 4 > end:
        raise _Damage("bad_record")
    (length,) = _U32.unpack_from(data, offset)
    if length > limit or offset + 4 + length > end:
        raise _Damage("bad_record")
    return data[offset + 4 : offset + 4 + length].decode("utf-8", "replace")


def _count_adapters(data: bytes, offset: int, end: int) -> int:
    """How many adapters a host_adapters record lists, checking each lies within `end`."""
    if offset + 4 > end:
        raise _Damage("bad_record")
    count: int = _U32.unpack_from(data, offset)[0]
    offset += 4
    for _ in range(count):
        if offset + 8 > end:
            raise _Damage("bad_record")
        _if_index, macs = _U32X2.unpack_from(data, offset)
        offset += 8 + macs * MAC_SIZE
        if offset > end:
            raise _Damage("bad_record")
    return count

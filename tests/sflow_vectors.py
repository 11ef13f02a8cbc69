"""The published sFlow datagrams in tests/data/sflow (provenance in its README), read as they
are, and a frame walker.

The walker is deliberately separate from the decoder: tests use it to find where samples
and length fields lie, to damage datagrams at known places and to patch counters.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import NamedTuple

VECTORS = Path(__file__).parent / "data" / "sflow"
PCAP = VECTORS / "tcpdump_sflow_multiple_counter_30_pdus.pcap"
BINS = sorted(VECTORS.glob("*.bin"))

_ETHERTYPE_IPV4 = 0x0800
_ETHERTYPE_VLAN = 0x8100
_UDP = 17


def pcap_udp_payloads(path: Path = PCAP) -> list[bytes]:
    """The UDP payloads of a classic libpcap file of Ethernet frames carrying IPv4."""
    data = path.read_bytes()
    magic = data[:4]
    if magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        order = ">"
    elif magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        order = "<"
    else:
        raise ValueError(f"{path} is not a classic pcap file")
    (link_type,) = struct.unpack_from(order + "I", data, 20)
    if link_type != 1:
        raise ValueError(f"{path}: link type {link_type} is not Ethernet")
    record = struct.Struct(order + "IIII")
    payloads = []
    offset = 24
    while offset + record.size <= len(data):
        _, _, captured, _ = record.unpack_from(data, offset)
        frame = data[offset + record.size : offset + record.size + captured]
        offset += record.size + captured
        payloads.append(_udp_payload(frame))
    return payloads


def _udp_payload(frame: bytes) -> bytes:
    at = 12
    (ethertype,) = struct.unpack_from(">H", frame, at)
    while ethertype == _ETHERTYPE_VLAN:
        at += 4
        (ethertype,) = struct.unpack_from(">H", frame, at)
    if ethertype != _ETHERTYPE_IPV4:
        raise ValueError(f"ethertype {ethertype:#06x} is not IPv4")
    ip = at + 2
    header_length = (frame[ip] & 0x0F) * 4
    if frame[ip + 9] != _UDP:
        raise ValueError("not UDP")
    udp = ip + header_length
    (udp_length,) = struct.unpack_from(">H", frame, udp + 4)
    return frame[udp + 8 : udp + udp_length]


def all_datagrams() -> list[bytes]:
    """Every published datagram: each `.bin`, then each packet of the pcap."""
    return [path.read_bytes() for path in BINS] + pcap_udp_payloads()


class Frame(NamedTuple):
    """Where things lie in a well-formed sFlow v5 datagram."""

    header_end: int
    count_at: int
    samples: list[tuple[int, int]]
    """`(start, end)` of each sample, its format and length words included."""
    length_fields: list[int]
    """Offsets of every count and length word: sample count, sample and record lengths."""
    records: dict[tuple[int, int], int]
    """`(sample number, record format)` to the offset of that record's body."""


def walk(data: bytes) -> Frame:
    """Map the frame of a well-formed datagram (raises on anything else)."""
    (address_type,) = struct.unpack_from(">I", data, 4)
    count_at = {0: 8, 1: 12, 2: 24}[address_type] + 12
    (count,) = struct.unpack_from(">I", data, count_at)
    offset = count_at + 4
    samples: list[tuple[int, int]] = []
    fields = [count_at]
    records: dict[tuple[int, int], int] = {}
    for number in range(count):
        kind, length = struct.unpack_from(">II", data, offset)
        fields.append(offset + 4)
        body = offset + 8
        if kind in (2, 4):
            header = 16 if kind == 4 else 12
            (record_count,) = struct.unpack_from(">I", data, body + header - 4)
            fields.append(body + header - 4)
            at = body + header
            for _ in range(record_count):
                record_format, record_length = struct.unpack_from(">II", data, at)
                fields.append(at + 4)
                records[(number, record_format)] = at + 8
                at += 8 + record_length
        samples.append((offset, body + length))
        offset = body + length
    return Frame(count_at + 4, count_at, samples, fields, records)


TELEGRAF = VECTORS / "telegraf_sflow_v5_example.bin"


def interface_datagram(
    sequence: int, uptime: int, sample_sequence: int, in_octets: int, in_ucast_pkts: int
) -> bytes:
    """The published interface datagram (port eno1) with its clocks and two counters set."""
    data = bytearray(TELEGRAF.read_bytes())
    frame = walk(bytes(data))
    struct.pack_into(">II", data, frame.count_at - 8, sequence, uptime)
    struct.pack_into(">I", data, frame.samples[0][0] + 8, sample_sequence)
    struct.pack_into(">QI", data, frame.records[(0, 1)] + 24, in_octets, in_ucast_pkts)
    return bytes(data)

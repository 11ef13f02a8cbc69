"""sFlow v5 decoding against the publishers' own decodes of real datagrams, and under damage."""

from __future__ import annotations

import math
import re
import socket
import struct
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cyanite_py.sflow.decoder import SflowDecoder
from cyanite_py.sflow.naming import clean
from cyanite_py.sflow.wire import parse_datagram
from tests.sflow_vectors import (
    TELEGRAF,
    VECTORS,
    all_datagrams,
    interface_datagram,
    pcap_udp_payloads,
    walk,
)

NOW = 1_700_000_000


def points(data: bytes, decoder: SflowDecoder | None = None) -> dict[str, float]:
    decoded = (decoder or SflowDecoder()).decode(data, NOW)
    assert decoded.batch.times == [NOW] * len(decoded.batch)
    found = dict(zip(decoded.batch.paths, decoded.batch.values, strict=True))
    assert len(found) == len(decoded.batch), "a path appears twice in one datagram"
    return found


def under(found: dict[str, float], base: str) -> dict[str, float]:
    return {path[len(base) + 1 :]: value for path, value in found.items() if path.startswith(base)}


# The publishers' decodes ---------------------------------------------------------------


def test_cistern_counter_sample() -> None:
    """Values from Cistern/sflow's decode_test.go for the same dump."""
    datagram = parse_datagram((VECTORS / "cistern_counter_sample.bin").read_bytes())
    assert (datagram.agent, datagram.sub_agent, datagram.problem) == ("208.85.240.52", 1, None)
    [sample] = datagram.samples
    assert (sample.source_type, sample.source_index) == (0, 9)
    found = under(
        points((VECTORS / "cistern_counter_sample.bin").read_bytes()), "sflow.208_85_240_52.9"
    )
    assert found == {
        "if_speed": 100000000,
        "if_status": 3,
        "if_in_octets": 79282473,
        "if_in_ucast_pkts": 329128,
        "if_in_multicast_pkts": 0,
        "if_in_broadcast_pkts": 1493,
        "if_in_discards": 0,
        "if_in_errors": 0,
        "if_in_unknown_protos": 0,
        "if_out_octets": 764247430,
        "if_out_ucast_pkts": 9470970,
        "if_out_multicast_pkts": 780342,
        "if_out_broadcast_pkts": 877721,
        "if_out_discards": 0,
        "if_out_errors": 0,
    } | {f"dot3_{name}": 0 for name in ETHERNET_NAMES}


ETHERNET_NAMES = (
    "alignment_errors",
    "fcs_errors",
    "single_collision_frames",
    "multiple_collision_frames",
    "sqe_test_errors",
    "deferred_transmissions",
    "late_collisions",
    "excessive_collisions",
    "internal_mac_transmit_errors",
    "carrier_sense_errors",
    "frame_too_longs",
    "internal_mac_receive_errors",
    "symbol_errors",
)


def test_cistern_host_sample_names_the_agent_by_hostname() -> None:
    data = (VECTORS / "cistern_host_sample.bin").read_bytes()
    [sample] = parse_datagram(data).samples
    assert (sample.source_type, sample.source_index, sample.hostname) == (2, 1, "fractal")
    found = under(points(data), "sflow.fractal.host")
    # Read by hand from the dump, at the offsets sflow_host.txt gives.
    assert found["load_one"] == pytest.approx(0.47)  # 0x3ef0a3d7
    assert found["load_fifteen"] == 0.5  # 0x3f000000
    assert found["proc_total"] == 0x1FF
    assert found["cpu_num"] == 4
    assert found["cpu_speed"] == 0x4B0
    assert found["uptime"] == 0x193F4
    assert found["cpu_user"] == 0x4FF4DE
    assert found["contexts"] == 0x053EA44F
    assert "cpu_steal" not in found  # the 68-byte layout has none
    assert found["mem_total"] == 0xE5D44000
    assert found["swap_out"] == 6
    assert found["disk_total"] == 0x71A6C5B000
    assert found["part_max_used"] == pytest.approx(0x1607 / 100)
    assert found["bytes_in"] == 0x3A13
    assert found["pkts_out"] == 0x20
    assert found["adapters"] == 2
    assert len(found) == 46


def test_telegraf_interface_sample_matches_expected_and_skips_unknowns() -> None:
    expected = _line_protocol_fields(
        (VECTORS / "telegraf_sflow_v5_example.expected.out").read_text()
    )
    assert expected["port_name"] == '"eno1"'
    found = under(
        points((VECTORS / "telegraf_sflow_v5_example.bin").read_bytes()),
        "sflow.192_168_119_184.eno1",
    )
    names = {
        "speed": "if_speed",
        "in_bytes": "if_in_octets",
        "in_unicast_packets_total": "if_in_ucast_pkts",
        "in_mcast_packets_total": "if_in_multicast_pkts",
        "in_broadcast_packets_total": "if_in_broadcast_pkts",
        "in_dropped_packets": "if_in_discards",
        "in_errors": "if_in_errors",
        "in_unknown_protocol": "if_in_unknown_protos",
        "out_bytes": "if_out_octets",
        "out_unicast_packets_total": "if_out_ucast_pkts",
        "out_mcast_packets_total": "if_out_multicast_pkts",
        "out_broadcast_packets_total": "if_out_broadcast_pkts",
        "out_dropped_packets": "if_out_discards",
        "out_errors": "if_out_errors",
    }
    unknown = 0xFFFFFFFF
    for theirs, ours in names.items():
        value = int(expected[theirs].rstrip("u"))
        if value == unknown:
            assert ours not in found, f"{ours} is unknown on the wire and must give no point"
        else:
            assert found[ours] == value, ours
    assert sum(int(expected[n].rstrip("u")) == unknown for n in names) == 5
    assert found["if_status"] == 3  # "status=up"


def _line_protocol_fields(line: str) -> dict[str, str]:
    fields = line.split(" ")[1]
    return dict(pair.split("=", 1) for pair in fields.split(","))


def test_gopacket_expanded_processor_sample() -> None:
    data = (VECTORS / "gopacket_SFlowTestPacket3_processor_expanded.bin").read_bytes()
    datagram = parse_datagram(data)
    assert (datagram.agent, datagram.sub_agent) == ("10.20.4.0", 100)
    found = under(points(data), "sflow.10_20_4_0.host")
    assert (found["cpu_5s"], found["cpu_1m"], found["cpu_5m"]) == (14.5, 13.7, 13.3)
    assert set(found) == {"cpu_5s", "cpu_1m", "cpu_5m", "memory_total", "memory_free"}


# tcpdump's decode of the 30-packet capture ------------------------------------------------


@dataclass
class OutSample:
    sequence: int
    source_type: int
    index: int
    values: dict[str, int] = field(default_factory=dict)
    hex_records: dict[int, bytes] = field(default_factory=dict)


@dataclass
class OutPacket:
    version: int
    header: tuple[str, int, int, int, int] | None = None
    samples: list[OutSample] = field(default_factory=list)


_LINES: list[tuple[re.Pattern[str], tuple[str | None, ...]]] = [
    (re.compile(r"ifindex \d+, iftype \d+, ifspeed (\d+)"), ("if_speed",)),
    (re.compile(r"ifstatus (\d+)"), ("if_status",)),
    *(
        (
            re.compile(
                rf"{way} octets (\d+), unicast pkts (\d+), multicast pkts (\d+), "
                rf"broadcast pkts (\d+), discards (\d+)"
            ),
            tuple(
                f"if_{way.lower()}_{name}"
                for name in ("octets", "ucast_pkts", "multicast_pkts", "broadcast_pkts", "discards")
            ),
        )
        for way in ("In", "Out")
    ),
    (
        re.compile(r"In errors (\d+), unknown protos (\d+)"),
        ("if_in_errors", "if_in_unknown_protos"),
    ),
    (re.compile(r"Out errors (\d+), promisc mode (\d+)"), ("if_out_errors", None)),
    (
        re.compile(
            r"align errors (\d+), fcs errors (\d+), single collision (\d+), "
            r"multiple collision (\d+), test error (\d+)"
        ),
        tuple(f"dot3_{name}" for name in ETHERNET_NAMES[:5]),
    ),
    (
        re.compile(
            r"deferred (\d+), late collision (\d+), excessive collision (\d+), "
            r"mac trans error (\d+)"
        ),
        tuple(f"dot3_{name}" for name in ETHERNET_NAMES[5:9]),
    ),
    (
        re.compile(
            r"carrier error (\d+), frames too long (\d+), mac receive errors (\d+), "
            r"symbol errors (\d+)"
        ),
        tuple(f"dot3_{name}" for name in ETHERNET_NAMES[9:]),
    ),
]


_HEADER = re.compile(
    r"sFlowv5, IPv4 agent ([\d.]+), agent-id (\d+), seqnum (\d+), uptime (\d+), samples (\d+)"
)


def read_tcpdump_out() -> list[OutPacket]:
    packets: list[OutPacket] = []
    record: int | None = None
    for line in (VECTORS / "tcpdump_sflow_multiple_counter_30_pdus.out").read_text().splitlines():
        if match := _HEADER.search(line):
            agent, *numbers = match.groups()
            sub, seq, uptime, count = map(int, numbers)
            packets.append(OutPacket(5, (agent, sub, seq, uptime, count)))
        elif match := re.search(r"sFlow version (\d+) packet not supported", line):
            packets.append(OutPacket(int(match.group(1))))
        elif match := re.search(
            r"counter sample \(\d\), length \d+, seqnum (\d+), type (\d+), idx (\d+)",
            line,
        ):
            sequence, source_type, index = map(int, match.groups())
            packets[-1].samples.append(OutSample(sequence, source_type, index))
        elif match := re.search(r"enterprise 0, Unknown \((\d+)\)", line):
            record = int(match.group(1))
            packets[-1].samples[-1].hex_records[record] = b""
        elif match := re.match(r"\s+0x[0-9a-f]{4}:\s+((?:[0-9a-f]{2,4} ?)+)", line):
            assert record is not None
            sample = packets[-1].samples[-1]
            sample.hex_records[record] += bytes.fromhex(match.group(1))
        else:
            for pattern, names in _LINES:
                if match := pattern.search(line):
                    for name, value in zip(names, match.groups(), strict=True):
                        if name is not None:
                            packets[-1].samples[-1].values[name] = int(value)
    return packets


def test_tcpdump_capture_matches_tcpdumps_decode() -> None:
    expected = read_tcpdump_out()
    payloads = pcap_udp_payloads()
    assert len(payloads) == len(expected) == 30
    decoder = SflowDecoder()
    samples = rejected = 0
    for data, packet in zip(payloads, expected, strict=True):
        datagram = parse_datagram(data)
        if packet.version != 5:
            decoded = decoder.decode(data, NOW)
            assert (len(decoded.batch), decoded.samples, decoded.problem) == (0, 0, "bad_version")
            rejected += 1
            continue
        assert datagram.problem is None
        assert packet.header == (
            datagram.agent,
            datagram.sub_agent,
            datagram.sequence,
            datagram.uptime,
            len(datagram.samples),
        )
        found = points(data, decoder)
        for ours, theirs in zip(datagram.samples, packet.samples, strict=True):
            assert (ours.sequence, ours.source_type, ours.source_index) == (
                theirs.sequence,
                theirs.source_type,
                theirs.index,
            )
            if theirs.hex_records:
                _check_host_sample(found, theirs)
            else:
                base = f"sflow.{datagram.agent.replace('.', '_')}.{theirs.index}"
                assert under(found, base) == theirs.values
        samples += len(datagram.samples)
    assert (samples, rejected) == (144, 5)


def _check_host_sample(found: dict[str, float], sample: OutSample) -> None:
    """Host records that tcpdump prints as hex, read here at sflow_host.txt's offsets."""
    records = sample.hex_records
    assert set(records) == {2000, 2001, 2003, 2004, 2005, 2006}
    (length,) = struct.unpack_from(">I", records[2000])
    hostname = records[2000][4 : 4 + length].decode()
    values = under(found, f"sflow.{clean(hostname)}.host")

    def word(number: int, at: int, fmt: str = ">I") -> float:
        return float(struct.unpack_from(fmt, records[number], at)[0])

    assert values["adapters"] == word(2001, 0)
    assert values["load_one"] == word(2003, 0, ">f")
    assert values["proc_total"] == word(2003, 16)
    assert values["cpu_user"] == word(2003, 32)
    assert values["contexts"] == word(2003, 64)
    assert values["mem_total"] == word(2004, 0, ">Q")
    assert values["swap_free"] == word(2004, 48, ">Q")
    assert values["page_in"] == word(2004, 56)
    assert values["swap_out"] == word(2004, 68)
    assert values["disk_total"] == word(2005, 0, ">Q")
    assert values["part_max_used"] == word(2005, 16) / 100
    assert values["disk_bytes_read"] == word(2005, 24, ">Q")
    assert values["disk_write_time"] == word(2005, 48)
    assert values["bytes_in"] == word(2006, 0, ">Q")
    assert values["drops_out"] == word(2006, 36)


# Damage ----------------------------------------------------------------------------------


def test_short_and_unsupported_datagrams_are_named() -> None:
    good = (VECTORS / "cistern_counter_sample.bin").read_bytes()
    assert parse_datagram(b"").problem == "truncated"
    assert parse_datagram(good[:6]).problem == "truncated"
    assert parse_datagram(b"\x00\x00\x00\x04" + good[4:]).problem == "bad_version"
    assert parse_datagram(good[:4] + b"\x00\x00\x00\x07" + good[8:]).problem == "bad_address"
    assert parse_datagram(good[:30]).problem == "truncated"


def test_a_bad_record_drops_its_sample_but_not_the_next() -> None:
    data = pcap_udp_payloads()[0]
    whole = parse_datagram(data).samples
    at = walk(data).records[(0, 1)] - 4  # the first sample's generic interface record length
    for lie, problem in ((40, "bad_record"), (4000, "bad_sample")):
        damaged = bytearray(data)
        struct.pack_into(">I", damaged, at, lie)
        datagram = parse_datagram(bytes(damaged))
        assert (datagram.problem, datagram.samples) == (problem, whole[1:])


def test_lying_counts_cost_no_more_than_the_bytes() -> None:
    data = bytearray((VECTORS / "gopacket_SFlowTestPacket3_processor_expanded.bin").read_bytes())
    frame = walk(bytes(data))
    struct.pack_into(">I", data, frame.count_at, 0xFFFFFFFF)
    datagram = parse_datagram(bytes(data))
    assert (len(datagram.samples), datagram.problem) == (1, "truncated")


DATAGRAMS = [data for data in all_datagrams() if data[:4] == b"\x00\x00\x00\x05"]


@st.composite
def damaged(draw: st.DrawFn) -> tuple[bytes, bytes, int]:
    """A real datagram, a damaged copy, and the offset of the first byte that differs."""
    data = draw(st.sampled_from(DATAGRAMS))
    how = draw(st.sampled_from(["truncate", "flip", "lie"]))
    if how == "truncate":
        cut = draw(st.integers(0, len(data) - 1))
        return data, data[:cut], cut
    copy = bytearray(data)
    if how == "flip":
        at = draw(st.integers(0, len(data) - 1))
        copy[at] ^= 1 << draw(st.integers(0, 7))
        return data, bytes(copy), at
    at = draw(st.sampled_from(walk(data).length_fields))
    lie = draw(st.one_of(st.integers(0, 64), st.integers(0, 0xFFFFFFFF)))
    struct.pack_into(">I", copy, at, lie)
    return data, bytes(copy), at


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_damage_never_escapes_and_keeps_the_samples_before_it(
    case: tuple[bytes, bytes, int],
) -> None:
    original, broken, at = case
    datagram = parse_datagram(broken)
    if len(broken) < len(original):
        assert datagram.problem is not None
    frame = walk(original)
    if at >= frame.header_end:
        intact = sum(end <= at for _, end in frame.samples)
        assert datagram.samples[:intact] == parse_datagram(original).samples[:intact]
    for decoder in (SflowDecoder(), SflowDecoder(rates=True)):
        decoded = decoder.decode(broken, NOW)
        assert decoded.samples == len(datagram.samples)
        for path, value in zip(decoded.batch.paths, decoded.batch.values, strict=True):
            assert math.isfinite(value)
            nodes = path.split(".")
            assert len(nodes) == 4, path
            assert all(nodes), path
            assert all(clean(node) == node for node in nodes), path


# Rates -------------------------------------------------------------------------------------

ETH = "sflow.192_168_119_184.eno1"


class Agent:
    """Feeds one decoder the interface datagram with chosen clocks and counters."""

    def __init__(self) -> None:
        self.decoder = SflowDecoder(rates=True)

    def send(
        self, sequence: int, uptime: int, sample_sequence: int, octets: int, packets: int
    ) -> dict[str, float]:
        data = interface_datagram(sequence, uptime, sample_sequence, octets, packets)
        return under(points(data, self.decoder), ETH)


def test_rates_need_a_baseline_and_keep_gauges() -> None:
    agent = Agent()
    first = agent.send(1, 10_000, 1, 1_000, 10)
    assert first == {"if_speed": 1e9, "if_status": 3}
    second = agent.send(2, 20_000, 2, 2_000, 60)
    assert second["if_in_octets"] == 100.0
    assert second["if_in_ucast_pkts"] == 5.0
    assert second["if_out_octets"] == 0.0
    assert second["if_speed"] == 1e9
    assert "if_in_broadcast_pkts" not in second  # unknown on the wire


def test_rates_across_32_and_64_bit_wraps() -> None:
    agent = Agent()
    agent.send(1, 10_000, 1, 2**64 - 500, 2**32 - 10)
    found = agent.send(2, 15_000, 2, 500, 40)
    assert (found["if_in_octets"], found["if_in_ucast_pkts"]) == (200.0, 10.0)


def test_rates_across_the_uptime_wrap() -> None:
    agent = Agent()
    agent.send(7, 2**32 - 4_000, 1, 0, 0)
    assert agent.send(8, 6_000, 2, 10_000, 100)["if_in_octets"] == 1_000.0


@pytest.mark.parametrize(
    ("sequence", "uptime", "sample_sequence"),
    [(1, 500, 1), (11, 500, 6), (11, 30_000, 1)],
    ids=["sequence-and-uptime-back", "uptime-back", "sample-sequence-back"],
)
def test_a_restart_drops_the_baselines(sequence: int, uptime: int, sample_sequence: int) -> None:
    agent = Agent()
    agent.send(10, 20_000, 5, 1_000_000, 1_000)
    restarted = agent.send(sequence, uptime, sample_sequence, 10, 1)
    assert "if_in_octets" not in restarted
    assert restarted["if_speed"] == 1e9
    after = agent.send(sequence + 1, uptime + 1_000, sample_sequence + 1, 110, 2)
    assert (after["if_in_octets"], after["if_in_ucast_pkts"]) == (100.0, 1.0)


def test_same_instant_gives_no_rate() -> None:
    agent = Agent()
    agent.send(1, 10_000, 1, 0, 0)
    assert "if_in_octets" not in agent.send(2, 10_000, 2, 50, 5)
    assert agent.send(3, 11_000, 3, 100, 10)["if_in_octets"] == 100.0


# Naming ------------------------------------------------------------------------------------


def _interface(
    address: bytes = b"\x00\x00\x00\x01\xc0\xa8\x77\xb8",
    source_type: int = 0,
    port: bytes = b"eno1",
) -> bytes:
    """The published interface datagram with another agent address, source type or name."""
    data = bytearray(TELEGRAF.read_bytes())
    frame = walk(bytes(data))
    data[frame.samples[0][0] + 12] = source_type
    name_at = frame.records[(0, 1005)] + 4
    data[name_at : name_at + 4] = port
    return bytes(data[:4] + address + data[12:])


@pytest.mark.parametrize(
    ("datagram", "base"),
    [
        (_interface(), "sflow.192_168_119_184.eno1"),
        (_interface(port=b"e.1*"), "sflow.192_168_119_184.e_1_"),
        (_interface(port=b"a/ b"), "sflow.192_168_119_184.a__b"),
        (_interface(port=b"\xff\x00[]"), "sflow.192_168_119_184.____"),
        (_interface(source_type=1), "sflow.192_168_119_184.vlan3"),
        (_interface(source_type=3), "sflow.192_168_119_184.vm3"),
        (_interface(source_type=9), "sflow.192_168_119_184.source9_3"),
        (
            _interface(b"\x00\x00\x00\x02" + socket.inet_pton(socket.AF_INET6, "2001:db8::1")),
            "sflow.2001_db8__1.eno1",
        ),
        (_interface(b"\x00\x00\x00\x00"), "sflow.unknown.eno1"),
    ],
)
def test_paths(datagram: bytes, base: str) -> None:
    found = points(datagram)
    assert found
    assert all(path.startswith(base + ".") for path in found), sorted(found)[:2]
    assert found[base + ".if_in_octets"] == 3910


def test_a_host_description_names_the_agents_later_interface_samples() -> None:
    decoder = SflowDecoder(prefix="net.sflow")
    fractal = b"\x00\x00\x00\x01" + socket.inet_aton("192.168.1.7")
    assert "net.sflow.192_168_1_7.eno1.if_in_octets" in points(_interface(fractal), decoder)
    assert "net.sflow.fractal.host.cpu_num" in points(
        (VECTORS / "cistern_host_sample.bin").read_bytes(), decoder
    )
    assert "net.sflow.fractal.eno1.if_in_octets" in points(_interface(fractal), decoder)

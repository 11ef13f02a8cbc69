"""Fixed-size counter records: their wire layout and what each field becomes.

Each layout is one precompiled `struct.Struct` plus, per field worth a point, its
metric name and kind. Kinds decide three things: which raw value means "unknown" (no
point), whether the value is a counter (turned into a rate when rates are on) or a gauge
(always emitted as it is), and whether a gauge is a state (a code, such as an interface's
up and down bits, which windows take the last of rather than average). Identity and
attribute fields (ifIndex, ifType, ifDirection, promiscuous mode, VLAN id) give no point.
"""

from __future__ import annotations

import math
import struct
from enum import Enum
from typing import NamedTuple


class Kind(Enum):
    """How a field is declared: its unknown sentinel, its scale, and counter or gauge."""

    COUNTER32 = "counter32"  # unsigned, wraps at 2**32; 0xFFFFFFFF is unknown
    COUNTER64 = "counter64"  # unsigned, wraps at 2**64; all ones is unknown
    GAUGE32 = "gauge32"  # unsigned; 0xFFFFFFFF is unknown
    GAUGE64 = "gauge64"  # unsigned; all ones is unknown
    STATE32 = "state32"  # a gauge32 holding a code or bits, not a quantity
    PERCENT = "percent"  # signed hundredths of a percent; negative is unknown
    LOAD = "load"  # IEEE float; negative or not finite is unknown


class Counter(NamedTuple):
    """A counter field: its position `at` in the struct, its all-ones `unknown` sentinel,
    and the `modulus` at which it wraps."""

    name: str
    at: int
    unknown: int
    modulus: int


class Gauge(NamedTuple):
    """A gauge field: known when `0 <= value < limit` (NaN never is), then divided by `divisor`.

    `limit` stays an int for unsigned fields so that the all-ones sentinel compares exactly.
    """

    name: str
    at: int
    limit: float
    divisor: float


class Layout(NamedTuple):
    """The fields worth a point in one record format, read with `struct`; `states` names
    the gauges that are states."""

    struct: struct.Struct
    counters: tuple[Counter, ...]
    gauges: tuple[Gauge, ...]
    states: frozenset[str] = frozenset()


_GAUGE_RANGE = {
    Kind.GAUGE32: (0xFFFFFFFF, 1.0),
    Kind.STATE32: (0xFFFFFFFF, 1.0),
    Kind.GAUGE64: (0xFFFFFFFFFFFFFFFF, 1.0),
    Kind.PERCENT: (math.inf, 100.0),
    Kind.LOAD: (math.inf, 1.0),
}


def _layout(fmt: str, *fields: tuple[str, Kind] | None) -> Layout:
    """A layout whose `fields` follow the struct's members in order; None skips one."""
    packed = struct.Struct(fmt)
    if len(fields) != len(packed.unpack(bytes(packed.size))):
        raise ValueError(f"layout {fmt!r} does not match its {len(fields)} fields")
    counters: list[Counter] = []
    gauges: list[Gauge] = []
    states: set[str] = set()
    for at, spec in enumerate(fields):
        if spec is None:
            continue
        name, kind = spec
        if kind is Kind.COUNTER32 or kind is Kind.COUNTER64:
            bits = 32 if kind is Kind.COUNTER32 else 64
            counters.append(Counter(name, at, (1 << bits) - 1, 1 << bits))
        else:
            gauges.append(Gauge(name, at, *_GAUGE_RANGE[kind]))
            if kind is Kind.STATE32:
                states.add(name)
    return Layout(packed, tuple(counters), tuple(gauges), frozenset(states))


C32, C64, G32, G64 = Kind.COUNTER32, Kind.COUNTER64, Kind.GAUGE32, Kind.GAUGE64

# sFlow v5, enterprise 0, format 1: generic interface counters (RFC 2233).
IF_COUNTERS = _layout(
    ">IIQIIQ6IQ6I",
    None,  # ifIndex: the source's identity
    None,  # ifType: an attribute, not a measurement
    ("if_speed", G64),
    None,  # ifDirection: an attribute
    ("if_status", Kind.STATE32),  # bit 0: admin up, bit 1: oper up
    ("if_in_octets", C64),
    ("if_in_ucast_pkts", C32),
    ("if_in_multicast_pkts", C32),
    ("if_in_broadcast_pkts", C32),
    ("if_in_discards", C32),
    ("if_in_errors", C32),
    ("if_in_unknown_protos", C32),
    ("if_out_octets", C64),
    ("if_out_ucast_pkts", C32),
    ("if_out_multicast_pkts", C32),
    ("if_out_broadcast_pkts", C32),
    ("if_out_discards", C32),
    ("if_out_errors", C32),
    None,  # ifPromiscuousMode: an attribute
)

# Format 2: ethernet interface counters (RFC 2358).
ETHERNET = _layout(
    ">13I",
    *(
        (f"dot3_{name}", C32)
        for name in (
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
    ),
)

# Format 5: VLAN counters.
VLAN = _layout(
    ">IQ4I",
    None,  # vlan_id: the source's identity
    ("vlan_octets", C64),
    ("vlan_ucast_pkts", C32),
    ("vlan_multicast_pkts", C32),
    ("vlan_broadcast_pkts", C32),
    ("vlan_discards", C32),
)

# Format 1001: processor.
PROCESSOR = _layout(
    ">3iQQ",
    ("cpu_5s", Kind.PERCENT),
    ("cpu_1m", Kind.PERCENT),
    ("cpu_5m", Kind.PERCENT),
    ("memory_total", G64),
    ("memory_free", G64),
)

_HOST_CPU_FIELDS: tuple[tuple[str, Kind], ...] = (
    ("load_one", Kind.LOAD),
    ("load_five", Kind.LOAD),
    ("load_fifteen", Kind.LOAD),
    ("proc_run", G32),
    ("proc_total", G32),
    ("cpu_num", G32),
    ("cpu_speed", G32),
    ("uptime", G32),
    ("cpu_user", C32),
    ("cpu_nice", C32),
    ("cpu_system", C32),
    ("cpu_idle", C32),
    ("cpu_wio", C32),
    ("cpu_intr", C32),
    ("cpu_sintr", C32),
    ("interrupts", C32),
    ("contexts", C32),
)

# Host sFlow 2003: host_cpu, first as published (68 bytes), then with steal and guest times.
HOST_CPU = _layout(">3f14I", *_HOST_CPU_FIELDS)
HOST_CPU_LONG = _layout(
    ">3f17I", *_HOST_CPU_FIELDS, ("cpu_steal", C32), ("cpu_guest", C32), ("cpu_guest_nice", C32)
)

# 2004: host_memory.
HOST_MEMORY = _layout(
    ">7Q4I",
    ("mem_total", G64),
    ("mem_free", G64),
    ("mem_shared", G64),
    ("mem_buffers", G64),
    ("mem_cached", G64),
    ("swap_total", G64),
    ("swap_free", G64),
    ("page_in", C32),
    ("page_out", C32),
    ("swap_in", C32),
    ("swap_out", C32),
)

# 2005: host_disk_io.
HOST_DISK_IO = _layout(
    ">QQiIQIIQI",
    ("disk_total", G64),
    ("disk_free", G64),
    ("part_max_used", Kind.PERCENT),
    ("disk_reads", C32),
    ("disk_bytes_read", C64),
    ("disk_read_time", C32),
    ("disk_writes", C32),
    ("disk_bytes_written", C64),
    ("disk_write_time", C32),
)

# 2006: host_net_io.
HOST_NET_IO = _layout(
    ">QIIIQIII",
    ("bytes_in", C64),
    ("pkts_in", C32),
    ("errs_in", C32),
    ("drops_in", C32),
    ("bytes_out", C64),
    ("pkts_out", C32),
    ("errs_out", C32),
    ("drops_out", C32),
)

# 2100: virt_node (the hypervisor).
VIRT_NODE = _layout(
    ">IIQQI",
    ("vnode_mhz", G32),
    ("vnode_cpus", G32),
    ("vnode_memory", G64),
    ("vnode_memory_free", G64),
    ("vnode_domains", G32),
)

# 2101: virt_cpu (one virtual machine).
VIRT_CPU = _layout(">3I", ("vcpu_state", Kind.STATE32), ("vcpu_time", C32), ("vcpu_count", G32))

# 2102: virt_memory.
VIRT_MEMORY = _layout(">QQ", ("vmem_memory", G64), ("vmem_max", G64))

# 2103: virt_disk_io.
VIRT_DISK_IO = _layout(
    ">QQQIQIQI",
    ("vdisk_capacity", G64),
    ("vdisk_allocation", G64),
    ("vdisk_physical", G64),
    ("vdisk_rd_req", C32),
    ("vdisk_rd_bytes", C64),
    ("vdisk_wr_req", C32),
    ("vdisk_wr_bytes", C64),
    ("vdisk_errs", C32),
)

# 2104: virt_net_io.
VIRT_NET_IO = _layout(
    ">QIIIQIII",
    ("vnet_rx_bytes", C64),
    ("vnet_rx_pkts", C32),
    ("vnet_rx_errs", C32),
    ("vnet_rx_drop", C32),
    ("vnet_tx_bytes", C64),
    ("vnet_tx_pkts", C32),
    ("vnet_tx_errs", C32),
    ("vnet_tx_drop", C32),
)

FIXED: dict[int, tuple[Layout, ...]] = {
    1: (IF_COUNTERS,),
    2: (ETHERNET,),
    5: (VLAN,),
    1001: (PROCESSOR,),
    2003: (HOST_CPU_LONG, HOST_CPU),
    2004: (HOST_MEMORY,),
    2005: (HOST_DISK_IO,),
    2006: (HOST_NET_IO,),
    2100: (VIRT_NODE,),
    2101: (VIRT_CPU,),
    2102: (VIRT_MEMORY,),
    2103: (VIRT_DISK_IO,),
    2104: (VIRT_NET_IO,),
}
"""Enterprise-0 counter formats by number; where a format grew, its longest layout first."""

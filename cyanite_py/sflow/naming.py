"""How sFlow counters are named: `<prefix>.<agent>.<source>.<counter>`.

- agent: the hostname from the agent's host description (Host sFlow record 2000 in a
  sample of the physical host, data source type 2), once one has been received from that
  agent address; until then, and for agents that never send one, the agent address with
  `.` and `:` replaced by `_` (`10_0_0_1`, `2001_db8__1`); `unknown` when the datagram
  gives no address.
- source, by the sample's data source type:
  0 (interface): its name from the port-name record (0:1005) in the same sample, else the
  ifIndex (`eth0`, `17`); 1 (VLAN): `vlan<id>`; 2 (physical host): `host`; 3 (virtual
  machine or container): its hostname from its own host description, else `vm<index>`;
  any other type: `source<type>_<index>`.
- counter: the field's name, e.g. `if_in_octets`, `cpu_user`, `mem_free`.

Graphite cannot hold some characters in a node: dots, whitespace, the glob characters
`*?[]{}`, the function-call characters `(),=;"'\\`, `/` (a directory to file-based
stores), and anything outside printable ASCII. Each one in a hostname or interface name
becomes `_`, so `Gi1/0/1` is `Gi1_0_1`.
"""

from __future__ import annotations

import re

from cyanite_py.sflow.wire import CounterSample

PHYSICAL_HOST = 2
_UNSAFE = re.compile(r"""[^\x21-\x7e]|[./*?\[\]{}(),=;"'\\]""")
MAX_AGENTS = 65536


def clean(name: str) -> str:
    """`name` made safe as one Graphite path node."""
    return _UNSAFE.sub("_", name)


def source_name(sample: CounterSample) -> str:
    """The path node naming a sample's data source."""
    kind, index = sample.source_type, sample.source_index
    if kind == 0:
        return clean(sample.port_name) or str(index)
    if kind == PHYSICAL_HOST:
        return "host"
    if kind == 3:
        return clean(sample.hostname) or f"vm{index}"
    if kind == 1:
        return f"vlan{index}"
    return f"source{kind}_{index}"


class AgentNames:
    """Agent addresses to path nodes, learning hostnames from host descriptions.

    Bounded: past `limit` agents the oldest is forgotten (and named by address again until
    its next host description), so spoofed addresses cannot grow memory without end.
    """

    def __init__(self, limit: int = MAX_AGENTS) -> None:
        self._limit = limit
        self._hostnames: dict[str, str] = {}

    def name(self, address: str, samples: list[CounterSample]) -> str:
        """The agent's node, after learning any physical-host hostname in `samples`."""
        for sample in samples:
            if sample.source_type == PHYSICAL_HOST and sample.hostname:
                hostname = clean(sample.hostname)
                if self._hostnames.get(address) != hostname:
                    self._learn(address, hostname)
        known = self._hostnames.get(address)
        if known is not None:
            return known
        return address.replace(".", "_").replace(":", "_") if address else "unknown"

    def _learn(self, address: str, hostname: str) -> None:
        if address not in self._hostnames and len(self._hostnames) >= self._limit:
            del self._hostnames[next(iter(self._hostnames))]
        self._hostnames[address] = hostname

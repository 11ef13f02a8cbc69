"""The whole server with an sFlow input: real datagrams in over UDP, read back over HTTP."""

from __future__ import annotations

from typing import Any

import trio

from cyanite_py.sflow.decoder import SflowDecoder
from tests.helpers import now, running_server, server_config
from tests.sflow_vectors import BINS, pcap_udp_payloads

SFLOW = {"type": "sflow", "host": "127.0.0.1", "port": 0}


async def test_real_datagrams_read_back_over_http() -> None:
    datagrams = [path.read_bytes() for path in BINS] + pcap_udp_payloads()
    expected = SflowDecoder()
    points = sum(len(expected.decode(data, 0).batch) for data in datagrams)
    async with running_server(server_config(input=[SFLOW])) as s:
        t = now()
        with trio.socket.socket(type=trio.socket.SOCK_DGRAM) as sock:
            for data in datagrams:
                await sock.sendto(data, ("127.0.0.1", s.bound.port("sflow")))
        await s.until("input_samples_decoded", 4 + 144)
        await s.until("engine_points", points)
        assert s.registry.total("input_points_dropped") == 0
        name = f"sflow_{s.bound.port('sflow')}"
        assert s.registry.value("input_rejected", input=name, reason="bad_version") == 5

        async def last(path: str) -> Any:
            body = await s.metrics(path=path, **{"from": str(t - 60)})
            return body["series"][path][-1]

        assert await last("sflow.208_85_240_52.9.if_in_octets") == 79282473.0
        assert await last("sflow.192_168_119_184.eno1.if_out_octets") == 3946.0
        assert await last("sflow.fractal.host.cpu_num") == 4.0
        assert await last("sflow.10_20_4_0.host.cpu_5s") == 14.5
        assert await last("sflow.use03710ff.host.mem_total") == float(0x3CAA65000)
        found = await s.http.get("/paths", params={"query": "sflow.fractal.host.cpu_*"})
        assert "sflow.fractal.host.cpu_user" in {node["path"] for node in found.json()}
        absent = await s.http.get(
            "/paths", params={"query": "sflow.192_168_119_184.eno1.if_in_broadcast_pkts"}
        )
        assert absent.json() == []

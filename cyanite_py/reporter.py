"""The server's own metrics: Prometheus text, and points written into its own engine.

Like carbon's `carbon.agents.<host>.*`, every counter and gauge is written every
`interval` under `prefix` (`{host}` is replaced by this machine's short hostname), so a
dashboard can graph the server with the same tools as everything else.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable

import trio

from cyanite_py.counters import Labels, Registry
from cyanite_py.model import EngineBatch, PointBatch
from cyanite_py.settings import Duration, settings

_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")


@settings
class ReporterConfig:
    enabled: bool = True
    interval: Duration = 60
    prefix: str = "cyanite.{host}"


def prometheus_text(registry: Registry) -> str:
    """Every counter and gauge in Prometheus' text exposition format."""
    lines: list[str] = []
    described: set[str] = set()
    for name, help_text, labels, value, kind in sorted(registry.samples(), key=lambda s: s[0]):
        metric = f"cyanite_{name}_total" if kind == "counter" else f"cyanite_{name}"
        if metric not in described:
            described.add(metric)
            lines.append(f"# HELP {metric} {help_text}")
            lines.append(f"# TYPE {metric} {kind}")
        rendered = ",".join(f'{key}="{_escape(val)}"' for key, val in labels)
        lines.append(f"{metric}{{{rendered}}} {value:g}" if rendered else f"{metric} {value:g}")
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def graphite_name(prefix: str, name: str, labels: Labels) -> str:
    """`prefix.name.label_value...`, each part made safe as one path node."""
    parts = [name, *(value for _, value in labels)]
    return ".".join([prefix, *(_UNSAFE.sub("_", part) for part in parts)])


class Reporter:
    """Writes the registry into the engine every interval."""

    def __init__(
        self,
        config: ReporterConfig,
        registry: Registry,
        send: trio.MemorySendChannel[EngineBatch],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._registry = registry
        self._send = send
        self._clock = clock
        host = socket.gethostname().split(".")[0]
        self.prefix = config.prefix.replace("{host}", _UNSAFE.sub("_", host))

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Send the registry to the engine every interval, through the queue every input
        uses, until cancelled."""
        async with self._send:
            task_status.started()
            if not self.config.enabled:
                return
            while True:
                await trio.sleep(self.config.interval)
                await self._send.send(self.report())

    def report(self) -> PointBatch:
        """One point per counter and gauge, stamped now."""
        now = int(self._clock())
        batch = PointBatch()
        for name, _, labels, value, _ in self._registry.samples():
            batch.paths.append(graphite_name(self.prefix, name, labels))
            batch.values.append(float(value))
            batch.times.append(now)
        return batch

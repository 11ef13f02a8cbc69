"""Builds every component from the configuration and runs them in one nursery.

Start order is store → index (rebuilt from the store) → writer → engine → inputs → HTTP →
reporter. Stopping reverses it: inputs and HTTP stop first, the engine sees its queue
close and flushes every open window, the writer drains to the store, and only then are
the store and index closed, all within the writer's shutdown timeout. A stop that could
not write everything in that time logs how many snapshots it leaves and says so in
`unwritten`, so the command exits non-zero.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import trio

from cyanite_py.api.app import ApiServer, build_app
from cyanite_py.config import Config, IndexConfig, InputConfig, StoreConfig
from cyanite_py.counters import Registry
from cyanite_py.engine import Engine
from cyanite_py.engine.rules import first_input_aggregation
from cyanite_py.index.base import Index, PathLoader, PathsSince
from cyanite_py.index.elasticsearch_config import ElasticsearchIndexConfig
from cyanite_py.index.memory import MemoryIndex, MemoryIndexConfig
from cyanite_py.inputs.carbon import CarbonInput, CarbonInputConfig
from cyanite_py.inputs.pickle import PickleInput, PickleInputConfig
from cyanite_py.inputs.sflow import SflowInput, SflowInputConfig
from cyanite_py.model import EngineBatch
from cyanite_py.query import Reader
from cyanite_py.reporter import Reporter
from cyanite_py.sflow.aggregation import SflowAggregation
from cyanite_py.store.base import StoreWithEvents
from cyanite_py.store.cassandra.config import CassandraStoreConfig
from cyanite_py.store.memory import MemoryStore, MemoryStoreConfig
from cyanite_py.store.sqlite.config import SqliteStoreConfig
from cyanite_py.store.sqlite.store import SqliteStore
from cyanite_py.store.writer import StoreWriter
from cyanite_py.summary import Summary

log = logging.getLogger(__name__)

ENGINE_QUEUE_BATCHES = 256

DRAIN_PROGRESS_SECONDS = 5.0
"""How often a stop that is still writing says how much is left."""


class CannotListen(Exception):
    """An input or the HTTP API could not bind its socket; the message names which one."""


class Input(Protocol):
    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Bind, report the bound port, and hand point batches on until cancelled."""
        ...


@dataclass(frozen=True, slots=True)
class Bound:
    """Where the running server listens: the HTTP port and each input's `(type, port)`."""

    api: int
    inputs: tuple[tuple[str, int], ...]

    def port(self, input_type: str) -> int:
        """The port of the first input of this type."""
        return next(port for kind, port in self.inputs if kind == input_type)


def build_store(config: StoreConfig, registry: Registry) -> StoreWithEvents:
    if isinstance(config, SqliteStoreConfig):
        return SqliteStore(config, registry)
    if isinstance(config, MemoryStoreConfig):
        return MemoryStore(config, registry)
    if isinstance(config, CassandraStoreConfig):
        from cyanite_py.store.cassandra.store import CassandraStore  # loads the driver only if used

        return CassandraStore(config, registry)
    raise AssertionError(f"no store for {config!r}")


def build_index(
    config: IndexConfig,
    registry: Registry,
    load_paths: PathLoader,
    paths_since: PathsSince | None = None,
) -> Index:
    if isinstance(config, MemoryIndexConfig):
        return MemoryIndex(config, registry, load_paths, paths_since)
    if isinstance(config, ElasticsearchIndexConfig):
        from cyanite_py.index.elasticsearch import ElasticsearchIndex  # the client only if used

        return ElasticsearchIndex(config, registry)
    raise AssertionError(f"no index for {config!r}")


def build_input(
    config: InputConfig,
    send: trio.MemorySendChannel[EngineBatch],
    registry: Registry,
    drain_seconds: float,
) -> Input:
    if isinstance(config, CarbonInputConfig):
        return CarbonInput(config, send, registry, drain_seconds)
    if isinstance(config, PickleInputConfig):
        return PickleInput(config, send, registry)
    if isinstance(config, SflowInputConfig):
        return SflowInput(config, send, registry)
    raise AssertionError(f"no input for {config!r}")


class Server:
    """The whole server, built inert; `run` starts it and `stop` asks it to stop cleanly."""

    def __init__(self, config: Config, registry: Registry | None = None) -> None:
        self.config = config
        self.registry = registry or Registry()
        self.store = build_store(config.store, self.registry)
        self.index = build_index(
            config.index, self.registry, self.store.load_paths, self.store.load_paths_since
        )
        self.writer = StoreWriter(config.writer, self.store, self.registry)
        send, receive = trio.open_memory_channel[EngineBatch](ENGINE_QUEUE_BATCHES)
        self.engine = Engine(
            config.engine,
            config.drift,
            receive,
            self.writer.submit,
            self.index.add,
            self.registry,
            input_aggregation=first_input_aggregation(
                [
                    SflowAggregation(item.prefix, item.rates)
                    for item in config.input
                    if isinstance(item, SflowInputConfig)
                ]
            ),
        )
        self._senders = [send.clone() for _ in range(len(config.input) + 1)]
        send.close()
        self.inputs = [
            build_input(input_config, sender, self.registry, config.writer.shutdown_timeout)
            for input_config, sender in zip(config.input, self._senders, strict=False)
        ]
        self.reader = Reader(self.store, self.index, self.engine, events=self.store.events)
        app = build_app(self.reader, self.registry, config.api, self.store.events)
        self.api = ApiServer(config.api, app)
        self.reporter = Reporter(config.reporter, self.registry, self._senders[-1])
        self.summary = Summary(config.logging.interval, self.registry)
        self._stop = trio.Event()
        self.unwritten = 0
        """Snapshots a stop could not write within `writer.shutdown_timeout`."""

    def stop(self) -> None:
        """Stop reading, flush every open window, then return from `run`."""
        self._stop.set()

    async def run(self, *, task_status: trio.TaskStatus[Bound] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as core:
            await core.start(self.store.run)
            await core.start(self.index.run)
            # The paths just loaded live as long as the server: leave them out of every
            # full collection, which otherwise walks them all and stalls the event loop.
            gc.freeze()
            await core.start(self.writer.run)
            engine_done = trio.Event()
            core.start_soon(self._run_engine, engine_done)
            try:
                await self._serve_front(task_status)
            finally:
                await self._drain(engine_done)
                core.cancel_scope.cancel()
        self.unwritten = self.writer.unwritten() + self.engine.unwritten()
        if self.unwritten:
            log.error(
                "stopped with %d snapshots not written: the store did not take them within"
                " writer.shutdown_timeout (%ds)",
                self.unwritten,
                self.config.writer.shutdown_timeout,
            )
        else:
            log.info("stopped")

    async def _serve_front(self, task_status: trio.TaskStatus[Bound]) -> None:
        async with trio.open_nursery() as front:
            ports = []
            for position, (input_config, component) in enumerate(
                zip(self.config.input, self.inputs, strict=True)
            ):
                where = f"input.{position} ({input_config.type})"
                address = f"{input_config.host}:{input_config.port}"
                port = await _listen(front, component.run, f"{where} cannot listen on {address}")
                ports.append((input_config.type, port))
            address = f"{self.config.api.host}:{self.config.api.port}"
            api_port = await _listen(front, self.api.run, f"api cannot listen on {address}")
            await front.start(self.reporter.run)
            await front.start(self.summary.run)
            log.info(
                "serving: HTTP on %d; %s",
                api_port,
                ", ".join(f"{kind} on {port}" for kind, port in ports),
            )
            task_status.started(Bound(api_port, tuple(ports)))
            await self._stop.wait()
            log.info("stopping: no more input; flushing open windows")
            front.cancel_scope.cancel()

    async def _run_engine(self, done: trio.Event) -> None:
        try:
            await self.engine.run()
        finally:
            done.set()

    async def _drain(self, engine_done: trio.Event) -> None:
        """After the inputs stop: let the engine flush, then write everything out."""
        for sender in self._senders:
            sender.close()
        with trio.move_on_after(self.config.writer.shutdown_timeout, shield=True):
            async with trio.open_nursery() as progress:
                progress.start_soon(self._log_drain_progress)
                await engine_done.wait()
                await self.writer.drain()
                await self.index.flush()
                progress.cancel_scope.cancel()

    async def _log_drain_progress(self) -> None:
        while True:
            await trio.sleep(DRAIN_PROGRESS_SECONDS)
            log.info(
                "stopping: %d snapshots still to write (%d windows still to flush)",
                self.writer.unwritten(),
                self.engine.unwritten(),
            )


async def _listen(nursery: trio.Nursery, run: Callable[..., Awaitable[None]], what: str) -> int:
    """Start a listener and return its port; a bind that fails says `what` listener at
    which address (the OSError alone names neither)."""
    try:
        port: int = await nursery.start(run)
    except* OSError as failed:
        reason = failed.exceptions[0]
        while isinstance(reason, BaseExceptionGroup):
            reason = reason.exceptions[0]
        detail = reason.strerror if isinstance(reason, OSError) and reason.strerror else reason
        raise CannotListen(f"{what}: {detail}") from None
    return port

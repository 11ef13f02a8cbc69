"""The `cyanite-py` command: `serve`, `check-config` and `schema`."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import trio

from cyanite_py import __version__
from cyanite_py.config import Config, ConfigError, load_config
from cyanite_py.server import Server
from cyanite_py.store.base import StoreUnavailable
from cyanite_py.store.cassandra_config import CassandraStoreConfig, schema_cql

log = logging.getLogger("cyanite_py")

EXIT_UNWRITTEN = 3
"""`serve` stopped without writing everything it had received (the store did not take it
within `writer.shutdown_timeout`), so a supervisor can tell it from a clean stop."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.command(args)
    except ConfigError as error:
        print(f"invalid configuration:\n{error}", file=sys.stderr)
        return 2
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cyanite-py", description="A Graphite-compatible metrics aggregation server."
    )
    parser.add_argument("--version", action="version", version=f"cyanite-py {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--config", type=Path, help="YAML configuration (default: built-in)")
    serve.set_defaults(command=_serve)

    check = commands.add_parser("check-config", help="validate a configuration file")
    check.add_argument("file", type=Path)
    check.set_defaults(command=_check_config)

    schema = commands.add_parser("schema", help="print a backend's schema for operators")
    schema.add_argument("backend", choices=["cassandra"])
    schema.add_argument("--config", type=Path, help="take keyspace and replication from here")
    schema.set_defaults(command=_schema)
    return parser


def _serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    logging.basicConfig(
        level=config.logging.level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Modules, classes and configuration live as long as the process: leave them out of
    # every full collection, and out of the one at exit, which otherwise walks them all.
    gc.freeze()
    try:
        unwritten: int = trio.run(_serve_until_signalled, config)
    except BaseExceptionGroup as failed:
        unavailable, _ = failed.split(StoreUnavailable)
        if unavailable is None:
            raise
        log.error("cannot start: %s", _first(unavailable))
        return 1
    return EXIT_UNWRITTEN if unwritten else 0


def _first(group: BaseExceptionGroup[StoreUnavailable]) -> BaseException:
    """The first error of a group that may nest, as the one line to show."""
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


async def _serve_until_signalled(config: Config) -> int:
    """Serve until SIGTERM or SIGINT; return how many snapshots the stop left unwritten."""
    server = Server(config)
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_stop_on_signal, signals, server)
            await server.run()
            nursery.cancel_scope.cancel()
    return server.unwritten


async def _stop_on_signal(signals: AsyncIterator[int], server: Server) -> None:
    async for number in signals:
        log.info("received %s", signal.Signals(number).name)
        server.stop()


def _check_config(args: argparse.Namespace) -> int:
    if not args.file.exists():
        print(f"{args.file}: no such file", file=sys.stderr)
        return 2
    load_config(args.file)
    print(f"{args.file}: ok")
    return 0


def _schema(args: argparse.Namespace) -> int:
    store = load_config(args.config).store
    if not isinstance(store, CassandraStoreConfig):
        store = CassandraStoreConfig()
    print(schema_cql(store.keyspace, store.replication_factor))
    return 0


if __name__ == "__main__":
    sys.exit(main())

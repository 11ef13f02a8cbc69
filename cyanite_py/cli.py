"""The `cyanite-py` command: `serve`, `check-config`, `schema`, `import whisper` and
`rules-from`.

Exit codes: 0 a clean stop; 2 a configuration or start-up error, said in one line that
names the key or the port; 3 stopped with snapshots not written.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from pathlib import Path

import trio

from cyanite_py import __version__
from cyanite_py.allocator import return_large_blocks
from cyanite_py.config import Config, ConfigError, load_config, require_extras
from cyanite_py.migrate.commands import import_whisper, rules_from
from cyanite_py.runtime import tune_for_latency
from cyanite_py.server import Server
from cyanite_py.store.cassandra.config import CassandraStoreConfig, schema_cql

log = logging.getLogger("cyanite_py")

EXIT_OK = 0
EXIT_CONFIG = 2
"""A configuration or start-up error: a bad key, a port in use, a store that cannot open."""
EXIT_UNWRITTEN = 3
"""`serve` stopped without writing everything it had received (the store did not take it
within `writer.shutdown_timeout`), so a supervisor can tell it from a clean stop."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.command(args)
        sys.stdout.flush()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    except BrokenPipeError:
        # The reader went away (`cyanite-py schema cassandra | head -3`): nothing more is
        # wanted, so end quietly, and keep the interpreter's own flush at exit quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
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

    imports = commands.add_parser("import", help="bring in history kept by another server")
    formats = imports.add_subparsers(required=True, metavar="FORMAT")
    whisper = formats.add_parser("whisper", help="every .wsp file under a directory")
    whisper.add_argument("directory", type=Path, help="a.b.c is read from DIRECTORY/a/b/c.wsp")
    whisper.add_argument("--config", type=Path, help="the server's YAML: store and rules")
    whisper.add_argument(
        "--state", type=Path, help="where finished files are recorded (default: by the store)"
    )
    whisper.set_defaults(command=_import_whisper)

    rules = commands.add_parser(
        "rules-from", help="print engine.rules for carbon's storage-schemas.conf"
    )
    rules.add_argument("file", type=Path)
    rules.set_defaults(command=_rules_from)
    return parser


def _serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    require_extras(config, str(args.config or "configuration"))
    logging.basicConfig(
        level=config.logging.level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    log.info("cyanite-py %s starting (configuration: %s)", __version__, args.config or "defaults")
    # Modules, classes and configuration live as long as the process: leave them out of
    # every full collection, and out of the one at exit, which otherwise walks them all.
    gc.freeze()
    tune_for_latency()
    return_large_blocks()
    return _run(partial(_serve_until_signalled, config))


def _run(function: Callable[[trio.Event], Awaitable[int]]) -> int:
    """Run `function` under trio and return its exit code. It sets the event once it has
    opened what it needs (store, sockets): a failure before that is a start-up error,
    said in one line with exit 2; one after it is a fault, with its traceback."""
    started = trio.Event()
    try:
        return trio.run(function, started)
    except Exception as failed:
        if started.is_set():
            raise
        log.debug("start-up failed", exc_info=failed)
        log.error("cannot start: %s", first_error(failed))
        return EXIT_CONFIG


def first_error(error: BaseException) -> BaseException:
    """The first error of a group that may nest, as the one line to show."""
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


async def _serve_until_signalled(config: Config, started: trio.Event) -> int:
    """Serve until SIGTERM or SIGINT; exit 3 when the stop left snapshots unwritten.
    `started` is set once every listener is bound."""
    server = Server(config)
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_stop_on_signal, signals, server)
            async with trio.open_nursery() as serving:
                await serving.start(server.run)
                started.set()
            nursery.cancel_scope.cancel()
    return EXIT_UNWRITTEN if server.unwritten else EXIT_OK


async def _stop_on_signal(signals: AsyncIterator[int], server: Server) -> None:
    async for number in signals:
        log.info("received %s", signal.Signals(number).name)
        server.stop()


def _import_whisper(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    require_extras(config, str(args.config or "configuration"))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return _run(partial(import_whisper, config, args.directory, args.state))


def _rules_from(args: argparse.Namespace) -> int:
    print(rules_from(args.file), end="")
    return EXIT_OK


def _check_config(args: argparse.Namespace) -> int:
    if not args.file.exists():
        print(f"{args.file}: no such file", file=sys.stderr)
        return EXIT_CONFIG
    require_extras(load_config(args.file), str(args.file))
    print(f"{args.file}: ok")
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    store = load_config(args.config).store
    if not isinstance(store, CassandraStoreConfig):
        store = CassandraStoreConfig()
    print(schema_cql(store.keyspace, store.replication_factor, store.compaction_window))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

"""The migration commands: `import whisper DIR` and `rules-from FILE`.

The store is built from the same YAML configuration as `serve`, so the history lands
where the server will read it. The store is opened before anything is read: a store
that cannot open (such as a SQLite file a running server holds) stops the import at
once, before `started` is set, so the command reports it in one line.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import trio

from cyanite_py.config import Config, ConfigError
from cyanite_py.counters import Registry
from cyanite_py.index.base import Index
from cyanite_py.index.memory import MemoryIndexConfig
from cyanite_py.migrate.schemas import SchemaError, read_schemas, rules_snippet
from cyanite_py.server import build_index, build_store

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_UNWRITTEN = 3
"""Some files could not be read, or the import was stopped before the end."""


async def import_whisper(
    config: Config, directory: Path, state_path: Path | None, started: trio.Event
) -> int:
    """Import every whisper file under `directory`; the exit code."""
    try:
        from cyanite_py.migrate import importer, progress, state, whisper_files
    except ModuleNotFoundError as missing:  # the `whisper` extra, loaded only for this
        if missing.name != "whisper":
            raise
        raise ConfigError(
            f"importing whisper files needs the {missing.name} library:"
            " pip install 'cyanite-py[whisper]'"
        ) from None
    if not await trio.Path(directory).is_dir():
        raise ConfigError(f"{directory}: not a directory")
    files = whisper_files.find_files(directory)
    state_file = state.ImportState(state_path or importer.default_state_path(config))
    shown = progress.Progress(sys.stderr, len(files), sum(file.size for file in files))
    job = importer.WhisperImport(config, files, state_file, shown, int(time.time()))
    registry = Registry()
    store = build_store(config.store, registry)
    index: Index | None = None
    if not isinstance(config.index, MemoryIndexConfig):  # a memory index reads the store
        index = build_index(config.index, registry, store.load_paths)
    stop = trio.Event()
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            await nursery.start(store.run)
            if index is not None:
                await nursery.start(index.run)
            started.set()
            nursery.start_soon(_stop_on_signal, signals, stop)
            print(
                f"importing {len(files):,} whisper files from {directory}"
                f" ({len(state_file):,} recorded as imported in {state_file.path})",
                file=sys.stderr,
                flush=True,
            )
            outcome = await job.run(store, index, stop)
            if index is not None:
                await index.flush()
            nursery.cancel_scope.cancel()
    shown.finish()
    print(outcome.summary(), file=sys.stderr)
    return EXIT_UNWRITTEN if outcome.failed or outcome.interrupted else EXIT_OK


async def _stop_on_signal(signals: AsyncIterator[int], stop: trio.Event) -> None:
    async for number in signals:
        log.warning("received %s: stopping after the write under way", signal.Signals(number).name)
        stop.set()


def rules_from(path: Path) -> str:
    """The `engine.rules` snippet for carbon's storage-schemas.conf at `path`."""
    try:
        return rules_snippet(read_schemas(path), path.name)
    except SchemaError as error:
        raise ConfigError(str(error)) from None

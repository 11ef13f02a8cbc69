"""`cyanite-py import whisper` and `rules-from`: whisper files made by the whisper library,
imported into a real SQLite store, read back through the store with exact values, and an
import stopped part-way then run again without counting anything twice."""

from __future__ import annotations

import io
import math
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import trio
import whisper
import yaml

from cyanite_py.cli import main
from cyanite_py.config import Config, load_config, parse_config
from cyanite_py.counters import Registry
from cyanite_py.migrate.importer import Outcome, WhisperImport
from cyanite_py.migrate.progress import Progress
from cyanite_py.migrate.state import ImportState
from cyanite_py.migrate.whisper_files import find_files
from cyanite_py.model import Aggregate, Resolution
from cyanite_py.server import build_store

FINE = Resolution(10, 86400)
COARSE = Resolution(60, 7 * 86400)


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "cyanite.yaml"
    path.write_text(
        f"store: {{type: sqlite, path: '{tmp_path / 'cyanite.db'}'}}\n"
        "engine: {rules: {default: ['10s:1d', '1m:7d']}}\n"
    )
    return path


def make_whisper(
    path: Path, archives: list[tuple[int, int]], points: list[tuple[int, float]]
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    whisper.create(str(path), archives, aggregationMethod="average")
    whisper.update_many(str(path), points)


def read_back(
    config: Config, path: str, resolution: Resolution, start: int, end: int, aggregate: Aggregate
) -> dict[int, float]:
    """`{window start: aggregate}` of every stored window of `path`, read from the store."""

    async def read() -> dict[int, float]:
        store = build_store(config.store, Registry())
        async with trio.open_nursery() as nursery:
            await nursery.start(store.run)
            found = await store.read([path], resolution, start, end, aggregate)
            nursery.cancel_scope.cancel()
        if path not in found:
            return {}
        series = found[path]
        return {
            series.start + index * series.step: float(value)
            for index, value in enumerate(series.values.tolist())
            if not math.isnan(value)
        }

    return trio.run(read)


def windows_of(points: list[tuple[int, float]], precision: int) -> dict[int, list[float]]:
    windows: dict[int, list[float]] = {}
    for stamp, value in points:
        windows.setdefault(stamp - stamp % precision, []).append(value)
    return windows


def test_every_point_lands_in_its_windows_exactly(tmp_path: Path) -> None:
    now = int(time.time())
    recent = [(now - 290 + 10 * i, float(i * 3 % 17) - 4.5) for i in range(29)]
    make_whisper(tmp_path / "wsp/web01/cpu/user.wsp", [(10, 8640)], recent)
    config_path = write_config(tmp_path)

    assert main(["import", "whisper", str(tmp_path / "wsp"), "--config", str(config_path)]) == 0

    config = load_config(config_path)
    start, end = now - 600, now + 60
    fine_sum = read_back(config, "web01.cpu.user", FINE, start, end, Aggregate.SUM)
    fine_count = read_back(config, "web01.cpu.user", FINE, start, end, Aggregate.COUNT)
    expected = {stamp - stamp % 10: value for stamp, value in recent}
    assert fine_sum == expected
    assert set(fine_count.values()) == {1.0}
    per_minute = windows_of(recent, 60)
    reducers: dict[Aggregate, Callable[[list[float]], float]] = {
        Aggregate.SUM: sum,
        Aggregate.MIN: min,
        Aggregate.MAX: max,
        Aggregate.COUNT: len,
    }
    for aggregate, reduce in reducers.items():
        found = read_back(config, "web01.cpu.user", COARSE, start, end, aggregate)
        assert found == {w: float(reduce(vs)) for w, vs in per_minute.items()}, aggregate


def test_each_time_is_read_from_the_finest_archive_that_holds_it(tmp_path: Path) -> None:
    """Old points live only in the coarse archive, recent ones in both (whisper
    propagates them): the import takes each time once, from the finest archive."""
    now = int(time.time())
    old = [(now - now % 60 - 3600 + 60 * i, float(100 + i)) for i in range(20)]
    recent = [(now - 200 + 10 * i, float(i)) for i in range(18)]
    wsp = tmp_path / "wsp/a/b.wsp"
    make_whisper(wsp, [(10, 60), (60, 1440)], old)
    whisper.update_many(str(wsp), recent)
    config_path = write_config(tmp_path)

    assert main(["import", "whisper", str(tmp_path / "wsp"), "--config", str(config_path)]) == 0

    config = load_config(config_path)
    start, end = now - 7200, now + 60
    counts = read_back(config, "a.b", FINE, start, end, Aggregate.COUNT)
    sums = read_back(config, "a.b", FINE, start, end, Aggregate.SUM)
    expected = {stamp - stamp % 10: value for stamp, value in old + recent}
    assert sums == expected
    assert sum(counts.values()) == len(old) + len(recent)
    minute_sums = read_back(config, "a.b", COARSE, start, end, Aggregate.SUM)
    per_minute = windows_of(old + recent, 60)
    assert minute_sums == {w: sum(vs) for w, vs in per_minute.items()}


def test_an_import_run_again_skips_the_files_it_finished(tmp_path: Path) -> None:
    now = int(time.time())
    make_whisper(tmp_path / "wsp/x.wsp", [(10, 8640)], [(now - 100, 5.0)])
    config_path = write_config(tmp_path)
    arguments = ["import", "whisper", str(tmp_path / "wsp"), "--config", str(config_path)]
    assert main(arguments) == 0
    assert main(arguments) == 0
    found = read_back(load_config(config_path), "x", FINE, now - 600, now + 60, Aggregate.SUM)
    assert found == {now - 100 - (now - 100) % 10: 5.0}
    assert (tmp_path / "cyanite.db.whisper-imported").read_text().splitlines() == [
        str((tmp_path / "wsp/x.wsp").resolve())
    ]


class StopAfter(Progress):
    """Progress that asks the import to stop once `files` files were read."""

    def __init__(self, files: int, stop: Callable[[], None], total: int) -> None:
        super().__init__(io.StringIO(), total, 1)
        self._after = files
        self._stop = stop

    def advance(self, files: int, size: int, points: int) -> None:
        super().advance(files, size, points)
        if self.files_done >= self._after:
            self._stop()


def many_files(tmp_path: Path, count: int, now: int) -> dict[str, list[tuple[int, float]]]:
    written = {}
    for number in range(count):
        points = [(now - 300 + 10 * i, float(number * 100 + i)) for i in range(25)]
        make_whisper(tmp_path / f"wsp/host{number:02d}/load.wsp", [(10, 8640)], points)
        written[f"host{number:02d}.load"] = points
    return written


def assert_each_point_once(
    config: Config, written: dict[str, list[tuple[int, float]]], now: int
) -> None:
    for metric, points in written.items():
        counts = read_back(config, metric, FINE, now - 600, now + 60, Aggregate.COUNT)
        sums = read_back(config, metric, FINE, now - 600, now + 60, Aggregate.SUM)
        assert set(counts.values()) == {1.0}, metric
        assert sums == {stamp - stamp % 10: value for stamp, value in points}, metric


def test_an_interrupted_import_carries_on_without_counting_twice(tmp_path: Path) -> None:
    now = int(time.time())
    written = many_files(tmp_path, 12, now)
    config_path = write_config(tmp_path)
    config = load_config(config_path)
    state = ImportState(tmp_path / "state")
    files = find_files(tmp_path / "wsp")

    async def stopped_part_way() -> Outcome:
        stop = trio.Event()
        # Two files a write, stopped once the fifth file is read: the first four were
        # written, the fifth is written before stopping, the rest wait for the next run.
        job = WhisperImport(config, files, state, StopAfter(5, stop.set, len(files)), now, 50)
        store = build_store(config.store, Registry())
        async with trio.open_nursery() as nursery:
            await nursery.start(store.run)
            outcome = await job.run(store, None, stop)
            nursery.cancel_scope.cancel()
        return outcome

    outcome = trio.run(stopped_part_way)
    assert outcome.interrupted
    assert outcome.imported == len(state) == 5
    assert "run it again to carry on" in outcome.summary()

    arguments = ["import", "whisper", str(tmp_path / "wsp"), "--config", str(config_path)]
    assert main([*arguments, "--state", str(tmp_path / "state")]) == 0
    assert len(ImportState(tmp_path / "state")) == 12
    assert_each_point_once(config, written, now)


def test_ctrl_c_stops_the_command_and_a_second_run_finishes(tmp_path: Path) -> None:
    now = int(time.time())
    written = many_files(tmp_path, 30, now)
    config_path = write_config(tmp_path)
    command = [sys.executable, "-m", "cyanite_py.cli", "import", "whisper"]
    command += [str(tmp_path / "wsp"), "--config", str(config_path)]
    first = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert first.stderr is not None
    log = first.stderr.readline()
    assert log.startswith("importing 30 whisper files"), log
    first.send_signal(signal.SIGINT)
    log += first.communicate(timeout=120)[1]
    assert first.returncode in (0, 3), log
    assert "Traceback" not in log
    assert ("interrupted" in log) == (first.returncode == 3), log
    second = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert_each_point_once(load_config(config_path), written, now)


def test_an_unreadable_file_is_named_and_the_rest_imported(tmp_path: Path) -> None:
    now = int(time.time())
    make_whisper(tmp_path / "wsp/good.wsp", [(10, 8640)], [(now - 50, 1.0)])
    (tmp_path / "wsp/bad.wsp").write_bytes(b"not whisper")
    config_path = write_config(tmp_path)
    code = main(["import", "whisper", str(tmp_path / "wsp"), "--config", str(config_path)])
    assert code == 3
    assert read_back(load_config(config_path), "good", FINE, now - 600, now + 60, Aggregate.SUM)


def test_a_store_a_server_holds_is_refused_in_one_line(tmp_path: Path) -> None:
    config_path = write_config(tmp_path)
    (tmp_path / "wsp").mkdir()
    command = [sys.executable, "-m", "cyanite_py.cli"]
    server_config = tmp_path / "server.yaml"
    server_config.write_text(
        config_path.read_text()
        + "input: [{type: carbon, host: 127.0.0.1, port: 0}]\n"
        + "api: {host: 127.0.0.1, port: 0}\nreporter: {enabled: false}\n"
    )
    server = subprocess.Popen(
        [*command, "serve", "--config", str(server_config)], stderr=subprocess.PIPE, text=True
    )
    try:
        assert server.stderr is not None
        for line in server.stderr:
            if "serving:" in line:
                break
        result = subprocess.run(
            [*command, "import", "whisper", str(tmp_path / "wsp"), "--config", str(config_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot start" in lines[0], result.stderr
    assert f"process {server.pid}" in lines[0]


def test_rules_from_storage_schemas(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schemas = tmp_path / "storage-schemas.conf"
    schemas.write_text(
        "# carbon's own metrics\n"
        "[carbon]\npattern = ^carbon\\.\nretentions = 60:90d\n\n"
        "[web]\npattern = ^web.*\\.cpu$\nretentions = 10s:6h,1min:7d,600:43800\n\n"
        "[everything]\npattern = .*\nretentions = 1m:1d\n"
    )
    assert main(["rules-from", str(schemas)]) == 0
    snippet = capsys.readouterr().out
    rules = parse_config(yaml.safe_load(snippet)).engine.rules
    assert list(rules) == [r"^carbon\.", r"^web.*\.cpu$", "default"]
    assert rules[r"^carbon\."] == [Resolution(60, 90 * 86400)]
    assert rules[r"^web.*\.cpu$"] == [
        Resolution(10, 6 * 3600),
        Resolution(60, 7 * 86400),
        Resolution(600, 600 * 43800),
    ]
    assert rules["default"] == [Resolution(60, 86400)]


def test_rules_from_a_bad_file_names_the_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schemas = tmp_path / "storage-schemas.conf"
    schemas.write_text("[broken]\npattern = [unclosed\nretentions = 60:1d\n")
    assert main(["rules-from", str(schemas)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "[broken]" in error


def test_a_file_path_becomes_a_metric_path(tmp_path: Path) -> None:
    for name in ("a/b/c.wsp", "a/d.wsp", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    assert [file.metric for file in find_files(tmp_path)] == ["a.d", "a.b.c"]


def test_slots_left_from_an_earlier_lap_of_the_ring_are_not_read(tmp_path: Path) -> None:
    """An archive is a ring: after it wrapped, slots not yet overwritten still hold
    points older than its retention, which whisper's own fetch leaves out, and so must
    the import."""
    now = int(time.time())
    wsp = tmp_path / "wsp/ring.wsp"
    wsp.parent.mkdir(parents=True)
    whisper.create(str(wsp), [(10, 100)])  # 1000 s
    earlier = now - 3000
    whisper.update_many(
        str(wsp), [(earlier - 2000 + 10 * i, -1.0) for i in range(200)], now=earlier
    )
    recent = [(now - 800 + 10 * i, float(i)) for i in range(80)]
    whisper.update_many(str(wsp), recent)
    (_, _, step), fetched = whisper.fetch(str(wsp), now - 1000, now)
    assert step == 10
    assert -1.0 not in fetched  # whisper itself sees only the recent points
    config_path = write_config(tmp_path)

    assert main(["import", "whisper", str(tmp_path / "wsp"), "--config", str(config_path)]) == 0

    found = read_back(load_config(config_path), "ring", FINE, now - 7200, now + 60, Aggregate.SUM)
    assert found == {stamp - stamp % 10: value for stamp, value in recent}

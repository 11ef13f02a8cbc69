"""scripts/lib/venv.sh runs pip only when pyproject.toml, the Python or the extras asked
for changed since the last install, so a restart needs no package index. A stand-in
.venv/bin/python records what pip was asked, so no package index is reached."""

from __future__ import annotations

import subprocess
from pathlib import Path

VENV_SH = Path(__file__).parents[1] / "scripts" / "lib" / "venv.sh"

FAKE_PYTHON = """#!/usr/bin/env bash
if [[ $1 == --version ]]; then echo "Python 3.11.7"; exit 0; fi
echo "$*" >> "$(dirname "$0")/../pip-calls"
"""


def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "cyanite-py"\n')
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("python", "cyanite-py"):
        (bin_dir / name).write_text(FAKE_PYTHON)
        (bin_dir / name).chmod(0o755)
    return tmp_path


def ensure(root: Path, extras: str = "") -> list[str]:
    """Run `ensure_venv EXTRAS` in `root`; the pip installs it made."""
    calls = root / ".venv" / "pip-calls"
    calls.unlink(missing_ok=True)
    subprocess.run(
        ["bash", "-c", f'source "{VENV_SH}" && ensure_venv "$1"', "ensure", extras],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=60,
    )
    if not calls.exists():
        return []
    return [line for line in calls.read_text().splitlines() if "-e" in line.split()]


def test_pip_runs_only_when_something_changed(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert ensure(root, "test") == ["-m pip install --quiet --disable-pip-version-check -e .[test]"]
    assert ensure(root, "test") == []
    assert ensure(root) == []  # the base package is within what is installed
    assert ensure(root, "cassandra") == [
        "-m pip install --quiet --disable-pip-version-check -e .[cassandra,test]"
    ]
    assert ensure(root, "test,cassandra") == []
    with (root / "pyproject.toml").open("a") as pyproject:
        pyproject.write('dependencies = ["trio"]\n')
    assert ensure(root) == ["-m pip install --quiet --disable-pip-version-check -e ."]
    assert ensure(root, "test") != []  # a new pyproject.toml starts the record afresh

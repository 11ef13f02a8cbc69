"""A real graphite-web 1.1.10, installed from PyPI into its own virtual environment under
`.cache/` and run with CLUSTER_SERVERS naming a server of ours, as a front end in a
Graphite cluster would.

graphite-web 1.1.10 runs on Python 3.11 at the latest (it imports `imp` and calls
`ConfigParser.readfp`, both gone in 3.12): a newer interpreter looks for `python3.11`.
Its render views import cairocffi, which needs the cairo library (Debian's `libcairo2`)
even for answers that draw nothing. The webapp's database (user profiles, which its
treejson find reads) is created by Django's `migrate` in the test's own directory.
"""

from __future__ import annotations

import ctypes.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".cache" / "graphite-web-1.1.10"
PACKAGES = (
    "graphite-web==1.1.10",
    "Django==3.0.14",
    "django-tagging==0.4.3",
    "cairocffi==1.7.1",
    "pyparsing==3.3.3",
    "urllib3==2.8.0",
    "pytz",
    "six",
)
"""graphite-web and the versions of its dependencies it was tested with."""
INSTALL_TIMEOUT = 600

_SERVE = """
from wsgiref.simple_server import WSGIRequestHandler, make_server
from graphite.wsgi import application

class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass

server = make_server("127.0.0.1", 0, application, handler_class=Quiet)
print(server.server_port, flush=True)
server.serve_forever()
"""


def missing() -> str | None:
    """Why graphite-web cannot run here, or None."""
    if ctypes.util.find_library("cairo") is None:
        return "graphite-web needs the cairo library (Debian's libcairo2)"
    if _python() is None:
        return "graphite-web 1.1.10 needs Python 3.11 or older (python3.11 not found)"
    return None


def _python() -> str | None:
    if sys.version_info < (3, 12):
        return sys.executable
    return shutil.which("python3.11")


def install() -> Path:
    """graphite-web's Python, installing it first unless this very set is installed."""
    python = VENV / "bin" / "python"
    marker = VENV / "installed.txt"
    wanted = " ".join(PACKAGES)
    if marker.exists() and marker.read_text() == wanted:
        return python
    interpreter = _python()
    assert interpreter is not None, missing()
    subprocess.run([interpreter, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PACKAGES],
        check=True,
        timeout=INSTALL_TIMEOUT,
        # graphite-web's setup.py installs into /opt/graphite unless told otherwise
        env={**os.environ, "GRAPHITE_NO_PREFIX": "True"},
    )
    marker.write_text(wanted)
    return python


class GraphiteWeb:
    """graphite-web serving on a free loopback port, configured by `settings` (Python
    lines added to its local settings), its storage and database under `root`."""

    def __init__(self, python: Path, root: Path, settings: str) -> None:
        self.python = python
        self.root = root
        storage = root / "storage"
        (storage / "log" / "webapp").mkdir(parents=True, exist_ok=True)
        (root / "cyanite_graphite_settings.py").write_text(
            f"SECRET_KEY = 'cyanite-py tests'\nSTORAGE_DIR = {str(storage)!r}\n"
            "TIME_ZONE = 'UTC'\n" + settings
        )
        self.env = {
            **os.environ,
            "PYTHONPATH": str(root),
            "DJANGO_SETTINGS_MODULE": "graphite.settings",
            "GRAPHITE_SETTINGS_MODULE": "cyanite_graphite_settings",
        }
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    def migrate(self) -> None:
        """Create the webapp's database (its tables of users and profiles)."""
        subprocess.run(
            [str(self.python), "-m", "django", "migrate", "--run-syncdb", "--verbosity", "0"],
            env=self.env,
            cwd=self.root,
            check=True,
            timeout=120,
            capture_output=True,
        )

    def start(self) -> str:
        """Serve, and return its address once it listens."""
        log = (self.root / "graphite-web.log").open("w")
        self.process = subprocess.Popen(
            [str(self.python), "-c", _SERVE],
            env=self.env,
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.strip().isdigit(), f"graphite-web did not start: {self.log()}"
        self.port = int(line)
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return (self.root / "graphite-web.log").read_text()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)

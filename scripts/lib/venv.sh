# Sourced by scripts/serve and scripts/test: make .venv and install the package into it.
# ensure_venv [EXTRAS]: e.g. `ensure_venv test` installs the test tools too.
ensure_venv() {
    local extras=${1:-}
    local python=${PYTHON:-python3}
    if [[ ! -x .venv/bin/python ]]; then
        echo "[setup] creating .venv with $($python --version)" >&2
        "$python" -m venv .venv
    fi
    echo "[setup] installing cyanite-py${extras:+ with [$extras]} into .venv" >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras:+[$extras]}"
}

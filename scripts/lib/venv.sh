# Sourced by scripts/serve and scripts/test: make .venv and install the package into it.
# ensure_venv [EXTRAS]: e.g. `ensure_venv test,cassandra` installs those extras too.
#
# pip runs only when pyproject.toml or the Python changed since the last install, or an
# extra is asked for that is not installed yet: a stamp in .venv holds the hash of both
# and the extras installed with them. The package is installed editable, so a change to
# the code needs no install, and a restart works without the package index.
ensure_venv() {
    local extras=${1:-}
    local python=${PYTHON:-python3}
    local stamp=.venv/.cyanite-install
    if [[ ! -x .venv/bin/python ]]; then
        echo "[setup] creating .venv with $($python --version)" >&2
        "$python" -m venv .venv
    fi
    local wanted installed=""
    wanted=$( { cat pyproject.toml; .venv/bin/python --version; } | sha256sum | cut -d' ' -f1)
    if [[ -f $stamp && $(head -n1 "$stamp") == "$wanted" && -x .venv/bin/cyanite-py ]]; then
        installed=$(sed -n 2p "$stamp")
        if _extras_within "$extras" "$installed"; then
            return
        fi
    fi
    extras=$(_extras_union "$extras" "$installed")
    echo "[setup] installing cyanite-py${extras:+ with [$extras]} into .venv" >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras:+[$extras]}"
    printf '%s\n%s\n' "$wanted" "$extras" >"$stamp"
}

# _extras_within WANTED INSTALLED: true when every comma-separated extra of WANTED is in
# INSTALLED.
_extras_within() {
    local extra
    local -a wanted
    IFS=, read -ra wanted <<<"$1"
    for extra in "${wanted[@]}"; do
        [[ ,$2, == *,"$extra",* ]] || return 1
    done
}

# _extras_union A B: the extras of both, sorted, comma-separated.
_extras_union() {
    tr ',' '\n' <<<"$1,$2" | sed '/^$/d' | sort -u | paste -sd, -
}

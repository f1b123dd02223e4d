#!/usr/bin/env bash
# Set up everything the project needs, on a fresh machine or again (fast when nothing changed).
# Creates .venv with the package and its pinned dependencies (constraints.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "setup: Python 3.11 or newer is needed (found: $("$PYTHON" --version 2>&1))" >&2
    exit 2
fi

stamp_source=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
if [ "$(cat .venv/.setup-stamp 2>/dev/null)" != "$stamp_source" ]; then
    echo "setup: installing the package and its pinned dependencies into .venv (a few minutes the first time)"
    if ! { .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip \
           && .venv/bin/python -m pip install --disable-pip-version-check -c constraints.txt -e ".[train,test,notebooks,spark]"; } \
           > .venv/setup.log 2>&1; then
        tail -30 .venv/setup.log >&2
        echo "setup: installing failed; the whole log is in .venv/setup.log" >&2
        exit 1
    fi
    echo "$stamp_source" > .venv/.setup-stamp
fi
# The package's bytecode, also where the environment says not to write it (PYTHONDONTWRITEBYTECODE):
# otherwise every command compiles the package again as it starts (about 0.2 s). Quick when up to date.
.venv/bin/python -m compileall -q screening > /dev/null

#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The weekly page is tested in a real headless browser: Debian's Chromium (no browser download).
if ! command -v chromium >/dev/null 2>&1; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    echo "test: installing Debian's chromium for the browser test"
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium; } > .venv/apt.log 2>&1 \
        || echo "test: could not install chromium (see .venv/apt.log); the browser test will be skipped" >&2
fi
# The workbook is also opened by a reader nobody here wrote: LibreOffice, headless (Debian's package).
if ! command -v soffice >/dev/null 2>&1 && ! command -v libreoffice >/dev/null 2>&1; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    echo "test: installing Debian's libreoffice-calc-nogui for the workbook test"
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libreoffice-calc-nogui; } \
        > .venv/apt-libreoffice.log 2>&1 \
        || echo "test: could not install LibreOffice (see .venv/apt-libreoffice.log); its workbook test will be skipped" >&2
fi
# The Spark engine's tests run Spark in local mode, which needs a Java runtime: Debian's OpenJDK 17.
if ! command -v java >/dev/null 2>&1; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    echo "test: installing Debian's openjdk-17-jre-headless for the Spark tests"
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openjdk-17-jre-headless; } \
        > .venv/apt-java.log 2>&1 \
        || echo "test: could not install Java (see .venv/apt-java.log); the Spark tests will be skipped" >&2
fi
export MPLBACKEND=Agg
exec .venv/bin/python -m pytest -q "$@"

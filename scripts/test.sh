#!/usr/bin/env bash
# Install everything the tests need into a fresh virtual environment, then lint, type-check and test.
#   scripts/test.sh            the whole suite
#   scripts/test.sh -k store   extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian tools the tests drive (curl now; ffmpeg and tmux for the stream, recording and console tests;
# chromium for the web page).
need=()
for tool in curl ffprobe tmux chromium; do
    command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if ((${#need[@]})); then
    pkgs=()
    for tool in "${need[@]}"; do
        case "$tool" in ffprobe) pkgs+=(ffmpeg) ;; *) pkgs+=("$tool") ;; esac
    done
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
    else
        echo "missing tools: ${need[*]} (install the Debian packages ${pkgs[*]})" >&2
        exit 1
    fi
fi

venv=${ROTO_TEST_VENV:-.venv-test}
rm -rf "$venv"
python3 -m venv "$venv"
# shellcheck disable=SC1091
. "$venv/bin/activate"
python -m pip install -q --upgrade pip
# strict editable mode links the sources into a plain folder, so mypy sees roto_shared too
python -m pip install -q -e ".[test]" --config-settings editable_mode=strict

ruff check .
ruff format --check .
mypy
python -m pytest "$@"

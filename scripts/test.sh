#!/usr/bin/env bash
# Install everything the tests need into a fresh virtual environment, then lint, type-check and test.
#   scripts/test.sh            the whole suite
#   scripts/test.sh -k store   extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests drive: curl; ffmpeg (ffprobe) for streams and recordings; tmux for the console;
# chromium for the web page; GStreamer (rtspsrc, souphttpsrc, decoders) as a second RTSP and MJPEG client;
# iproute2 for the network namespaces of the multicast and browser WebRTC tests.
packages=(curl ffmpeg tmux chromium iproute2 gstreamer1.0-tools gstreamer1.0-plugins-good
    gstreamer1.0-plugins-bad gstreamer1.0-libav)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "missing Debian packages: ${missing[*]}" >&2
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
scripts/onvif2_wsdl.sh "$venv"

ruff check .
ruff format --check .
mypy
# four workers on the two cores: a third of the suite's time is waiting on real time (streams at their
# frame rate, processes starting and stopping), not computing; a module's tests stay on one worker
# (they share module-scoped servers)
python -m pytest -n 4 --dist loadfile "$@"

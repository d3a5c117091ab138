#!/usr/bin/env bash
# Put the ONVIF WSDL/XSD tree of onvif2-zeep into VENV/share/onvif2-wsdl (the Media2 tests use it).
#   scripts/onvif2_wsdl.sh VENV      VENV: the virtual environment that has onvif2-zeep installed
# Why: onvif2-zeep's wheel lays every WSDL flat in one folder, where the ver10 and ver20 media.wsdl
# collide and the relative imports break; its source archive keeps the ver10/ver20 tree the client expects.
set -euo pipefail
venv=$1
target="$venv/share/onvif2-wsdl"
version=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("onvif2-zeep"))')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$venv/bin/python" -m pip download -q --no-deps --no-binary :all: -d "$work" "onvif2-zeep==$version"
tar -xzf "$work"/onvif2_zeep-*.tar.gz -C "$work"
rm -rf "$target"
mkdir -p "$(dirname "$target")"
mv "$work"/onvif2_zeep-*/wsdl "$target"
test -f "$target/ver20/media/wsdl/media.wsdl"

"""Where the ONVIF ver10/ver20 WSDL tree for onvif2-zeep lives (scripts/onvif2_wsdl.sh puts it there)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

WSDL_TREE = Path(os.environ.get("ROTO_ONVIF2_WSDL") or Path(sys.prefix) / "share" / "onvif2-wsdl")
MEDIA2_WSDL = WSDL_TREE / "ver20" / "media" / "wsdl" / "media.wsdl"


def media2_wsdl_tree() -> Path:
    """The tree; in CI its absence is a failure (scripts/test.sh installs it), elsewhere a skip saying how."""
    if not MEDIA2_WSDL.is_file():
        why = f"no ver20 media WSDL at {MEDIA2_WSDL}: run scripts/onvif2_wsdl.sh {sys.prefix}"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    return WSDL_TREE

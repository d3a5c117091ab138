"""Read the vendor's client examples from ../shared/spec (beside the clone; never copied here)."""

from __future__ import annotations

import re
from pathlib import Path

SPEC_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "spec"
C2_SPEC = SPEC_DIR / "000_95de7ef39dc099bd.txt"


def python_examples() -> list[str]:
    """The two scripts of the spec's 'Python3' code example section."""
    text = C2_SPEC.read_text(encoding="utf-8")
    section = text[text.rindex("\nPython3\n") :]
    return ["#!/usr/bin/python3" + part for part in section.split("#!/usr/bin/python3")[1:]]


def retarget(script: str, port: int, token: str) -> str:
    """Point an example at the test server: only IP, port and token change."""
    script = re.sub(r'ROTO_CLEAR_IP = "[^"]*"', 'ROTO_CLEAR_IP = "127.0.0.1"', script)
    script = re.sub(r'ROTO_CLEAR_PORT = "[^"]*"', f'ROTO_CLEAR_PORT = "{port}"', script)
    return re.sub(r'MY_API_TOKEN = "[^"]*"', f'MY_API_TOKEN = "{token}"', script)

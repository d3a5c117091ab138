"""Read the vendor's client examples from ../shared/spec (beside the clone; never copied here)."""

from __future__ import annotations

import re
from pathlib import Path

SPEC_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "spec"
C2_SPEC = SPEC_DIR / "000_95de7ef39dc099bd.txt"
V1_SPEC = SPEC_DIR / "001_5bf0761b155fee14.txt"


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


def v1_test_suite(port: int) -> str:
    """The C Pro reference's "Python Test Suite", pointed at 127.0.0.1:port (nothing else changes)."""
    text = V1_SPEC.read_text(encoding="utf-8")
    start = text.index("Python Test Suite:\n") + len("Python Test Suite:\n")
    end = text.index("asyncio.run(test_websocket_api())", start) + len("asyncio.run(test_websocket_api())")
    return reindent(text[start:end]).replace("//localhost/", f"//127.0.0.1:{port}/") + "\n"


TOP_LEVEL = ("import ", "from ", "def ", "async def ", "# ", "test_http_api()", "asyncio.run(")


def reindent(code: str) -> str:
    """The reference prints code with its indentation lost; put it back, block by block.

    A line ending in ':' opens a block for the lines after it; a top-level statement
    (import, def, a call of a test) closes every block. Nothing else is changed.
    """
    out, depth = [], 0
    for line in code.splitlines():
        stripped = line.strip()
        if stripped.startswith(TOP_LEVEL):
            depth = 0
        out.append("    " * depth + stripped)
        if stripped.endswith(":"):
            depth += 1
    return "\n".join(out)

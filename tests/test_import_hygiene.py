"""Package boundaries from the design guide, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RULES = [
    ("shared", {"sanic", "textual", "roto_server", "roto_tui"}),
    ("roto_server", {"textual", "roto_tui"}),
    ("roto_tui", {"sanic", "roto_server"}),
    ("roto_server/device", {"sanic"}),
    ("roto_server/imaging", {"sanic"}),
    ("roto_server/recording", {"sanic"}),
    ("roto_server/imaging", {"roto_server.recording"}),  # recording uses imaging's frames, never the reverse
    ("roto_server/auth", {"sanic"}),
    # the sans-IO protocol engines: bytes in, events and bytes out; the adapters own sockets and the loop
    ("roto_server/protocols", {"sanic", "asyncio", "socket", "ssl", "selectors", "trio", "anyio"}),
    ("roto_server/webrtc", {"sanic"}),
]


def imported_modules(path: Path, package: list[str] | None = None) -> set[str]:
    """Every module a file imports, absolute (relative imports resolved against the file's package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = package or list(path.relative_to(ROOT).parent.parts)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1]
            found.add(".".join([*base, *([node.module] if node.module else [])]))
    return found


def imported_roots(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


def offending(path: Path, forbidden: set[str], package: list[str] | None = None) -> set[str]:
    """The imports of ``path`` that are a forbidden module or inside one."""
    return {m for m in imported_modules(path, package) for f in forbidden if m == f or m.startswith(f + ".")}


@pytest.mark.parametrize(("folder", "forbidden"), RULES, ids=[r[0] for r in RULES])
def test_package_does_not_import(folder: str, forbidden: set[str]) -> None:
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files
    offenders = {str(p.relative_to(ROOT)): offending(p, forbidden) for p in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_sdk_has_no_ui_code() -> None:
    assert imported_roots(ROOT / "roto_tui" / "client.py") & {"textual", "rich"} == set()


def test_the_rules_catch_a_forbidden_import(tmp_path: Path) -> None:
    """The checker itself: dotted, from-, and relative imports all count."""
    module = tmp_path / "probe.py"
    module.write_text("import asyncio.events\nfrom ..recording import names\nfrom sanic import Sanic\n")
    package = ["roto_server", "imaging"]
    assert offending(module, {"roto_server.recording"}, package) == {"roto_server.recording"}
    assert offending(module, {"asyncio"}, package) == {"asyncio.events"}
    assert offending(module, {"sanic"}, package) == {"sanic"}
    assert offending(module, {"roto_server.device"}, package) == set()

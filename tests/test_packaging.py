"""`pip install .` must carry every module and data file the commands load.

An installed roto-server that misses a sub-package dies on import before it prints anything, and roto-tui
without its stylesheet cannot start; neither shows up in tests that import from the source tree.
"""

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETUP = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
PACKAGE_DIRS = {"roto_shared": "shared", "roto_server": "roto_server", "roto_tui": "roto_tui"}


def _source_packages() -> dict[str, Path]:
    found = {}
    for name, folder in PACKAGE_DIRS.items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            parts = init.parent.relative_to(base).parts
            found[".".join((name, *parts))] = init.parent
    return found


def test_every_sub_package_is_listed() -> None:
    missing = sorted(set(_source_packages()) - set(SETUP["packages"]))
    assert missing == [], f"add to [tool.setuptools] packages: {missing}"


def test_every_data_file_is_shipped() -> None:
    data = SETUP["package-data"]
    missing = []
    for package, folder in _source_packages().items():
        for path in folder.iterdir():
            if not path.is_file() or path.suffix in {".py", ".pyc"}:
                continue
            if not any(fnmatch.fnmatch(path.name, glob) for glob in data.get(package, [])):
                missing.append(f"{package}: {path.name}")
    assert missing == [], f"add to [tool.setuptools.package-data]: {missing}"

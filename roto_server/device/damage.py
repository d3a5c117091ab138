"""Data files that fail validation are set aside for the operator, never trusted and never fatal.

Every JSON file roto reads (settings, credentials, storage selection, network storages, storage
markers) goes through :func:`load_json`; a file that exists but cannot be used is renamed to
``<name>.damaged-<time>`` by :func:`set_aside`, which returns the notice to announce.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from .store import Notice


class Damaged(Exception):
    """A data file that exists but cannot be used; the message says why."""


def load_json(path: Path) -> Any:
    """The parsed content of ``path``; FileNotFoundError when absent, Damaged when unusable."""
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise Damaged("it is a folder, not a file") from None
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise Damaged(f"cannot be read: {exc.strerror or exc}") from None
    try:
        return json.loads(raw)
    except RecursionError:
        raise Damaged("it is nested too deeply") from None
    except ValueError as exc:  # also UnicodeDecodeError and integers past Python's digit limit
        raise Damaged(f"it is not valid JSON ({str(exc)[:120]})") from None


def _aside_path(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while aside.exists() or aside.is_symlink():  # two damaged copies within a second: keep both
        n += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    return aside


def set_aside(path: Path, what: str, reason: str, consequence: str, *, copy: bool = False) -> Notice:
    """Move (or with ``copy`` duplicate) a damaged file out of the way and describe what happened."""
    aside = _aside_path(path)
    try:
        if copy:
            shutil.copy2(path, aside)
        else:
            os.replace(path, aside)
        where = f"kept as {aside.name}"
    except OSError as exc:
        where = f"could not be moved aside ({exc.strerror or exc})"
    return Notice(None, f"{what} {path.name} is damaged: {reason}; {where}; {consequence}", "error")

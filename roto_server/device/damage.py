"""Data files that fail validation are set aside for the operator, never trusted and never fatal.

Every JSON file roto reads (settings, credentials, storage selection, network storages, storage
markers) goes through :func:`load_json`; a file that exists but cannot be used is renamed to
``<name>.damaged-<time>`` by :func:`set_aside`, which returns the notice to announce.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from pathlib import Path
from typing import Any

from .store import Notice

MAX_FILE_BYTES = 16 * 1024 * 1024  # far above any file roto writes; a bigger one is not roto's


class Damaged(Exception):
    """A data file that exists but cannot be used; the message says why."""


def _read_regular(path: Path, limit: int) -> bytes:
    # O_NONBLOCK: opening a FIFO put in a file's place must not hang the start
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise Damaged("it is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise Damaged("it is not a regular file")
        if info.st_size > limit:
            raise Damaged(f"it is {info.st_size} bytes, more than roto ever writes ({limit})")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(limit + 1)
    finally:
        os.close(fd)


def load_json(path: Path, limit: int = MAX_FILE_BYTES) -> Any:
    """The parsed content of ``path``; FileNotFoundError when absent, Damaged when unusable."""
    try:
        raw = _read_regular(path, limit)
    except IsADirectoryError:
        raise Damaged("it is a folder, not a file") from None
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise Damaged(f"it cannot be read ({exc.strerror or exc})") from None
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

"""Settings that survive a restart, written so that a crash never leaves a broken file.

Each save writes a temporary file in the same folder, fsyncs it, renames it over the
old one (atomic on POSIX) and fsyncs the folder. A kill -9 at any moment leaves either
the previous or the new file, never a mixture.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from roto_shared.catalogue import Catalogue, Variable
from roto_shared.validation import InvalidValue, clamp, coerce

from .damage import Damaged, load_json, set_aside
from .store import Notice

log = logging.getLogger("roto.settings")
FORMAT = 1


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` atomically and durably."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class SettingsFile:
    """The persisted writable variables of the state, as JSON."""

    def __init__(self, path: Path, catalogue: Catalogue) -> None:
        self.path = path
        self.catalogue = catalogue
        self.damaged: list[Notice] = []  # what the last load() found wrong, for the unit to announce

    def load(self) -> dict[str, Any]:
        """Last saved settings, each re-validated; a damaged file is set aside, not trusted."""
        self.damaged = []
        for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            stale.unlink(missing_ok=True)  # a save interrupted by a crash; the real file is intact
        try:
            doc = load_json(self.path)
            values = doc["values"] if isinstance(doc, dict) else None
            if not isinstance(values, dict):
                raise Damaged("it has no object of values")
        except FileNotFoundError:
            return {}
        except Damaged as exc:
            self.damaged.append(set_aside(self.path, "settings file", f"{exc} (unreadable)", "starting from defaults"))
            return {}
        good: dict[str, Any] = {}
        dropped: list[str] = []
        for name, value in values.items():
            var = self.catalogue.get(name)
            if var is None or not var.persist:
                continue
            try:
                good[name] = self._valid(var, value)
            except InvalidValue as exc:
                log.warning("ignoring saved setting: %s", exc)
                dropped.append(name)
            except (ArithmeticError, ValueError, TypeError, RecursionError):  # e.g. an integer too big for a float
                log.warning("ignoring saved setting %s: its value cannot be used", name)
                dropped.append(name)
        if dropped:
            # the next save rewrites the file without them: keep the original for the operator
            consequence = f"dropped {', '.join(dropped)}, kept the other settings"
            self.damaged.append(set_aside(self.path, "settings file", "invalid values", consequence, copy=True))
        return good

    @staticmethod
    def _valid(var: Variable, value: Any) -> Any:
        if var.relative:
            return clamp(var, coerce(var, value).value).value
        return coerce(var, value).value

    def save(self, values: Mapping[str, Any]) -> None:
        persisted = {name: values[name] for name, var in self.catalogue.items() if var.persist and name in values}
        doc = {"format": FORMAT, "saved": time.time(), "values": persisted}
        write_atomic(self.path, json.dumps(doc, indent=1, ensure_ascii=False).encode())

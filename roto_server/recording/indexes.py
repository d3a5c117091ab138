"""The open backup index of every storage, and why a storage has none.

An index travels with its stick, so it may be garbage, truncated or a link pointing anywhere.
A damaged index never stops the unit: a storage that is only browsed shows an empty gallery with
the reason; the backup storage gets its damaged file moved aside and a fresh index.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

from roto_server.device.storage import Storage
from roto_server.device.store import Notice, StateStore

from .index import BackupIndex
from .safe_files import inside

INDEX_NAME = "index.sqlite3"
SIDE_FILES = ("-wal", "-shm", "-journal")  # SQLite's companions; a stale WAL must not meet a fresh index


class IndexShelf:
    """Opens each storage's index once and keeps it; listings may call from worker threads."""

    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._open: dict[str, BackupIndex] = {}
        self.problems: dict[str, str] = {}  # storage uuid -> why it has no usable index
        self._lock = threading.RLock()
        self._untold: list[Notice] = []

    def get(self, storage: Storage, create: bool = True) -> BackupIndex | None:
        """The storage's index; with ``create`` a missing or damaged one is replaced by a fresh one."""
        with self._lock:
            index = self._open.get(storage.uuid)
            if index is not None:
                return index
            if not create and storage.uuid in self.problems:
                return None
            path = storage.folder("backup") / INDEX_NAME
            if not create and not os.path.lexists(path):
                return None
            try:
                index = self._open_checked(storage, path)
            except (sqlite3.Error, OSError) as exc:
                if not create:
                    self._unusable(storage, f"its backup index cannot be read ({exc})")
                    return None
                try:
                    self._set_aside(storage, path, exc)
                    index = self._open_checked(storage, path)
                except (sqlite3.Error, OSError) as again:  # a read-only or failing medium
                    self._unusable(storage, f"no backup index can be created ({again})")
                    return None
            self.problems.pop(storage.uuid, None)
            self._open[storage.uuid] = index
            return index

    def opened(self, uid: str) -> BackupIndex | None:
        """The index of storage ``uid`` if it is open now (nothing is opened or checked)."""
        with self._lock:
            return self._open.get(uid)

    def damaged(self, storage: Storage, exc: Exception) -> None:
        """A query on an open index failed: drop it until it is replaced, and say why."""
        with self._lock:
            # not closed here: a recorder may still hold it; the connection closes when it is dropped
            self._open.pop(storage.uuid, None)
            self._unusable(storage, f"its backup index cannot be read ({exc})")

    def forget(self, uid: str) -> None:
        """The storage left: close its index; it is checked afresh when the storage returns."""
        with self._lock:
            index = self._open.pop(uid, None)
            self.problems.pop(uid, None)
        if index is not None:
            index.close()

    def close_all(self) -> None:
        with self._lock:
            for index in self._open.values():
                index.close()
            self._open.clear()

    def announce_untold(self) -> None:
        """Announce notices raised in worker threads; call on the event loop."""
        with self._lock:
            untold, self._untold = self._untold, []
        for notice in untold:
            self._store.announce(notice)

    # -- helpers ---------------------------------------------------------------------------------
    @staticmethod
    def _open_checked(storage: Storage, path: Path) -> BackupIndex:
        # SQLite follows links and would write its journal wherever one points
        if not inside(storage, path.parent):
            raise sqlite3.DatabaseError(f"{path.parent} leads outside the storage")
        path.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(path) and not stat.S_ISREG(os.lstat(path).st_mode):
            raise sqlite3.DatabaseError(f"{path.name} is not a regular file")
        index = BackupIndex(path)
        try:
            index.check_text()
        except sqlite3.Error:
            index.close()
            raise
        return index

    def _unusable(self, storage: Storage, reason: str) -> None:
        if self.problems.get(storage.uuid) == reason:
            return
        self.problems[storage.uuid] = reason
        self._tell(Notice(None, f"storage {storage.name} ({storage.uuid}) shows no backup files: {reason}", "error"))

    def _set_aside(self, storage: Storage, path: Path, exc: Exception) -> None:
        if not inside(storage, path.parent):
            raise sqlite3.DatabaseError(f"{path.parent} leads outside the storage")  # never touch files there
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for suffix in ("", *SIDE_FILES):
            damaged = Path(f"{path}{suffix}")
            if os.path.lexists(damaged):
                damaged.rename(Path(f"{path}{suffix}.damaged-{stamp}"))
        self._tell(
            Notice(
                None,
                f"the backup index of storage {storage.name} ({storage.uuid}) could not be read ({exc}); "
                f"moved aside to {path.name}.damaged-{stamp} and started a fresh one",
                "error",
            )
        )

    def _tell(self, notice: Notice) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a worker thread: the store's listeners live on the event loop
            self._untold.append(notice)
            return
        self._store.announce(notice)

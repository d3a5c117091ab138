"""Storages: folders under a watched root (USB sticks mounted under /media, say) and network paths.

Each storage keeps a small marker file, ``.roto-storage.json``, holding its uuid (so a
stick keeps its identity in another unit), an optional display name and an optional
``quotaBytes`` that caps it below its file system (a small "disk" for tests and for
sharing a disk with other data). Selections for manual recording and Visual Backup are
kept by uuid and survive the storage being unplugged: it is used again when it returns.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .capacity import size_text
from .settings import write_atomic
from .store import Notice, Refused, StateStore

log = logging.getLogger("roto.storage")

MARKER = ".roto-storage.json"
INTERNAL = "internal"
RESCAN_PERIOD_S = 2.0
ROLES = {"recordingStorage": "recording", "backupStorage": "backup"}
FOLDER_KINDS = ("recordings", "pictures", "backup")  # the layout under <storage>/roto/


@dataclass(frozen=True)
class Storage:
    uuid: str
    name: str
    path: Path
    kind: str  # "disk" or "net"
    quota: int | None = None

    def folder(self, kind: str) -> Path:
        """Where files of ``kind`` (recordings, pictures, backup) live on this storage; not created here."""
        if kind not in FOLDER_KINDS:
            raise ValueError(f"no folder kind {kind!r} (known: {', '.join(FOLDER_KINDS)})")
        return self.path / "roto" / kind

    def usage(self) -> tuple[int, int, int]:
        """(total, used, free) bytes; a quota caps the total below the file system's."""
        fs = shutil.disk_usage(self.path)
        if self.quota is None:
            return fs.total, fs.used, fs.free
        used = _tree_size(self.path)
        return self.quota, used, max(0, min(self.quota - used, fs.free))

    def describe(self) -> dict[str, Any]:
        total, used, free = self.usage()
        return {
            "uuid": self.uuid,
            "name": self.name,
            "path": str(self.path),
            "type": self.kind,
            "available": True,
            "writable": os.access(self.path, os.W_OK),
            "total": total,
            "totalStr": size_text(total),
            "used": used,
            "usedStr": size_text(used),
            "free": free,
            "freeStr": size_text(free),
        }


def _tree_size(path: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    return total


def read_marker(path: Path) -> Storage | None:
    """The storage at ``path``, creating its marker on first sight; None if it cannot be identified."""
    marker = path / MARKER
    try:
        data = json.loads(marker.read_text()) if marker.exists() else {}
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    if not data.get("uuid"):
        data["uuid"] = str(uuidlib.uuid4())
        try:
            write_atomic(marker, json.dumps(data, indent=1).encode())
        except OSError:  # read-only medium: an identity derived from its path is the best we can do
            data["uuid"] = str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, str(path.resolve())))
    quota = data.get("quotaBytes")
    return Storage(
        str(data["uuid"]),
        str(data.get("name") or path.name),
        path,
        "disk",
        int(quota) if isinstance(quota, int) and quota > 0 else None,
    )


class StorageService:
    """Keeps diskStorages, netStorages and the two selections in the state up to date."""

    def __init__(self, store: StateStore, root: Path, data_dir: Path) -> None:
        self.store = store
        self.root = root
        self._selection_file = data_dir / "storage-selection.json"
        self._net_file = data_dir / "net-storages.json"
        self.storages: dict[str, Storage] = {}
        self.selection: dict[str, str | None] = {"recording": None, "backup": None}
        self.lost: list[Callable[[str], None]] = []  # called with a uuid that disappeared
        self._described: dict[str, dict[str, Any]] = {}  # what the last scan measured, by uuid
        self._saving: asyncio.Task[None] | None = None
        for name in ROLES:
            store.set_handler(name, self._selector(name))

    # -- start-up --------------------------------------------------------------------------
    def boot(self) -> None:
        internal = self.root / INTERNAL
        internal.mkdir(parents=True, exist_ok=True)
        try:
            saved = json.loads(self._selection_file.read_text())
            self.selection.update({k: saved.get(k) for k in self.selection})
        except (OSError, ValueError):
            default = read_marker(internal)
            assert default is not None
            self.selection = {"recording": default.uuid, "backup": default.uuid}
            self._save_selection()
        self.rescan()

    async def watch(self) -> None:
        """Notice storages arriving and leaving within a second, and keep free space current."""
        from watchfiles import awatch

        async def periodic() -> None:
            while True:
                await asyncio.sleep(RESCAN_PERIOD_S)
                await self.rescan_async()

        ticker = asyncio.create_task(periodic())
        try:
            async for _changes in awatch(self.root, recursive=False, debounce=200, step=50):
                await self.rescan_async()
        finally:
            ticker.cancel()

    async def rescan_async(self) -> None:
        """Scan in a worker thread (file system calls may block), apply on the event loop."""
        try:
            found = await asyncio.to_thread(self._scan)
        except OSError:
            log.exception("storage scan failed")
            return
        self._apply(found)

    # -- scanning ----------------------------------------------------------------------------
    def net_paths(self) -> list[dict[str, str]]:
        try:
            data = json.loads(self._net_file.read_text())
            return [d for d in data if isinstance(d, dict) and "path" in d]
        except (OSError, ValueError):
            return []

    def _scan(self) -> dict[str, tuple[Storage, dict[str, Any]]]:
        found: dict[str, tuple[Storage, dict[str, Any]]] = {}
        candidates = [(p, "disk") for p in sorted(self.root.iterdir()) if p.is_dir() and not p.name.startswith(".")]
        candidates += [(Path(d["path"]), "net") for d in self.net_paths() if Path(d["path"]).is_dir()]
        for path, kind in candidates:
            storage = read_marker(path)
            if storage is None:
                continue
            if kind == "net":
                storage = Storage(storage.uuid, storage.name, storage.path, "net", storage.quota)
            try:
                found[storage.uuid] = (storage, storage.describe())
            except OSError:
                continue
        return found

    def rescan(self) -> None:
        self._apply(self._scan())

    def _apply(self, found: dict[str, tuple[Storage, dict[str, Any]]]) -> None:
        gone = set(self.storages) - set(found)
        arrived = set(found) - set(self.storages)
        self.storages = {k: s for k, (s, _) in found.items()}
        self._described = {k: d for k, (_, d) in found.items()}
        disks = {k: d for k, (s, d) in found.items() if s.kind == "disk"}
        nets = {k: d for k, (s, d) in found.items() if s.kind == "net"}
        facts: dict[str, Any] = {"diskStorages": disks, "netStorages": nets}
        for var, role in ROLES.items():
            facts[var] = self._selected_description(role, {**disks, **nets})
        self.store.set_facts(facts)
        for uid in sorted(arrived):
            log.info("storage arrived: %s (%s)", self.storages[uid].name, self.storages[uid].path)
        for uid in sorted(gone):
            self.store.announce(Notice(None, f"storage {uid} was removed", "warning"))
            for callback in list(self.lost):
                callback(uid)

    def _selected_description(self, role: str, known: dict[str, Any]) -> dict[str, Any]:
        uid = self.selection[role]
        if uid is None:
            return {}
        if uid in known:
            return known[uid]
        return {"uuid": uid, "available": False}

    # -- selection ---------------------------------------------------------------------------
    def _selector(self, var: str) -> Callable[[str], Any]:
        role = ROLES[var]

        def select(uid: str) -> Any:
            if uid not in self.storages:
                listed = ", ".join(sorted(self.storages)) or "none detected"
                raise Refused(f"{var}: no storage with uuid {uid!r} (known: {listed})")
            self.selection[role] = uid
            self._save_selection_soon()
            return self._described[uid]  # measured by the last scan: a quota walk has no place in a handler

        return select

    def _save_selection(self, data: bytes | None = None) -> None:
        write_atomic(self._selection_file, data or json.dumps(self.selection).encode())

    def _save_selection_soon(self) -> None:
        """Write the selection in a worker thread, after any write still under way (so the last one wins)."""
        previous, data = self._saving, json.dumps(self.selection).encode()

        async def save() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            try:
                await asyncio.to_thread(self._save_selection, data)
            except OSError:
                log.exception("could not store the storage selection")

        self._saving = asyncio.get_running_loop().create_task(save())

    async def flush(self) -> None:
        """Wait for the selection to be on disk (at shutdown)."""
        if self._saving is not None:
            await asyncio.wait([self._saving])

    def problem(self, role: str) -> str | None:
        """Why the storage selected for ``role`` cannot take files now, or None."""
        uid = self.selection[role]
        if uid is None:
            return f"no {role} storage is selected"
        storage = self.storages.get(uid)
        if storage is None:
            return f"the {role} storage {uid} is not connected"
        if not os.access(storage.path, os.W_OK):
            return f"the {role} storage {storage.name} is read-only"
        return None

    def folder(self, role: str, sub: str) -> Path:
        """A folder on the selected storage (call problem() first)."""
        uid = self.selection[role]
        assert uid is not None
        path = self.storages[uid].folder(sub)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def storage(self, role: str) -> Storage | None:
        uid = self.selection[role]
        return self.storages.get(uid) if uid else None

    # -- network storages ----------------------------------------------------------------------
    async def add_net(self, path: str, name: str | None) -> Storage:
        """Remember a mounted folder as a network storage; the file work runs in a worker thread."""
        folder = Path(path)
        if not folder.is_absolute():
            raise Refused(f"netStorages: {path!r} is not an absolute path of a mounted folder")
        uid = await asyncio.to_thread(self._remember_net, folder, name)
        await self.rescan_async()
        return self.storages[uid]

    def _remember_net(self, folder: Path, name: str | None) -> str:
        if not folder.is_dir():
            raise Refused(f"netStorages: {str(folder)!r} is not an absolute path of a mounted folder")
        entries = [d for d in self.net_paths() if d["path"] != str(folder)]
        entries.append({"path": str(folder), **({"name": name} if name else {})})
        write_atomic(self._net_file, json.dumps(entries, indent=1).encode())
        storage = read_marker(folder)
        assert storage is not None
        if name:
            marker = folder / MARKER
            data = json.loads(marker.read_text())
            data["name"] = name
            write_atomic(marker, json.dumps(data, indent=1).encode())
        return storage.uuid

    async def remove_net(self, uid: str) -> None:
        storage = self.storages.get(uid)
        if storage is None or storage.kind != "net":
            raise Refused(f"netStorages: no network storage with uuid {uid!r}")

        def forget() -> None:
            entries = [d for d in self.net_paths() if d["path"] != str(storage.path)]
            write_atomic(self._net_file, json.dumps(entries, indent=1).encode())

        await asyncio.to_thread(forget)
        await self.rescan_async()

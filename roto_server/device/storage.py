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
import re
import shutil
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .capacity import size_text
from .damage import Damaged, load_json, set_aside
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


_UUID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def valid_uuid(value: Any) -> bool:
    return isinstance(value, str) and _UUID.match(value) is not None


def _marker_problem(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return "it is not a JSON object"
    if "uuid" in doc and not valid_uuid(doc["uuid"]):
        return "its uuid is not a uuid string"
    if not isinstance(doc.get("name", ""), str):
        return "its name is not a string"
    quota = doc.get("quotaBytes", 0)
    if isinstance(quota, bool) or not isinstance(quota, int):
        return "its quotaBytes is not an integer"
    return None


def read_marker(path: Path, keep_uuid: str | None = None) -> tuple[Storage, Notice | None]:
    """The storage at ``path``, creating its marker on first sight, and the notice if the marker was damaged.

    ``keep_uuid`` is the identity to restore when the marker is missing or damaged (the internal
    storage's, remembered in the data folder), so its selections and backups stay attached to it.
    """
    marker = path / MARKER
    damaged = None
    try:
        data = load_json(marker)
        problem = _marker_problem(data)
        if problem:
            raise Damaged(problem)
    except FileNotFoundError:
        data = {}
    except Damaged as exc:
        data = {}
        identity = f"it keeps its uuid {keep_uuid}" if keep_uuid else "it gets a new uuid"
        consequence = f"the marker is rewritten and {identity}"
        damaged = set_aside(marker, f"storage {path.name!r}: marker", str(exc), consequence)
    if not data.get("uuid"):
        data["uuid"] = keep_uuid or str(uuidlib.uuid4())
        try:
            write_atomic(marker, json.dumps(data, indent=1).encode())
        except OSError:  # read-only medium: an identity derived from its path is the best we can do
            data["uuid"] = keep_uuid or str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, str(path.resolve())))
    quota = data.get("quotaBytes")
    storage = Storage(
        str(data["uuid"]),
        str(data.get("name") or path.name),
        path,
        "disk",
        quota if isinstance(quota, int) and quota > 0 else None,
    )
    return storage, damaged


def _peek_uuid(folder: Path) -> str | None:
    """The uuid in a storage's marker, without creating or repairing anything."""
    try:
        doc = load_json(folder / MARKER)
    except (FileNotFoundError, Damaged):
        return None
    uid = doc.get("uuid") if isinstance(doc, dict) else None
    return uid if valid_uuid(uid) else None


def _selection_problem(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return "it is not a JSON object"
    for key in ("recording", "backup", "internal"):
        if doc.get(key) is not None and not valid_uuid(doc[key]):
            return f"{key} is not a storage uuid"
    return None


def _net_entry_ok(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("path"), str)
        and Path(entry["path"]).is_absolute()
        and isinstance(entry.get("name", ""), str)
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
        self.internal_uuid: str | None = None  # a copy of the internal marker's uuid, kept in the data folder
        self.lost: list[Callable[[str], None]] = []  # called with a uuid that disappeared
        self.damaged: list[Notice] = []  # data files and markers set aside since start
        self._net_entries: list[dict[str, str]] = []
        self._reported: set[Path] = set()  # markers already reported (a read-only one stays damaged)
        self._described: dict[str, dict[str, Any]] = {}  # what the last scan measured, by uuid
        self._saving: asyncio.Task[None] | None = None
        for name in ROLES:
            store.set_handler(name, self._selector(name))

    # -- start-up --------------------------------------------------------------------------
    def boot(self) -> None:
        chosen = self._selection_file.parent not in self.root.parents  # a root of the operator's, not DATA_DIR/storages
        if chosen and not self.root.exists():  # a mistyped --storage-root would otherwise record onto the system disk
            log.warning(
                "storage root %s did not exist; created it with an internal storage (is the path right?)", self.root
            )
        internal = self.root / INTERNAL
        internal.mkdir(parents=True, exist_ok=True)
        saved = self._load_selection()
        self._net_entries = self._load_net()
        storage, notice = read_marker(internal, self._internal_identity(saved))
        self._report(notice, internal / MARKER)
        self.internal_uuid = storage.uuid
        if saved is None:
            self.selection = {"recording": storage.uuid, "backup": storage.uuid}
        else:
            self.selection.update({k: saved.get(k) for k in self.selection})
        if saved != {**self.selection, "internal": self.internal_uuid}:
            self._save_selection()
        self.rescan()

    def _load_selection(self) -> dict[str, Any] | None:
        """The saved selection, or None when there is none or it was damaged (and set aside)."""
        try:
            doc = load_json(self._selection_file)
            problem = _selection_problem(doc)
            if problem:
                raise Damaged(problem)
        except FileNotFoundError:
            return None
        except Damaged as exc:
            consequence = "the internal storage is selected for recording and backup"
            self._report(set_aside(self._selection_file, "storage selection", str(exc), consequence))
            return None
        return dict(doc)

    def _internal_identity(self, saved: dict[str, Any] | None) -> str | None:
        """The uuid the internal storage had, to restore if its marker is missing or damaged."""
        if saved is None:
            return None
        if saved.get("internal"):
            return str(saved["internal"])
        # a data folder from before the copy was kept: a selected uuid no other storage claims
        others = {_peek_uuid(path) for path, _kind in self._candidates() if path != self.root / INTERNAL}
        for role in ("recording", "backup"):
            if saved.get(role) and saved[role] not in others:
                return str(saved[role])
        return None

    def _report(self, notice: Notice | None, marker: Path | None = None) -> None:
        if notice is None or (marker is not None and marker in self._reported):
            return
        if marker is not None:
            self._reported.add(marker)
        self.damaged.append(notice)
        self.store.announce(notice)

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
            found, damaged = await asyncio.to_thread(self._scan)
        except OSError:
            log.exception("storage scan failed")
            return
        self._apply(found, damaged)

    # -- scanning ----------------------------------------------------------------------------
    def net_paths(self) -> list[dict[str, str]]:
        return list(self._net_entries)

    def _load_net(self) -> list[dict[str, str]]:
        """The configured network storages; a damaged file is set aside and its usable entries kept."""
        try:
            doc = load_json(self._net_file)
        except FileNotFoundError:
            return []
        except Damaged as exc:
            self._report(set_aside(self._net_file, "network storage list", str(exc), "no network storages"))
            return []
        entries = doc if isinstance(doc, list) else []
        good = [dict(e) for e in entries if _net_entry_ok(e)]
        if isinstance(doc, list) and len(good) == len(doc):
            return good
        reason = "it is not a JSON list" if not isinstance(doc, list) else "an entry lacks an absolute path string"
        consequence = f"kept {len(good)} usable entries"
        self._report(set_aside(self._net_file, "network storage list", reason, consequence))
        try:
            self._write_net(good)
        except OSError as exc:  # a read-only data folder: use the good entries, keep trying at the next change
            log.error("cannot rewrite %s: %s", self._net_file, exc)
        return good

    def _write_net(self, entries: list[dict[str, str]]) -> None:
        self._net_entries = entries
        write_atomic(self._net_file, json.dumps(entries, indent=1).encode())

    def _candidates(self) -> list[tuple[Path, str]]:
        found = [(p, "disk") for p in sorted(self.root.iterdir()) if p.is_dir() and not p.name.startswith(".")]
        return found + [(Path(d["path"]), "net") for d in self._net_entries if Path(d["path"]).is_dir()]

    def _scan(self) -> tuple[dict[str, tuple[Storage, dict[str, Any]]], list[tuple[Notice, Path]]]:
        found: dict[str, tuple[Storage, dict[str, Any]]] = {}
        damaged: list[tuple[Notice, Path]] = []
        internal = self.root / INTERNAL
        for path, kind in self._candidates():
            storage, notice = read_marker(path, self.internal_uuid if path == internal else None)
            if notice is not None:
                damaged.append((notice, path / MARKER))
            if kind == "net":
                storage = Storage(storage.uuid, storage.name, storage.path, "net", storage.quota)
            try:
                found[storage.uuid] = (storage, storage.describe())
            except OSError:
                continue
        return found, damaged

    def rescan(self) -> None:
        self._apply(*self._scan())

    def _apply(self, found: dict[str, tuple[Storage, dict[str, Any]]], damaged: list[tuple[Notice, Path]]) -> None:
        # forget markers that read well again, so a later damage to them is reported anew
        self._reported.intersection_update(marker for _, marker in damaged)
        for notice, marker in damaged:
            self._report(notice, marker)
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

    def _selection_bytes(self) -> bytes:
        return json.dumps({**self.selection, "internal": self.internal_uuid}).encode()

    def _save_selection(self, data: bytes | None = None) -> None:
        write_atomic(self._selection_file, data or self._selection_bytes())

    def _save_selection_soon(self) -> None:
        """Write the selection in a worker thread, after any write still under way (so the last one wins)."""
        previous, data = self._saving, self._selection_bytes()

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
        uid, notice = await asyncio.to_thread(self._remember_net, folder, name)
        self._report(notice, folder / MARKER)
        await self.rescan_async()
        return self.storages[uid]

    def _remember_net(self, folder: Path, name: str | None) -> tuple[str, Notice | None]:
        if not folder.is_dir():
            raise Refused(f"netStorages: {str(folder)!r} is not an absolute path of a mounted folder")
        entries = [d for d in self._net_entries if d["path"] != str(folder)]
        entries.append({"path": str(folder), **({"name": name} if name else {})})
        self._write_net(entries)
        storage, notice = read_marker(folder)
        if name:
            marker = folder / MARKER
            data = json.loads(marker.read_text())
            data["name"] = name
            write_atomic(marker, json.dumps(data, indent=1).encode())
        return storage.uuid, notice

    async def remove_net(self, uid: str) -> None:
        storage = self.storages.get(uid)
        if storage is None or storage.kind != "net":
            raise Refused(f"netStorages: no network storage with uuid {uid!r}")
        entries = [d for d in self._net_entries if d["path"] != str(storage.path)]
        await asyncio.to_thread(self._write_net, entries)
        await self.rescan_async()

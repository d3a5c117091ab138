"""Visual Backup: continuous recording in segments on the backup storage, a ring buffer that
deletes the oldest untagged segments, capacity figures, and tags that protect segments."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from roto_server.device import capacity
from roto_server.device.space import SpaceBudget
from roto_server.device.storage import Storage, StorageService
from roto_server.device.store import ChangeEvent, Notice, Refused, StateStore
from roto_server.imaging.pipeline import BACKUP, StreamService

from .container import EXTENSION, SegmentWriter, finalise, probe
from .index import BackupIndex, TagRow, plan_deletions
from .indexes import IndexShelf
from .library import make_id
from .names import file_name, unused
from .safe_files import entry_refusal, inside, plain_name
from .writing import FileWorker, StorageFull, failure_reason

log = logging.getLogger("roto.backup")
CAPACITY_PERIOD_S = 2.0
INDEX_UPDATE_S = 1.0
FUTURE_SLACK_S = 5.0
ROOM_SECONDS = 60  # when the storage fills up, free room for this much video (at most one segment) at once


@dataclass
class _Segment:
    file_id: int
    writer: SegmentWriter
    start: float
    saved_at: float = 0.0


@dataclass(frozen=True)
class _Reserved:
    """The index row of the next segment, made before its first frame so a tag can be stored at once."""

    storage_uuid: str
    file_id: int
    path: Path


class VisualBackup:
    def __init__(
        self, store: StateStore, storages: StorageService, stream: StreamService, segment_seconds: float
    ) -> None:
        self._store = store
        self._storages = storages
        self._stream = stream
        self.segment_seconds = segment_seconds
        self.indexes = IndexShelf(store)  # shared with the recording library
        self._task: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._segment: _Segment | None = None
        self._reserved: _Reserved | None = None
        self._storage_uuid: str | None = None
        self._resume_when_back = False  # stopped because the storage went away: resume when it is back
        store.set_handler("backupActive", self._set_active)
        store.set_handler("createTag", self._create_tag)
        store.subscribe(self._on_change)
        storages.lost.append(self._storage_lost)

    # -- life cycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Reconcile the backup storage's index, then resume backup if it was on."""
        storage = self._storages.storage("backup")
        if storage is not None:
            await self.reconcile(storage)
        if self._store["backupActive"]:
            try:
                self._begin()
            except Refused as exc:
                self._resume_when_back = storage is None
                self._store.set_facts({"backupActive": False})
                self._store.announce(Notice("backupActive", f"Visual Backup not resumed: {exc}", "error"))
        self._ticker = asyncio.get_running_loop().create_task(self._publish_capacity_forever())

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.indexes.close_all()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def index_for(self, storage: Storage, create: bool = True) -> BackupIndex | None:
        """The storage's index; with ``create`` a missing or damaged one is replaced by a fresh one.
        None when there is none (``create`` false) or none can be made (a failing medium)."""
        return self.indexes.get(storage, create)

    # -- state handlers ------------------------------------------------------------------------
    def _set_active(self, on: bool) -> bool:
        if on and not self.running:
            self._begin()
        elif not on and self.running:
            self._stop.set()
        self._resume_when_back = False
        return on

    def _on_change(self, event: ChangeEvent) -> None:
        """Follow the backup storage: a new selection takes over at once, a returning storage resumes backup."""
        if "backupStorage" not in event.changes:
            return
        selected = self._storages.selection["backup"]
        if self.running and selected != self._storage_uuid:
            self._follow("Visual Backup continues on {}")
        elif not self.running and self._resume_when_back and self._storages.storage("backup") is not None:
            self._follow("Visual Backup resumed on {}")

    def _follow(self, message: str) -> None:
        self._resume_when_back = False
        try:
            self._begin()
        except Refused as exc:
            self._end_with(str(exc).removeprefix("backupActive: "))
            return
        storage = self._storages.storage("backup")
        assert storage is not None
        self._store.set_facts({"backupActive": True})
        self._store.announce(Notice("backupActive", message.format(storage.name), "info"))

    def _begin(self) -> None:
        problem = self._storages.problem("backup")
        if problem:
            raise Refused(f"backupActive: {problem}")
        storage = self._storages.storage("backup")
        assert storage is not None
        index = self.index_for(storage)
        if index is None:
            raise Refused(f"backupActive: {self.indexes.problems.get(storage.uuid, 'no backup index')}")
        available = self._available_seconds(storage, index)
        if available < capacity.ONE_HOUR:
            raise Refused(
                f"backupActive: Visual Backup needs at least one hour of recording time available or "
                f"freeable on {storage.name}, but only {available} s are ({self._store['backupResolution']}, "
                f"{self._store['backupFps']} fps, quality {self._store['backupPictureQuality']})"
            )
        self._stop.set()  # a run on another storage closes its segment; the new run waits for that
        self._stop = asyncio.Event()
        self._storage_uuid = storage.uuid
        previous = self._task
        self._task = asyncio.get_running_loop().create_task(self._run(storage, index, self._stop, previous))

    def _bps(self) -> float:
        s = self._store
        return capacity.bytes_per_second(s["backupResolution"], s["backupFps"], s["backupPictureQuality"])

    def _available_seconds(self, storage: Storage, index: BackupIndex) -> int:
        free = int(
            self._store["diskStorages"]
            .get(storage.uuid, self._store["netStorages"].get(storage.uuid, {}))
            .get("free", 0)
        )
        _, _, freeable = index.totals()
        return int((free + freeable) // self._bps())

    def _storage_lost(self, uid: str) -> None:
        if uid == self._storage_uuid and self.running:
            self._end_with("the storage was removed; it resumes when the storage is back")
            self._resume_when_back = True
        self.indexes.forget(uid)

    def _end_with(self, reason: str) -> None:
        self._stop.set()
        self._store.set_facts({"backupActive": False})
        self._store.announce(Notice("backupActive", f"Visual Backup stopped: {reason}", "error"))
        self._drop_reservation(f"Visual Backup stopped before the tagged segment began ({reason})")

    # -- recording loop ------------------------------------------------------------------------
    async def _run(
        self, storage: Storage, index: BackupIndex, stop: asyncio.Event, previous: asyncio.Task[None] | None
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # the run on the storage switched away from closes its segment first
        files = FileWorker("roto-backup")  # muxing and index writes wait for the storage there, not on the loop
        folder = storage.folder("backup")
        budget = SpaceBudget(storage.usage)
        frames = self._stream.frames(kind=BACKUP)
        log.info("Visual Backup recording on %s in %s s segments", storage.name, self.segment_seconds)
        try:
            await self._enforce_ring(storage, index, files)
            async with contextlib.aclosing(frames):
                async for frame in frames:
                    if stop.is_set():
                        break
                    seg = self._segment
                    if seg is not None and (
                        frame.captured - seg.start >= self.segment_seconds
                        or seg.writer.size != (frame.width, frame.height)
                    ):
                        await self._close_segment(index, files)
                        await self._enforce_ring(storage, index, files)
                        seg = None
                    if not await budget.allows(len(frame.jpeg)):
                        await self._close_segment(index, files)
                        seg = None
                        await self._make_room(index, storage, budget, self._room_for(len(frame.jpeg)), files)
                    if seg is None:
                        seg = await self._open_segment(storage, index, folder, frame, files)
                    await files.post(seg.writer.write, frame.jpeg, frame.captured)
                    budget.spend(len(frame.jpeg))
                    if frame.captured - seg.saved_at >= INDEX_UPDATE_S:
                        await files.post(_save_progress, index, seg)
                        seg.saved_at = frame.captured
        except OSError as exc:
            if self._task is asyncio.current_task():
                self._end_with(failure_reason(exc))
            else:
                log.error("Visual Backup on %s ended: %s", storage.name, failure_reason(exc))
        finally:
            if self._segment is not None:
                with contextlib.suppress(OSError, sqlite3.Error):
                    await self._close_segment(index, files)
            await files.close()
            if self._task is asyncio.current_task():
                self._storage_uuid = None
                self._drop_reservation("Visual Backup stopped before the tagged segment began")
            log.info("Visual Backup on %s stopped", storage.name)

    def _room_for(self, frame_bytes: int) -> int:
        return frame_bytes * int(self._store["backupFps"]) * int(min(self.segment_seconds, ROOM_SECONDS))

    async def _make_room(
        self, index: BackupIndex, storage: Storage, budget: SpaceBudget, need: int, files: FileWorker
    ) -> None:
        """The storage filled up between two turns of the ring buffer (the capacity model guessed low, or other
        files share the storage): delete the oldest deletable files until ``need`` bytes fit, else stop."""
        room = await budget.measure()
        doomed: list[tuple[int, str]] = []
        for file_id, name, _, size in index.deletable():
            if room >= need:
                break
            doomed.append((file_id, name))
            room += size
        if doomed:
            await files.call(_delete, storage, index, doomed)
            log.info("storage full: deleted the %d oldest untagged backup file(s)", len(doomed))
            room = await budget.measure()
        if room < need:
            raise StorageFull()

    async def _open_segment(
        self, storage: Storage, index: BackupIndex, folder: Path, frame: Any, files: FileWorker
    ) -> _Segment:
        reserved = self._reserved
        start, fps = frame.captured, self._store["backupFps"]
        if reserved is not None and reserved.storage_uuid == storage.uuid:
            self._reserved = None  # a tag is waiting in this row already
            file_id, path = reserved.file_id, reserved.path
            writer = await files.call(SegmentWriter, path, frame.width, frame.height, fps)
        else:
            name = file_name("backup", self._store["changeBackupPostName"], start, EXTENSION)
            file_id, writer = await files.call(_new_segment, index, folder, name, start, frame, fps)
        self._segment = _Segment(file_id, writer, start, start)
        return self._segment

    async def _close_segment(self, index: BackupIndex, files: FileWorker) -> None:
        seg, self._segment = self._segment, None
        if seg is not None:
            await files.call(_complete_segment, index, seg)

    async def _enforce_ring(self, storage: Storage, index: BackupIndex, files: FileWorker) -> None:
        """The delete algorithm, run when backup starts and at every split."""
        _, _, free = await asyncio.to_thread(storage.usage)
        stored, _, _ = index.totals()
        doomed = plan_deletions(
            index.deletable(),
            free_bytes=free,
            bytes_per_second=self._bps(),
            use_complete_space=self._store["backupUseCompleteSpace"],
            stored_seconds=stored,
            max_seconds=self._store["backupMaximumRecordingTimeCapacity"],
        )
        if not doomed:
            return
        await files.call(_delete, storage, index, [(file_id, name) for file_id, name, _ in doomed])
        log.info("ring buffer deleted %d backup file(s), oldest first", len(doomed))

    # -- tags ----------------------------------------------------------------------------------
    def _create_tag(self, request: dict[str, Any]) -> dict[str, Any]:
        now = time.time()
        moment = request.get("creationTime")
        title, note = str(request.get("title", "")), str(request.get("note", ""))
        if moment is not None and moment > now + FUTURE_SLACK_S:
            raise Refused(f"createTag: creationTime {_iso(moment)} is in the future")
        if moment is None and not self.running:
            self._begin()  # the spec: a tag without a time starts Visual Backup at once
            self._store.set_facts({"backupActive": True})
        moment = now if moment is None else float(moment)
        storage = self._storages.storage("backup")
        index = self.index_for(storage) if storage is not None else None
        if storage is None or index is None:
            raise Refused("createTag: the backup storage is not connected")
        row = index.covering(moment)
        if row is not None:
            return _told(self._store, _answer(storage, index.add_tag(row.id, moment, now, title, note)))
        if self.running and moment >= now - FUTURE_SLACK_S:
            # the segment that will hold this moment has no frame yet (backup just started, a split, or a
            # storage switch): its row is made now, so the tag is in the index before the answer leaves
            file_id = self._reserve(storage, index, now)
            return _told(self._store, _answer(storage, index.add_tag(file_id, max(moment, now), now, title, note)))
        raise Refused(f"createTag: no backup file covers {_iso(moment)}")

    def _reserve(self, storage: Storage, index: BackupIndex, start: float) -> int:
        if self._reserved is not None and self._reserved.storage_uuid == storage.uuid:
            return self._reserved.file_id
        self._drop_reservation("the backup storage was switched before the tagged segment began")
        folder = storage.folder("backup")
        path = unused(folder, file_name("backup", self._store["changeBackupPostName"], start, EXTENSION))
        self._reserved = _Reserved(storage.uuid, index.open_file(path.name, start), path)
        return self._reserved.file_id

    def _drop_reservation(self, reason: str) -> None:
        """A reserved row whose segment never began: remove it and say that its tags are gone."""
        reserved, self._reserved = self._reserved, None
        if reserved is None:
            return
        index = self.indexes.opened(reserved.storage_uuid)
        try:
            if index is not None:
                index.remove_files([reserved.file_id])
        except sqlite3.Error as exc:  # a storage just pulled: the next reconcile drops the row (no file)
            log.warning("could not remove the reserved backup row: %s", exc)
        self._store.announce(Notice("createTag", f"tag not kept: {reason}", "error"))

    # -- capacity ------------------------------------------------------------------------------
    async def _publish_capacity_forever(self) -> None:
        while True:
            try:
                self.publish_capacity()
            except Exception:
                log.exception("capacity update failed")
            await asyncio.sleep(CAPACITY_PERIOD_S)

    def publish_capacity(self) -> None:
        storage = self._storages.storage("backup")
        if storage is None:
            self._store.set_facts(
                {
                    "backupStoredFileDuration": "",
                    "backupFileCapacity": "",
                    "backupRemainingCapacitySeconds": "0",
                    "backupRemainingCapacityHours": "0.00",
                    "backupRemainingCapacity": "",
                    "storageBackupCapacity": "",
                }
            )
            return
        index = self.index_for(storage)
        stored, deletable, _ = index.totals() if index is not None else (0.0, 0.0, 0)
        free = int(self._store["backupStorage"].get("free", 0))
        s = self._store
        remaining = capacity.remaining_seconds(s["backupResolution"], s["backupFps"], s["backupPictureQuality"], free)
        self._store.set_facts(
            {
                "backupStoredFileDuration": capacity.duration_text(stored),
                "backupFileCapacity": capacity.duration_text(deletable),
                "backupRemainingCapacitySeconds": str(remaining),
                "backupRemainingCapacityHours": f"{remaining / 3600:.2f}",
                "backupRemainingCapacity": capacity.duration_text(remaining),
                "storageBackupCapacity": capacity.duration_text(remaining + deletable),
            }
        )

    # -- reconciliation ------------------------------------------------------------------------
    async def reconcile(self, storage: Storage) -> None:
        """Make the index match the files: finalise a segment left open by a crash, drop rows
        of files deleted by hand, adopt files the index does not know. Rows whose name fails
        the library's safety check (a crafted stick) are left alone, never opened or deleted."""
        index = self.index_for(storage)
        if index is None:
            return  # the shelf has said why; nothing to reconcile against
        folder = storage.folder("backup")
        known = {row.name: row for row in index.files()}
        verdicts = await asyncio.to_thread(lambda: {name: entry_refusal(folder, name) for name in known})
        for row in known.values():
            path, verdict = folder / row.name, verdicts[row.name]
            if verdict == "missing":
                index.remove_files([row.id])
                log.warning("backup file %s is gone; removed from the index", row.name)
            elif verdict is not None:
                log.warning("backup index row %r on %s ignored: %s", row.name, storage.name, verdict)
            elif not row.complete:
                try:
                    found = await asyncio.to_thread(finalise, path)
                except Exception as exc:  # an unreadable remnant: keep the bytes, mark what we know
                    log.error("could not finalise %s: %s", path, exc)
                    index.complete(row.id, row.end, path.stat().st_size)
                    continue
                index.complete(row.id, row.start + found.duration, found.size)
                log.info("finalised backup segment %s left open (%.1f s)", row.name, found.duration)
        for path in await asyncio.to_thread(_unknown_files, storage, set(known)):
            try:
                found = await asyncio.to_thread(probe, path)
            except Exception as exc:
                log.error("ignoring unreadable file %s: %s", path, exc)
                continue
            end = path.stat().st_mtime
            index.add_complete(path.name, end - found.duration, end, found.size)
            log.info("adopted backup file %s", path.name)


def _unknown_files(storage: Storage, known: set[str]) -> list[Path]:
    """Regular backup files in the folder that the index does not list (links and the like are skipped)."""
    folder = storage.folder("backup")
    names = sorted(p.name for p in folder.glob(f"*{EXTENSION}") if p.name not in known)
    return [folder / name for name in names if entry_refusal(folder, name) is None]


# -- file work, run in the backup's writer thread ------------------------------------------------


def _new_segment(
    index: BackupIndex, folder: Path, name: str, start: float, frame: Any, fps: int
) -> tuple[int, SegmentWriter]:
    folder.mkdir(parents=True, exist_ok=True)
    path = unused(folder, name)
    file_id = index.open_file(path.name, start)
    return file_id, SegmentWriter(path, frame.width, frame.height, fps)


def _save_progress(index: BackupIndex, seg: _Segment) -> None:
    index.extend(seg.file_id, seg.start + seg.writer.duration, seg.writer.bytes)


def _complete_segment(index: BackupIndex, seg: _Segment) -> None:
    seg.writer.close()
    index.complete(seg.file_id, seg.start + seg.writer.duration, seg.writer.path.stat().st_size)


def _delete(storage: Storage, index: BackupIndex, doomed: list[tuple[int, str]]) -> None:
    _unlink_all(storage, [name for _, name in doomed])
    index.remove_files(file_id for file_id, _ in doomed)


def _unlink_all(storage: Storage, names: list[str]) -> None:
    folder = storage.folder("backup")
    if not inside(storage, folder):
        return
    for name in filter(plain_name, names):  # a crafted row must not delete anything outside the folder
        (folder / name).unlink(missing_ok=True)


def _told(store: StateStore, tag: dict[str, Any]) -> dict[str, Any]:
    """Announce a created tag to every client (ONVIF turns it into an event), and hand it back."""
    title = f" {tag['title']!r}" if tag["title"] else ""
    store.announce(Notice("createTag", f"tag{title} created at {_iso(tag['creationTime'])}", "info"))
    return tag


def _answer(storage: Storage, tag: TagRow) -> dict[str, Any]:
    """A created tag as every API shows it: with the library's opaque ids, as the gallery lists them."""
    return {**tag.as_json(), "id": make_id(storage, "t", tag.id), "fileId": make_id(storage, "b", tag.file_id)}


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")

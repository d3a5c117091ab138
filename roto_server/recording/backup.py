"""Visual Backup: continuous recording in segments on the backup storage, a ring buffer that
deletes the oldest untagged segments, capacity figures, and tags that protect segments."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from roto_server.device import capacity
from roto_server.device.storage import Storage, StorageService
from roto_server.device.store import Notice, Refused, StateStore
from roto_server.imaging.pipeline import BACKUP, StreamService

from .container import EXTENSION, SegmentWriter, finalise, probe
from .index import BackupIndex, plan_deletions
from .indexes import IndexShelf
from .manual import failure_reason
from .names import file_name, unused
from .safe_files import entry_refusal, inside, plain_name

log = logging.getLogger("roto.backup")
CAPACITY_PERIOD_S = 2.0
INDEX_UPDATE_S = 1.0
FUTURE_SLACK_S = 5.0


@dataclass
class _Segment:
    file_id: int
    writer: SegmentWriter
    start: float
    saved_at: float = 0.0


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
        self._pending_tags: list[tuple[float, float, str, str]] = []
        self._storage_uuid: str | None = None
        store.set_handler("backupActive", self._set_active)
        store.set_handler("createTag", self._create_tag)
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
        return on

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
        self._stop = asyncio.Event()
        self._storage_uuid = storage.uuid
        self._task = asyncio.get_running_loop().create_task(self._run(storage, index))

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
            self._end_with("the storage was removed")
        self.indexes.forget(uid)

    def _end_with(self, reason: str) -> None:
        self._stop.set()
        self._store.set_facts({"backupActive": False})
        self._store.announce(Notice("backupActive", f"Visual Backup stopped: {reason}", "error"))

    # -- recording loop ------------------------------------------------------------------------
    async def _run(self, storage: Storage, index: BackupIndex) -> None:
        folder = storage.folder("backup")
        frames = self._stream.frames(kind=BACKUP)
        log.info("Visual Backup recording on %s in %s s segments", storage.name, self.segment_seconds)
        try:
            await self._enforce_ring(storage, index)
            async with contextlib.aclosing(frames):
                async for frame in frames:
                    if self._stop.is_set():
                        break
                    seg = self._segment
                    if seg is not None and (
                        frame.captured - seg.start >= self.segment_seconds
                        or seg.writer.size != (frame.width, frame.height)
                    ):
                        self._close_segment(index)
                        await self._enforce_ring(storage, index)
                        seg = None
                    if seg is None:
                        seg = self._open_segment(index, folder, frame.width, frame.height, frame.captured)
                    seg.writer.write(frame.jpeg, frame.captured)
                    if frame.captured - seg.saved_at >= INDEX_UPDATE_S:
                        index.extend(seg.file_id, seg.start + seg.writer.duration, seg.writer.bytes)
                        seg.saved_at = frame.captured
        except OSError as exc:
            self._end_with(failure_reason(exc))
        finally:
            if self._segment is not None:
                with contextlib.suppress(OSError):
                    self._close_segment(index)
            self._storage_uuid = None
            log.info("Visual Backup stopped")

    def _open_segment(self, index: BackupIndex, folder: Path, width: int, height: int, start: float) -> _Segment:
        name = file_name("backup", self._store["changeBackupPostName"], start, EXTENSION)
        path = unused(folder, name)
        writer = SegmentWriter(path, width, height, self._store["backupFps"])
        seg = self._segment = _Segment(index.open_file(path.name, start), writer, start, start)
        for moment, created, title, note in self._pending_tags:
            index.add_tag(seg.file_id, max(moment, start), created, title, note)
        self._pending_tags.clear()
        return seg

    def _close_segment(self, index: BackupIndex) -> None:
        seg, self._segment = self._segment, None
        if seg is None:
            return
        seg.writer.close()
        index.complete(seg.file_id, seg.start + seg.writer.duration, seg.writer.path.stat().st_size)

    async def _enforce_ring(self, storage: Storage, index: BackupIndex) -> None:
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
        await asyncio.to_thread(_unlink_all, storage, [name for _, name, _ in doomed])
        index.remove_files(file_id for file_id, _, _ in doomed)
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
        row = index.covering(moment) if index is not None else None
        if row is None or index is None:
            if self.running and moment >= now - FUTURE_SLACK_S:
                self._pending_tags.append((moment, now, title, note))  # for the segment about to open
                return {"pending": True, "creationTime": moment, "title": title, "note": note}
            raise Refused(f"createTag: no backup file covers {_iso(moment)}")
        return index.add_tag(row.id, moment, now, title, note).as_json()

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


def _unlink_all(storage: Storage, names: list[str]) -> None:
    folder = storage.folder("backup")
    if not inside(storage, folder):
        return
    for name in filter(plain_name, names):  # a crafted row must not delete anything outside the folder
        (folder / name).unlink(missing_ok=True)


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")

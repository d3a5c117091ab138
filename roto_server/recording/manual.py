"""Manual recording: record = start | pause | release | stop, into Matroska files on the recording storage."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import time
from typing import Any

from roto_server.device import rules
from roto_server.device.space import SpaceBudget, shortage
from roto_server.device.storage import StorageService
from roto_server.device.store import Notice, Refused, StateStore
from roto_server.imaging.pipeline import StreamService

from .container import EXTENSION, SegmentWriter
from .names import file_name, unused

log = logging.getLogger("roto.recording")


def failure_reason(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the storage is full"
    if exc.errno in (errno.ENOENT, errno.EIO, errno.ENODEV, errno.ENXIO):
        return "the storage was removed"
    return f"writing failed ({exc.strerror or exc})"


class StorageFull(OSError):
    def __init__(self) -> None:
        super().__init__(errno.ENOSPC, "storage full")


class ManualRecorder:
    def __init__(self, store: StateStore, storages: StorageService, stream: StreamService) -> None:
        self._store = store
        self._storages = storages
        self._stream = stream
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._paused = False
        self._storage_uuid: str | None = None
        store.set_handler("record", self._record)
        storages.lost.append(self._storage_lost)

    # -- state handler ---------------------------------------------------------------------
    def _record(self, wanted: str) -> str:
        current = self._store["record"]
        new = rules.record_transition(current, wanted)
        if current == "stop" and new != "stop":
            problem = self._storages.problem("recording") or shortage(self._store["recordingStorage"], "a recording")
            if problem:
                raise Refused(f"record: {problem}")
            self._begin()
        elif new == "stop" and current != "stop":
            self._stop.set()
        self._paused = new == "pause"
        return new

    def _begin(self) -> None:
        storage = self._storages.storage("recording")
        assert storage is not None
        self._storage_uuid = storage.uuid
        self._stop = asyncio.Event()
        folder = self._storages.folder("recording", "recordings")
        self._task = asyncio.get_running_loop().create_task(self._run(folder, storage.usage))

    def _storage_lost(self, uid: str) -> None:
        if uid == self._storage_uuid and self._task is not None and not self._task.done():
            self._end_with("the storage was removed")

    def _end_with(self, reason: str) -> None:
        self._stop.set()
        self._store.set_facts({"record": "stop"})
        self._store.announce(Notice("record", f"recording stopped: {reason}", "error"))

    async def stop(self) -> None:
        """Close the file on shutdown."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # -- the recording loop ------------------------------------------------------------------
    async def _run(self, folder: Any, usage: Any) -> None:
        writer: SegmentWriter | None = None
        recorded, paused_total, pause_began, reported = 0.0, 0.0, None, -1
        budget = SpaceBudget(usage)
        self._store.set_facts({"recordTime": 0})
        frames = self._stream.frames()
        try:
            async with contextlib.aclosing(frames):
                async for frame in frames:
                    if self._stop.is_set():
                        break
                    if self._paused:
                        pause_began = pause_began or frame.captured
                        continue
                    if pause_began is not None:
                        paused_total += frame.captured - pause_began
                        pause_began = None
                    if not await budget.allows(len(frame.jpeg)):
                        raise StorageFull()
                    if writer is None or writer.size != (frame.width, frame.height):
                        if writer is not None:
                            writer.close()
                        writer = self._open(folder, frame.width, frame.height)
                    writer.write(frame.jpeg, frame.captured - paused_total)
                    budget.spend(len(frame.jpeg))
                    recorded = writer.duration
                    if int(recorded) != reported:
                        reported = int(recorded)
                        self._store.set_facts({"recordTime": reported})
        except OSError as exc:
            self._end_with(failure_reason(exc))
            await self._storages.rescan_async()  # the next record=start sees the new free space at once
        finally:
            if writer is not None:
                with contextlib.suppress(OSError):
                    writer.close()
                log.info("recording closed: %s (%.1f s)", writer.path, writer.duration)
            self._storage_uuid = None

    def _open(self, folder: Any, width: int, height: int) -> SegmentWriter:
        name = file_name(self._store["changeVideoName"], self._store["changePostName"], time.time(), EXTENSION)
        path = unused(folder, name)
        log.info("recording to %s", path)
        return SegmentWriter(path, width, height, self._store["recordingFps"])

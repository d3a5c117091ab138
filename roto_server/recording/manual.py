"""Manual recording: record = start | pause | release | stop, into Matroska files on the recording storage."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

from roto_server.device import rules
from roto_server.device.space import SpaceBudget, shortage
from roto_server.device.storage import StorageService
from roto_server.device.store import Notice, Refused, StateStore
from roto_server.imaging.pipeline import StreamService

from .container import EXTENSION, SegmentWriter
from .names import file_name, unused
from .writing import FileWorker, StorageFull, failure_reason

log = logging.getLogger("roto.recording")


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
        folder = storage.folder("recordings")  # created by the writer thread, not in this handler
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
    async def _run(self, folder: Path, usage: Any) -> None:
        files = FileWorker("roto-recording")  # muxing waits for the storage there, never on the loop
        writer: SegmentWriter | None = None
        recorded, paused_total, pause_began, reported = 0.0, 0.0, None, -1
        failed = False
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
                            await files.post(writer.close)
                        name = file_name(
                            self._store["changeVideoName"], self._store["changePostName"], time.time(), EXTENSION
                        )
                        fps = self._store["recordingFps"]
                        writer = await files.call(_open, folder, name, frame.width, frame.height, fps)
                    await files.post(writer.write, frame.jpeg, frame.captured - paused_total)
                    budget.spend(len(frame.jpeg))
                    recorded = writer.duration  # as far as the writer thread has got; a frame behind at most
                    if int(recorded) != reported:
                        reported = int(recorded)
                        self._store.set_facts({"recordTime": reported})
        except OSError as exc:
            self._end_with(failure_reason(exc))
            await self._storages.rescan_async()  # the next record=start sees the new free space at once
            failed = True
        finally:
            if writer is None and not failed:  # stopped before the first frame: say so rather than leave no trace
                self._store.announce(Notice("record", "recording stopped before its first frame: no file written"))
            if writer is not None:
                with contextlib.suppress(OSError):
                    await files.call(writer.close)
                log.info("recording closed: %s (%.1f s)", writer.path, writer.duration)
            await files.close()
            self._storage_uuid = None


def _open(folder: Path, name: str, width: int, height: int, fps: int) -> SegmentWriter:
    """Runs in the writer thread: finding an unused name and creating the file both touch the storage."""
    folder.mkdir(parents=True, exist_ok=True)
    path = unused(folder, name)
    log.info("recording to %s", path)
    return SegmentWriter(path, width, height, fps)

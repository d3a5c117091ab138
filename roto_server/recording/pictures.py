"""takePicture: the current frame of the pipeline stored as a JPEG on the recording storage."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from roto_server.device.settings import write_atomic
from roto_server.device.space import shortage
from roto_server.device.storage import StorageService
from roto_server.device.store import Notice, Refused, StateStore
from roto_server.imaging.pipeline import StreamService

from .names import file_name, unused

log = logging.getLogger("roto.pictures")


class PictureTaker:
    def __init__(self, store: StateStore, stream: StreamService, storages: StorageService | None = None) -> None:
        self._store = store
        self._stream = stream
        self._storages = storages
        self._tasks: set[asyncio.Task[None]] = set()
        store.set_handler("takePicture", self._take_picture)

    async def save_picture(self, folder: Path) -> Path:
        """Store the current frame as a JPEG in ``folder``, named from changeImageName/changePostName."""
        frame = await self._stream.snapshot()
        name = file_name(self._store["changeImageName"], self._store["changePostName"], frame.captured, ".jpg")
        path = await asyncio.to_thread(_store_jpeg, folder, name, frame.jpeg)
        log.info("picture stored: %s", path)
        return path

    def _take_picture(self, value: bool) -> bool:
        if not value:
            return False
        problem = self._storages.problem("recording") if self._storages else "no storages on this unit"
        problem = problem or shortage(self._store["recordingStorage"], "a picture")
        storage = self._storages.storage("recording") if self._storages else None
        if problem or storage is None:
            raise Refused(f"takePicture: {problem}")
        task = asyncio.get_running_loop().create_task(self._picture_task(storage.folder("pictures")))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _picture_task(self, folder: Path) -> None:
        try:
            await self.save_picture(folder)
        except OSError as exc:
            self._store.announce(Notice("takePicture", f"takePicture: storing the picture failed: {exc}", "error"))


def _store_jpeg(folder: Path, name: str, jpeg: bytes) -> Path:
    """In a worker thread: creating the folder, finding an unused name and writing all touch the storage."""
    folder.mkdir(parents=True, exist_ok=True)
    path = unused(folder, name)
    write_atomic(path, jpeg)
    return path

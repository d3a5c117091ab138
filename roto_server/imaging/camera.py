"""The camera as the device sees it: frame sources for each head, fed by the live state."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from roto_server.device.settings import write_atomic
from roto_server.device.space import shortage
from roto_server.device.storage import StorageService
from roto_server.device.store import ChangeEvent, Notice, Refused, StateStore
from roto_server.recording.names import file_name, unused

from .pipeline import StreamService
from .processing import ImagingSettings, settings_from_state
from .sources import FrameSource

log = logging.getLogger("roto.camera")

# state variables the pipeline reads; other changes do not rebuild its settings
IMAGING_KEYS = frozenset(
    [f"{p}{i}" for p in ("cam", "light", "RPM", "oct", "zoom", "pan", "alignmentStream") for i in (0, 1)]
    + [
        "cam0Exists",
        "cam1Exists",
        "cam0SelectedSensor",
        "cam1SelectedSensor",
        "cameraSwitch",
        "pip",
        "exposure",
        "expo",
        "gain",
        "brightness",
        "whiteBalance",
        "redGain",
        "blueGain",
        "noiseSuppression",
        "sharpness",
        "saturation",
        "contrast",
        "recordingResolution",
        "recordingFps",
        "recordingPictureQuality",
        "recordingWithTimeStamp",
        "recordingWithDateStamp",
        "timezone",
    ]
)


class Camera:
    def __init__(
        self,
        store: StateStore,
        sources: list[FrameSource | None],
        storages: StorageService | None = None,
        *,
        paced: bool = True,
    ) -> None:
        self._storages = storages
        self._store = store
        self._settings = settings_from_state(self._store.snapshot("admin"))
        self._store.subscribe(self._on_change)
        self._store.set_handler("takePicture", self._take_picture)
        self.stream = StreamService(sources, self.settings, paced=paced)
        self._tasks: set[asyncio.Task[None]] = set()

    def settings(self) -> ImagingSettings:
        return self._settings

    def start(self) -> None:
        self.stream.start()

    def stop(self) -> None:
        self.stream.stop()

    def _on_change(self, event: ChangeEvent) -> None:
        if IMAGING_KEYS.intersection(event.changes):
            self._settings = settings_from_state(self._store.snapshot("admin"))

    # -- takePicture ------------------------------------------------------------------------
    async def save_picture(self, folder: Path) -> Path:
        """Store the current frame as a JPEG in ``folder``, named from changeImageName/changePostName."""
        frame = await self.stream.snapshot()
        name = file_name(self._store["changeImageName"], self._store["changePostName"], frame.captured, ".jpg")
        path = unused(folder, name)
        await asyncio.to_thread(write_atomic, path, frame.jpeg)
        log.info("picture stored: %s", path)
        return path

    def _take_picture(self, value: bool) -> bool:
        if not value:
            return False
        problem = self._storages.problem("recording") if self._storages else "no storages on this unit"
        problem = problem or shortage(self._store["recordingStorage"], "a picture")
        if problem or self._storages is None:
            raise Refused(f"takePicture: {problem}")
        folder = self._storages.folder("recording", "pictures")
        task = asyncio.get_running_loop().create_task(self._picture_task(folder))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _picture_task(self, folder: Path) -> None:
        try:
            await self.save_picture(folder)
        except OSError as exc:
            self._store.announce(Notice("takePicture", f"takePicture: storing the picture failed: {exc}", "error"))

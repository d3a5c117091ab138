"""The camera as the device sees it: frame sources for each head, fed by the live state."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from roto_server.device.settings import write_atomic
from roto_server.device.store import ChangeEvent, Notice, Refused

from .pipeline import StreamService
from .processing import ImagingSettings, settings_from_state
from .sources import FrameSource

if TYPE_CHECKING:
    from roto_server.device.unit import ControlUnit

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


def picture_name(prefix: str, postfix: str, when: float) -> str:
    """File name of a picture: prefix, local date and time, postfix (e.g. cell7_2024-05-01_13-45-00_A.jpg)."""
    stamp = datetime.fromtimestamp(when).strftime("%Y-%m-%d_%H-%M-%S")
    parts = [p for p in (prefix, stamp, postfix) if p]
    return "_".join(parts) + ".jpg"


class Camera:
    def __init__(self, unit: ControlUnit, sources: list[FrameSource | None], *, paced: bool = True) -> None:
        self._unit = unit
        self._store = unit.store
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
        name = picture_name(self._store["changeImageName"], self._store["changePostName"], frame.captured)
        path = folder / name
        if path.exists():  # two pictures in one second: keep both
            path = folder / f"{path.stem}_{int(time.time() * 1000) % 1000:03d}.jpg"
        await asyncio.to_thread(write_atomic, path, frame.jpeg)
        log.info("picture stored: %s", path)
        return path

    def _take_picture(self, value: bool) -> bool:
        if not value:
            return False
        problem = self._unit.recording_storage_problem()
        if problem:
            raise Refused(f"takePicture: {problem}")
        folder = self._unit.recording_folder()
        task = asyncio.get_running_loop().create_task(self._picture_task(folder))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _picture_task(self, folder: Path) -> None:
        try:
            await self.save_picture(folder)
        except OSError as exc:
            self._store.announce(Notice("takePicture", f"takePicture: storing the picture failed: {exc}", "error"))

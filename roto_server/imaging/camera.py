"""The camera as the device sees it: frame sources for each head, fed by the live state."""

from __future__ import annotations

import logging

from roto_server.device.store import ChangeEvent, StateStore

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
        *,
        paced: bool = True,
    ) -> None:
        self._store = store
        self._settings = settings_from_state(self._store.snapshot("admin"))
        self._store.subscribe(self._on_change)
        self.stream = StreamService(sources, self.settings, paced=paced)

    def settings(self) -> ImagingSettings:
        return self._settings

    def start(self) -> None:
        self.stream.start()

    def stop(self) -> None:
        self.stream.stop()

    def _on_change(self, event: ChangeEvent) -> None:
        if IMAGING_KEYS.intersection(event.changes):
            self._settings = settings_from_state(self._store.snapshot("admin"))

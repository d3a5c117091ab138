"""Puts the device together: state, hardware, storages, camera, recorders. No web framework here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from roto_server.device.hardware import SimulatedHardware
from roto_server.device.storage import StorageService
from roto_server.device.unit import ControlUnit
from roto_server.imaging.camera import Camera
from roto_server.imaging.sources import open_source
from roto_server.recording.backup import VisualBackup
from roto_server.recording.library import RecordingLibrary
from roto_server.recording.manual import ManualRecorder
from roto_server.recording.pictures import PictureTaker


@dataclass
class Device:
    unit: ControlUnit
    storages: StorageService
    camera: Camera
    recorder: ManualRecorder
    backup: VisualBackup
    library: RecordingLibrary  # what the APIs list and download, over the backup's own indexes
    pictures: PictureTaker

    async def start(self) -> None:
        self.unit.start()
        self.camera.start()
        self.unit.spawn(self.storages.watch(), "roto-storage-watch")
        await self.backup.start()

    async def stop(self) -> None:
        await self.recorder.stop()
        await self.backup.stop()
        await self.storages.flush()
        self.camera.stop()
        await self.unit.stop()


def build_device(
    data_dir: Path, heads: tuple[str, str], storage_root: Path | None = None, segment_seconds: float = 300.0
) -> Device:
    """The embedded default: simulated hardware, the given head sources, storages under the root."""
    hardware = SimulatedHardware(heads=(heads[0] != "none", heads[1] != "none"))
    unit = ControlUnit(data_dir, hardware)
    storages = StorageService(unit.store, storage_root or data_dir / "storages", data_dir)
    unit.boot()
    storages.boot()
    sources = [open_source(spec, i, hardware.head_sensors(i)) for i, spec in enumerate(heads)]
    camera = Camera(unit.store, sources)
    pictures = PictureTaker(unit.store, camera.stream, storages)
    recorder = ManualRecorder(unit.store, storages, camera.stream)
    backup = VisualBackup(unit.store, storages, camera.stream, segment_seconds)
    return Device(unit, storages, camera, recorder, backup, RecordingLibrary(storages, backup.indexes), pictures)

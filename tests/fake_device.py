"""A device with fixed, deterministic data and the SDK client's interface, for screen snapshots."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import cv2
import numpy as np

from roto_shared.catalogue import load_catalogue
from roto_tui.client import Answer, ConnectionChanged, Event, StateChanged, StateReset

T0 = 1_780_000_000.0  # a fixed moment (2026-05-28 UTC)
DISK = {
    "uuid": "0b5e",
    "name": "internal",
    "path": "/data/storages/internal",
    "type": "disk",
    "available": True,
    "writable": True,
    "total": 125828988928,
    "totalStr": "117.187 GB",
    "used": 65710194688,
    "usedStr": "61.197 GB",
    "free": 60118794240,
    "freeStr": "55.990 GB",
}
FACTS: dict[str, Any] = {
    "cam0Exists": True,
    "cam1Exists": True,
    "RPM0": 2996,
    "RPM1": 0,
    "rpm0": 3000,
    "rpm1": 3000,
    "dictRotation1": False,
    "oct0": "38.4°C",
    "oct1": "33.0°C",
    "psi0": "1148mbar",
    "psi1": "1155mbar",
    "psiSetpoint": "1150mbar",
    "record": "start",
    "recordTime": 42,
    "backupActive": True,
    "diskStorages": {"0b5e": DISK},
    "recordingStorage": DISK,
    "backupStorage": DISK,
    "backupRemainingCapacity": "3:58h",
    "backupRemainingCapacitySeconds": "14313",
    "backupStoredFileDuration": "1:10h",
    "storageBackupCapacity": "5:08h",
    "hostname": "cell7",
    "swVersion": "0.1.0",
    "seconds": int(T0),
    "time": [2026, 5, 28, 20, 26, 40],
}


def initial_state() -> dict[str, Any]:
    state: dict[str, Any] = {}
    for var in load_catalogue().values():
        if var.readable:
            empty = {"boolean": False, "integer": 0, "number": 0, "string": "", "object": {}, "array": []}
            state[var.name] = var.default if var.default is not None else empty[var.type]
    state.update(FACTS)
    return state


def test_picture(width: int = 320, height: int = 180) -> bytes:
    y, x = np.mgrid[0:height, 0:width]
    image = np.dstack([(x * 255 // width), (y * 255 // height), np.full_like(x, 128)]).astype(np.uint8)
    cv2.circle(image, (width // 2, height // 2), height // 4, (240, 240, 240), -1)
    return cv2.imencode(".png", image)[1].tobytes()


class FakeDevice:
    base = "http://roto.test:8080"
    brings_credentials = True  # as a console started with --token

    def __init__(self) -> None:
        self.state = initial_state()
        self.connected = False
        self.written: list[dict[str, Any]] = []
        self._listeners: list[Callable[[Event], None]] = []
        self.files = [
            {
                "id": "0b5e.1",
                "name": "backup_1.mkv",
                "start": T0 - 600,
                "end": T0 - 300,
                "duration": 300.0,
                "size": 450_000_000,
                "complete": True,
                "storage": {"uuid": "0b5e", "name": "internal"},
                "tags": [{"id": "0b5e.7", "title": "tool break", "note": "T12", "creationTime": T0 - 500}],
            },
            {
                "id": "0b5e.2",
                "name": "backup_2.mkv",
                "start": T0 - 300,
                "end": T0,
                "duration": 300.0,
                "size": 452_000_000,
                "complete": True,
                "storage": {"uuid": "0b5e", "name": "internal"},
                "tags": [],
            },
        ]

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def start(self) -> None:
        self.connected = True
        for event in (ConnectionChanged(True, self.base), StateReset(dict(self.state))):
            self.emit(event)

    def emit(self, event: Event) -> None:
        """Play an event as the real client would (a change is merged into the mirror first)."""
        if isinstance(event, StateChanged):
            self.state.update(event.changes)
        elif isinstance(event, ConnectionChanged):
            self.connected = event.connected
        for listener in list(self._listeners):
            listener(event)

    async def close(self) -> None:
        self.connected = False

    async def apply(self, values: dict[str, Any]) -> Answer:
        self.written.append(values)
        changes = {k: v for k, v in values.items() if k in self.state}
        for key in ("recordingStorage", "backupStorage"):  # written as a uuid, read as the storage's description
            if key in changes:
                changes[key] = self.state["diskStorages"][changes[key]]
        self.emit(StateChanged(changes))
        return Answer(changes)

    async def frames(self, width: int | None = None) -> AsyncIterator[bytes]:
        yield test_picture()
        await asyncio.Event().wait()  # one frame, then a still picture: snapshots stay stable

    async def backup_files(self, tagged_only: bool = False) -> list[dict[str, Any]]:
        return [f for f in self.files if f["tags"] or not tagged_only]

    async def tags(self) -> list[dict[str, Any]]:
        return [t for f in self.files for t in f["tags"]]

    async def create_tag(self, title: str = "", note: str = "", creation_time: float | None = None) -> Answer:
        return await self.apply({"createTag": {"title": title, "note": note}})

    async def remove_tag(self, tag_id: str) -> None:
        for f in self.files:
            f["tags"] = [t for t in f["tags"] if t["id"] != tag_id]

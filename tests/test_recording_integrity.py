"""Recording and Visual Backup integrity (issue 9, items 9-12): fresh first frames, settings that apply from the
first frame, backup storage switches, durable tags and one space budget for both recorders."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.media_files import ffprobe, make_storage, wait_for
from tests.server_process import ServerProcess
from tests.test_camera_endpoints import read_parts

SEGMENT = ["--segment-seconds", "2"]
LEAN_BACKUP = {"backupResolution": "HD", "backupFps": 5, "backupPictureQuality": 1}
IDLE_S = 2.0  # long enough that a stale first frame shows in every duration below


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
def unit(tmp_path: Path, root: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "data", args=[*SEGMENT, "--storage-root", str(root)])
    yield server
    server.stop()


def idle_for(server: ServerProcess, seconds: float) -> None:
    """Let the pipeline go idle and stay so: the gap a stale frame would span."""
    wait_for(lambda: server.log().count("pipeline idle") >= 1, what="pipeline idle")
    time.sleep(seconds)  # the idle period itself is the condition under test


def recordings(root: Path, storage: str = "internal") -> list[Path]:
    return sorted((root / storage / "roto" / "recordings").glob("*.mkv"))


def closed(path: Path) -> dict[str, Any]:
    return wait_for(lambda: (i := ffprobe(path))["duration"] and i, what=f"{path.name} closed")  # type: ignore[no-any-return]


def backup_files(server: ServerProcess) -> list[dict[str, Any]]:
    res = requests.get(server.url("/api/backup/files"), params={"token": server.token}, timeout=10)
    assert res.status_code == 200, res.text
    return res.json()["files"]  # type: ignore[no-any-return]


# -- item 9: every recording starts with a frame captured after its start ----------------------------------------
def test_manual_recording_after_an_idle_pipeline_lasts_the_wall_clock(unit: ServerProcess, root: Path) -> None:
    unit.post({"recordingResolution": "HD", "recordingFps": 10})
    assert requests.get(unit.url("/camera.jpeg"), params={"token": unit.token}, timeout=10).ok  # a frame on the bus
    idle_for(unit, IDLE_S)
    began = time.monotonic()
    assert unit.post({"record": "start"}).json() == {"record": "start"}
    wait_for(lambda: unit.state("recordTime")["recordTime"] >= 1, what="1 s recorded")
    shown = unit.state("recordTime")["recordTime"]
    assert unit.post({"record": "stop"}).json() == {"record": "stop"}
    wall = time.monotonic() - began
    assert shown <= wall + 0.1
    (path,) = recordings(root)
    # one frame interval either way, plus the request round trips
    assert closed(path)["duration"] == pytest.approx(wall, abs=0.1 + 0.15)


def test_mjpeg_after_an_idle_pipeline_starts_with_a_new_frame(unit: ServerProcess) -> None:
    unit.post({"recordingWithTimeStamp": True, "recordingResolution": "HD"})
    before = requests.get(unit.url("/camera.jpeg"), params={"token": unit.token}, timeout=10).content
    idle_for(unit, 1.1)  # the stamp shows seconds
    _, parts = read_parts(unit.url(f"/camera.mjpeg?token={unit.token}"), 1)
    assert parts[0][1] != before


def test_backup_started_by_a_tag_after_idling_begins_after_the_tag(unit: ServerProcess) -> None:
    unit.post({**LEAN_BACKUP, "backupActive": True})
    wait_for(lambda: backup_files(unit), what="a first segment")
    unit.post({"backupActive": False})
    old = {f["name"] for f in backup_files(unit)}
    idle_for(unit, IDLE_S)
    asked = time.time()
    res = unit.post({"createTag": {"title": "crash"}})
    assert res.json()["createTag"]["title"] == "crash"
    newest = wait_for(lambda: [f for f in backup_files(unit) if f["name"] not in old], what="new segment")[0]
    assert newest["start"] >= asked - 0.05
    assert [t["title"] for t in newest["tags"]] == ["crash"]
    unit.post({"backupActive": False})


# -- item 10: settings written before record=start apply from the first frame -------------------------------------
def test_settings_before_record_start_apply_from_the_first_frame(unit: ServerProcess, root: Path) -> None:
    viewer = requests.get(unit.url(f"/camera.mjpeg?token={unit.token}"), stream=True, timeout=10)
    try:
        next(viewer.iter_content(chunk_size=1024))  # the pipeline runs at FullHD, 30 fps
        res = requests.get(
            unit.url("/api"),
            params={"token": unit.token, "recordingResolution": "HD", "recordingFps": 10, "record": "start"},
            timeout=10,
        )
        assert res.json()["record"] == "start"
        wait_for(lambda: unit.state("recordTime")["recordTime"] >= 1, what="1 s recorded")
        unit.post({"record": "stop"})
    finally:
        viewer.close()
    (path,) = recordings(root)
    info = closed(path)
    assert (info["width"], info["height"]) == (1280, 720)

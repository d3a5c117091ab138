"""Recording and Visual Backup integrity (issue 9, items 9-12): fresh first frames, settings that apply from the
first frame, backup storage switches, durable tags and one space budget for both recorders."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from websocket import create_connection

from tests.inprocess import InProcessServer
from tests.media_files import SEGMENT, ffprobe, make_storage, wait_for
from tests.server_process import ServerProcess
from tests.test_camera_endpoints import read_parts

LEAN_BACKUP = {"backupResolution": "HD", "backupFps": 5, "backupPictureQuality": 1}
IDLE_S = 2.0  # long enough that a stale first frame shows in every duration below


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


# -- item 11: the backup storage can be switched while backup runs; tags are durable; backup resumes ---------------
def storage_uuid(server: ServerProcess, name: str) -> str:
    def find() -> str | None:
        disks = server.state("diskStorages")["diskStorages"]
        return next((u for u, d in disks.items() if d["name"] == name), None)

    return str(wait_for(find, what=f"storage {name}"))


def tag_titles(folder: Path) -> list[str]:
    with sqlite3.connect(f"file:{folder / 'index.sqlite3'}?mode=ro", uri=True) as db:
        return [row[0] for row in db.execute("SELECT title FROM tags ORDER BY id")]


def test_switching_the_backup_storage_moves_backup_and_tags_at_once(tmp_path: Path, root: Path) -> None:
    data = tmp_path / "data"
    unit = InProcessServer(data, args=[*SEGMENT, "--storage-root", str(root)])
    stick = make_storage(root, "stick") / "roto" / "backup"
    internal = root / "internal" / "roto" / "backup"
    try:
        uid = storage_uuid(unit, "stick")
        unit.post({**LEAN_BACKUP, "backupActive": True})
        wait_for(lambda: list(internal.glob("*.mkv")), what="backup on the internal storage")
        res = unit.post({"backupStorage": uid, "createTag": {"title": "after the switch"}})
        tag = res.json()["createTag"]
        assert tag["title"] == "after the switch" and "pending" not in tag
        assert tag_titles(stick) == ["after the switch"]  # stored when the answer left
        on_internal = sorted(internal.glob("*.mkv"))
        wait_for(lambda: len(list(stick.glob("*.mkv"))) >= 2, what="segments on the stick")
        assert sorted(internal.glob("*.mkv")) == on_internal  # nothing more went to the old storage
        assert all(f["complete"] for f in backup_files(unit)[:-1])
        assert unit.state("backupActive") == {"backupActive": True}
    finally:
        unit.stop()
    again = InProcessServer(data, args=[*SEGMENT, "--storage-root", str(root)])
    try:
        res = requests.get(again.url("/api/backup/tags"), params={"token": again.token}, timeout=10)
        assert [t["title"] for t in res.json()["tags"]] == ["after the switch"]
    finally:
        again.stop()


def test_backup_resumes_by_itself_when_its_storage_is_back(unit: ServerProcess, root: Path, tmp_path: Path) -> None:
    stick = make_storage(root, "stick")
    uid = storage_uuid(unit, "stick")
    unit.post({**LEAN_BACKUP, "backupStorage": uid, "backupActive": True})
    folder = stick / "roto" / "backup"
    wait_for(lambda: list(folder.glob("*.mkv")), what="backup on the stick")
    away = tmp_path / "unplugged"
    stick.rename(away)
    wait_for(lambda: unit.state("backupActive") == {"backupActive": False}, what="backup stopped")
    before = len(list((away / "roto" / "backup").glob("*.mkv")))
    away.rename(stick)
    wait_for(lambda: unit.state("backupActive") == {"backupActive": True}, what="backup resumed")
    assert "Visual Backup resumed on stick" in unit.log()
    wait_for(lambda: len(list(folder.glob("*.mkv"))) > before, what="a new segment after the return")
    unit.post({"backupActive": False})


# -- item 12: one space budget for manual recording, pictures and Visual Backup ------------------------------------
def tree_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_full_storage_refuses_recording_and_pictures_up_front(unit: ServerProcess, root: Path) -> None:
    stick = make_storage(root, "full", quota=8 * 1024 * 1024)
    (stick / "other-data.bin").write_bytes(bytes(7 * 1024 * 1024))
    uid = storage_uuid(unit, "full")
    unit.post({"recordingStorage": uid})
    wait_for(lambda: unit.state("recordingStorage")["recordingStorage"].get("free", 1 << 30) < 2 << 20, what="full")
    res = unit.post({"record": "start", "takePicture": True})
    assert res.json() == {"record": "stop", "takePicture": False}
    messages = {n["variable"]: n["message"] for n in json.loads(res.headers["X-Roto-Notices"])}
    assert "the storage full is full" in messages["record"] and "MB free" in messages["takePicture"]
    assert not (stick / "roto" / "recordings").exists() or not list((stick / "roto" / "recordings").iterdir())


def test_backup_keeps_within_the_quota_and_frees_the_oldest_files(unit: ServerProcess, root: Path) -> None:
    quota = 56 * 1024 * 1024
    stick = make_storage(root, "small", quota=quota)
    uid = storage_uuid(unit, "small")
    unit.post({**LEAN_BACKUP, "backupFps": 1, "backupStorage": uid, "backupUseCompleteSpace": False})
    assert unit.post({"backupActive": True}).json() == {"backupActive": True}  # an hour fits by the model
    unit.post({"backupFps": 30, "backupPictureQuality": 100})  # ...but now the real bytes are far more
    folder = stick / "roto" / "backup"
    seen: set[str] = set()
    peak = 0

    def filled_and_freed() -> bool:
        nonlocal peak
        peak = max(peak, tree_size(stick))
        names = {p.name for p in folder.glob("*.mkv")}
        seen.update(names)
        return peak > quota or len(seen) > len(names)

    wait_for(filled_and_freed, timeout=60, what="the storage filled and the oldest file deleted")
    assert peak <= quota
    assert unit.state("backupActive") == {"backupActive": True}
    unit.post({"backupActive": False})


def test_a_recording_stopped_before_its_first_frame_says_no_file_was_written(unit: ServerProcess) -> None:
    ws = create_connection(unit.ws_url, timeout=10)
    ws.recv()  # the full state
    # start and stop in one request (applied in order): no frame can reach the recorder in between
    pairs = [("token", unit.token), ("record", "start"), ("record", "stop")]
    assert requests.get(unit.url("/api"), params=pairs, timeout=10).json() == {"record": "stop"}
    deadline = time.monotonic() + 10
    told = ""
    while "no file written" not in told and time.monotonic() < deadline:
        told = ws.recv()
    ws.close()
    assert "no file written" in told

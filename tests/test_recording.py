"""Storages, manual recording, pictures, Visual Backup and tags against a real server."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import cv2
import pytest
import requests

from tests.inprocess import InProcessServer
from tests.media_files import SEGMENT, ffprobe, make_storage, wait_for
from tests.server_process import ServerProcess

# the cheapest backup settings: one hour of them fits into ~50 MB
LEAN_BACKUP = {"backupResolution": "HD", "backupFps": 1, "backupPictureQuality": 1}


def gallery(server: ServerProcess, path: str, **params: Any) -> Any:
    res = requests.get(server.url(path), params={"token": server.token, **params}, timeout=10)
    assert res.status_code == 200, res.text
    return res.json()


def storage_uuid(server: ServerProcess, name: str) -> str:
    def find() -> str | None:
        disks = server.state("diskStorages")["diskStorages"]
        return next((u for u, d in disks.items() if d["name"] == name), None)

    return str(wait_for(find, what=f"storage {name}"))


def test_internal_storage_is_selected_out_of_the_box(unit: ServerProcess, root: Path) -> None:
    state = unit.state("recordingStorage", "backupStorage", "diskStorages")
    internal = state["recordingStorage"]
    assert internal["name"] == "internal" and internal["path"] == str(root / "internal")
    assert state["backupStorage"]["uuid"] == internal["uuid"] and internal["uuid"] in state["diskStorages"]
    assert internal["totalStr"].endswith(" GB") and internal["free"] > 0


def test_manual_recording_start_pause_release_stop(unit: ServerProcess, root: Path) -> None:
    unit.post({"changeVideoName": "cell7", "changePostName": "op20", "recordingResolution": "HD"})
    assert unit.post({"record": "start"}).json() == {"record": "start"}
    wait_for(lambda: unit.state("recordTime")["recordTime"] >= 2, what="2 s recorded")
    assert unit.post({"record": "pause"}).json() == {"record": "pause"}
    paused_at = unit.state("recordTime")["recordTime"]
    time.sleep(1.5)
    assert unit.state("recordTime")["recordTime"] == paused_at
    assert unit.post({"record": "release"}).json() == {"record": "start"}
    wait_for(lambda: unit.state("recordTime")["recordTime"] >= paused_at + 1, what="recording resumed")
    assert unit.post({"record": "stop"}).json() == {"record": "stop"}
    files = wait_for(lambda: list((root / "internal" / "roto" / "recordings").glob("*.mkv")), what="file")
    assert len(files) == 1 and files[0].name.startswith("cell7_") and files[0].name.endswith("_op20.mkv")
    info = wait_for(lambda: ffprobe(files[0]) if ffprobe(files[0])["duration"] else None, what="closed file")
    assert (info["codec"], info["width"], info["height"]) == ("mjpeg", 1280, 720)
    assert info["frames"] >= 30 * 2 and info["duration"] >= 2.5


def test_take_picture_stores_a_named_jpeg(unit: ServerProcess, root: Path) -> None:
    unit.post({"changeImageName": "part", "changePostName": "A"})
    assert unit.post({"takePicture": True}).json() == {"takePicture": True}
    pictures = wait_for(lambda: list((root / "internal" / "roto" / "pictures").glob("*.jpg")), what="picture")
    assert pictures[0].name.startswith("part_") and pictures[0].name.endswith("_A.jpg")
    assert cv2.imread(str(pictures[0])).shape == (1080, 1920, 3)


def test_storages_come_and_go_and_selection_needs_a_known_uuid(unit: ServerProcess, root: Path) -> None:
    stick = make_storage(root, "usb-stick", quota=64 * 1024 * 1024)
    uid = storage_uuid(unit, "usb-stick")
    disk = unit.state("diskStorages")["diskStorages"][uid]
    assert disk["total"] == 64 * 1024 * 1024 and disk["totalStr"] == "0.062 GB"
    assert json.loads((stick / ".roto-storage.json").read_text())["uuid"] == uid  # the identity lives on the stick
    res = unit.post({"recordingStorage": "nope"})
    assert "no storage with uuid" in res.headers["X-Roto-Notices"]
    assert unit.post({"recordingStorage": uid}).json()["recordingStorage"]["uuid"] == uid
    shutil.rmtree(stick)
    wait_for(lambda: uid not in unit.state("diskStorages")["diskStorages"], what="removal noticed")
    assert unit.state("recordingStorage")["recordingStorage"] == {"uuid": uid, "available": False}
    res = unit.post({"record": "start"})
    assert res.json() == {"record": "stop"} and "not connected" in res.headers["X-Roto-Notices"]


def test_selection_persists_across_a_restart(tmp_path: Path, root: Path) -> None:
    first = ServerProcess(tmp_path / "data", args=["--storage-root", str(root)])
    make_storage(root, "stick")
    uid = storage_uuid(first, "stick")
    first.post({"backupStorage": uid})
    first.stop()
    second = ServerProcess(tmp_path / "data", args=["--storage-root", str(root)])
    try:
        assert second.state("backupStorage")["backupStorage"]["uuid"] == uid
    finally:
        second.stop()


def backup_files(server: ServerProcess) -> list[dict[str, Any]]:
    return gallery(server, "/api/backup/files")["files"]  # type: ignore[no-any-return]


def test_backup_records_segments_and_fills_the_capacity_figures(unit: ServerProcess, root: Path) -> None:
    assert unit.post({"backupActive": True}).json() == {"backupActive": True}
    wait_for(lambda: len([f for f in backup_files(unit) if f["complete"]]) >= 3, what="three segments")
    state = unit.state(
        "backupStoredFileDuration",
        "backupFileCapacity",
        "backupRemainingCapacitySeconds",
        "backupRemainingCapacityHours",
        "backupRemainingCapacity",
        "storageBackupCapacity",
    )
    assert int(state["backupRemainingCapacitySeconds"]) > 3600
    assert state["backupRemainingCapacity"].endswith("h") and ":" in state["backupRemainingCapacity"]
    assert float(state["backupRemainingCapacityHours"]) == pytest.approx(
        int(state["backupRemainingCapacitySeconds"]) / 3600, abs=0.01
    )
    unit.post({"backupActive": False})
    folder = root / "internal" / "roto" / "backup"
    files = backup_files(unit)
    for entry in files:
        info = ffprobe(folder / entry["name"])
        assert info["codec"] == "mjpeg" and (info["width"], info["height"]) == (1280, 720)
    # segments ended by a split last the segment length; the last one ends whenever backup was switched off
    for entry in files[:-1]:
        assert entry["complete"] and 1.5 <= entry["duration"] <= 3.5
        assert ffprobe(folder / entry["name"])["frames"] > 10
    assert len(files) >= 3
    assert sorted(p.name for p in folder.glob("*.mkv")) == sorted(f["name"] for f in backup_files(unit))


def test_ring_buffer_deletes_oldest_but_never_tagged_or_manual_files(unit: ServerProcess, root: Path) -> None:
    unit.post({"backupUseCompleteSpace": False, "backupMaximumRecordingTimeCapacity": 5, "record": "start"})
    unit.post({"backupActive": True})
    first = wait_for(lambda: [f for f in backup_files(unit) if f["complete"]], what="a first segment")[0]
    res = requests.post(
        unit.url("/api/backup/tags"),
        auth=("API-User", unit.token),
        timeout=10,
        json={"creationTime": first["start"] + 0.5, "title": "tool break", "note": "T12"},
    )
    assert res.status_code == 201 and res.json()["title"] == "tool break"
    wait_for(
        lambda: (
            first["name"] != backup_files(unit)[1]["name"]
            and len(backup_files(unit)) <= 5
            and any(f["start"] > first["start"] + 8 for f in backup_files(unit))
        ),
        timeout=40,
        what="older untagged segments deleted",
    )
    names = [f["name"] for f in backup_files(unit)]
    assert names[0] == first["name"]  # tagged: kept although it is the oldest
    untagged = [f for f in backup_files(unit) if not f["tags"] and f["complete"]]
    assert sum(f["duration"] for f in untagged) <= 5 + 3  # at most one segment above the limit until the split
    unit.post({"record": "stop", "backupActive": False})
    assert len(list((root / "internal" / "roto" / "recordings").glob("*.mkv"))) == 1


def test_ring_buffer_using_the_whole_space_on_a_small_disk(unit: ServerProcess, root: Path) -> None:
    one_hour = 140_000 * 0.10 * 1 * 3600  # the model's bytes for an hour of LEAN_BACKUP
    stick = make_storage(root, "small", quota=int(one_hour) + 200_000)
    uid = storage_uuid(unit, "small")
    unit.post({**LEAN_BACKUP, "backupStorage": uid, "backupUseCompleteSpace": True})
    assert unit.post({"backupActive": True}).json() == {"backupActive": True}
    folder = stick / "roto" / "backup"
    seen: set[str] = set()

    def deleted_some() -> bool:
        seen.update(p.name for p in folder.glob("*.mkv"))
        return len(seen) > len(list(folder.glob("*.mkv"))) + 1

    wait_for(deleted_some, timeout=60, what="files deleted to keep an hour free")
    unit.post({"backupActive": False})
    remaining = sorted(p.name for p in folder.glob("*.mkv"))
    seen.update(remaining)  # a segment may have been opened after the last look
    assert remaining == sorted(seen)[-len(remaining) :]  # the oldest went first


def test_backup_refuses_to_start_without_an_hour(unit: ServerProcess, root: Path) -> None:
    make_storage(root, "tiny", quota=2 * 1024 * 1024)
    uid = storage_uuid(unit, "tiny")
    unit.post({"backupStorage": uid})
    res = unit.post({"backupActive": True})
    assert res.json() == {"backupActive": False}
    assert "at least one hour" in json.loads(res.headers["X-Roto-Notices"])[0]["message"]


def test_create_tag_without_time_starts_backup_and_tags_the_new_file(unit: ServerProcess) -> None:
    res = unit.post({"createTag": {"title": "collision", "note": "Z axis"}})
    assert res.json()["createTag"]["title"] == "collision"
    assert unit.state("backupActive") == {"backupActive": True}
    tagged = wait_for(lambda: gallery(unit, "/api/backup/files", tagged="true")["files"], what="tagged file")
    assert tagged[0]["tags"][0]["note"] == "Z axis"
    tags = gallery(unit, "/api/backup/tags")["tags"]
    assert [t["title"] for t in tags] == ["collision"] and tags[0]["fileId"] == tagged[0]["id"]
    res = requests.delete(unit.url(f"/api/backup/tags/{tags[0]['id']}"), auth=("API-User", unit.token), timeout=10)
    assert res.status_code == 200
    assert gallery(unit, "/api/backup/tags")["tags"] == []
    assert (
        requests.delete(
            unit.url(f"/api/backup/tags/{tags[0]['id']}"), auth=("API-User", unit.token), timeout=10
        ).status_code
        == 404
    )
    iso = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(tagged[0]["start"] + 0.5))
    res = unit.post({"createTag": {"creationTime": iso, "title": "by text time"}})
    answer = res.json()["createTag"]
    assert answer["fileId"] == tagged[0]["id"]  # the same opaque ids as the gallery
    assert answer["id"] in [t["id"] for t in gallery(unit, "/api/backup/tags")["tags"]]
    res = unit.post({"createTag": {"creationTime": 1000}})
    assert "no backup file covers" in res.headers["X-Roto-Notices"]


def test_download_with_range_and_no_path_tricks(unit: ServerProcess, root: Path) -> None:
    unit.post({"backupActive": True})
    entry = wait_for(lambda: [f for f in backup_files(unit) if f["complete"]], what="segment")[0]
    url = unit.url(f"/api/backup/files/{entry['id']}")
    auth = ("API-User", unit.token)
    whole = requests.get(url, auth=auth, timeout=10)
    assert whole.status_code == 200 and whole.headers["Content-Type"] == "video/x-matroska"
    assert whole.content == (root / "internal" / "roto" / "backup" / entry["name"]).read_bytes()
    part = requests.get(url, auth=auth, headers={"Range": "bytes=100-299"}, timeout=10)
    assert part.status_code == 206 and part.content == whole.content[100:300]
    assert part.headers["Content-Range"] == f"bytes 100-299/{len(whole.content)}"
    assert requests.get(url, timeout=10).status_code == 401
    for bad in ("..%2F..%2Fsettings.json", f"{entry['id'].rsplit('.', 1)[0]}.999999", "x", "../../etc/passwd"):
        assert requests.get(unit.url(f"/api/backup/files/{bad}"), auth=auth, timeout=10).status_code == 404


def test_kill_9_during_backup_loses_at_most_the_open_frames(tmp_path: Path, root: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data, args=[*SEGMENT, "--storage-root", str(root)])
    server.post({"backupActive": True})
    entry = wait_for(lambda: [f for f in backup_files(server) if f["complete"]], what="segment")[0]
    server.post({"createTag": {"creationTime": entry["start"] + 0.2, "title": "before the crash"}})
    time.sleep(1.5)  # well into the next segment
    server.proc.kill()
    server.proc.wait()
    folder = root / "internal" / "roto" / "backup"
    with sqlite3.connect(folder / "index.sqlite3") as db:
        open_rows = db.execute("SELECT name FROM files WHERE complete = 0").fetchall()
    assert len(open_rows) == 1  # the segment being written when the process died
    survivor = ServerProcess(data, args=[*SEGMENT, "--storage-root", str(root)])
    try:
        assert survivor.state("backupActive") == {"backupActive": True}  # resumed after the restart
        files = backup_files(survivor)
        recovered = next(f for f in files if f["name"] == open_rows[0][0])
        assert recovered["complete"] and recovered["duration"] >= 1.0
        info = ffprobe(folder / recovered["name"])
        assert info["duration"] is not None and info["frames"] >= 1
        assert [t["title"] for t in gallery(survivor, "/api/backup/tags")["tags"]] == ["before the crash"]
        survivor.post({"backupActive": False})
        assert sorted(p.name for p in folder.glob("*.mkv")) == sorted(f["name"] for f in backup_files(survivor))
    finally:
        survivor.stop()


def test_index_is_reconciled_with_files_changed_by_hand(tmp_path: Path, root: Path) -> None:
    data = tmp_path / "data"
    server = InProcessServer(data, args=[*SEGMENT, "--storage-root", str(root)])
    server.post({"backupActive": True})
    wait_for(lambda: len([f for f in backup_files(server) if f["complete"]]) >= 2, what="two segments")
    server.post({"backupActive": False})
    server.stop()
    folder = root / "internal" / "roto" / "backup"
    first, second = sorted(folder.glob("*.mkv"))[:2]
    first.unlink()
    shutil.copy(second, folder / "backup_2020-01-01_00-00-00.mkv")
    again = InProcessServer(data, args=[*SEGMENT, "--storage-root", str(root)])
    try:
        names = [f["name"] for f in backup_files(again)]
        assert first.name not in names and "backup_2020-01-01_00-00-00.mkv" in names
        assert sorted(names) == sorted(p.name for p in folder.glob("*.mkv"))
    finally:
        again.stop()


def test_pulled_storage_stops_recording_and_works_again_when_back(
    unit: ServerProcess, root: Path, tmp_path: Path
) -> None:
    stick = make_storage(root, "stick")
    uid = storage_uuid(unit, "stick")
    unit.post({"recordingStorage": uid, "recordingResolution": "HD"})
    assert unit.post({"record": "start"}).json() == {"record": "start"}
    wait_for(lambda: unit.state("recordTime")["recordTime"] >= 1, what="recording")
    elsewhere = tmp_path / "unplugged"
    stick.rename(elsewhere)  # the stick leaves the mount root, its data with it
    wait_for(lambda: unit.state("record")["record"] == "stop", what="recording stopped")
    wait_for(lambda: "recording stopped: the storage was removed" in unit.log(), what="the reason logged")
    recorded = list((elsewhere / "roto" / "recordings").glob("*.mkv"))
    assert len(recorded) == 1 and ffprobe(recorded[0])["frames"] >= 10
    assert requests.get(unit.url("/api"), params={"token": unit.token, "get": "[light0]"}, timeout=5).ok
    elsewhere.rename(stick)
    wait_for(lambda: unit.state("recordingStorage")["recordingStorage"].get("available"), what="stick back")
    assert unit.post({"record": "start"}).json() == {"record": "start"}
    unit.post({"record": "stop"})


def test_full_storage_stops_recording_cleanly(unit: ServerProcess, root: Path) -> None:
    stick = make_storage(root, "full", quota=6 * 1024 * 1024)
    uid = storage_uuid(unit, "full")
    unit.post({"recordingStorage": uid})
    assert unit.post({"record": "start"}).json() == {"record": "start"}
    wait_for(lambda: unit.state("record")["record"] == "stop", timeout=30, what="stopped when full")
    assert "recording stopped: the storage is full" in unit.log()
    recorded = list((stick / "roto" / "recordings").glob("*.mkv"))
    info = ffprobe(recorded[0])
    assert info["frames"] >= 5 and info["duration"] is not None


def test_network_storage_is_configured_over_http_and_used_like_a_disk(unit: ServerProcess, tmp_path: Path) -> None:
    nas = tmp_path / "nas-mount"
    nas.mkdir()
    admin = ("admin", unit.admin_password)
    assert (
        requests.post(
            unit.url("/api/storages/net"),
            json={"path": str(nas), "name": "NAS"},
            auth=("API-User", unit.token),
            timeout=10,
        ).status_code
        == 403
    )
    bad = requests.post(unit.url("/api/storages/net"), json={"path": "relative/path"}, auth=admin, timeout=10)
    assert bad.status_code == 400 and bad.json()["field"] == "path"
    res = requests.post(unit.url("/api/storages/net"), json={"path": str(nas), "name": "NAS"}, auth=admin, timeout=10)
    assert res.status_code == 201 and res.json()["type"] == "net" and res.json()["name"] == "NAS"
    uid = res.json()["uuid"]
    assert uid in unit.state("netStorages")["netStorages"]
    assert unit.post({"recordingStorage": uid}).json()["recordingStorage"]["name"] == "NAS"
    unit.post({"takePicture": True})
    wait_for(lambda: list((nas / "roto" / "pictures").glob("*.jpg")), what="picture on the network storage")
    assert requests.delete(unit.url(f"/api/storages/net/{uid}"), auth=admin, timeout=10).status_code == 200
    assert uid not in unit.state("netStorages")["netStorages"]

"""Damaged backup indexes never stop the unit (issue 9, item 8, the index part).

A garbage or truncated ``index.sqlite3``, on the internal storage or on a stick, at start or
plugged in at run time: the unit starts and serves everyone, a storage whose index cannot be
read shows an empty gallery with the reason, and the backup storage gets the damaged file moved
aside and a fresh index on which Visual Backup runs.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import websocket

from roto_server.recording.index import BackupIndex
from tests.inprocess import InProcessServer
from tests.media_files import wait_for
from tests.server_process import ServerProcess

LEAN = ["--segment-seconds", "1"]
LEAN_BACKUP = {"backupResolution": "HD", "backupFps": 2, "backupPictureQuality": 1}


def garbage(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.sqlite3").write_bytes(os.urandom(8192))


def truncated(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    index = BackupIndex(folder / "index.sqlite3")
    for n in range(2000):
        index.add_complete(f"backup_{n:05d}_a-name-long-enough-to-fill-pages.mkv", n, n + 1, 1000)
    index.close()
    whole = (folder / "index.sqlite3").read_bytes()
    (folder / "index.sqlite3").write_bytes(whole[: len(whole) // 2])


def undecodable(folder: Path) -> None:
    """A sound database whose file name is not UTF-8: SQLite's own check passes, reading the row fails."""
    folder.mkdir(parents=True, exist_ok=True)
    BackupIndex(folder / "index.sqlite3").close()
    with sqlite3.connect(folder / "index.sqlite3") as db:
        db.execute("INSERT INTO files (name, start, end, complete) VALUES (CAST(x'626164ff2e6d6b76' AS TEXT), 1, 2, 1)")


def stick(root: Path, uid: str, damage: Any) -> Path:
    """A stick prepared beside the root and moved in at once, as a mount appears."""
    staging = root.parent / f"staging-{uid}"
    (staging / "roto").mkdir(parents=True)
    (staging / ".roto-storage.json").write_text(json.dumps({"uuid": uid, "name": uid}))
    damage(staging / "roto" / "backup")
    root.mkdir(parents=True, exist_ok=True)
    return staging.rename(root / uid)


def get(server: ServerProcess, path: str, **params: Any) -> Any:
    res = requests.get(server.url(path), params={"token": server.token, **params}, timeout=10)
    assert res.status_code == 200, (path, res.status_code, res.text)
    return res.json()


def moved_aside(folder: Path) -> list[Path]:
    return sorted(folder.glob("index.sqlite3.damaged-*"))


def backup_runs_on(server: ServerProcess, uid: str) -> None:
    server.post(LEAN_BACKUP)
    assert server.post({"backupStorage": uid}).json()["backupStorage"]["uuid"] == uid
    assert server.post({"backupActive": True}).json() == {"backupActive": True}
    wait_for(
        lambda: [f for f in get(server, "/api/backup/files")["files"] if f["storage"]["uuid"] == uid and f["complete"]],
        what="a complete segment in the fresh index",
    )
    server.post({"backupActive": False})


@pytest.mark.parametrize("damage", [garbage, undecodable])
def test_damaged_internal_index_at_start(tmp_path: Path, damage: Any) -> None:
    folder = tmp_path / "data" / "storages" / "internal" / "roto" / "backup"
    damage(folder)
    server = InProcessServer(tmp_path / "data", args=LEAN)
    try:
        assert len(moved_aside(folder)) == 1 and "moved aside" in server.log()
        assert get(server, "/api/backup/files") == {"files": [], "problems": []}
        uid = server.state("backupStorage")["backupStorage"]["uuid"]
        backup_runs_on(server, uid)
    finally:
        server.stop()


def test_truncated_stick_index_selected_for_backup_at_start(tmp_path: Path) -> None:
    root = tmp_path / "media"
    stick(root, "stick-1", truncated)
    data = tmp_path / "data"
    data.mkdir()
    (data / "storage-selection.json").write_text(json.dumps({"recording": "stick-1", "backup": "stick-1"}))
    server = InProcessServer(data, args=[*LEAN, "--storage-root", str(root)])
    try:
        assert server.state("backupStorage")["backupStorage"]["uuid"] == "stick-1"
        assert len(moved_aside(root / "stick-1" / "roto" / "backup")) == 1
        backup_runs_on(server, "stick-1")
    finally:
        server.stop()


def test_damaged_indexes_plugged_in_at_run_time(tmp_path: Path) -> None:
    root = tmp_path / "media"
    recordings = root / "internal" / "roto" / "recordings"
    recordings.mkdir(parents=True)
    (recordings / "ok.mkv").write_bytes(b"a recording")
    (recordings / "dangling.mkv").symlink_to(recordings / "deleted.mkv")
    server = InProcessServer(tmp_path / "data", args=[*LEAN, "--storage-root", str(root)])
    ws = websocket.create_connection(server.ws_url, timeout=10)
    try:
        ws.recv()  # the full state
        stick(root, "garbage-stick", garbage)
        stick(root, "truncated-stick", truncated)
        stick(root, "undecodable-stick", undecodable)
        damaged = {"garbage-stick", "truncated-stick", "undecodable-stick"}
        wait_for(lambda: damaged <= set(server.state("diskStorages")["diskStorages"]), what="the sticks")
        for path in ("/api/backup/files", "/api/backup/tags"):
            answer = get(server, path)
            assert {p["storage"]["uuid"] for p in answer["problems"]} == damaged
            assert all("index" in p["reason"] for p in answer["problems"])
        listing = get(server, "/api/recordings")["data"]
        assert [r["name"] for r in listing["recordings"]] == ["ok.mkv"]  # the dangling link is skipped
        assert len(listing["problems"]) == 3
        assert all("shows no backup files" in n for n in notices(ws, 3))
        backup_runs_on(server, "truncated-stick")
        assert len(moved_aside(root / "truncated-stick" / "roto" / "backup")) == 1
        problems = get(server, "/api/backup/files")["problems"]
        assert sorted(p["storage"]["uuid"] for p in problems) == ["garbage-stick", "undecodable-stick"]
    finally:
        ws.close()
        server.stop()


def notices(ws: websocket.WebSocket, count: int, timeout: float = 10) -> list[str]:
    """The messages of the next ``count`` notifications the device sends to every client."""
    found: list[str] = []
    deadline = time.monotonic() + timeout
    while len(found) < count and time.monotonic() < deadline:
        message = json.loads(ws.recv())
        if "notification" in message:
            found.append(message["notification"]["message"])
    return found


def test_backup_resumes_on_a_fresh_index_and_adopts_the_old_segments(tmp_path: Path) -> None:
    data = tmp_path / "data"
    folder = data / "storages" / "internal" / "roto" / "backup"
    first = InProcessServer(data, args=LEAN)
    try:
        uid = first.state("backupStorage")["backupStorage"]["uuid"]
        backup_runs_on(first, uid)
        first.post({"backupActive": True})  # on at shutdown, so it resumes at the next start
    finally:
        first.stop()
    segments = sorted(p.name for p in folder.glob("*.mkv"))
    assert segments
    garbage(folder)
    again = InProcessServer(data, args=LEAN)
    try:
        assert again.state("backupActive") == {"backupActive": True}
        assert len(moved_aside(folder)) == 1
        names = wait_for(
            lambda: {f["name"] for f in get(again, "/api/backup/files")["files"]} - set(segments),
            what="a new segment in the fresh index",
        )
        assert names and set(segments) <= {f["name"] for f in get(again, "/api/backup/files")["files"]}
    finally:
        again.stop()

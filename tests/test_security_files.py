"""A crafted storage must not hand out files outside itself (issue 9, item 1).

A stick brings its own backup index, so its rows and its folders are attacker-controlled. The
server runs with anonymous read on, as on a shop floor, and every trick is tried through both
download endpoints with every id shape a client could build.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from roto_server.recording.index import SCHEMA
from tests.inprocess import InProcessServer
from tests.media_files import wait_for
from tests.server_process import ADMIN_PASSWORD, TOKEN, ServerProcess

EVIL = "evil-stick"
LINKED = "linked-stick"
INDEX_LINK = "index-link-stick"
SECRET = b"top secret bytes outside every storage"
LEGIT = bytes(range(256)) * 40  # 10 240 bytes
TRAVERSALS = ["../../../../credentials.json", "/etc/passwd", "../credentials.json", "a/../../x.mkv"]


def _stick(root: Path, uid: str) -> Path:
    stick = root / uid
    for sub in ("recordings", "backup"):
        (stick / "roto" / sub).mkdir(parents=True)
    (stick / ".roto-storage.json").write_text(json.dumps({"uuid": uid, "name": uid}))
    return stick


def _index(folder: Path, names: list[str], open_names: tuple[str, ...] = ()) -> None:
    """A hand-made index; ``open_names`` are rows of segments a crash left open (reconciled at start)."""
    with sqlite3.connect(folder / "index.sqlite3") as db:
        db.executescript(SCHEMA)
        for i, name in enumerate([*names, *open_names]):
            db.execute(
                "INSERT INTO files (name, start, end, size, complete) VALUES (?, ?, ?, ?, ?)",
                (name, 1_700_000_000 + 10 * i, 1_700_000_005 + 10 * i, 100, int(name not in open_names)),
            )


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    data = tmp_path_factory.mktemp("sec") / "data"
    root = data / "storages"  # the default root: ../../../../ from a stick's backup folder is the data folder
    outside = data.parent / "outside"
    outside.mkdir()
    (outside / "secret.mkv").write_bytes(SECRET)
    stick = _stick(root, EVIL)
    backup, recordings = stick / "roto" / "backup", stick / "roto" / "recordings"
    (backup / "backup_ok.mkv").write_bytes(LEGIT)
    (recordings / "ok.mkv").write_bytes(LEGIT)
    with open(os.fsencode(recordings) + b"/latin1-\xe9.mkv", "wb") as odd:  # not UTF-8: no id can carry it
        odd.write(LEGIT)
    for folder in (backup, recordings):
        (folder / "creds.mkv").symlink_to(data / "credentials.json")
        (folder / "passwd.mkv").symlink_to("/etc/passwd")
        (folder / "secret.mkv").symlink_to(outside / "secret.mkv")
        (folder / "gone.mkv").symlink_to(folder / "nothing-here.mkv")
        (folder / "inner.mkv").symlink_to(folder / "ok.mkv" if folder == recordings else folder / "backup_ok.mkv")
        (folder / "folder.mkv").mkdir()
        os.mkfifo(folder / "fifo.mkv")
        os.link(outside / "secret.mkv", folder / "hard.mkv")  # the same file system: a second name for it
    crafted_rows = ["creds.mkv", "passwd.mkv", "secret.mkv", "gone.mkv", "fifo.mkv", "hard.mkv"]
    _index(backup, ["backup_ok.mkv", *TRAVERSALS, *crafted_rows])
    linked = root / LINKED
    linked.mkdir()
    (linked / ".roto-storage.json").write_text(json.dumps({"uuid": LINKED, "name": LINKED}))
    (linked / "roto").symlink_to(outside)  # the whole folder layout leaves the storage
    (outside / "recordings").mkdir()
    (outside / "recordings" / "secret.mkv").write_bytes(SECRET)
    (outside / "backup").mkdir()
    (outside / "backup" / "secret.mkv").write_bytes(SECRET)
    _index(outside / "backup", ["secret.mkv"])
    index_link = _stick(root, INDEX_LINK) / "roto" / "backup"
    (index_link / "backup_ok.mkv").write_bytes(LEGIT)
    (index_link / "index.sqlite3").symlink_to(outside / "backup" / "index.sqlite3")  # SQLite would follow it
    server = InProcessServer(data, args=["--anonymous-read", "--storage-root", str(root)])
    wait_for(
        lambda: {EVIL, LINKED, INDEX_LINK} <= set(server.state("diskStorages")["diskStorages"]), what="crafted sticks"
    )
    yield server, data
    server.stop()


def _get(server: ServerProcess, path: str, **headers: str) -> requests.Response:
    return requests.get(server.url(path), headers=headers, timeout=10)  # anonymous on purpose


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _candidate_ids() -> list[str]:
    """Every id shape either endpoint ever accepted, for every crafted row and link."""
    ids = []
    for uid, first in ((EVIL, 2), (LINKED, 1), (INDEX_LINK, 1)):  # row 1 of the evil stick is legit
        for number in range(first, 13):
            ids += [f"{uid}.{number}", f"{uid}.b.{number}", _b64(f"b\n{uid}\n{number}")]
        names = ("creds.mkv", "passwd.mkv", "secret.mkv", "gone.mkv", "fifo.mkv", "folder.mkv", "inner.mkv", "hard.mkv")
        for name in names:
            ids += [_b64(f"r\n{uid}\n{name}"), f"{uid}.r.{_b64(name)}"]
        for name in TRAVERSALS:
            ids += [_b64(f"r\n{uid}\n{name}"), f"{uid}.r.{_b64(name)}", f"{uid}.b.{_b64(name)}"]
    return ids


def _no_secret(res: requests.Response) -> None:
    for secret in (TOKEN.encode(), ADMIN_PASSWORD.encode(), SECRET, b"root:x:0:0"):
        assert secret not in res.content, (res.url, res.status_code)


def _listed(server: ServerProcess) -> list[dict[str, Any]]:
    gallery = _get(server, "/api/backup/files")
    assert gallery.status_code == 200, gallery.text
    recordings = _get(server, "/api/recordings", per_page="200")
    assert recordings.status_code == 200, recordings.text
    _no_secret(gallery)
    return [*gallery.json()["files"], *recordings.json()["data"]["recordings"]]


def test_listings_leave_out_every_row_and_link_that_leaves_the_storage(
    crafted: tuple[ServerProcess, Path],
) -> None:
    server, _ = crafted
    entries = _listed(server)
    crafted_entries = [e for e in entries if any(uid in json.dumps(e) for uid in (EVIL, LINKED, INDEX_LINK))]
    assert sorted(e["name"] for e in crafted_entries) == ["backup_ok.mkv", "backup_ok.mkv", "ok.mkv"]
    problems = _get(server, "/api/backup/files").json()["problems"]
    assert {p["storage"]["uuid"] for p in problems} == {LINKED, INDEX_LINK}
    assert "index rows that leave the storage" in server.log() or "not served" in server.log()


def test_no_download_of_anything_outside_the_storage_through_either_endpoint(
    crafted: tuple[ServerProcess, Path],
) -> None:
    server, _ = crafted
    for file_id in _candidate_ids():
        for endpoint in ("/api/recordings/", "/api/backup/files/"):
            res = _get(server, endpoint + file_id)
            _no_secret(res)
            assert res.status_code == 404, (endpoint, file_id, res.status_code)


def test_legit_files_download_with_range_through_both_endpoints(crafted: tuple[ServerProcess, Path]) -> None:
    server, _ = crafted
    ids = [e["id"] for e in _listed(server) if EVIL in json.dumps(e)]
    assert len(ids) == 3
    for file_id in ids:
        for endpoint in ("/api/recordings/", "/api/backup/files/"):
            whole = _get(server, endpoint + file_id)
            assert whole.status_code == 200 and whole.content == LEGIT
            assert whole.headers["Accept-Ranges"] == "bytes"
            part = _get(server, endpoint + file_id, Range="bytes=100-299")
            assert part.status_code == 206 and part.content == LEGIT[100:300]
            assert part.headers["Content-Range"] == f"bytes 100-299/{len(LEGIT)}"
            tail = _get(server, endpoint + file_id, Range="bytes=-10")
            assert tail.status_code == 206 and tail.content == LEGIT[-10:]
            # a suffix longer than the file is the whole file (RFC 9110 14.1.2), never a 500
            longer = _get(server, endpoint + file_id, Range="bytes=-99999999999")
            assert longer.status_code == 206 and longer.content == LEGIT
            assert longer.headers["Content-Range"] == f"bytes 0-{len(LEGIT) - 1}/{len(LEGIT)}"
            beyond = _get(server, endpoint + file_id, Range=f"bytes={len(LEGIT)}-")
            assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{len(LEGIT)}"


def test_odd_ids_are_404_never_500(crafted: tuple[ServerProcess, Path]) -> None:
    server, _ = crafted
    odd = [
        f"{EVIL}.²",
        f"{EVIL}.b.²",
        f"{EVIL}.١",
        f"{EVIL}.b.١٢",
        f"{EVIL}.{2**63}",
        f"{EVIL}.b.{2**63}",
        f"{EVIL}.b.{10**40}",
        f"{EVIL}.t.1",
        f"{EVIL}.r.%FF%FE",
        f"{EVIL}.r.!!",
        "%2E%2E",  # ".." itself would be resolved by the client before sending
        "x",
        _b64(f"b\n{EVIL}\n{2**64}"),
        _b64(f"b\n{EVIL}\n²"),
    ]
    for file_id in odd:
        for endpoint in ("/api/recordings/", "/api/backup/files/"):
            res = _get(server, endpoint + file_id)
            assert res.status_code == 404, (endpoint, file_id, res.status_code, res.text)
            assert res.json()["error"]
    for moment in ("²", "١٢", "1e999", "9" * 400, "2026-13-01T00:00:00+00:00", "2026-05-01T13:45:00"):
        res = _get(server, f"/api/backup/files?from={moment}")
        assert res.status_code == 400 and res.json()["field"] == "from", (moment, res.status_code, res.text)
    for tag_id in (f"{EVIL}.t.²", f"{EVIL}.t.{2**63}", f"{EVIL}.{2**64}", f"{EVIL}.t.١", "%2E%2E"):
        res = requests.delete(server.url(f"/api/backup/tags/{tag_id}"), auth=("API-User", TOKEN), timeout=10)
        assert res.status_code == 404, (tag_id, res.status_code, res.text)


def test_a_crafted_backup_storage_never_makes_the_unit_touch_files_outside(tmp_path: Path) -> None:
    """Reconciliation and the ring buffer act on index rows: they must not delete or rewrite outside."""
    data = tmp_path / "data"
    root = data / "storages"
    victims = {data / "victim.txt": b"keep me", data / "victim2.mkv": b"keep me too", tmp_path / "outside.mkv": SECRET}
    data.mkdir()
    for path, content in victims.items():
        path.write_bytes(content)
    backup = _stick(root, "ring-stick") / "roto" / "backup"
    (backup / "backup_old.mkv").write_bytes(LEGIT)
    (backup / "link.mkv").symlink_to(tmp_path / "outside.mkv")
    rows = ["backup_old.mkv", "../../../../victim.txt", str(tmp_path / "outside.mkv"), "link.mkv"]
    _index(backup, rows, open_names=("../../../../victim2.mkv",))
    (data / "storage-selection.json").write_text(json.dumps({"recording": "ring-stick", "backup": "ring-stick"}))
    server = InProcessServer(data, args=["--storage-root", str(root), "--segment-seconds", "1"])
    try:
        server.post({"backupResolution": "HD", "backupFps": 1, "backupPictureQuality": 1})
        server.post({"backupUseCompleteSpace": False, "backupMaximumRecordingTimeCapacity": 1})
        assert server.post({"backupActive": True}).json() == {"backupActive": True}
        wait_for(lambda: not (backup / "backup_old.mkv").exists(), what="the ring buffer deleting the oldest file")
        server.post({"backupActive": False})
    finally:
        server.stop()
    for path, content in victims.items():
        assert path.read_bytes() == content, path
    assert (backup / "link.mkv").is_symlink() or not (backup / "link.mkv").exists()  # at most the link itself went

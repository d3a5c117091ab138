"""Damaged data files never stop the unit (issue 9, item 8).

Each case damages one file roto reads at start-up, starts a real server on it and checks that
the unit serves, that the bad file was moved aside as ``<name>.damaged-<time>`` with its bytes
intact, and that the log names it. The internal storage keeps its identity through a damaged marker.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
import websocket

from tests.media_files import wait_for
from tests.server_process import ServerProcess

HEADLESS = ("--head0", "none", "--head1", "none")  # no camera work: these tests are about files
Damage = Callable[[Path], None]


def _write(name: str, content: str) -> Damage:
    def damage(data: Path) -> None:
        data.mkdir(parents=True, exist_ok=True)
        (data / name).write_text(content)

    return damage


def _folder(name: str) -> Damage:
    def damage(data: Path) -> None:
        (data / name).mkdir(parents=True)
        (data / name / "inside").write_text("not a settings file")

    return damage


def _fifo(name: str) -> Damage:
    def damage(data: Path) -> None:
        data.mkdir(parents=True, exist_ok=True)
        os.mkfifo(data / name)  # reading it would wait for a writer forever

    return damage


DEEP = "[" * 100_000 + "]" * 100_000
HUGE = "9" * 4000  # below Python's 4300-digit parse limit: parses, then overflows every float conversion

CASES: dict[str, tuple[str, Damage]] = {
    "settings-deeply-nested": ("settings.json", _write("settings.json", '{"values": {"zoom0": ' + DEEP + "}}")),
    "settings-huge-integer": (
        "settings.json",
        _write("settings.json", '{"values": {"pan0": {"x": ' + HUGE + ', "y": 1}}}'),
    ),
    "settings-folder": ("settings.json", _folder("settings.json")),
    "settings-fifo": ("settings.json", _fifo("settings.json")),
    "credentials-fifo": ("credentials.json", _fifo("credentials.json")),
    "selection-list": ("storage-selection.json", _write("storage-selection.json", "[]")),
    "selection-number": ("storage-selection.json", _write("storage-selection.json", "7")),
    "selection-uuid-list": ("storage-selection.json", _write("storage-selection.json", '{"recording": ["a"]}')),
    "selection-deeply-nested": ("storage-selection.json", _write("storage-selection.json", DEEP)),
    "net-number": ("net-storages.json", _write("net-storages.json", "5")),
    "net-path-number": ("net-storages.json", _write("net-storages.json", '[{"path": 5}]')),
    "net-entry-string": ("net-storages.json", _write("net-storages.json", '["/mnt/share"]')),
    "net-folder": ("net-storages.json", _folder("net-storages.json")),
}


def _set_aside(data: Path, name: str) -> list[Path]:
    return sorted(data.glob(f"{name}.damaged-*"))


def _serves(server: ServerProcess, token: str | None = None) -> None:
    token = token or server.token
    full = requests.get(server.url("/api"), params={"token": token}, timeout=10)
    assert full.status_code == 200, full.text
    state = full.json()
    assert state["recordingStorage"].get("available") is True, state["recordingStorage"]
    status = requests.get(server.url("/api/status"), auth=("API-User", token), timeout=10)
    assert status.status_code == 200, status.text


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_damaged_file_is_set_aside_and_the_unit_serves(tmp_path: Path, case: str) -> None:
    name, damage = CASES[case]
    data = tmp_path / "data"
    damage(data)
    original = data / name
    before = original.read_bytes() if original.is_file() else None
    server = ServerProcess(data, HEADLESS)
    try:
        _serves(server)
        aside = _set_aside(data, name)
        assert len(aside) == 1, list(data.iterdir())
        if before is not None:
            assert aside[0].read_bytes() == before  # kept for the operator, byte for byte
        assert f"{name}" in server.log() and "damaged" in server.log()
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize(
    ("content", "kept_admin"),
    [
        ("{not json", None),
        ("[]", None),
        ('{"apiToken": 5, "adminPassword": "kept-admin-pw"}', "kept-admin-pw"),  # a usable secret survives
        ('{"apiToken": ["a"], "adminPassword": {"b": 1}}', None),
    ],
    ids=["garbage", "list", "number-token", "wrong-types"],
)
def test_damaged_credentials_are_replaced_by_fresh_ones(tmp_path: Path, content: str, kept_admin: str | None) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "credentials.json").write_text(content)
    server = ServerProcess(data, HEADLESS, credentials=False)
    try:
        stored = json.loads((data / "credentials.json").read_text())
        assert isinstance(stored["apiToken"], str) and len(stored["apiToken"]) >= 12
        assert stored["adminPassword"] == kept_admin or (kept_admin is None and len(stored["adminPassword"]) >= 12)
        assert f"API token (API-User password): {stored['apiToken']}" in server.log()
        _serves(server, stored["apiToken"])
        admin = requests.get(server.url("/api/status"), auth=("admin", stored["adminPassword"]), timeout=10)
        assert admin.status_code == 200
        aside = _set_aside(data, "credentials.json")
        assert len(aside) == 1 and aside[0].read_text() == content
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize(
    "content", ["garbage{", '{"uuid": 5}', "[]", ""], ids=["garbage", "uuid-number", "list", "empty"]
)
def test_a_damaged_marker_keeps_the_internal_storage_identity(tmp_path: Path, content: str) -> None:
    data = tmp_path / "data"
    first = ServerProcess(data, HEADLESS)
    uuid = first.state("recordingStorage")["recordingStorage"]["uuid"]
    assert first.stop() == 0
    marker = data / "storages" / "internal" / ".roto-storage.json"
    marker.write_text(content)
    second = ServerProcess(data, HEADLESS)
    try:
        state = second.state("recordingStorage", "backupStorage", "diskStorages")
        assert state["recordingStorage"]["uuid"] == uuid and state["recordingStorage"]["available"] is True
        assert state["backupStorage"]["uuid"] == uuid
        assert list(state["diskStorages"]) == [uuid]
        assert json.loads(marker.read_text())["uuid"] == uuid  # rewritten with the kept identity
        assert [p.read_text() for p in _set_aside(marker.parent, marker.name)] == [content]
        assert ".roto-storage.json" in second.log()
    finally:
        assert second.stop() == 0


def test_a_damaged_marker_in_an_old_data_folder_keeps_the_selected_uuid(tmp_path: Path) -> None:
    """A data folder from before the uuid copy existed: the selection still names the internal storage."""
    data = tmp_path / "data"
    internal = data / "storages" / "internal"
    internal.mkdir(parents=True)
    uuid = "0f6c1e0e-7a53-4c1b-9b8e-5d2f3c4b5a69"
    (data / "storage-selection.json").write_text(json.dumps({"recording": uuid, "backup": uuid}))
    (internal / ".roto-storage.json").write_text("\x00\x00garbage")
    server = ServerProcess(data, HEADLESS)
    try:
        state = server.state("recordingStorage")
        assert state["recordingStorage"]["uuid"] == uuid and state["recordingStorage"]["available"] is True
    finally:
        assert server.stop() == 0


def test_a_stick_with_a_damaged_marker_is_announced_to_websocket_clients(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data, HEADLESS)
    ws = websocket.create_connection(server.ws_url, timeout=10)
    try:
        ws.recv()  # the full state
        stick = data / "storages" / "stick"
        stick.mkdir()
        (stick / ".roto-storage.json").write_text('{"uuid": {"nested": true}}')

        def damage_notice() -> dict[str, str] | None:
            message = json.loads(ws.recv())
            note = message.get("notification")
            return note if note and "damaged" in note["message"] else None

        note = wait_for(damage_notice, what="a notification about the damaged marker")
        assert note["level"] == "error" and ".roto-storage.json" in note["message"]
        internal = server.state("recordingStorage")["recordingStorage"]["uuid"]
        listed = wait_for(lambda: set(server.state("diskStorages")["diskStorages"]) - {internal}, what="the stick")
        uid = listed.pop()
        assert json.loads((stick / ".roto-storage.json").read_text())["uuid"] == uid  # repaired with a new identity
        assert len(_set_aside(stick, ".roto-storage.json")) == 1
    finally:
        ws.close()
        assert server.stop() == 0

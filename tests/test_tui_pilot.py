"""roto-tui driven with Textual's pilot against a real server process."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import requests
from textual.widgets import DataTable, Input, OptionList, Static

from roto_tui.app import RotoApp
from roto_tui.client import RotoClient
from roto_tui.config import parse
from roto_tui.screens.gallery import GalleryScreen
from roto_tui.screens.preview import PreviewScreen
from roto_tui.screens.state import StateScreen
from roto_tui.widgets.frame_view import FrameView
from roto_tui.widgets.help import AccessScreen
from roto_tui.widgets.unit_bar import UnitBar
from tests.inprocess import InProcessServer
from tests.server_process import ServerProcess

SIZE = (120, 40)
BOXES = ("head0", "head1", "recording", "backup", "storages")


def make_app(server: ServerProcess, **kwargs: Any) -> RotoApp:
    return RotoApp(RotoClient(server.base, token=server.token), **kwargs)


async def settle(pilot: Any, check: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the console never showed it")
        await pilot.pause(0.05)


def cell(app: RotoApp, name: str) -> str:
    table = app.screen.query_one(DataTable)
    return str(table.get_cell(name, "value"))


async def test_state_table_fills_and_follows_http_changes(server: ServerProcess) -> None:
    app = make_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.client.connected)
        assert "connected" in app.sub_title
        await pilot.press("2")
        await settle(pilot, lambda: isinstance(app.screen, StateScreen))
        table = app.screen.query_one(DataTable)
        assert table.row_count == 110 and cell(app, "cam0Exists") == "true"
        server.get(pip="3")  # a change made by someone else over HTTP
        await settle(pilot, lambda: cell(app, "pip") == "3")
        await pilot.press("slash")
        await pilot.press(*"sharp")
        await settle(pilot, lambda: table.row_count == 1)
        assert app.screen.query_one("#filter", Input).value == "sharp"


async def test_an_edit_reaches_the_server_and_its_answer_is_shown(server: ServerProcess) -> None:
    app = make_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.client.connected)
        await pilot.press("2", "slash", *"sharpness", "enter")
        await pilot.press("enter")  # edit the selected row: a numeric editor
        await settle(pilot, lambda: app.screen.query("#value"))
        editor = app.screen.query_one("#value", Input)
        editor.value = "99"
        await pilot.press("enter")
        await settle(pilot, lambda: server.state("sharpness")["sharpness"] == 15)
        await settle(pilot, lambda: any("clamped to 15" in n.message for n in app._notifications))
        await settle(pilot, lambda: cell(app, "sharpness") == "15")
        # a boolean opens a choice of two on its current value: Enter alone writes nothing new
        app.screen.query_one("#filter", Input).value = "light0"
        await pilot.pause(0.1)
        app.screen.query_one(DataTable).focus()
        await pilot.press("enter")
        await settle(pilot, lambda: app.screen.query(OptionList))
        choice = app.screen.query_one(OptionList)
        assert choice.highlighted == 0 and str(choice.get_option_at_index(0).prompt).startswith("● true")
        await pilot.press("j", "enter")  # down to false
        await settle(pilot, lambda: server.state("light0")["light0"] is False)
        # options open on the current value, marked
        current = server.state("recordingResolution")["recordingResolution"]
        app.screen.query_one("#filter", Input).value = "recordingResolution"
        await pilot.pause(0.1)
        app.screen.query_one(DataTable).focus()
        await pilot.press("enter")
        await settle(pilot, lambda: app.screen.query(OptionList))
        choice = app.screen.query_one(OptionList)
        assert choice.highlighted is not None
        assert str(choice.get_option_at_index(choice.highlighted).prompt) == f"● {current}"
        await pilot.press("G", "enter")  # the last option
        await settle(pilot, lambda: server.state("recordingResolution")["recordingResolution"] == "HD")


async def test_tags_are_created_and_removed_from_the_gallery(server: ServerProcess) -> None:
    server.post({"backupActive": True})
    app = make_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.client.connected)
        await pilot.press("4")
        await settle(pilot, lambda: isinstance(app.screen, GalleryScreen) and app.screen.files, timeout=20)
        await pilot.press("t")
        await pilot.press(*"crash", "enter", *"Z axis", "enter")
        gallery = app.screen
        assert isinstance(gallery, GalleryScreen)

        def tagged() -> list[dict[str, Any]]:
            return requests.get(server.url("/api/backup/tags"), params={"token": server.token}, timeout=5).json()[
                "tags"
            ]

        await settle(pilot, lambda: [t["title"] for t in tagged()] == ["crash"])
        await settle(pilot, lambda: gallery.files and gallery.files[0]["tags"])
        gallery.query_one(DataTable).move_cursor(row=0)
        await pilot.press("d")
        await pilot.press("y")  # confirm
        await settle(pilot, lambda: tagged() == [])


async def test_preview_shows_frames(server: ServerProcess) -> None:
    app = make_app(server, start="preview")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, PreviewScreen))
        view = app.screen.query_one(FrameView)
        await settle(pilot, lambda: view.frames_shown >= 5)
        await pilot.press("h")
        await settle(pilot, lambda: server.state("cameraSwitch")["cameraSwitch"] is True)
        await pilot.press("plus")
        await settle(pilot, lambda: server.state("zoom1")["zoom1"] == 2000)


async def test_reconnects_after_the_server_restarts(tmp_path: Path) -> None:
    first = ServerProcess(tmp_path / "data")
    app = make_app(first)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.client.connected)
        await pilot.press("2")
        first.stop()
        await settle(pilot, lambda: not app.client.connected and app.screen.has_class("-offline"))
        second = ServerProcess(tmp_path / "data", port=first.port)
        try:
            second.post({"pip": 4})
            await settle(pilot, lambda: "connected to" in app.sub_title and app.client.connected, timeout=20)
            await settle(pilot, lambda: cell(app, "pip") == "4")
        finally:
            second.stop()


async def test_a_refused_token_stops_retrying_and_says_what_to_do(server: ServerProcess) -> None:
    app = RotoApp(RotoClient(server.base, token="wrong"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, AccessScreen))
        advice = app.screen.advice  # type: ignore[attr-defined]
        assert "HTTP 401" in advice and "--token" in advice and "credentials.json" in advice
        assert app.client.refused and app.client._runner.done()  # no retry loop left behind
        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, AccessScreen))
        assert "refused" in str(app.screen.query_one(UnitBar).render())


async def test_on_loopback_the_token_comes_from_the_servers_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "share" / "roto"  # the server's default data folder under XDG_DATA_HOME
    server = ServerProcess(data, credentials=False)
    try:
        env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "share")}
        stored = json.loads((data / "credentials.json").read_text())["apiToken"]
        conn = parse([server.base], env).connection
        assert conn.token == stored
        assert parse(["http://10.0.0.7:8080"], env).connection.token is None  # another machine: never sent there
        assert parse([server.base, "--data-dir", str(tmp_path / "elsewhere")], env).connection.token is None
        app = RotoApp(RotoClient(conn.url, token=conn.token))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot, lambda: app.client.connected)
            shown = str(app.screen.query_one(UnitBar).render())
            assert "connected" in shown and stored not in shown and stored not in app.sub_title
    finally:
        server.stop()


async def test_a_lost_storage_raises_an_alarm_with_the_servers_reason(tmp_path: Path) -> None:
    usb = tmp_path / "data" / "storages" / "usb"
    usb.mkdir(parents=True)
    server = ServerProcess(tmp_path / "data")
    try:
        disks = server.state("diskStorages")["diskStorages"]
        uid = next(k for k, d in disks.items() if d["name"] == "usb")
        server.post({"recordingStorage": uid})
        app = make_app(server)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot, lambda: app.client.connected)
            box = app.screen.query_one("#alarms", Static)
            assert not box.display, box.render()
            pulled = usb.rename(tmp_path / "pulled")  # the stick is pulled
            await settle(pilot, lambda: box.display and "was removed" in str(box.render()), timeout=20)
            assert "recording storage usb lost" in str(box.render())
            pulled.rename(usb)  # and put back
            await settle(pilot, lambda: not box.display, timeout=20)
    finally:
        server.stop()


async def test_before_the_first_answer_the_overview_claims_nothing() -> None:
    with socket.socket() as taken:  # bound, never listening: the console's connection is refused
        taken.bind(("127.0.0.1", 0))
        app = RotoApp(RotoClient(f"http://127.0.0.1:{taken.getsockname()[1]}", token="t"))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot, lambda: "disconnected" in str(app.screen.query_one(UnitBar).render()))
            shown = {box: str(app.screen.query_one(f"#{box}", Static).render()) for box in BOXES}
            assert all("not known yet" in text for text in shown.values()), shown
            assert not any(word in " ".join(shown.values()) for word in ("stopped", "off", "none detected"))


async def test_without_credentials_the_console_says_it_sent_none(server: ServerProcess) -> None:
    app = RotoApp(RotoClient(server.base))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, AccessScreen))
        advice = app.screen.advice  # type: ignore[attr-defined]
        assert "had none to send" in advice and "refused the credentials" not in advice and "--token" in advice


async def test_a_lockout_is_named_and_waited_out_rather_than_hammered(tmp_path: Path) -> None:
    server = InProcessServer(tmp_path / "data")
    try:
        for _ in range(5):  # five wrong tokens from this address lock the API-User out
            requests.get(server.url("/api"), params={"token": "wrong"}, timeout=5)
        app = make_app(server)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot, lambda: "too many failed logins" in app.sub_title)
            retry = int(app.sub_title.rsplit("retrying in ", 1)[1].split(" ")[0])
            assert 200 < retry <= 300  # the device's Retry-After, not the 4 s backoff
            assert not app.client.refused  # it will try again once the lockout is over
    finally:
        server.stop()

"""The console's behaviour at 80x24 with a deterministic device: nothing hidden, nothing done without asking."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest
from rich.console import Console
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Input, Label, OptionList, Static

from roto_tui.alarms import AlarmWatch
from roto_tui.app import RotoApp
from roto_tui.client import ConnectionChanged, Notification, StateChanged
from roto_tui.render import ColourMode
from roto_tui.screens.overview import recording_text
from roto_tui.screens.state import StateScreen
from roto_tui.widgets.editors import ChoiceScreen, ConfirmScreen
from roto_tui.widgets.frame_view import FrameView
from roto_tui.widgets.help import HelpScreen, help_table
from roto_tui.widgets.unit_bar import UnitBar
from tests.fake_device import DISK, FakeDevice

SIZE = (80, 24)


def console(start: str = "overview", device: FakeDevice | None = None) -> tuple[RotoApp, FakeDevice]:
    device = device or FakeDevice()
    return RotoApp(device, colour_mode=ColourMode.PALETTE, start=start), device


async def settle(pilot: Any, check: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the console never showed it")
        await pilot.pause(0.05)


def toasts(app: RotoApp) -> list[str]:
    return [n.message for n in app._notifications]


def text_of(widget: Static) -> str:
    return str(widget.render())


async def test_preview_status_is_visible_and_every_action_is_toasted() -> None:
    app, device = console("preview")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.screen.query_one(FrameView).frames_shown >= 1)
        status, footer = app.screen.query_one("#status", Static), app.screen.query_one(Footer)
        assert status.region.height == 1 and status.region.bottom <= footer.region.y  # above the footer
        assert "fps" in text_of(status) and "REC" in text_of(status)
        await pilot.press("s")
        await settle(pilot, lambda: "picture stored" in toasts(app))
        await pilot.press("l")
        await settle(pilot, lambda: "head 0 light off" in toasts(app))
        assert device.written[-1] == {"light0": False}


async def test_rec_and_backup_badges_on_every_screen() -> None:
    app, device = console()
    async with app.run_test(size=SIZE) as pilot:
        for key in "1234":
            await pilot.press(key)
            await pilot.pause(0.1)
            bar = text_of(app.screen.query_one(UnitBar))
            assert "REC 0:42" in bar and "BACKUP" in bar, (key, bar)
        device.emit(StateChanged({"record": "stop", "backupActive": False}))
        await pilot.pause(0.1)
        bar = text_of(app.screen.query_one(UnitBar))
        assert "REC" not in bar and "BACKUP" not in bar


async def test_the_picture_keeps_16_to_9_letterboxed() -> None:
    app, _ = console("preview")
    async with app.run_test(size=(200, 50)) as pilot:
        view = app.screen.query_one(FrameView)
        await settle(pilot, lambda: view.frames_shown >= 1)
        columns, pixel_rows = view.fit(320, 180)
        assert abs(columns / pixel_rows - 16 / 9) < 0.03  # a cell column and a half-cell row are square
        assert columns < view.size.width  # letterboxed at the sides, not stretched
        left = view.render_line(view.size.height // 2)
        assert left.text.startswith(" " * ((view.size.width - columns) // 2))


@pytest.mark.parametrize(
    ("start", "keys", "changes", "asked"),
    [
        ("preview", ["r"], {"record": "stop"}, "Stop the recording"),
        ("gallery", ["b"], {"backupActive": False}, "Turn Visual Backup off"),
        ("preview", ["h"], {"cameraSwitch": True}, "while recording"),
    ],
)
async def test_consequences_are_confirmed_first(
    start: str, keys: list[str], changes: dict[str, Any], asked: str
) -> None:
    app, device = console(start)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        await pilot.press(*keys)
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = str(app.screen.question)  # type: ignore[attr-defined]
        assert asked in question
        label = app.screen.query_one(Label)
        shown, room = label.size, label.parent.content_size  # type: ignore[union-attr]
        assert shown.width <= room.width and shown.width * shown.height >= len(question), "the question is cut off"
        await pilot.press("enter")  # No has the focus: a reflexive Enter sends nothing
        await settle(pilot, lambda: "nothing changed" in toasts(app))
        assert device.written == []
        await pilot.press(*keys, "y")
        await settle(pilot, lambda: device.written == [changes])


async def test_storage_switch_opens_on_the_current_storage_and_asks() -> None:
    device = FakeDevice()
    device.state["diskStorages"] = {"0b5e": DISK, "77aa": {**DISK, "uuid": "77aa", "name": "usb"}}
    app, _ = console("gallery", device)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        await pilot.press("S")
        await settle(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        choices = app.screen.query_one(OptionList)
        assert choices.highlighted == 0 and str(choices.get_option_at_index(0).prompt).startswith("● internal")
        await pilot.press("j", "enter")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "from internal to usb" in str(app.screen.question)  # type: ignore[attr-defined]
        await pilot.press("y")
        await settle(pilot, lambda: device.written == [{"recordingStorage": "77aa"}])
        await settle(pilot, lambda: "recordingStorage = usb" in toasts(app))


async def test_search_from_any_screen_and_no_match() -> None:
    app, _ = console()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        await pilot.press("slash")
        await settle(pilot, lambda: isinstance(app.screen, StateScreen) and isinstance(app.focused, Input))
        await pilot.press(*"zzz")
        nomatch = app.screen.query_one("#nomatch", Static)
        await settle(pilot, lambda: nomatch.display and "no variable matches 'zzz'" in text_of(nomatch))
        assert app.screen.query_one(DataTable).row_count == 0
        await pilot.press("backspace", "backspace", "backspace", *"zoom")
        await settle(pilot, lambda: not nomatch.display)


async def test_slash_on_the_state_screen_starts_a_new_search_at_once() -> None:
    app, _ = console("state")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, StateScreen))
        box = app.screen.query_one("#filter", Input)
        box.value = "light"
        app.screen.query_one(DataTable).focus()
        await pilot.pause()
        app.screen.action_focus_filter()  # type: ignore[attr-defined]
        assert app.focused is box and box.value == ""  # no turn of the loop in between: a burst's next key lands here
        await pilot.press(*"rec")
        await settle(pilot, lambda: box.value == "rec")


async def test_vi_keys_and_the_detail_panel() -> None:
    app, _ = console("state")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        table = app.screen.query_one(DataTable)
        table.focus()
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1
        await pilot.press("G")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("g")
        assert table.cursor_row == 0
        detail = text_of(app.screen.query_one("#detail", Static))
        assert "cam0Exists" in detail and "connected to the control unit" in detail
        app.screen.query_one("#filter", Input).value = "httpPort"
        await settle(pilot, lambda: "httpPort" in text_of(app.screen.query_one("#detail", Static)))
        assert "writes: admin only" in text_of(app.screen.query_one("#detail", Static))


async def test_help_lists_every_key_of_the_screen() -> None:
    app, _ = console("preview")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        overlay = app.screen
        assert isinstance(overlay, HelpScreen)
        out = Console(width=76, record=True, file=io.StringIO())
        out.print(help_table(overlay.sections))  # what the overlay shows, as text
        shown = out.export_text()
        keys = app.screen.query_one("#keys", Static)
        assert keys.region.height >= 20 and app.screen.query_one(VerticalScroll).region.bottom <= SIZE[1]
        for phrase in ("Record: start or stop", "Zoom out", "Pan: move", "Show Gallery", "Quit", "ctrl+p", "j k g G"):
            assert phrase in shown, phrase
        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, HelpScreen))


async def test_alarms_show_the_reason_and_clear_when_resolved() -> None:
    app, device = console()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        box = app.screen.query_one("#alarms", Static)
        assert not box.display  # nothing wrong: no empty alarm box
        device.emit(Notification("backupActive", "error", "Visual Backup stopped: storage internal is full"))
        device.emit(StateChanged({"backupActive": False, "oct1": "71.5°C"}))
        await settle(pilot, lambda: box.display and "storage internal is full" in text_of(box))
        assert "head 1 temperature 71.5" in text_of(box) and "2 alarms" in text_of(app.screen.query_one(UnitBar))
        device.emit(StateChanged({"backupActive": True, "oct1": "40.0°C"}))
        await settle(pilot, lambda: not box.display)


async def test_values_dim_while_disconnected() -> None:
    app, device = console()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        device.emit(ConnectionChanged(False, "connection closed by the device; retrying in 1 s"))
        await settle(pilot, lambda: app.screen.has_class("-offline"))
        head = app.screen.query_one("#head0", Static)
        assert head.styles.text_opacity < 1
        assert "disconnected" in text_of(app.screen.query_one(UnitBar))
        device.emit(ConnectionChanged(True, device.base))
        await settle(pilot, lambda: not app.screen.has_class("-offline"))


def test_no_recording_time_while_stopped() -> None:
    assert "0:40" not in recording_text({"record": "stop", "recordTime": 40})
    assert "0:40" in recording_text({"record": "start", "recordTime": 40})


def test_alarm_rules() -> None:
    watch = AlarmWatch()
    state = {
        "cam0Exists": True,
        "oct0": "38°C",
        "psi0": "900mbar",
        "psiSetpoint": "1150mbar",
        "dictRotation0": True,
        "RPM0": 1000,
        "rpm0": 3000,
        "diskStorages": {"a": {**DISK, "uuid": "a", "free": 10, "freeStr": "10 B"}},
        "recordingStorage": {"uuid": "a", "name": "internal"},
        "backupStorage": {"uuid": "gone", "name": "usb"},
        "record": "stop",
    }
    watch.note(Notification("record", "error", "recording stopped: storage usb was removed"))
    assert "disc0" not in {a.key for a in watch.current(state, now=100.0)}  # spinning up, perhaps
    keys = {a.key: a.text for a in watch.current(state, now=106.0)}
    assert set(keys) == {"storage.recording", "storage.backup", "record", "air0", "disc0"}
    assert "full" in keys["storage.recording"] and "lost" in keys["storage.backup"]
    assert keys["record"] == "recording stopped: storage usb was removed"
    state.update(record="start", psi0="1150mbar", RPM0=2990)
    watch.changed({"record": "start"})
    assert {a.key for a in watch.current(state)} == {"storage.recording", "storage.backup"}

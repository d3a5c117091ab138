"""Screens of roto-tui at 80x24 with deterministic data (pytest-textual-snapshot)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from roto_tui.app import RotoApp
from roto_tui.client import AccessRefused, ConnectionChanged, Notification, StateChanged
from roto_tui.render import ColourMode
from roto_tui.unit import Unit
from tests.fake_device import FakeDevice

SIZE = (80, 24)


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    """Times in the gallery are local; fix the zone so the pictures do not depend on the machine."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ")
    else:
        os.environ["TZ"] = before
    time.tzset()


def app(start: str = "overview") -> RotoApp:
    roto = RotoApp(FakeDevice(), colour_mode=ColourMode.PALETTE, start=start)
    history = roto.unit.history  # five minutes of readings, the same every run
    for i in range(150):
        history["oct0"].append(30 + i / 20)
        history["oct1"].append(33.0)
        history["RPM0"].append(2990 + (i * 7) % 13)
        history["psi0"].append(1140 + (i * 5) % 17)
        history["psi1"].append(1150 + (i * 3) % 11)
    return roto


async def idle(pilot: Any) -> None:
    await pilot.pause(0.3)


def test_overview(snap_compare: Any) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=idle)


def test_state_table(snap_compare: Any) -> None:
    assert snap_compare(app("state"), terminal_size=SIZE, run_before=idle)


def test_state_table_filtered(snap_compare: Any) -> None:
    assert snap_compare(app("state"), terminal_size=SIZE, press=["slash", *"zoom"], run_before=idle)


def test_preview(snap_compare: Any) -> None:
    assert snap_compare(app("preview"), terminal_size=SIZE, run_before=idle)


def test_gallery(snap_compare: Any) -> None:
    assert snap_compare(app("gallery"), terminal_size=SIZE, run_before=idle)


async def test_every_key_is_also_in_the_command_palette() -> None:
    from roto_tui.screens.base import DeviceScreen

    roto = app()
    async with roto.run_test(size=SIZE) as pilot:
        for key in "1234":
            await pilot.press(key)
            await pilot.pause(0.1)
            screen = roto.screen
            assert isinstance(screen, DeviceScreen)
            titles = {command.title for command in roto.get_system_commands(screen)}
            assert {"Show Overview: heads, alarms", "Show State: every variable", "Help: list every key"} <= titles
            wanted = {b.tooltip or b.description for b in screen.BINDINGS if b.description or b.tooltip}
            assert wanted <= titles, wanted - titles


@pytest.mark.parametrize(("typed", "found"), [("record", "Record: start or stop"), ("light", "Light: illumination")])
async def test_the_palette_finds_actions_by_name(typed: str, found: str) -> None:
    from textual.command import CommandList

    roto = app("preview")
    async with roto.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        await pilot.press("ctrl+p", *typed)
        await pilot.pause(0.5)
        options = roto.screen.query_one(CommandList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any(found in prompt for prompt in prompts), prompts


def test_overview_with_alarms(snap_compare: Any) -> None:
    roto = app()

    async def alarm(pilot: Any) -> None:
        device = roto.client
        device.emit(Notification("backupActive", "error", "Visual Backup stopped: storage internal is full"))
        device.emit(StateChanged({"backupActive": False, "oct1": "71.5°C", "record": "stop"}))
        await idle(pilot)

    assert snap_compare(roto, terminal_size=SIZE, run_before=alarm)


def test_overview_disconnected(snap_compare: Any) -> None:
    roto = app()

    async def drop(pilot: Any) -> None:
        roto.client.emit(ConnectionChanged(False, "connection closed by the device; retrying in 2 s"))
        await idle(pilot)

    assert snap_compare(roto, terminal_size=SIZE, run_before=drop)


def test_help_overlay(snap_compare: Any) -> None:
    assert snap_compare(app("preview"), terminal_size=SIZE, press=["question_mark"], run_before=idle)


def test_record_stop_asks(snap_compare: Any) -> None:
    assert snap_compare(app("preview"), terminal_size=SIZE, press=["r"], run_before=idle)


def test_option_editor_on_the_current_value(snap_compare: Any) -> None:
    keys = ["slash", *"recordingRes", "enter", "enter"]
    assert snap_compare(app("state"), terminal_size=SIZE, press=keys, run_before=idle)


def test_state_filter_without_match(snap_compare: Any) -> None:
    assert snap_compare(app("state"), terminal_size=SIZE, press=["slash", *"zzz"], run_before=idle)


def test_fleet(snap_compare: Any) -> None:
    devices = [FakeDevice(), FakeDevice()]
    devices[1].base = "http://cell8.test:8080"
    devices[1].state.update(record="stop", backupActive=False, oct0="76.0°C")
    units = [Unit("cell7", devices[0]), Unit("cell8", devices[1])]
    assert snap_compare(RotoApp(units, colour_mode=ColourMode.PALETTE), terminal_size=SIZE, run_before=idle)


def test_access_refused(snap_compare: Any) -> None:
    roto = app()

    async def refuse(pilot: Any) -> None:
        roto.client.emit(AccessRefused("http://roto.test:8080 refused the credentials (HTTP 401)"))
        await idle(pilot)

    assert snap_compare(roto, terminal_size=SIZE, run_before=refuse)

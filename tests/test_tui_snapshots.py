"""Screens of roto-tui at 80x24 with deterministic data (pytest-textual-snapshot)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from roto_tui.app import RotoApp
from roto_tui.render import ColourMode
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
    return RotoApp(FakeDevice(), colour_mode=ColourMode.PALETTE, start=start)


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
        for mode in ("overview", "state", "preview", "gallery"):
            await pilot.press(str(["overview", "state", "preview", "gallery"].index(mode) + 1))
            await pilot.pause(0.1)
            screen = roto.screen
            assert isinstance(screen, DeviceScreen)
            titles = {command.title for command in roto.get_system_commands(screen)}
            assert {"Show Overview", "Show State", "Show Preview", "Show Gallery"} <= titles
            wanted = {b.description for b in screen.BINDINGS if getattr(b, "description", "")}
            assert wanted <= titles, wanted - titles

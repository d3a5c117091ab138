"""The Fleet screen over several real servers on loopback: one row and one live connection per unit."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.widgets import DataTable

from roto_tui.app import RotoApp
from roto_tui.client import RotoClient
from roto_tui.config import parse
from roto_tui.screens.fleet import FleetScreen
from roto_tui.screens.overview import OverviewScreen
from roto_tui.unit import Unit
from roto_tui.widgets.unit_bar import UnitBar
from tests.server_process import ServerProcess


async def settle(pilot: Any, check: Any, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the console never showed it")
        await pilot.pause(0.05)


def cell(app: RotoApp, row: int, column: str) -> str:
    return str(app.screen.query_one(DataTable).get_cell(str(row), column))


async def test_fleet_rows_follow_each_unit_and_reconnect_independently(tmp_path: Path) -> None:
    servers = [ServerProcess(tmp_path / f"unit{i}") for i in range(3)]
    try:
        config_dir = tmp_path / "config" / "roto"
        config_dir.mkdir(parents=True)
        (config_dir / "units.toml").write_text(
            "".join(
                f'[[unit]]\nname = "cell{i}"\nurl = "{s.base}"\ntoken = "{s.token}"\n\n' for i, s in enumerate(servers)
            )
        )
        config = parse([], {"XDG_CONFIG_HOME": str(tmp_path / "config")})
        assert config.fleet and [u.name for u in config.units] == ["cell0", "cell1", "cell2"]
        units = [Unit(c.name, RotoClient(c.url, token=c.token)) for c in config.units]
        units.append(Unit("wrong", RotoClient(servers[0].base, token="wrong")))  # a unit with a bad token
        app = RotoApp(units, fleet=config.fleet)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot, lambda: isinstance(app.screen, FleetScreen) and all(u.connected for u in units[:3]))
            await settle(pilot, lambda: all("up" in cell(app, i, "link") for i in range(3)))
            await settle(pilot, lambda: "refused" in cell(app, 3, "link"))
            assert any("wrong" in n.message and "401" in n.message for n in app._notifications)
            assert app.screen.query_one(DataTable).row_count == 4 and cell(app, 0, "heads") == "01"
            servers[1].post({"record": "start"})
            await settle(pilot, lambda: cell(app, 1, "rec").startswith("REC"))
            assert not cell(app, 0, "rec").startswith("REC")
            port = servers[2].port
            servers[2].stop()
            await settle(pilot, lambda: "down" in cell(app, 2, "link"))
            assert "up" in cell(app, 0, "link") and "up" in cell(app, 1, "link")  # the others stay connected
            servers[2] = ServerProcess(tmp_path / "unit2", port=port)
            await settle(pilot, lambda: "up" in cell(app, 2, "link"))

            app.screen.query_one(DataTable).move_cursor(row=1)
            await pilot.press("enter")  # that unit's screens
            await settle(pilot, lambda: isinstance(app.screen, OverviewScreen))
            assert app.unit is units[1]
            await settle(pilot, lambda: "REC" in str(app.screen.query_one(UnitBar).render()))
            assert "cell1" in str(app.screen.query_one(UnitBar).render())
            await pilot.press("0")
            await settle(pilot, lambda: isinstance(app.screen, FleetScreen))
    finally:
        for server in servers:
            server.stop()


def test_several_urls_make_a_fleet(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    config = parse(["http://10.0.0.7:8080", "http://10.0.0.8:8080", "--token", "t"], env)
    assert config.fleet and [u.name for u in config.units] == ["10.0.0.7:8080", "10.0.0.8:8080"]
    assert not parse(["http://10.0.0.7:8080"], env).fleet

"""Every control unit in one table; each keeps its own live connection. Enter opens a unit's screens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from roto_tui.unit import Unit
from roto_tui.widgets.lists import NavTable

if TYPE_CHECKING:
    from roto_tui.app import RotoApp

REFRESH_S = 1.0
COLUMNS = (
    ("unit", "unit", 10),
    ("link", "link", 8),
    ("heads", "heads", 5),
    ("temp", "temp °C", 11),
    ("rec", "rec/bak", 7),
    ("free", "rec free", 9),
    ("alarms", "alarms", 15),
)


def row_cells(unit: Unit) -> list[Text]:
    state = unit.client.state
    if unit.refused:
        link = Text("refused", "bold red")
    elif unit.connected:
        link = Text("● up", "green")
    else:
        link = Text("○ down", "yellow")
    live = unit.connected
    dim = "" if live else "dim"
    heads = "".join(str(i) if state.get(f"cam{i}Exists") else "-" for i in (0, 1))
    temps = "/".join(str(state.get(f"oct{i}", "")).replace("°C", "") or "-" for i in (0, 1))
    record = state.get("record", "stop")
    rec = Text(
        "REC" if record == "start" else ("pause" if record == "pause" else "-"),
        "bold red" if record == "start" else dim,
    )
    rec.append("/")
    rec.append("BAK" if state.get("backupActive") else "-", "green" if state.get("backupActive") else dim)
    free = str((state.get("recordingStorage") or {}).get("freeStr", "-"))
    alarms = unit.alarms() if live else []
    alarm = Text(f"⚠ {len(alarms)} {alarms[0].text}" if alarms else "-", "bold red" if alarms else dim)
    return [Text(unit.name, "bold"), link, Text(heads, dim), Text(temps, dim), rec, Text(free, dim), alarm]


class FleetScreen(Screen[None]):
    BINDINGS = [
        Binding("enter", "open", "Open", tooltip="Open the selected unit's screens", id="fleet.open"),
    ]
    DEFAULT_CSS = """
    FleetScreen #title { height: 1; background: $panel; padding: 0 1; }
    FleetScreen DataTable { height: 1fr; }
    """

    @property
    def roto(self) -> RotoApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield NavTable(cursor_type="row", id="units")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        for i, unit in enumerate(self.roto.units):
            table.add_row(*row_cells(unit), key=str(i))
        self.set_interval(REFRESH_S, self.refresh_rows)
        self.refresh_rows()

    def on_screen_resume(self) -> None:
        self.refresh_rows()

    def refresh_rows(self) -> None:
        for unit in self.roto.units:
            self.unit_event(unit)
        units = self.roto.units
        up = sum(u.connected for u in units)
        alarms = sum(len(u.alarms()) for u in units if u.connected)
        self.query_one("#title", Static).update(
            f"[b]Fleet[/b]  {len(units)} units, {up} connected, "
            + (f"[b red]{alarms} alarm{'s' if alarms > 1 else ''}[/]" if alarms else "no alarms")
            + "  [dim]Enter opens a unit, 0 comes back[/]"
        )

    def unit_event(self, unit: Unit, *_: Any) -> None:
        """Redraw one unit's row (called for every event of any unit while this screen is shown)."""
        table = self.query_one(DataTable)
        row = str(self.roto.units.index(unit))
        for (key, _label, _width), value in zip(COLUMNS, row_cells(unit), strict=True):
            table.update_cell(row, key, value)

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if 0 <= table.cursor_row < len(self.roto.units):
            self.roto.open_unit(table.cursor_row)

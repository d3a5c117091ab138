"""Every catalogue variable with its live value; filter as you type; edit with the right editor."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Input

from roto_shared.catalogue import Variable, load_catalogue
from roto_tui.client import Event, StateChanged, StateReset
from roto_tui.widgets.editors import NO_CHANGE, EditorScreen

from .base import DeviceScreen

HIGHLIGHT_S = 1.0


def value_text(value: Any, width: int = 28) -> str:
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
    if isinstance(value, bool):
        text = "true" if value else "false"
    return text if len(text) <= width else text[: width - 1] + "…"


class StateScreen(DeviceScreen):
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter", id="state.filter"),
        Binding("enter", "edit", "Edit", show=True, id="state.edit"),
        Binding("escape", "focus_table", "Table", show=False),
    ]
    DEFAULT_CSS = """
    StateScreen #filter { height: 3; }
    StateScreen DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.catalogue = load_catalogue()
        self._shown: list[str] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter by name, group or description ( / )", id="filter")
        table: DataTable[Any] = DataTable(cursor_type="row", zebra_stripes=True, id="table")
        yield table
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label in (
            ("name", "variable"),
            ("value", "value"),
            ("type", "type"),
            ("rw", "rw"),
            ("range", "range"),
            ("description", "description"),
        ):
            table.add_column(label, key=key)
        self.fill("")
        table.focus()

    def fill(self, text: str) -> None:
        table = self.query_one(DataTable)
        needle = text.lower()
        table.clear()
        state = self.device.state
        self._shown = []
        for var in self.catalogue.values():
            if needle and needle not in f"{var.name} {var.group} {var.description}".lower():
                continue
            value = value_text(state.get(var.name, "")) if var.readable else "(write only)"
            table.add_row(var.name, value, var.type, var.access, var.range_text()[:20], var.description, key=var.name)
            self._shown.append(var.name)

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        self.fill(event.value)

    @on(Input.Submitted, "#filter")
    def _filtered(self) -> None:
        self.query_one(DataTable).focus()

    def refresh_from_state(self) -> None:
        self.fill(self.query_one("#filter", Input).value)

    def device_event(self, event: Event) -> None:
        if isinstance(event, StateReset):
            self.refresh_from_state()
        elif isinstance(event, StateChanged):
            table = self.query_one(DataTable)
            for name, value in event.changes.items():
                if name in self._shown:
                    table.update_cell(name, "value", Text(value_text(value), style="bold black on yellow"))
                    self.set_timer(HIGHLIGHT_S, lambda n=name: self._settle(n))

    def _settle(self, name: str) -> None:
        if name in self._shown:
            self.query_one(DataTable).update_cell(name, "value", value_text(self.device.state.get(name, "")))

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_focus_table(self) -> None:
        self.query_one(DataTable).focus()

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_edit()

    def action_edit(self) -> None:
        table = self.query_one(DataTable)
        if not self._shown or table.cursor_row >= len(self._shown):
            return
        var = self.catalogue[self._shown[table.cursor_row]]
        if not var.writable:
            self.notify(f"{var.name} is read-only", severity="warning")
            return
        current = self.device.state.get(var.name)
        if var.accepts == "boolean":
            self.send(var, not current if var.readable else True)
            return
        self.app.push_screen(EditorScreen(var, current), lambda value: self._edited(var, current, value))

    def _edited(self, var: Variable, current: Any, value: Any) -> None:
        if value is NO_CHANGE:
            return
        if var.relative and isinstance(value, dict) and isinstance(current, dict):
            value = {k: float(v) - float(current.get(k, 0)) for k, v in value.items()}
        elif var.relative and isinstance(current, int | float):
            value = value - current
        self.send(var, value)

    @work(group="state-writes")
    async def send(self, var: Variable, value: Any) -> None:
        """Write over HTTP so the device's answer (actual value, reasons) can be shown."""
        try:
            answer = await self.device.apply({var.name: value})
        except Exception as exc:  # the link is down or the device refused the request
            self.notify(f"{var.name}: {exc}", severity="error")
            return
        shown = value_text(answer.values.get(var.name, "?"), 40)
        if answer.notices:
            for note in answer.notices:
                info = note.get("level") == "info"
                self.notify(f"{note['message']} (now {shown})", severity="information" if info else "warning")
        else:
            self.notify(f"{var.name} = {shown}")

"""Every catalogue variable with its live value; filter as you type; edit with the right editor."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Input, Static

from roto_shared.catalogue import Variable, load_catalogue
from roto_tui.client import Event, StateChanged, StateReset
from roto_tui.widgets.editors import NO_CHANGE, EditorScreen
from roto_tui.widgets.lists import NavTable
from roto_tui.widgets.unit_bar import UnitBar

from .base import DeviceScreen

HIGHLIGHT_S = 1.0


def value_text(value: Any, width: int = 28) -> str:
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
    if isinstance(value, bool):
        text = "true" if value else "false"
    return text if len(text) <= width else text[: width - 1] + "…"


class StateScreen(DeviceScreen):
    BINDINGS = [
        Binding(
            "slash", "focus_filter", "Filter", tooltip="Filter variables by name or description", id="state.filter"
        ),
        Binding("enter", "edit", "Edit", show=True, tooltip="Edit the selected variable", id="state.edit"),
        Binding("escape", "focus_table", "Table", show=False),
    ]
    DEFAULT_CSS = """
    StateScreen #filter { height: 1; border: none; padding: 0 1; }
    StateScreen DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.catalogue = load_catalogue()
        self._shown: list[str] = []

    def compose(self) -> ComposeResult:
        yield UnitBar()
        yield Input(placeholder="/ filter by name, group or description", id="filter")
        yield Static(id="nomatch")
        yield NavTable(cursor_type="row", zebra_stripes=True, id="table", classes="reading")
        yield Static(id="detail")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        # range and description need room: they are in the detail panel under the table
        for key, label, width in (
            ("name", "variable", 26),
            ("value", "value", 30),
            ("type", "type", 7),
            ("rw", "rw", 2),
        ):
            table.add_column(label, key=key, width=width)
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
            table.add_row(var.name, value, var.type, var.access, key=var.name)
            self._shown.append(var.name)
        nomatch = self.query_one("#nomatch", Static)
        nomatch.update(
            f"no variable matches {text!r}: Backspace to widen, Esc for the table" if not self._shown else ""
        )
        nomatch.set_class(not self._shown, "-shown")
        self.show_detail()

    @on(DataTable.RowHighlighted)
    def show_detail(self) -> None:
        table = self.query_one(DataTable)
        detail = self.query_one("#detail", Static)
        if not self._shown or not 0 <= table.cursor_row < len(self._shown):
            detail.update("")
            return
        var = self.catalogue[self._shown[table.cursor_row]]
        allowed = var.range_text() or "any"
        unit = f" {var.unit}" if var.unit else ""
        access = f"{var.access} (writes: admin only)" if var.writable and var.write_role == "admin" else var.access
        detail.update(f"[b]{var.name}[/b]  {var.type}, {access}, allowed: {allowed}{unit}\n{var.description}")

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
        """A new search, as / starts one in less or vim: keys typed right after it (a paste, tmux) land here too."""
        box = self.query_one("#filter", Input)
        box.value = ""
        self.set_focus(box)  # at once: Widget.focus() waits for the next turn, and quick keys went to the table

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
        if var.accepts == "boolean" and not var.readable:
            self.roto.write({var.name: True})  # a trigger such as takePicture: nothing to choose
            return
        self.app.push_screen(EditorScreen(var, current), lambda value: self._edited(var, current, value))

    def _edited(self, var: Variable, current: Any, value: Any) -> None:
        if value is NO_CHANGE:
            return
        if var.relative and isinstance(value, dict) and isinstance(current, dict):
            value = {k: float(v) - float(current.get(k, 0)) for k, v in value.items()}
        elif var.relative and isinstance(current, int | float):
            value = value - current
        self.roto.write({var.name: value})

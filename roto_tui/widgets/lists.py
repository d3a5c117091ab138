"""Lists that move like k9s and lazygit: j/k down and up, g/G to the first and last row."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.widgets import DataTable, OptionList

VI_KEYS: list[Binding | tuple[str, str] | tuple[str, str, str]] = [
    Binding("j", "cursor_down", "Down", show=False),
    Binding("k", "cursor_up", "Up", show=False),
    Binding("g", "first", "First", show=False),
    Binding("G", "last", "Last", show=False),
]


class NavTable(DataTable[Any]):
    BINDINGS = VI_KEYS

    def action_first(self) -> None:
        if self.row_count:
            self.move_cursor(row=0)

    def action_last(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)


class NavOptionList(OptionList):
    BINDINGS = VI_KEYS  # OptionList has cursor_down/up and first/last actions already

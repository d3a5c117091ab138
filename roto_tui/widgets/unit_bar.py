"""The line on top of every screen: which unit, whether the link is up, REC and BACKUP badges, alarms."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from roto_tui.unit import Unit


def bar_text(unit: Unit, width: int, fleet: bool = False) -> Text:
    state = unit.client.state
    text = Text(no_wrap=True, overflow="ellipsis")
    if unit.refused:
        text.append(" ✗ refused ", "bold white on red")
    elif unit.connected:
        text.append(" ● ", "bold green")
    else:
        text.append(" ○ ", "bold yellow")
    text.append(f"{unit.name} " if fleet else "roto ", "bold")
    record = state.get("record", "stop") if unit.connected else "stop"
    if record == "start":
        text.append(f" REC {clock(state.get('recordTime', 0))} ", "bold white on red")
        text.append(" ")
    elif record == "pause":
        text.append(" REC paused ", "bold black on yellow")
        text.append(" ")
    if unit.connected and state.get("backupActive"):
        text.append(" BACKUP ", "bold black on green")
        text.append(" ")
    alarms = unit.alarms() if unit.connected else []
    if alarms:
        text.append(f" ⚠ {len(alarms)} alarm{'s' if len(alarms) > 1 else ''} ", "bold white on dark_red")
        text.append(" ")
    link = "connected to" if unit.connected else ("refused by" if unit.refused else "disconnected:")
    text.append(f"{link} {unit.client.base if unit.connected or unit.refused else unit.link}", "dim")
    text.truncate(width, overflow="ellipsis")
    return text


def clock(seconds: object) -> str:
    try:
        total = int(float(seconds))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "?"
    return (
        f"{total // 3600}:{total // 60 % 60:02}:{total % 60:02}" if total >= 3600 else f"{total // 60}:{total % 60:02}"
    )


class UnitBar(Static):
    DEFAULT_CSS = """
    UnitBar { dock: top; height: 1; background: $panel; }
    """

    def show_unit(self, unit: Unit, fleet: bool = False) -> None:
        self.update(bar_text(unit, max(self.size.width, 20), fleet))

"""Alarms, both heads with recent readings, recording, Visual Backup, storages and notifications at a glance."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Footer, RichLog, Static

from roto_tui.alarms import Alarm
from roto_tui.client import ConnectionChanged, Event, Notification, StateChanged, StateReset
from roto_tui.spark import sparkline
from roto_tui.unit import HISTORY_SAMPLES, Unit
from roto_tui.widgets.unit_bar import UnitBar, clock

from .base import DeviceScreen

SPARK_WIDTH = 14
READING_WIDTH = 22
# the smallest change a sparkline spreads over its full height: less is noise, not a trend
MIN_SPAN = {"oct": 2.0, "RPM": 150.0, "psi": 40.0}


def _on(value: Any) -> str:
    return "[green]on[/]" if value else "[dim]off[/]"


def head_text(unit: Unit, i: int, alarms: set[str], spark_width: int = SPARK_WIDTH) -> str:
    state = unit.client.state
    if not state.get(f"cam{i}Exists"):
        return f"[b]Head {i}[/b]  [red]not connected[/]"

    def reading(key: str, text: str, series: str) -> str:
        colour = "b red" if key in alarms else "default"
        line = sparkline(unit.history[series], spark_width, MIN_SPAN[series[:-1]])
        return f"[{colour}]{text:<{READING_WIDTH}}[/] [cyan]{line}[/]"

    return (
        f"[b]Head {i}[/b]  light {_on(state.get(f'light{i}'))}  disc {_on(state.get(f'dictRotation{i}'))}  "
        f"sensor {state.get(f'cam{i}SelectedSensor', 0)}\n"
        + reading(f"temp{i}", f"temp {state.get(f'oct{i}', '?')}", f"oct{i}")
        + "\n"
        + reading(f"disc{i}", f"disc {state.get(f'RPM{i}', 0)}/{state.get(f'rpm{i}', 0)} rpm", f"RPM{i}")
        + "\n"
        + reading(f"air{i}", f"air {state.get(f'psi{i}', '?')}/{state.get('psiSetpoint', '?')}", f"psi{i}")
    )


def recording_text(state: dict[str, Any]) -> str:
    record = state.get("record", "stop")
    streamed = 1 if state.get("cameraSwitch") else 0
    shown = {
        "start": f"[b white on red] REC [/] {clock(state.get('recordTime', 0))}",
        "pause": f"[b black on yellow] paused [/] {clock(state.get('recordTime', 0))}",
    }.get(record, "[dim]stopped[/]")  # no time while stopped: the last recording's would mislead
    return (
        f"[b]Recording[/b]  {shown}\n"
        f"head {streamed}  {state.get('recordingResolution', '')} {state.get('recordingFps', '')} fps  "
        f"pip {state.get('pip', 0)}"
    )


def backup_text(state: dict[str, Any]) -> str:
    return (
        f"[b]Visual Backup[/b]  {_on(state.get('backupActive'))}\n"
        f"left {state.get('backupRemainingCapacity', '')}  kept {state.get('backupStoredFileDuration', '')}"
        f"  cap {state.get('storageBackupCapacity', '')}"
    )


def storages_text(state: dict[str, Any]) -> str:
    rec, bak = state.get("recordingStorage", {}).get("uuid"), state.get("backupStorage", {}).get("uuid")
    lines = []
    for uid, disk in {**state.get("diskStorages", {}), **state.get("netStorages", {})}.items():
        marks = ",".join(m for m, u in (("rec", rec), ("backup", bak)) if u == uid)
        name = disk.get("name", uid)[:18]
        lines.append(
            f"[b]Storage[/b] {name:18} {disk.get('freeStr', '')} free of {disk.get('totalStr', '')}"
            + (f"  [cyan]{marks}[/]" if marks else "")
        )
    return "\n".join(lines) or "[b]Storage[/b] [red]none detected[/]"


def alarms_text(alarms: list[Alarm]) -> str:
    return "\n".join(
        f"[b {'white on red' if a.level == 'error' else 'black on yellow'}] ⚠ [/] "
        f"[{'red' if a.level == 'error' else 'yellow'}]{a.text}[/]"
        for a in alarms
    )


class OverviewScreen(DeviceScreen):
    DEFAULT_CSS = """
    OverviewScreen #alarms { height: auto; padding: 0 1; }
    OverviewScreen #alarms.-none { display: none; }
    OverviewScreen Grid { grid-size: 2; grid-rows: 4 2; height: auto; }
    OverviewScreen Static { padding: 0 1; }
    OverviewScreen #storages { height: auto; }
    OverviewScreen RichLog { height: 1fr; border-top: solid $primary; }
    """

    def compose(self) -> ComposeResult:
        yield UnitBar()
        yield Static(id="alarms")
        with Grid():
            yield Static(id="head0", classes="reading")
            yield Static(id="head1", classes="reading")
            yield Static(id="recording", classes="reading")
            yield Static(id="backup", classes="reading")
        yield Static(id="storages", classes="reading")
        yield RichLog(id="notes", markup=True, max_lines=200)
        yield Footer(compact=True, show_command_palette=False)

    def refresh_from_state(self) -> None:
        unit = self.roto.unit
        state = unit.client.state
        if not state:  # never connected: defaults would claim "stopped", "off" and "none detected"
            self._show_unknown()
            return
        alarms = unit.alarms() if unit.connected else []
        keys = {a.key for a in alarms}
        box = self.query_one("#alarms", Static)
        box.update(alarms_text(alarms))
        box.set_class(not alarms, "-none")
        for i in (0, 1):
            box = self.query_one(f"#head{i}", Static)
            # a wider terminal shows a longer past: up to every sample kept (five minutes)
            width = max(SPARK_WIDTH, min(HISTORY_SAMPLES, box.content_size.width - READING_WIDTH - 1))
            box.update(head_text(unit, i, keys, width))
        self.query_one("#recording", Static).update(recording_text(state))
        self.query_one("#backup", Static).update(backup_text(state))
        self.query_one("#storages", Static).update(storages_text(state))

    def _show_unknown(self) -> None:
        unknown = "[dim]not known yet[/]"
        self.query_one("#alarms", Static).set_class(True, "-none")
        for box, title in (("head0", "Head 0"), ("head1", "Head 1"), ("recording", "Recording")):
            self.query_one(f"#{box}", Static).update(f"[b]{title}[/b]  {unknown}")
        self.query_one("#backup", Static).update(f"[b]Visual Backup[/b]  {unknown}")
        self.query_one("#storages", Static).update(f"[b]Storage[/b]  {unknown}")

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        log = self.query_one("#notes", RichLog)
        log.clear()  # the shown unit may have changed (Fleet): replay its notices
        for note in self.roto.unit.notices:
            log.write(note_text(note))

    def device_event(self, event: Event) -> None:
        if isinstance(event, StateChanged | StateReset | ConnectionChanged):
            self.refresh_from_state()
        elif isinstance(event, Notification):
            self.query_one("#notes", RichLog).write(note_text(event))
            self.refresh_from_state()


def note_text(note: Notification) -> str:
    colour = {"error": "red", "warning": "yellow"}.get(note.level, "white")
    return f"[{colour}]{note.message}[/]"

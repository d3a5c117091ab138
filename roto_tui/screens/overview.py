"""Both heads, recording, Visual Backup, storages and the device's notifications at a glance."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Footer, Header, RichLog, Static

from roto_tui.client import Event, Notification, StateChanged, StateReset

from .base import DeviceScreen


def _on(value: Any) -> str:
    return "[green]on[/]" if value else "[dim]off[/]"


def head_text(state: dict[str, Any], i: int) -> str:
    if not state.get(f"cam{i}Exists"):
        return f"[b]Head {i}[/b]  [red]not connected[/]"
    return (
        f"[b]Head {i}[/b]  light {_on(state.get(f'light{i}'))}  sensor {state.get(f'cam{i}SelectedSensor', 0)}\n"
        f"rotation {_on(state.get(f'dictRotation{i}'))}  {state.get(f'RPM{i}', 0)} / {state.get(f'rpm{i}', 0)} rpm\n"
        f"temp {state.get(f'oct{i}', '?')}  air {state.get(f'psi{i}', '?')} / {state.get('psiSetpoint', '?')}"
    )


def recording_text(state: dict[str, Any]) -> str:
    record = state.get("record", "stop")
    colour = {"start": "red", "pause": "yellow"}.get(record, "dim")
    streamed = 1 if state.get("cameraSwitch") else 0
    return (
        f"[b]Recording[/b]  [{colour}]{record}[/]  {state.get('recordTime', 0)} s\n"
        f"stream head {streamed}  {state.get('recordingResolution', '')} {state.get('recordingFps', '')} fps  "
        f"pip {state.get('pip', 0)}"
    )


def backup_text(state: dict[str, Any]) -> str:
    return (
        f"[b]Visual Backup[/b]  {_on(state.get('backupActive'))}\n"
        f"remaining {state.get('backupRemainingCapacity', '')}  stored {state.get('backupStoredFileDuration', '')}"
        f"  capacity {state.get('storageBackupCapacity', '')}"
    )


def storages_text(state: dict[str, Any]) -> str:
    rec, bak = state.get("recordingStorage", {}).get("uuid"), state.get("backupStorage", {}).get("uuid")
    lines = ["[b]Storages[/b]"]
    for uid, disk in {**state.get("diskStorages", {}), **state.get("netStorages", {})}.items():
        marks = ",".join(m for m, u in (("rec", rec), ("backup", bak)) if u == uid)
        lines.append(
            f"{disk.get('name', uid)[:18]:18} {disk.get('freeStr', '')} free of {disk.get('totalStr', '')}"
            + (f"  [cyan]{marks}[/]" if marks else "")
        )
    return "\n".join(lines)


class OverviewScreen(DeviceScreen):
    DEFAULT_CSS = """
    OverviewScreen Grid { grid-size: 2; grid-rows: 5 4 auto; height: auto; }
    OverviewScreen Static { padding: 0 1; }
    OverviewScreen #storages { column-span: 2; }
    OverviewScreen RichLog { height: 1fr; border-top: solid $primary; }
    """

    def compose(self) -> ComposeResult:
        yield Header()
        with Grid():
            yield Static(id="head0")
            yield Static(id="head1")
            yield Static(id="recording")
            yield Static(id="backup")
            yield Static(id="storages")
        yield RichLog(id="notes", markup=True, max_lines=200)
        yield Footer()

    def refresh_from_state(self) -> None:
        state = self.device.state
        self.query_one("#head0", Static).update(head_text(state, 0))
        self.query_one("#head1", Static).update(head_text(state, 1))
        self.query_one("#recording", Static).update(recording_text(state))
        self.query_one("#backup", Static).update(backup_text(state))
        self.query_one("#storages", Static).update(storages_text(state))

    def device_event(self, event: Event) -> None:
        if isinstance(event, StateChanged | StateReset):
            self.refresh_from_state()
        elif isinstance(event, Notification):
            colour = {"error": "red", "warning": "yellow"}.get(event.level, "white")
            self.query_one("#notes", RichLog).write(f"[{colour}]{event.message}[/]")

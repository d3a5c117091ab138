"""Visual Backup gallery: files with their tags, tagging, backup on/off, capacity, storage choice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from roto_tui.client import Event, StateChanged
from roto_tui.widgets.editors import ChoiceScreen, ConfirmScreen, TagScreen
from roto_tui.widgets.lists import NavTable
from roto_tui.widgets.unit_bar import UnitBar

from .base import DeviceScreen

REFRESH_S = 5.0


def clock(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%m-%d %H:%M:%S")


class GalleryScreen(DeviceScreen):
    BINDINGS = [
        Binding("t", "tag", "Tag", tooltip="Tag the selected backup file", id="gallery.tag"),
        Binding("d", "untag", "Untag", tooltip="Remove the tag of the selected file", id="gallery.untag"),
        Binding("f", "filter", "Tagged", tooltip="Show tagged files only, or all", id="gallery.filter"),
        Binding("b", "backup", "Backup", tooltip="Visual Backup on/off", id="gallery.backup"),
        Binding(
            "s",
            "storage('backupStorage')",
            "Bak.stor",
            tooltip="Storage for Visual Backup",
            id="gallery.backup_storage",
        ),
        Binding(
            "S",
            "storage('recordingStorage')",
            "Rec.stor",
            tooltip="Storage for recordings",
            id="gallery.recording_storage",
        ),
        Binding("R", "reload", "Reload", show=False, tooltip="Reload the backup file list", id="gallery.reload"),
    ]
    DEFAULT_CSS = """
    GalleryScreen #capacity { height: 2; padding: 0 1; background: $panel; }
    GalleryScreen DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.tagged_only = False
        self.files: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield UnitBar()
        yield Static(id="capacity", classes="reading")
        yield NavTable(cursor_type="row", id="files", classes="reading")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label in (
            ("time", "time"),
            ("duration", "dur s"),
            ("size", "MB"),
            ("storage", "storage"),
            ("tags", "tags"),
        ):
            table.add_column(label, key=key)
        self.set_interval(REFRESH_S, self.reload)

    def refresh_from_state(self) -> None:
        self.show_capacity()
        self.reload()

    def device_event(self, event: Event) -> None:
        if isinstance(event, StateChanged) and any(k.startswith(("backup", "storage")) for k in event.changes):
            self.show_capacity()

    def show_capacity(self) -> None:
        s = self.device.state
        state = "[green]on[/]" if s.get("backupActive") else "[dim]off[/]"
        self.query_one("#capacity", Static).update(
            f"Visual Backup {state}, on {s.get('backupStorage', {}).get('name', '-')}  "
            f"left {s.get('backupRemainingCapacity', '')}  kept {s.get('backupStoredFileDuration', '')}  "
            f"cap {s.get('storageBackupCapacity', '')}\n"
            f"listed: {'[b]tagged[/b]' if self.tagged_only else 'all'} Visual Backup files  "
            f"[dim](manual recordings go to {s.get('recordingStorage', {}).get('name', '-')})[/]"
        )

    @work(exclusive=True, group="gallery")
    async def reload(self) -> None:
        try:
            files = await self.device.backup_files(tagged_only=self.tagged_only)
        except Exception as exc:
            self.notify(f"gallery: {exc}", severity="error")
            return
        self.files = list(reversed(files))  # newest first
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for f in self.files:
            tags = ", ".join(t.get("title") or "(untitled)" for t in f["tags"])
            table.add_row(
                f"{clock(f['start'])}-{datetime.fromtimestamp(f['end']).strftime('%H:%M:%S')}",
                f"{f['duration']:.0f}",
                f"{f['size'] / 1e6:.1f}",
                f["storage"]["name"][:10],
                tags,
                key=f["id"],
            )
        if self.files:
            table.move_cursor(row=min(row, len(self.files) - 1))
        self.show_capacity()

    def _selected(self) -> dict[str, Any] | None:
        table = self.query_one(DataTable)
        return self.files[table.cursor_row] if self.files and table.cursor_row < len(self.files) else None

    def action_reload(self) -> None:
        self.notify("reloading the backup files")
        self.reload()

    def action_filter(self) -> None:
        self.tagged_only = not self.tagged_only
        self.notify("tagged files only" if self.tagged_only else "all files")
        self.reload()

    def action_backup(self) -> None:
        on = not self.device.state.get("backupActive")
        self.roto.write({"backupActive": on}, f"Visual Backup {'on' if on else 'off'}")

    def action_tag(self) -> None:
        chosen = self._selected()
        moment = (chosen["start"] + chosen["end"]) / 2 if chosen else None
        where = f"the file of {clock(chosen['start'])}" if chosen else "now"

        async def create(answer: tuple[str, str] | None) -> None:
            if answer is None:
                return
            result = await self.device.create_tag(answer[0], answer[1], moment if moment else None)
            for note in result.notices:
                self.notify(note["message"], severity="warning")
            if not result.notices:
                self.notify(f"tagged {where}: {answer[0]}")
            self.reload()

        self.app.push_screen(TagScreen(where), create)

    def action_untag(self) -> None:
        chosen = self._selected()
        if not chosen or not chosen["tags"]:
            self.notify("the selected file has no tag", severity="warning")
            return
        tag = chosen["tags"][0]

        async def remove(sure: bool | None) -> None:
            if sure:
                await self.device.remove_tag(tag["id"])
                self.notify(f"tag removed: {tag.get('title') or '(untitled)'}")
                self.reload()

        self.app.push_screen(
            ConfirmScreen(
                f"Remove the tag '{tag.get('title') or '(untitled)'}'? The ring buffer may then delete the file."
            ),
            remove,
        )

    def action_storage(self, variable: str) -> None:
        s = self.device.state
        storages = {**s.get("diskStorages", {}), **s.get("netStorages", {})}
        choices = [(uid, f"{d.get('name', uid)}  {d.get('freeStr', '')} free") for uid, d in storages.items()]
        if not choices:
            self.notify("no storages detected", severity="warning")
            return

        current = (s.get(variable) or {}).get("uuid")

        def chosen(uid: str | None) -> None:
            if uid and uid != current:
                self.roto.write({variable: uid})

        role = "Visual Backup" if variable == "backupStorage" else "recordings"
        self.app.push_screen(ChoiceScreen(f"Storage for {role} (● current)", choices, current), chosen)


__all__ = ["GalleryScreen"]

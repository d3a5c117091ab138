"""roto-tui: the operator console. Keyboard first; every action is in the footer and the command palette."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from roto_tui.client import ConnectionChanged, Event, Notification, RotoClient
from roto_tui.render import ColourMode, mode_for
from roto_tui.screens.base import DeviceScreen
from roto_tui.screens.gallery import GalleryScreen
from roto_tui.screens.overview import OverviewScreen
from roto_tui.screens.preview import PreviewScreen
from roto_tui.screens.state import StateScreen

SCREENS = {"overview": "Overview", "state": "State", "preview": "Preview", "gallery": "Gallery"}


class RotoApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "roto"
    MODES = {"overview": OverviewScreen, "state": StateScreen, "preview": PreviewScreen, "gallery": GalleryScreen}
    DEFAULT_MODE = "overview"
    BINDINGS = [
        Binding("1", "switch_mode('overview')", "Overview", id="app.overview"),
        Binding("2", "switch_mode('state')", "State", id="app.state"),
        Binding("3", "switch_mode('preview')", "Preview", id="app.preview"),
        Binding("4", "switch_mode('gallery')", "Gallery", id="app.gallery"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(
        self, client: Any, colour_mode: ColourMode | None = None, start: str = "overview", stats: str | None = None
    ) -> None:
        super().__init__()
        self.stats_path = stats
        self.client = client
        self._colour_mode = colour_mode
        self._start = start
        self.notices: deque[Notification] = deque(maxlen=200)

    @property
    def colour_mode(self) -> ColourMode:
        return self._colour_mode or mode_for(self.console.color_system)

    def on_mount(self) -> None:
        self.sub_title = f"connecting to {self.client.base} …"
        self.client.subscribe(self._device_event)
        self.client.start()
        if self._start != self.DEFAULT_MODE:
            self.switch_mode(self._start)

    async def on_unmount(self) -> None:
        await self.client.close()

    def _device_event(self, event: Event) -> None:
        if isinstance(event, ConnectionChanged):
            self.sub_title = (
                f"● connected to {self.client.base}" if event.connected else f"○ disconnected: {event.detail}"
            )
        elif isinstance(event, Notification):
            self.notices.append(event)
            severity = {"error": "error", "warning": "warning"}.get(event.level, "information")
            self.notify(event.message, severity=severity)  # type: ignore[arg-type]
        screen = self.screen
        if isinstance(screen, DeviceScreen) and screen.is_mounted:
            screen.device_event(event)

    @work(group="writes")
    async def write(self, values: dict[str, Any]) -> None:
        """Write over HTTP and show what the device made of it."""
        try:
            answer = await self.client.apply(values)
        except Exception as exc:
            self.notify(f"not sent: {exc}", severity="error")
            return
        for note in answer.notices:
            self.notify(note["message"], severity="information" if note.get("level") == "info" else "warning")

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for mode, label in SCREENS.items():
            yield SystemCommand(
                f"Show {label}", f"Switch to the {label.lower()} screen", lambda m=mode: self.switch_mode(m)
            )
        for binding in screen.BINDINGS:
            if isinstance(binding, Binding) and binding.description:
                yield SystemCommand(
                    binding.description, f"key {binding.key}", lambda b=binding: self.run_action(b.action, screen)
                )


__all__ = ["RotoApp", "RotoClient"]

"""What every console screen shares: access to the shown unit and live events while it is shown."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.screen import Screen

from roto_tui.client import Event

if TYPE_CHECKING:
    from roto_tui.app import RotoApp


class DeviceScreen(Screen[None]):
    @property
    def device(self) -> Any:
        return self.roto.client

    @property
    def roto(self) -> RotoApp:
        return self.app  # type: ignore[return-value]

    def on_screen_resume(self) -> None:
        self.set_class(not self.device.connected, "-offline")
        self.refresh_from_state()
        self.roto.refresh_bar()

    def refresh_from_state(self) -> None:
        """Redraw everything from the state mirror (on show, and after a reconnection)."""

    def device_event(self, event: Event) -> None:
        """A change, notification or connection event while this screen is shown."""

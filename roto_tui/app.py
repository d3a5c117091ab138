"""roto-tui: the operator console. Keyboard first; every action is in the footer, `?` and the command palette."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from roto_tui.client import AccessRefused, ConnectionChanged, Event, Notification, RotoClient
from roto_tui.config import on_loopback
from roto_tui.render import ColourMode, mode_for
from roto_tui.safety import outcome, question
from roto_tui.screens.base import DeviceScreen
from roto_tui.screens.fleet import FleetScreen
from roto_tui.screens.gallery import GalleryScreen
from roto_tui.screens.overview import OverviewScreen
from roto_tui.screens.preview import PreviewScreen
from roto_tui.screens.state import StateScreen
from roto_tui.unit import SAMPLE_S, Unit
from roto_tui.widgets.editors import ConfirmScreen
from roto_tui.widgets.help import AccessScreen, HelpScreen, access_advice
from roto_tui.widgets.unit_bar import UnitBar

SCREENS = {"overview": "Overview", "state": "State", "preview": "Preview", "gallery": "Gallery"}


class RotoApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "roto"
    MODES = {
        "overview": OverviewScreen,
        "state": StateScreen,
        "preview": PreviewScreen,
        "gallery": GalleryScreen,
        "fleet": FleetScreen,
    }
    DEFAULT_MODE = "overview"
    BINDINGS = [
        Binding(
            "1",
            "switch_mode('overview')",
            "Screens",
            key_display="1-4",
            tooltip="Show Overview: heads, alarms",
            id="app.overview",
        ),
        Binding("2", "switch_mode('state')", "State", show=False, tooltip="Show State: every variable", id="app.state"),
        Binding(
            "3", "switch_mode('preview')", "Preview", show=False, tooltip="Show Preview: live picture", id="app.preview"
        ),
        Binding(
            "4", "switch_mode('gallery')", "Gallery", show=False, tooltip="Show Gallery: backup files", id="app.gallery"
        ),
        Binding("0", "fleet", "Fleet", show=False, tooltip="Show Fleet: every control unit", id="app.fleet"),
        Binding(
            "slash", "search", "Find", show=False, tooltip="Find a variable (search the State table)", id="app.search"
        ),
        Binding("question_mark", "help", "Keys", tooltip="Help: list every key", id="app.help"),
        Binding("q", "quit", "Quit", tooltip="Quit roto-tui", id="app.quit"),
    ]

    def __init__(
        self,
        client: Any | Sequence[Unit],
        colour_mode: ColourMode | None = None,
        start: str = "overview",
        stats: str | None = None,
        fleet: bool | None = None,
    ) -> None:
        super().__init__()
        self.stats_path = stats
        self.units: list[Unit] = list(client) if isinstance(client, Sequence) else [Unit(_name(client), client)]
        self.fleet = len(self.units) > 1 if fleet is None else fleet
        self.current = 0
        self._colour_mode = colour_mode
        self._start = "fleet" if self.fleet else start

    @property
    def unit(self) -> Unit:
        return self.units[self.current]

    @property
    def client(self) -> Any:
        return self.unit.client

    @property
    def notices(self) -> Any:
        return self.unit.notices

    @property
    def colour_mode(self) -> ColourMode:
        return self._colour_mode or mode_for(self.console.color_system)

    def on_mount(self) -> None:
        self.sub_title = f"connecting to {self.client.base} …"
        for unit in self.units:
            unit.client.subscribe(lambda event, u=unit: self._device_event(u, event))
            unit.client.start()
        self.set_interval(SAMPLE_S, self._sample)
        if self._start != self.DEFAULT_MODE:
            self.switch_mode(self._start)

    async def on_unmount(self) -> None:
        for unit in self.units:
            await unit.client.close()

    def open_unit(self, index: int, mode: str = "overview") -> None:
        """Show one unit's screens (from the Fleet screen); its connection keeps running either way."""
        self.current = index
        self.sub_title = self.unit.link
        self.switch_mode(mode)
        screen = self.screen
        if isinstance(screen, DeviceScreen):
            screen.refresh_from_state()
        self.refresh_bar()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "fleet":
            return self.fleet  # hidden with a single unit
        return True

    # -- events from every unit ------------------------------------------------------------
    def _device_event(self, unit: Unit, event: Event) -> None:
        unit.observe(event)
        screen = self.screen
        if isinstance(screen, FleetScreen) and screen.is_mounted:
            screen.unit_event(unit)
        if unit is not self.unit or (self.fleet and isinstance(event, AccessRefused)):
            if isinstance(event, Notification) and event.level in ("error", "warning"):
                self.notify(f"{unit.name}: {event.message}", severity=event.level)  # type: ignore[arg-type]
            elif isinstance(event, AccessRefused):
                self.notify(f"{unit.name}: {event.detail}; give its token in units.toml", severity="error")
            return
        if isinstance(event, ConnectionChanged):
            self.sub_title = f"● connected to {unit.client.base}" if event.connected else f"○ {event.detail}"
            for each in self.screen_stack:
                each.set_class(not event.connected, "-offline")
        elif isinstance(event, AccessRefused):
            self.sub_title = f"✗ {event.detail}"
            client = unit.client
            advice = access_advice(client.base, on_loopback(client.base), client.brings_credentials)
            self.push_screen(AccessScreen(advice))
        elif isinstance(event, Notification):
            severity = {"error": "error", "warning": "warning"}.get(event.level, "information")
            self.notify(event.message, severity=severity, timeout=10 if event.level == "error" else 5)  # type: ignore[arg-type]
        if isinstance(screen, DeviceScreen) and screen.is_mounted:
            screen.device_event(event)
        self.refresh_bar()

    def refresh_bar(self) -> None:
        for bar in self.screen.query(UnitBar):
            bar.show_unit(self.unit, self.fleet)

    def _sample(self) -> None:
        for unit in self.units:
            unit.sample()
        screen = self.screen
        if isinstance(screen, OverviewScreen) and screen.is_mounted:
            screen.refresh_from_state()

    # -- writes ----------------------------------------------------------------------------------
    def write(self, values: dict[str, Any], done: str | None = None) -> None:
        """Send ``values``, asking first when they have consequences; the outcome is always shown."""
        ask = question(values, self.client.state)
        if ask is None:
            self._send(values, done)
            return

        def answered(sure: bool | None) -> None:
            if sure:
                self._send(values, done)
            else:
                self.notify("nothing changed")

        self.push_screen(ConfirmScreen(ask), answered)

    @work(group="writes")
    async def _send(self, values: dict[str, Any], done: str | None) -> None:
        """Write over HTTP and show what the device made of it."""
        try:
            answer = await self.client.apply(values)
        except Exception as exc:
            self.notify(f"not sent: {exc}", severity="error")
            return
        for note in answer.notices:
            self.notify(note["message"], severity="information" if note.get("level") == "info" else "warning")
        if not answer.notices:
            self.notify(done or outcome(values, answer.values))

    # -- keys --------------------------------------------------------------------------------------
    def action_fleet(self) -> None:
        self.switch_mode("fleet")

    def action_search(self) -> None:
        self.switch_mode("state")
        self.call_after_refresh(lambda: getattr(self.screen, "action_focus_filter", lambda: None)())

    def action_help(self) -> None:
        screen = self.screen
        everywhere = [b for b in self.BINDINGS if isinstance(b, Binding) and (self.fleet or b.action != "fleet")]
        sections = [("Everywhere", everywhere)]
        if isinstance(screen, DeviceScreen | FleetScreen):
            sections.insert(0, (type(screen).__name__.removesuffix("Screen"), list(screen.BINDINGS)))  # type: ignore[arg-type]
        self.push_screen(HelpScreen(sections))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        bindings = [*screen.BINDINGS, *(b for b in self.BINDINGS if b is not None)]
        for binding in bindings:
            if isinstance(binding, Binding) and (binding.description or binding.tooltip):
                if binding.action == "fleet" and not self.fleet:
                    continue
                yield SystemCommand(
                    binding.tooltip or binding.description,
                    f"key {binding.key_display or binding.key}",
                    lambda b=binding: self.run_action(b.action, screen if b in screen.BINDINGS else self),
                )


def _name(client: Any) -> str:
    return str(client.base).split("://", 1)[-1]


__all__ = ["RotoApp", "RotoClient", "Unit"]

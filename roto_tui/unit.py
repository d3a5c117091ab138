"""One control unit as the console sees it: its client, alarms and recent readings. No Textual."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from roto_tui.alarms import Alarm, AlarmWatch, number
from roto_tui.client import AccessRefused, ConnectionChanged, Event, Notification, StateChanged, StateReset

SAMPLE_S = 2.0
HISTORY_SAMPLES = 150  # five minutes at one sample every two seconds
SERIES = ("oct0", "oct1", "RPM0", "RPM1", "psi0", "psi1")


@dataclass
class Unit:
    name: str
    client: Any  # RotoClient or anything with its interface
    watch: AlarmWatch = field(default_factory=AlarmWatch)
    history: dict[str, deque[float]] = field(default_factory=lambda: {s: deque(maxlen=HISTORY_SAMPLES) for s in SERIES})
    refused: str = ""
    link: str = "connecting"
    notices: deque[Notification] = field(default_factory=lambda: deque(maxlen=200))
    last_sample: float = 0.0

    @property
    def state(self) -> dict[str, Any]:
        return dict(self.client.state)

    @property
    def connected(self) -> bool:
        return bool(self.client.connected)

    def alarms(self) -> list[Alarm]:
        return self.watch.current(self.client.state)

    def observe(self, event: Event) -> None:
        """Keep what the screens need from one event of this unit's client."""
        if isinstance(event, StateChanged):
            self.watch.changed(event.changes)
        elif isinstance(event, StateReset):
            self.watch.changed(event.state)
        elif isinstance(event, Notification):
            self.notices.append(event)
            self.watch.note(event)
        elif isinstance(event, AccessRefused):
            self.refused = event.detail
            self.link = "refused"
        elif isinstance(event, ConnectionChanged):
            self.refused = "" if event.connected else self.refused
            self.link = "connected" if event.connected else (event.detail or "disconnected")

    def sample(self, now: float | None = None) -> None:
        """Add one reading of each series (while connected): the sparklines' data."""
        now = time.monotonic() if now is None else now
        if not self.connected or now - self.last_sample < SAMPLE_S * 0.9:
            return
        self.last_sample = now
        state = self.client.state
        for name, values in self.history.items():
            value = number(state.get(name))
            if value is not None:
                values.append(value)

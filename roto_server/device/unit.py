"""The control unit: the state store wired to the hardware, the host and the settings file.

It owns the periodic device work (sensor readings, the clock, network facts, saving
settings) as asyncio tasks; protocol adapters only ever talk to :attr:`ControlUnit.store`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from roto_shared.catalogue import Catalogue, load_catalogue

from . import host, rules
from .hardware import Hardware
from .settings import SettingsFile
from .store import ChangeEvent, Notice, StateStore

log = logging.getLogger("roto.unit")

HARDWARE_PERIOD_S = 0.5
NETWORK_PERIOD_S = 10.0
SAVE_DELAY_S = 0.2


class ControlUnit:
    def __init__(self, data_dir: Path, hardware: Hardware, catalogue: Catalogue | None = None) -> None:
        self.catalogue = catalogue or load_catalogue()
        self.store = StateStore(self.catalogue)
        self.hardware = hardware
        self.settings = SettingsFile(data_dir / "settings.json", self.catalogue)
        self._persisted = {n for n, v in self.catalogue.items() if v.persist}
        self._dirty = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.damaged: list[Notice] = []  # data files set aside since start (the health check lists them)
        rules.install(self.store)

    # -- start-up ------------------------------------------------------------------------
    def boot(self, facts: dict[str, Any] | None = None) -> None:
        """Load saved settings and the first readings; call once before serving."""
        saved = self.settings.load()
        for notice in self.settings.damaged:
            self.report(notice)
        if "timezone" not in saved:
            zone = host.host_timezone()
            saved["timezone"] = zone if _valid_zone(zone) else "UTC"
        self.store.set_facts(saved)
        now = time.time()
        self.store.set_facts(self.hardware.read(now, self.store.snapshot("admin")))
        self.store.set_facts(host.network_facts())
        self.store.set_facts(host.clock_facts(now, self.store["timezone"]))
        self.store.set_facts(host.static_facts())
        if facts:
            self.store.set_facts(facts)
        self.store.subscribe(self._on_change)
        log.info("control unit ready: %d variables, settings from %s", len(self.catalogue), self.settings.path)

    def report(self, notice: Notice) -> None:
        """A damaged data file was set aside: log it, tell every client, keep it for the health check."""
        self.damaged.append(notice)
        self.store.announce(notice)

    # -- periodic work ---------------------------------------------------------------------
    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._every(HARDWARE_PERIOD_S, self._read_hardware), name="roto-hardware"),
            asyncio.create_task(self._clock(), name="roto-clock"),
            asyncio.create_task(self._every(NETWORK_PERIOD_S, self._read_network), name="roto-network"),
            asyncio.create_task(self._saver(), name="roto-saver"),
        ]

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run device work for as long as the unit runs (cancelled by stop())."""
        self._tasks.append(asyncio.create_task(work, name=name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self.save()

    def save(self) -> None:
        self._dirty.clear()
        self.settings.save(self.store.snapshot("admin"))

    async def _every(self, period: float, work: Callable[[], Awaitable[None] | None]) -> None:
        while True:
            await asyncio.sleep(period)
            try:
                result = work()
                if result is not None:
                    await result
            except Exception:
                log.exception("periodic device work failed")

    def _read_hardware(self) -> None:
        self.store.set_facts(self.hardware.read(time.time(), self.store.snapshot("admin")))

    async def _read_network(self) -> None:
        self.store.set_facts(await asyncio.to_thread(host.network_facts))

    async def _clock(self) -> None:
        while True:
            now = time.time()
            await asyncio.sleep(1.0 - (now % 1.0) + 0.001)  # tick on the second
            self.store.set_facts(host.clock_facts(time.time(), self.store["timezone"]))

    async def _saver(self) -> None:
        while True:
            await self._dirty.wait()
            await asyncio.sleep(SAVE_DELAY_S)  # gather a burst of writes into one save
            try:
                await asyncio.to_thread(self.save)
            except OSError:
                log.exception("saving settings failed; will retry on the next change")

    def _on_change(self, event: ChangeEvent) -> None:
        if self._persisted.intersection(event.changes):
            self._dirty.set()


def _valid_zone(zone: str) -> bool:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(zone)
    except (KeyError, ValueError):
        return False
    return True

"""The ONVIF device: every service's handlers over one store, with their small state."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from roto_server.device.store import StateStore
from roto_server.protocols.soap import wsse

from . import device, events, imaging, media, media2, ptz
from .engine import Registry
from .presets import Presets

PRESETS_FILE = "onvif-presets.json"


class OnvifService:
    """Handlers, PTZ motion and presets, event subscriptions and the WS-Security nonce cache."""

    def __init__(self, store: StateStore, data_dir: Path, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.presets_path = data_dir / PRESETS_FILE
        self.ptz = ptz.PtzState(Presets.load(self.presets_path))
        self.events = events.EventBroker(store, clock)
        self.nonces = wsse.NonceCache()
        self.registry = Registry()
        device.register(self.registry)
        media.register(self.registry)
        media2.register(self.registry)
        ptz.register(self.registry, self.ptz)
        imaging.register(self.registry)
        events.register(self.registry, self.events)

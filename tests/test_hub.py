"""The WebSocket fan-out: a subscriber that never drains holds bounded memory."""

from __future__ import annotations

import asyncio

from roto_server.api.hub import MAX_QUEUED_NOTICES, Hub
from roto_server.device.store import Notice, Set, StateStore
from roto_shared.catalogue import load_catalogue


async def test_never_drained_subscriber_keeps_only_latest_values() -> None:
    store = StateStore(load_catalogue())
    hub = Hub(store)
    stuck, _ = hub.join("operator")
    for i in range(10_000):
        store.apply([Set("changeVideoName", f"v{i}"), Set("sharpness", 1 + i % 15)], "operator")
        store.announce(Notice(None, f"event {i}", "info"))
    assert stuck.pending == {"changeVideoName": "v9999", "sharpness": 1 + 9999 % 15}
    assert len(stuck.notices) == MAX_QUEUED_NOTICES
    notices, changes = await asyncio.wait_for(stuck.next_batch(), 1)
    assert notices[-1].message == "event 9999" and changes["changeVideoName"] == "v9999"
    assert stuck.pending == {} and not stuck.wake.is_set()


async def test_subscribers_see_only_what_their_role_may_read() -> None:
    store = StateStore(load_catalogue())
    hub = Hub(store)
    viewer, snapshot = hub.join("viewer")
    assert "userAuthentication" not in snapshot
    store.apply([Set("userAuthentication", {"enabled": True}), Set("light0", False)], "admin")
    assert viewer.pending == {"light0": False}
    hub.leave(viewer)
    store.apply([Set("light0", True)], "admin")
    assert viewer.pending == {"light0": False}

"""The WebSocket fan-out: a subscriber that never drains holds bounded memory."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from roto_server.api.hub import MAX_QUEUED_NOTICES, Hub, Subscriber
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


async def test_the_sweep_writes_at_once_where_it_can_and_wakes_the_rest() -> None:
    store = StateStore(load_catalogue())
    hub = Hub(store)
    taken: list[dict[str, object]] = []

    def instant(sub: Subscriber) -> Callable[[], bool]:
        def deliver_now() -> bool:
            taken.append(sub.take()[1])
            return True

        return deliver_now

    def broken() -> bool:
        raise ConnectionError("a connection that fails mid-write")

    fast, busy, failing = hub.join("operator")[0], hub.join("operator")[0], hub.join("operator")[0]
    fast.deliver_now, busy.deliver_now, failing.deliver_now = instant(fast), lambda: False, broken
    store.apply([Set("light0", False)], "admin")
    assert not taken and fast.pending  # the writer's answer goes first: delivery waits for the loop's next turn
    await asyncio.sleep(0)
    assert taken == [{"light0": False}] and not fast.wake.is_set() and fast.pending == {}
    assert busy.wake.is_set() and failing.wake.is_set()  # their send tasks take over, nothing lost
    assert busy.pending == {"light0": False} == failing.pending
    store.announce(Notice(None, "an event", "info"))
    await asyncio.sleep(0)
    assert fast.wake.is_set() and len(taken) == 1  # notices always go through the send task, in order

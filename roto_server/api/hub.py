"""Fan-out of state changes to WebSocket clients, safe against slow or dead peers.

Each subscriber keeps one dict of not-yet-sent changes: a new change for a variable
overwrites the unsent one (coalescing to the latest value), so memory per client is
bounded by the size of the state and the publisher never waits for a socket.

Delivery: once the publisher is done (on the loop's next turn, so the write that caused the
change is answered first), one sweep hands every subscriber its changes. A subscriber whose
connection can take a frame at once (``deliver_now``) gets it written there and then; the
others, and every notice, wake their connection's send task. With hundreds of clients the
sweep spares a task wake-up per client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from roto_server.device.store import ChangeEvent, Notice, StateStore

log = logging.getLogger("roto.ws")

MAX_QUEUED_NOTICES = 64


class Subscriber:
    def __init__(self, store: StateStore, role: str) -> None:
        self._store = store
        self.role = role
        self.pending: dict[str, Any] = {}
        self.notices: deque[Notice] = deque(maxlen=MAX_QUEUED_NOTICES)
        self.wake = asyncio.Event()
        # the one event the pending changes came from, while they are exactly its changes: every
        # client in that case can share one rendering of it (see socket_session)
        self.source: ChangeEvent | None = None
        self.batch_source: ChangeEvent | None = None
        # sends what is pending synchronously and returns True, or returns False (then the send task does)
        self.deliver_now: Callable[[], bool] | None = None

    def offer(self, event: ChangeEvent, visible: dict[str, Any] | None = None) -> bool:
        """Queue an event's changes; ``visible``, when given, is what this role may read of them.
        Returns whether anything was queued (the caller delivers it)."""
        if visible is None:
            visible = self._store.readable_subset(event.changes, self.role)
        if visible:
            self.source = None if self.pending else event
            self.pending.update(visible)
        self.notices.extend(event.notices)
        return bool(visible or event.notices)

    def deliver(self) -> None:
        """Send what is queued: at once when the connection can take it, else by waking the send task."""
        if self.wake.is_set() or self.notices or self.deliver_now is None:
            self.wake.set()
            return
        try:
            delivered = self.deliver_now()
        except Exception:  # a broken connection must not stop the sweep for everyone else
            log.exception("sending a change at once failed; the connection's send task takes over")
            delivered = False
        if not delivered:
            self.wake.set()

    def tell(self, notices: list[Notice]) -> None:
        """Notices meant for this client only (why its own write was refused)."""
        if notices:
            self.notices.extend(notices)
            self.wake.set()

    def add(self, values: dict[str, Any]) -> None:
        """Values to send with the next batch (an answer to this client alone)."""
        if values:
            self.pending.update(values)
            self.source = None
            self.wake.set()

    async def next_batch(self) -> tuple[list[Notice], dict[str, Any]]:
        await self.wake.wait()
        self.wake.clear()
        return self.take()

    def take(self) -> tuple[list[Notice], dict[str, Any]]:
        """What is queued, emptying the queue (``batch_source`` tells where the changes came from)."""
        notices, self.notices = list(self.notices), deque(maxlen=MAX_QUEUED_NOTICES)
        changes, self.pending = self.pending, {}
        self.batch_source, self.source = self.source, None
        return notices, changes


class Hub:
    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._subscribers: set[Subscriber] = set()
        self._undelivered: dict[Subscriber, None] = {}  # in order of offering, until the sweep
        store.subscribe(self._publish)

    def join(self, role: str) -> tuple[Subscriber, dict[str, Any]]:
        """Register a client and return it with the full state it may read (taken atomically)."""
        sub = Subscriber(self._store, role)
        self._subscribers.add(sub)
        return sub, self._store.snapshot(role)

    def leave(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)
        self._undelivered.pop(sub, None)

    @contextlib.asynccontextmanager
    async def session(self, role: str) -> AsyncIterator[tuple[Subscriber, dict[str, Any]]]:
        """A subscriber and its first full state, for as long as a connection lasts."""
        sub, snapshot = self.join(role)
        try:
            yield sub, snapshot
        finally:
            self.leave(sub)

    def __len__(self) -> int:
        return len(self._subscribers)

    def _publish(self, event: ChangeEvent) -> None:
        by_role: dict[str, dict[str, Any]] = {}  # filtered once per role, not once per subscriber
        first = not self._undelivered
        for sub in self._subscribers:
            visible = by_role.get(sub.role)
            if visible is None:
                visible = by_role[sub.role] = self._store.readable_subset(event.changes, sub.role)
            if sub.offer(event, visible):
                self._undelivered[sub] = None
        if not first or not self._undelivered:
            return  # a sweep is due already, or nobody got anything
        try:
            asyncio.get_running_loop().call_soon(self._sweep)
        except RuntimeError:  # no loop runs here (a test driving the store alone): no writes, only wake-ups
            self._sweep(instant=False)

    def _sweep(self, instant: bool = True) -> None:
        undelivered, self._undelivered = self._undelivered, {}
        for sub in undelivered:
            if instant:
                sub.deliver()
            else:
                sub.wake.set()


@contextlib.asynccontextmanager
async def background(work: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    """Run ``work`` (a connection's sender) while the block runs; cancel and reap it afterwards."""
    task = asyncio.create_task(work)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

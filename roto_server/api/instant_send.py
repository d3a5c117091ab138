"""Writing a WebSocket text frame to a Sanic connection without a task switch, when it can take one.

Sanic's ``await ws.send(text)`` takes the connection's lock, frames the text with the websockets
protocol, waits until the transport accepts writes, then writes. When nobody holds the lock, the
connection is open and the transport is not paused, none of those steps would wait: this does the
same steps synchronously, so one sweep can hand a change to hundreds of connections without
waking a task for each. Whenever one condition does not hold, ``ready`` says no and the caller
awaits ``ws.send`` as usual.

It reads attributes of Sanic's ``WebsocketImplProtocol`` (``conn_mutex``, ``ws_proto``,
``io_proto``, ``data_finished_fut``) and of its protocol (``transport``, ``_can_write``);
:func:`instant_sender` returns None when a Sanic release no longer has them, and a test asserts
that the installed one does.
"""

from __future__ import annotations

from typing import Any

from websockets.protocol import State

_CONNECTION = ("conn_mutex", "ws_proto", "io_proto", "data_finished_fut")
_TRANSPORT = ("transport", "_can_write")


class InstantSender:
    def __init__(self, ws: Any) -> None:
        self._ws = ws

    def ready(self) -> bool:
        """Whether :meth:`send` can write at once; it stays true until the caller yields to the loop."""
        ws = self._ws
        if ws.conn_mutex.locked() or ws.ws_proto.state is not State.OPEN:
            return False  # another send is under way (order is kept), or the connection is closing
        finished = ws.data_finished_fut
        io = ws.io_proto
        if finished is None or finished.done() or io is None or not io._can_write.is_set():
            return False  # ended, or the peer reads slowly: the awaited send waits for the transport
        return io.transport is not None and not io.transport.is_closing()

    def send(self, text: str) -> None:
        """Write ``text`` as one text frame (only after :meth:`ready`, without yielding in between)."""
        ws = self._ws
        ws.ws_proto.send_text(text.encode())
        for data in ws.ws_proto.data_to_send():
            ws.io_proto.transport.write(data)


def instant_sender(ws: Any) -> InstantSender | None:
    """A sender for ``ws``, or None when it is not the Sanic connection this module knows."""
    io = getattr(ws, "io_proto", None)
    if not all(hasattr(ws, name) for name in _CONNECTION) or not all(hasattr(io, name) for name in _TRANSPORT):
        return None
    return InstantSender(ws)

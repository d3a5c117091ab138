"""Run the app until SIGINT or SIGTERM, with its listeners as the only servers.

Sanic's ``app.run`` would own one socket for the whole run; roto's listeners open and close theirs
at run time, so this drives the app's life cycle itself, the way Sanic's test clients do.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from sanic import Sanic
from sanic.application.state import ApplicationServerInfo
from sanic.http.constants import HTTP

log = logging.getLogger("roto")


def run(app: Sanic) -> None:
    # the standard asyncio loop: uvloop sometimes lost SIGTERM here (the signal consumed, the server
    # still running), and this device does not need its speed
    asyncio.run(_serve(app))


async def _serve(app: Sanic) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _on_signal, sig, stop)
    await serve_until(app, stop)


async def serve_until(app: Sanic, stop: asyncio.Event) -> None:
    """Start the device and its listeners on the running loop, serve until ``stop`` is set, then stop both."""
    loop = asyncio.get_running_loop()
    if not app.state.server_info:
        # what app.create_server would record: with it, Sanic's start-up code rewrite (touchup) drops the
        # empty alt-svc header it otherwise adds to every response (HTTP/3 is never served here)
        app.state.server_info.append(ApplicationServerInfo(settings={"version": HTTP.VERSION_1}))
    await app._startup()  # routes and signals finalised, as AsyncioServer.startup() does
    await app._server_event("init", "before", loop=loop)  # starts the device, then the listeners
    await app._server_event("init", "after", loop=loop)
    await stop.wait()
    await app._server_event("shutdown", "before", loop=loop)  # closes the listeners
    await app._server_event("shutdown", "after", loop=loop)  # stops the device, saving the settings


def _on_signal(sig: signal.Signals, stop: asyncio.Event) -> None:
    log.info("%s received: stopping", sig.name)
    stop.set()

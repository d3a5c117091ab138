"""The Sanic application: every API of the device, over one ControlUnit."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

from sanic import Sanic

from roto_server.api import c2, errors, gallery, health, media, metrics, openapi, ratelimit, v1_rest, v1_socket
from roto_server.api.c2_protocol import MAX_BODY_BYTES
from roto_server.api.hub import Hub
from roto_server.api.ratelimit import RateLimits
from roto_server.assembly import Device
from roto_server.auth.credentials import Authenticator
from roto_server.auth.gate import Gate
from roto_server.auth.limits import WindowLimiter
from roto_server.device.unit import ControlUnit
from roto_server.imaging.camera import Camera


@dataclass
class RotoContext:
    device: Device
    gate: Gate
    hub: Hub
    ws_limiter: WindowLimiter | None = None

    @property
    def unit(self) -> ControlUnit:
        return self.device.unit

    @property
    def camera(self) -> Camera:
        return self.device.camera


def create_app(
    device: Device,
    users: Authenticator,
    name: str = "roto",
    limits: RateLimits | None = None,
    anonymous_read: bool = False,
) -> Sanic:
    """Build the app around an already booted device.

    Anonymous viewers are let in while ``anonymous_read`` (the start-up flag, never saved) or
    while the state's userAuthentication is disabled (a persisted setting an admin changes).
    """
    store = device.unit.store
    gate = Gate(users, anonymous_allowed=lambda: anonymous_read or not store["userAuthentication"].get("enabled", True))
    app: Sanic = Sanic(name, ctx=RotoContext(device, gate, Hub(store)), configure_logging=False)
    app.config.update(
        REQUEST_MAX_SIZE=MAX_BODY_BYTES,
        WEBSOCKET_MAX_SIZE=MAX_BODY_BYTES,
        GRACEFUL_SHUTDOWN_TIMEOUT=1.0,
        FALLBACK_ERROR_FORMAT="json",
        KEEP_ALIVE_TIMEOUT=30,
        # uvloop sometimes lost SIGTERM here (the server kept running, the signal consumed);
        # the standard asyncio loop stops reliably and is fast enough for this device
        USE_UVLOOP=False,
    )
    limits = limits or RateLimits()
    if limits.ws_per_second:
        app.ctx.ws_limiter = WindowLimiter(limits.ws_per_second, 1.0)
    errors.install(app)
    ratelimit.install(app, limits)
    c2.install(app)
    media.install(app)
    gallery.install(app)
    v1_socket.install(app)
    v1_rest.install(app)
    openapi.install(app)
    health.install(app)
    metrics.install(app)

    @app.before_server_start
    async def _start_device(app: Sanic) -> None:
        await app.ctx.device.start()

    @app.after_server_start
    async def _handle_signals(app: Sanic) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, _stop_on_signal, app, sig)

    @app.after_server_stop
    async def _stop_device(app: Sanic) -> None:
        await app.ctx.device.stop()

    return app


def _stop_on_signal(app: Sanic, sig: signal.Signals) -> None:
    logging.getLogger("roto").info("%s received: stopping", sig.name)
    app.stop(terminate=False)

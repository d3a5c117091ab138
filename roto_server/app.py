"""The Sanic application: every API of the device, over one ControlUnit."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

from sanic import Sanic

from roto_server.api import c2, errors, media
from roto_server.api.c2_protocol import MAX_BODY_BYTES
from roto_server.api.hub import Hub
from roto_server.auth.credentials import Authenticator
from roto_server.device.unit import ControlUnit
from roto_server.imaging.camera import Camera


@dataclass
class RotoContext:
    unit: ControlUnit
    auth: Authenticator
    hub: Hub
    camera: Camera


def create_app(unit: ControlUnit, auth: Authenticator, camera: Camera, name: str = "roto") -> Sanic:
    """Build the app around an already booted control unit and its camera."""
    app: Sanic = Sanic(name, ctx=RotoContext(unit, auth, Hub(unit.store), camera), configure_logging=False)
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
    errors.install(app)
    c2.install(app)
    media.install(app)

    @app.before_server_start
    async def _start_device(app: Sanic) -> None:
        app.ctx.unit.start()
        app.ctx.camera.start()

    @app.after_server_start
    async def _handle_signals(app: Sanic) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, _stop_on_signal, app, sig)

    @app.after_server_stop
    async def _stop_device(app: Sanic) -> None:
        app.ctx.camera.stop()
        await app.ctx.unit.stop()

    return app


def _stop_on_signal(app: Sanic, sig: signal.Signals) -> None:
    logging.getLogger("roto").info("%s received: stopping", sig.name)
    app.stop(terminate=False)

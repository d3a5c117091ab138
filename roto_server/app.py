"""The Sanic application: every API of the device, over one ControlUnit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sanic import Sanic

from roto_server.api import (
    c2,
    cors,
    errors,
    front,
    gallery,
    health,
    media,
    metrics,
    onvif,
    openapi,
    ratelimit,
    socket_session,
    v1_rest,
    v1_socket,
)
from roto_server.api.c2_protocol import MAX_BODY_BYTES
from roto_server.api.front import FrontDesk
from roto_server.api.hub import Hub
from roto_server.api.ratelimit import RateLimits
from roto_server.api.socket_session import SocketRegistry
from roto_server.api.web import install as install_web_page
from roto_server.api.webrtc import install as install_webrtc
from roto_server.assembly import Device, build_device
from roto_server.auth import redact
from roto_server.auth.credentials import Authenticator
from roto_server.auth.gate import Gate
from roto_server.auth.limits import WindowLimiter
from roto_server.config import Credentials, ServerConfig, resolve_credentials
from roto_server.device.unit import ControlUnit
from roto_server.imaging.camera import Camera
from roto_server.listeners import Listeners, discovery
from roto_server.listeners.web import web_listeners


@dataclass
class RotoContext:
    device: Device
    gate: Gate
    hub: Hub
    sockets: SocketRegistry = field(default_factory=SocketRegistry)
    front: FrontDesk = field(default_factory=FrontDesk)  # the checks of the one request middleware
    ws_limiter: WindowLimiter | None = None  # v1 WebSocket messages a second
    c2_limiter: WindowLimiter | None = None  # C2 requests and WebSocket messages a minute
    limited_path: Callable[[str], bool] | None = None  # which canonical paths the HTTP rate limits count
    listeners: Listeners | None = None  # the servers of a whole device; None for a bare app
    credentials: Credentials | None = None

    @property
    def unit(self) -> ControlUnit:
        return self.device.unit

    @property
    def camera(self) -> Camera:
        return self.device.camera


def create_app(config: ServerConfig, name: str = "roto") -> Sanic:
    """The whole device from its configuration: state, camera, recorders, users and listeners.

    Raises TlsError when the operator's certificate does not load. Nothing listens until the app
    starts (or ``app.ctx.listeners.bind()`` is called to fail early and learn the ports).
    """
    config.data_dir.mkdir(parents=True, exist_ok=True)
    creds = resolve_credentials(config)
    device = build_device(config.data_dir, config.heads, config.storage_root, config.segment_seconds)
    for notice in creds.damaged:
        device.unit.report(notice)
    http, ws, c2 = config.rate_limits
    limits = RateLimits(http_per_minute=http, c2_per_minute=c2, ws_per_second=ws)
    users = Authenticator.for_device(creds.api_token, creds.admin_password)
    app = build_app(
        device, users, name, limits=limits, anonymous_read=config.anonymous_read, cors_origin=config.cors_origin
    )
    app.ctx.credentials = creds
    app.config.METRICS_OPEN = config.metrics_open
    app.ctx.listeners = web_listeners(app, config)
    discovery.install(app, config)
    install_webrtc(app, config.webrtc_max_viewers, config.ice_servers)
    return app


def build_app(
    device: Device,
    users: Authenticator,
    name: str = "roto",
    limits: RateLimits | None = None,
    anonymous_read: bool = False,
    cors_origin: str | None = None,
) -> Sanic:
    """The app around an already booted device, without listeners (create_app adds them).

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
        MOTD=False,  # roto prints its own start-up lines; listeners opened at run time stay quiet too
    )
    limits = limits or RateLimits()
    if limits.ws_per_second:
        app.ctx.ws_limiter = WindowLimiter(limits.ws_per_second, 1.0)
    if limits.c2_per_minute:
        app.ctx.c2_limiter = WindowLimiter(limits.c2_per_minute, 60.0)
    redact.install()
    errors.install(app)
    front.install(app, app.ctx.front)
    if cors_origin:
        cors.install(app, cors_origin)
    ratelimit.install(app, limits)
    socket_session.install(app)
    c2.install(app)
    media.install(app)
    gallery.install(app)
    v1_socket.install(app)
    v1_rest.install(app)
    openapi.install(app)
    health.install(app)
    metrics.install(app)
    install_web_page(app)
    onvif.install(app)
    ratelimit.annotate_limited_routes(app)  # last: it looks at every route

    @app.before_server_start
    async def _start_device(app: Sanic) -> None:
        await app.ctx.device.start()
        if app.ctx.listeners is not None and not app.asgi:  # under an ASGI server, that server owns the sockets
            await app.ctx.listeners.start()

    @app.before_server_stop
    async def _close_listeners(app: Sanic) -> None:
        if app.ctx.listeners is not None:
            await app.ctx.listeners.stop()

    @app.after_server_stop
    async def _stop_device(app: Sanic) -> None:
        await app.ctx.device.stop()

    return app

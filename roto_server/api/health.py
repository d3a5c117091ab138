"""GET /api/health: is the unit fit for work, and if not, what is wrong (public, for monitors).

Public on purpose: load balancers, uptime monitors and a systemd watchdog probe it without a
secret. It tells no more than the log's first lines would: no paths, uuids or credentials.
"""

from __future__ import annotations

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from roto_server.device import health


def install(app: Sanic) -> None:
    ctx = app.ctx

    @app.get("/api/health")
    async def health_report(request: Request) -> HTTPResponse:
        device = ctx.device
        damaged = [*device.unit.damaged, *device.storages.damaged]
        # 200 for degraded too: the unit still serves; monitors read "status"
        return json(health.report(device.unit.store, damaged), headers={"Cache-Control": "no-cache"})

"""roto-server command: boot the control unit and serve its APIs."""

from __future__ import annotations

import faulthandler
import logging
import signal
import socket
import sys
from collections.abc import Sequence

from roto_server import __version__
from roto_server.api.ratelimit import RateLimits
from roto_server.app import create_app
from roto_server.assembly import build_device
from roto_server.auth.credentials import API_USER, Authenticator
from roto_server.config import ServerConfig, parse_config, resolve_credentials
from roto_server.device.unit import ControlUnit

log = logging.getLogger("roto")


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=256)


def _reachable_hosts(config: ServerConfig, unit: ControlUnit) -> list[str]:
    if config.host not in ("0.0.0.0", "::", ""):
        return [config.host]
    hosts = ["127.0.0.1"]
    for iface in unit.store["netInfo"]:
        hosts += [c["address"] for c in iface["connections"]]
    return hosts


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_config(argv)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # kill -USR1 prints every thread's stack
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stdout,
    )
    config.data_dir.mkdir(parents=True, exist_ok=True)
    creds = resolve_credentials(config)
    device = build_device(config.data_dir, config.heads, config.storage_root, config.segment_seconds)
    unit = device.unit
    for notice in creds.damaged:
        unit.report(notice)
    if config.anonymous_read:
        log.warning("anonymous read access is on: anyone can read the state and the camera")

    store = unit.store
    port = config.http_port if config.http_port is not None else int(store["httpPort"])
    if not store["httpOn"]:
        log.warning("httpOn is false, but HTTP is roto's only server so far: serving HTTP anyway")
    try:
        sock = _listen(config.host, port)
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", config.host, port, exc)
        return 2
    port = sock.getsockname()[1]
    hosts = _reachable_hosts(config, unit)
    store.set_facts(
        {
            "httpStatus": {"running": True, "port": port, "address": config.host},
            "connectionUrls": {
                "http": [f"http://{h}:{port}/api" for h in hosts],
                "websocket": [f"ws://{h}:{port}/api" for h in hosts],
            },
        }
    )

    http, ws, c2 = config.rate_limits
    limits = RateLimits(http_per_minute=http, c2_per_minute=c2, ws_per_second=ws)
    users = Authenticator.for_device(creds.api_token, creds.admin_password)
    app = create_app(device, users, limits=limits, anonymous_read=config.anonymous_read)
    app.config.METRICS_OPEN = config.metrics_open
    base = f"http://{hosts[0]}:{port}"
    print(f"roto-server {__version__} listening on {config.host}:{port}", flush=True)
    print(f"  C2 HTTP API:       {base}/api", flush=True)
    print(f"  C2 WebSocket API:  ws://{hosts[0]}:{port}/api", flush=True)
    print(f"  camera:            {base}/camera.jpeg  {base}/camera.mjpeg", flush=True)
    print(f"  data folder:       {config.data_dir}", flush=True)
    print(f"  storage root:      {device.storages.root}", flush=True)
    if creds.token_generated:
        print(f"  API token ({API_USER} password): {creds.api_token}", flush=True)
        print(f"    (stored in {config.data_dir / 'credentials.json'}; --api-token overrides it)", flush=True)
    if creds.admin_generated:
        print(f"  admin password is stored in {config.data_dir / 'credentials.json'}", flush=True)
    app.run(sock=sock, single_process=True, access_log=False, motd=False)
    log.info("roto-server stopped; settings saved to %s", unit.settings.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""roto-server command: boot the control unit and serve its APIs."""

from __future__ import annotations

import faulthandler
import logging
import signal
import sys
from collections.abc import Sequence

from sanic import Sanic

from roto_server import __version__
from roto_server.app import create_app
from roto_server.auth.credentials import API_USER
from roto_server.config import ServerConfig, parse_config
from roto_server.listeners import ListenerError
from roto_server.serve import run
from roto_server.tls import TlsError

log = logging.getLogger("roto")


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_config(argv)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # kill -USR1 prints every thread's stack
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stdout,
    )
    try:
        app = create_app(config)
        app.ctx.listeners.bind()  # fail now, before anything runs, and learn the ports to print
    except (TlsError, ListenerError) as exc:
        log.error("%s", exc)
        return 2
    if config.anonymous_read:
        log.warning("anonymous read access is on: anyone can read the state and the camera")
    _print_banner(app, config)
    run(app)
    log.info("roto-server stopped; settings saved to %s", app.ctx.unit.settings.path)
    return 0


def _print_banner(app: Sanic, config: ServerConfig) -> None:
    listeners = app.ctx.listeners
    served = [(name, port) for name, port in listeners.bound_ports().items() if port is not None]
    first, *others = [
        f"{config.host}:{port}" + ("" if name == "http" else f" ({name.upper()})") for name, port in served
    ]
    lines = [f"roto-server {__version__} listening on {first}"]
    lines += [f"  also listening on {other}" for other in others]
    urls = listeners.urls()
    for scheme, label in (
        ("http", "C2 HTTP API"),
        ("https", "C2 HTTPS API"),
        ("ws", "C2 WebSocket API"),
        ("wss", "C2 WebSocket API"),
    ):
        for url in urls.get(scheme, []):
            lines.append(f"  {label + ':':<19}{url}/api")
    for url in urls.get("rtsp", []):
        lines.append(f"  {'RTSP:':<19}{url}/stream1  {url}/stream2  {url}/recording")
    base = (urls.get("http") or urls["https"])[0]
    lines.append(f"  web page:          {base}/")
    lines.append(f"  camera:            {base}/camera.jpeg  {base}/camera.mjpeg")
    # NVRs and VMSs ask for the device service; without it here users guess the path
    lines.append(f"  ONVIF:             {base}/onvif/device_service")
    lines.append(f"  data folder:       {config.data_dir}")
    lines.append(f"  storage root:      {app.ctx.device.storages.root}")
    certificate = app.ctx.unit.store["httpsCertificate"]
    lines.append(f"  HTTPS certificate: {certificate['file']} (SHA-256 {certificate['sha256Fingerprint']})")
    creds = app.ctx.credentials
    if creds.token_generated:
        lines.append(f"  API token ({API_USER} password): {creds.api_token}")
        lines.append(f"    (stored in {config.data_dir / 'credentials.json'}; --api-token overrides it)")
    if creds.admin_generated:
        lines.append(f"  admin password is stored in {config.data_dir / 'credentials.json'} (key adminPassword)")
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())

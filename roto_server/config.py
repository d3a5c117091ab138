"""Command line and environment of roto-server. Every flag has a ROTO_* variable."""

from __future__ import annotations

import argparse
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from roto_server.device.damage import Damaged, load_json, set_aside
from roto_server.device.settings import write_atomic
from roto_server.device.store import Notice
from roto_server.webrtc.ice import parse_ice_server


def default_data_dir(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "roto"


@dataclass
class ServerConfig:
    host: str
    http_port: int | None  # None: use the stored httpPort setting
    data_dir: Path
    api_token: str | None
    admin_password: str | None
    log_level: str = "info"
    heads: tuple[str, str] = ("synthetic", "synthetic")
    storage_root: Path | None = None
    segment_seconds: float = 300.0
    anonymous_read: bool = False
    rate_limits: tuple[int, int, int] = (100, 100, 0)  # v1 HTTP a minute, v1 WebSocket a second, C2 a minute
    cors_origin: str | None = None  # the one web origin allowed to call with credentials
    https_port: int | None = None  # given: HTTPS on, on this port; None: the stored httpsOn/httpsPort
    tls_cert: Path | None = None  # the operator's certificate and key; None: the generated self-signed pair
    tls_key: Path | None = None
    metrics_open: bool = False  # GET /metrics without credentials from anywhere
    discovery: bool = True  # answer WS-Discovery probes (ONVIF) on UDP 3702
    rtsp_port: int | None = None  # given: RTSP on, on this port; None: the stored rtspOn/rtspPort
    rtsp_max_sessions: int = 10  # playing sessions at once; one more gets 453
    webrtc_max_viewers: int = 10  # WebRTC peers (pending offers included) at once; one more gets 503
    ice_servers: tuple[str, ...] = ()  # STUN/TURN URLs handed to every peer connection


def _checked_head(parser: argparse.ArgumentParser, text: str, option: str) -> str:
    from roto_server.imaging.sources import check_head_spec

    try:
        return check_head_spec(text)
    except ValueError as exc:
        parser.error(f"{option}: {exc}")
        raise  # parser.error exits; this keeps type checkers informed


def build_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    env = environ.get
    parser = argparse.ArgumentParser(
        prog="roto-server",
        description=(
            "Run the roto camera control unit: the C2 state, its HTTP and WebSocket API at /api, "
            "with simulated camera heads. Every option can also be set with the ROTO_* "
            "environment variable named in its help; a flag wins over its variable."
        ),
    )
    parser.add_argument(
        "--host",
        default=env("ROTO_HOST", "0.0.0.0"),
        help="address to listen on; 0.0.0.0 means every interface (ROTO_HOST, default %(default)s)",
    )
    port_env = env("ROTO_HTTP_PORT")
    parser.add_argument(
        "--http-port",
        type=int,
        default=int(port_env) if port_env else None,
        metavar="PORT",
        help="serve HTTP on this port, switching httpOn on; 0 picks a free one. Default: the stored httpOn and "
        "httpPort settings, on and 8080 out of the box (ROTO_HTTP_PORT)",
    )
    https_env = env("ROTO_HTTPS_PORT")
    parser.add_argument(
        "--https-port",
        type=int,
        default=int(https_env) if https_env else None,
        metavar="PORT",
        help="serve HTTPS (and WSS) on this port, switching httpsOn on; 0 picks a free one. Default: the stored "
        "httpsOn and httpsPort settings, off and 8443 out of the box (ROTO_HTTPS_PORT)",
    )
    rtsp_env = env("ROTO_RTSP_PORT")
    parser.add_argument(
        "--rtsp-port",
        type=int,
        default=int(rtsp_env) if rtsp_env else None,
        metavar="PORT",
        help="serve RTSP (/stream1, /stream2, /recording) on this port, switching rtspOn on; 0 picks a free one. "
        "Default: the stored rtspOn and rtspPort settings, on and 8554 out of the box (ROTO_RTSP_PORT)",
    )
    parser.add_argument(
        "--rtsp-max-sessions",
        type=int,
        default=int(env("ROTO_RTSP_MAX_SESSIONS") or 10),
        metavar="N",
        help="RTSP sessions that may play at once; one more is refused with 453 (ROTO_RTSP_MAX_SESSIONS, "
        "default %(default)s)",
    )
    parser.add_argument(
        "--webrtc-max-viewers",
        type=int,
        default=int(env("ROTO_WEBRTC_MAX_VIEWERS") or 10),
        metavar="N",
        help="WebRTC viewers at once (pending offers included); one more is refused with 503 "
        "(ROTO_WEBRTC_MAX_VIEWERS, default %(default)s)",
    )
    parser.add_argument(
        "--ice-server",
        action="append",
        default=None,  # given flags replace ROTO_ICE_SERVERS rather than add to it
        metavar="URL",
        help="a STUN or TURN server for WebRTC, stun:host:port or turn:user:password@host:port; repeatable "
        "(ROTO_ICE_SERVERS, comma-separated). Default: none, enough on a LAN",
    )
    parser.add_argument(
        "--tls-cert",
        type=Path,
        default=env("ROTO_TLS_CERT"),
        metavar="FILE",
        help="PEM certificate (chain) for HTTPS, with --tls-key; default: a self-signed one generated once "
        "into the data folder (ROTO_TLS_CERT)",
    )
    parser.add_argument(
        "--tls-key",
        type=Path,
        default=env("ROTO_TLS_KEY"),
        metavar="FILE",
        help="PEM private key of --tls-cert (ROTO_TLS_KEY)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(env("ROTO_DATA_DIR") or default_data_dir(environ)),
        metavar="DIR",
        help="folder for settings, credentials and recordings (ROTO_DATA_DIR, default %(default)s)",
    )
    parser.add_argument(
        "--api-token",
        default=env("ROTO_API_TOKEN"),
        metavar="TOKEN",
        help="password of the API-User; without it a token is generated once, stored in the "
        "data folder and printed at start-up (ROTO_API_TOKEN)",
    )
    parser.add_argument(
        "--admin-password",
        default=env("ROTO_ADMIN_PASSWORD"),
        metavar="PW",
        help="password of the admin user; without it one is generated once and stored in "
        "the data folder (ROTO_ADMIN_PASSWORD)",
    )
    for i in (0, 1):
        parser.add_argument(
            f"--head{i}",
            default=env(f"ROTO_HEAD{i}", "synthetic"),
            metavar="SOURCE",
            help=f"picture source of camera head {i}: synthetic (a simulated machining scene), none (head not "
            f"connected), a V4L2 device such as /dev/video0, or a video file played in a loop "
            f"(ROTO_HEAD{i}, default %(default)s)",
        )
    parser.add_argument(
        "--storage-root",
        type=Path,
        default=env("ROTO_STORAGE_ROOT"),
        metavar="DIR",
        help="folder whose sub-folders are storages, watched for arrivals and removals, e.g. /media where USB "
        "sticks are mounted (ROTO_STORAGE_ROOT, default DATA_DIR/storages, holding the internal storage)",
    )
    parser.add_argument(
        "--segment-seconds",
        type=float,
        default=float(env("ROTO_SEGMENT_SECONDS") or 300),
        metavar="N",
        help="length of each Visual Backup file in seconds (ROTO_SEGMENT_SECONDS, default %(default)s)",
    )
    parser.add_argument(
        "--anonymous-read",
        action="store_true",
        default=env("ROTO_ANONYMOUS_READ", "").lower() in ("1", "true", "yes", "on"),
        help="let clients without credentials read the state and the camera (viewer role) while this "
        "flag is given; not saved (an admin can also disable userAuthentication) (ROTO_ANONYMOUS_READ=1)",
    )
    for flag, variable, default, what in (
        ("--rate-limit-http", "ROTO_RATE_LIMIT_HTTP", 100, "v1 HTTP requests a minute per client"),
        ("--rate-limit-ws", "ROTO_RATE_LIMIT_WS", 100, "v1 WebSocket messages a second per client"),
        ("--rate-limit-c2", "ROTO_RATE_LIMIT_C2", 0, "C2 /api requests a minute per client"),
    ):
        parser.add_argument(
            flag,
            type=int,
            default=int(env(variable) or default),
            metavar="N",
            help=f"{what}; 0 turns the limit off ({variable}, default %(default)s)",
        )
    parser.add_argument(
        "--cors-origin",
        default=env("ROTO_CORS_ORIGIN") or None,
        metavar="ORIGIN",
        help="let web pages from this origin (e.g. https://dashboard.example:8443) call the APIs with "
        "credentials: answers CORS preflights and adds CORS headers; off by default (ROTO_CORS_ORIGIN)",
    )
    parser.add_argument(
        "--metrics-open",
        action="store_true",
        default=env("ROTO_METRICS_OPEN", "").lower() in ("1", "true", "yes", "on"),
        help="serve GET /metrics to every client without credentials; otherwise only to admin and to "
        "clients on this machine (ROTO_METRICS_OPEN=1)",
    )
    parser.add_argument(
        "--no-discovery",
        dest="discovery",
        action="store_false",
        default=env("ROTO_DISCOVERY", "1").lower() not in ("0", "false", "no", "off"),
        help="do not answer ONVIF WS-Discovery probes on UDP 3702, nor announce the unit there (ROTO_DISCOVERY=0)",
    )
    parser.add_argument(
        "--log-level",
        default=env("ROTO_LOG_LEVEL", "info"),
        choices=["debug", "info", "warning", "error"],
        help="how much to log (ROTO_LOG_LEVEL, default %(default)s)",
    )
    return parser


def parse_config(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> ServerConfig:
    environ = os.environ if environ is None else environ
    parser = build_parser(environ)
    args = parser.parse_args(argv)
    if args.segment_seconds < 1:
        parser.error(f"--segment-seconds must be at least 1, got {args.segment_seconds}")
    if args.http_port is not None and not 0 <= args.http_port <= 65535:
        parser.error(f"--http-port must be between 0 and 65535, got {args.http_port}")
    if args.https_port is not None and not 0 <= args.https_port <= 65535:
        parser.error(f"--https-port must be between 0 and 65535, got {args.https_port}")
    if args.rtsp_port is not None and not 0 <= args.rtsp_port <= 65535:
        parser.error(f"--rtsp-port must be between 0 and 65535, got {args.rtsp_port}")
    if args.rtsp_max_sessions < 1:
        parser.error(f"--rtsp-max-sessions must be at least 1, got {args.rtsp_max_sessions}")
    if args.webrtc_max_viewers < 1:
        parser.error(f"--webrtc-max-viewers must be at least 1, got {args.webrtc_max_viewers}")
    if args.ice_server is None:
        args.ice_server = [url.strip() for url in (environ.get("ROTO_ICE_SERVERS") or "").split(",") if url.strip()]
    for url in args.ice_server:
        try:
            parse_ice_server(url)
        except ValueError as exc:
            parser.error(f"--ice-server: {exc}")
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together: give both or neither")
    return ServerConfig(
        host=args.host,
        http_port=args.http_port,
        data_dir=args.data_dir,
        api_token=args.api_token,
        admin_password=args.admin_password,
        log_level=args.log_level,
        heads=(_checked_head(parser, args.head0, "--head0"), _checked_head(parser, args.head1, "--head1")),
        storage_root=Path(args.storage_root) if args.storage_root else None,
        segment_seconds=args.segment_seconds,
        anonymous_read=args.anonymous_read,
        rate_limits=(args.rate_limit_http, args.rate_limit_ws, args.rate_limit_c2),
        cors_origin=args.cors_origin,
        https_port=args.https_port,
        tls_cert=Path(args.tls_cert) if args.tls_cert else None,
        tls_key=Path(args.tls_key) if args.tls_key else None,
        metrics_open=args.metrics_open,
        discovery=args.discovery,
        rtsp_port=args.rtsp_port,
        rtsp_max_sessions=args.rtsp_max_sessions,
        webrtc_max_viewers=args.webrtc_max_viewers,
        ice_servers=tuple(args.ice_server),
    )


@dataclass(frozen=True)
class Credentials:
    api_token: str
    admin_password: str
    token_generated: bool  # came from the data folder rather than the command line
    admin_generated: bool
    damaged: tuple[Notice, ...] = ()  # a damaged credentials file that was set aside, to announce


SECRET_KEYS = ("apiToken", "adminPassword")


def _stored_secrets(path: Path) -> tuple[dict[str, str], tuple[Notice, ...]]:
    """The secrets kept in ``path``; a damaged file is set aside, keeping any secret that is still usable."""
    try:
        doc = load_json(path)
    except FileNotFoundError:
        return {}, ()
    except Damaged as exc:
        return {}, (set_aside(path, "credentials file", str(exc), "new secrets were generated"),)
    found = doc if isinstance(doc, dict) else {}
    good = {k: v for k in SECRET_KEYS if isinstance(v := found.get(k), str) and v}
    wrong = [k for k in SECRET_KEYS if k in found and k not in good]
    if isinstance(doc, dict) and not wrong:
        return good, ()
    reason = f"{', '.join(wrong)} not a non-empty string" if wrong else "it is not a JSON object"
    return good, (set_aside(path, "credentials file", reason, "new secrets were generated for what was lost"),)


def resolve_credentials(config: ServerConfig) -> Credentials:
    """Flags win; otherwise use (or create once) the secrets kept in the data folder."""
    path = config.data_dir / "credentials.json"
    stored, damaged = _stored_secrets(path)
    changed = False
    for key in SECRET_KEYS:
        if not stored.get(key):
            stored[key] = secrets.token_urlsafe(12)
            changed = True
    if changed:
        write_atomic(path, json.dumps(stored, indent=1).encode(), mode=0o600)
    return Credentials(
        api_token=config.api_token or stored["apiToken"],
        admin_password=config.admin_password or stored["adminPassword"],
        token_generated=config.api_token is None,
        admin_generated=config.admin_password is None,
        damaged=damaged,
    )

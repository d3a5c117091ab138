"""roto-tui's command line, ROTO_* environment variables and saved connections.

Saved connections live in ``$XDG_CONFIG_HOME/roto/connections.json`` (``~/.config/...``)::

    {"default": {"url": "http://127.0.0.1:8080", "token": "..."}, "cell7": {"url": "http://10.0.0.7:8080", ...}}
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from roto_tui.render import ColourMode

DEFAULT_URL = "http://127.0.0.1:8080"


def connections_file(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "roto" / "connections.json"


@dataclass
class Connection:
    url: str
    token: str | None = None
    user: str | None = None
    password: str | None = None


@dataclass
class TuiConfig:
    connection: Connection
    colours: ColourMode | None
    screen: str
    stats: str | None = None


def load_saved(path: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def parse(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> TuiConfig:
    environ = os.environ if environ is None else environ
    path = connections_file(environ)
    parser = argparse.ArgumentParser(
        prog="roto-tui",
        description="Operator console for a roto control unit, over its WebSocket and HTTP API.",
        epilog=f"Saved connections: {path} (see --save).",
    )
    parser.add_argument("url", nargs="?", help=f"device URL or saved connection name (ROTO_URL, default {DEFAULT_URL})")
    parser.add_argument("--token", help="API token, the API-User's password (ROTO_TOKEN)")
    parser.add_argument("--user", help="user name for Basic authentication (e.g. admin)")
    parser.add_argument("--password", help="password of --user")
    parser.add_argument(
        "--colours",
        choices=[m.value for m in ColourMode],
        help="preview colours; default: what the terminal supports (COLORTERM, TERM)",
    )
    parser.add_argument(
        "--screen",
        choices=["overview", "state", "preview", "gallery"],
        default="overview",
        help="screen to start on (default %(default)s)",
    )
    parser.add_argument("--save", metavar="NAME", help="save this connection under NAME and exit")
    parser.add_argument(
        "--stats",
        metavar="FILE",
        help="write preview statistics (frames shown, fps) to FILE every second, for benchmarks and troubleshooting",
    )
    args = parser.parse_args(argv)
    if args.token and args.user:
        parser.error("give either --token or --user/--password, not both")

    saved = load_saved(path)
    name = args.url or environ.get("ROTO_URL") or "default"
    entry = saved.get(name, {}) if "://" not in name and ":" not in name else {}
    url = entry.get("url") or (name if name != "default" else DEFAULT_URL)
    conn = Connection(
        url=url,
        token=args.token or (None if args.user else environ.get("ROTO_TOKEN")) or entry.get("token"),
        user=args.user or entry.get("user"),
        password=args.password or entry.get("password"),
    )
    if args.save:
        saved[args.save] = {k: v for k, v in vars(conn).items() if v}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(saved, indent=1))
        path.chmod(0o600)
        parser.exit(0, f"saved connection {args.save!r} in {path}\n")
    return TuiConfig(conn, ColourMode(args.colours) if args.colours else None, args.screen, args.stats)

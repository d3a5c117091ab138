"""roto-tui's command line, ROTO_* environment variables, saved connections and the fleet file.

Saved connections live in ``$XDG_CONFIG_HOME/roto/connections.json`` (``~/.config/...``)::

    {"default": {"url": "http://127.0.0.1:8080", "token": "..."}, "cell7": {"url": "http://10.0.0.7:8080", ...}}

The fleet, ``$XDG_CONFIG_HOME/roto/units.toml``, opens the Fleet screen when no URL is given::

    [[unit]]
    name = "cell7"
    url = "http://10.0.0.7:8080"
    token = "..."
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from roto_tui.render import ColourMode

DEFAULT_URL = "http://127.0.0.1:8080"


def connections_file(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "roto" / "connections.json"


def units_file(environ: Mapping[str, str]) -> Path:
    return connections_file(environ).with_name("units.toml")


def default_data_dir(environ: Mapping[str, str]) -> Path:
    """Where roto-server keeps its data unless told otherwise (the same rule as its --data-dir)."""
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "roto"


def on_loopback(url: str) -> bool:
    host = urlsplit(url if "://" in url else f"http://{url}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def local_token(data_dir: Path) -> str | None:
    """The API token the server on this machine keeps in its data folder (never printed)."""
    try:
        token = json.loads((data_dir / "credentials.json").read_text()).get("apiToken")
    except (OSError, ValueError, AttributeError):
        return None
    return token if isinstance(token, str) and token else None


@dataclass
class Connection:
    url: str
    token: str | None = None
    user: str | None = None
    password: str | None = None
    name: str = ""


@dataclass
class TuiConfig:
    connection: Connection
    colours: ColourMode | None
    screen: str
    stats: str | None = None
    units: list[Connection] = field(default_factory=list)
    fleet: bool = False  # several units (or a fleet file): start on the Fleet screen


def load_saved(path: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_units(path: Path) -> list[Connection]:
    try:
        data = tomllib.loads(path.read_text())
    except OSError:
        return []
    except tomllib.TOMLDecodeError as exc:
        raise SystemExit(f"roto-tui: {path}: {exc}") from exc
    units = []
    for i, entry in enumerate(data.get("unit", [])):
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            raise SystemExit(f"roto-tui: {path}: unit {i + 1} needs a url (a string)")
        units.append(Connection(entry["url"], entry.get("token"), name=str(entry.get("name") or entry["url"])))
    return units


def parse(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> TuiConfig:
    environ = os.environ if environ is None else environ
    path = connections_file(environ)
    parser = argparse.ArgumentParser(
        prog="roto-tui",
        description="Operator console for a roto control unit, over its WebSocket and HTTP API.",
        epilog=f"Saved connections: {path} (see --save).",
    )
    parser.add_argument(
        "url",
        nargs="*",
        help=f"device URL or saved connection name; several open the Fleet screen (ROTO_URL, default {DEFAULT_URL}, "
        f"or the units in {units_file(environ)})",
    )
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
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(environ),
        help="the local server's data folder: on loopback without --token the token is read from its "
        "credentials.json (default %(default)s)",
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
    names = args.url or ([environ["ROTO_URL"]] if environ.get("ROTO_URL") else [])
    from_file = [] if names or args.save else load_units(units_file(environ))

    def connection(name: str) -> Connection:
        entry = saved.get(name, {}) if "://" not in name and ":" not in name else {}
        url = entry.get("url") or (name if name != "default" else DEFAULT_URL)
        return Connection(
            url=url,
            token=args.token or (None if args.user else environ.get("ROTO_TOKEN")) or entry.get("token"),
            user=args.user or entry.get("user"),
            password=args.password or entry.get("password"),
            name=name if entry else urlsplit(url if "://" in url else f"http://{url}").netloc or url,
        )

    units = from_file or [connection(name) for name in names or ["default"]]
    conn = units[0]
    if args.save:
        saved[args.save] = {k: v for k, v in vars(conn).items() if v and k != "name"}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(saved, indent=1))
        path.chmod(0o600)
        parser.exit(0, f"saved connection {args.save!r} in {path}\n")
    for unit in units:  # after --save: the local token stays in the server's file only
        if unit.token is None and unit.user is None and on_loopback(unit.url):
            unit.token = local_token(args.data_dir)
    colours = ColourMode(args.colours) if args.colours else None
    return TuiConfig(conn, colours, args.screen, args.stats, units, bool(from_file) or len(units) > 1)

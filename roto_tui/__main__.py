"""roto-tui command."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from roto_tui.app import RotoApp
from roto_tui.client import RotoClient
from roto_tui.config import parse
from roto_tui.unit import Unit


def main(argv: Sequence[str] | None = None) -> int:
    config = parse(argv)
    units = [
        Unit(conn.name or conn.url, RotoClient(conn.url, token=conn.token, user=conn.user, password=conn.password))
        for conn in config.units
    ]
    RotoApp(units, colour_mode=config.colours, start=config.screen, stats=config.stats, fleet=config.fleet).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

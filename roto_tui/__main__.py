"""roto-tui command."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from roto_tui.app import RotoApp
from roto_tui.client import RotoClient
from roto_tui.config import parse


def main(argv: Sequence[str] | None = None) -> int:
    config = parse(argv)
    conn = config.connection
    client = RotoClient(conn.url, token=conn.token, user=conn.user, password=conn.password)
    RotoApp(client, colour_mode=config.colours, start=config.screen, stats=config.stats).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""ICE server URLs from the command line, checked without loading aiortc."""

from __future__ import annotations

from typing import NamedTuple

SCHEMES = ("stun", "stuns", "turn", "turns")


class IceServer(NamedTuple):
    url: str
    username: str | None = None
    credential: str | None = None


def parse_ice_server(url: str) -> IceServer:
    """``stun:host:port`` or ``turn:user:password@host:port?transport=udp``; ValueError names what is allowed."""
    scheme, _, rest = url.partition(":")
    if scheme not in SCHEMES or not rest or rest.startswith("@"):
        raise ValueError(f"{url!r} is not an ICE server URL: expected {', '.join(s + ':' for s in SCHEMES)} and a host")
    if "@" not in rest:
        return IceServer(url)
    userinfo, host = rest.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    return IceServer(f"{scheme}:{host}", user, password)

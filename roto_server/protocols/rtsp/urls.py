"""Control URLs as clients really send them, reduced to (stream path, track, query).

Accepted dialects: with or without a trailing slash, with a track suffix ("trackID=0", "track0", "streamid=0"),
a query before or after the track suffix ("/stream1?tcp/trackID=0" from clients that append naively), and
the aliases /stream0 and /stream of older vendor material for /stream1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

PATHS = ("stream1", "stream2", "recording")
ALIASES = {"stream0": "stream1", "stream": "stream1"}
CREDENTIAL_PARAMS = ("token", "password", "user")
_TRACK = re.compile(r"^(?:trackID=|track|streamid=)(\d{1,3})$", re.IGNORECASE)


@dataclass(frozen=True)
class ControlUrl:
    path: str  # canonical stream name, one of PATHS
    track: int | None  # None: the aggregate (the whole presentation)
    query: dict[str, str] = field(default_factory=dict)
    base: str = ""  # scheme://host[:port]/<path as the client spelt it>/, used as Content-Base


def parse_control_url(uri: str) -> ControlUrl | None:
    """The stream a request names, or None when the URI names nothing this server serves."""
    parts = urlsplit(uri)
    if parts.scheme.lower() not in ("rtsp", "rtspu", "rtsps") and uri != "*":
        return None
    segments = [unquote(segment) for segment in parts.path.split("/") if segment]
    query = parts.query
    if "/" in query:  # "?tcp/trackID=0": the track suffix was appended after the query
        query, tail = query.split("/", 1)
        segments += [segment for segment in tail.split("/") if segment]
    track = None
    if segments and (match := _TRACK.match(segments[-1])):
        track = int(match.group(1))
        segments.pop()
    if len(segments) != 1:
        return None
    spelt = segments[0]
    name = ALIASES.get(spelt.lower(), spelt.lower())
    if name not in PATHS:
        return None
    values = dict(parse_qsl(query, keep_blank_values=True))
    host = parts.netloc.rsplit("@", 1)[-1]
    # credentials in the query stay in the Content-Base, so the track URLs a client builds from it
    # (SETUP .../stream1?token=x/trackID=0) carry them too; other query words (?tcp) are hints for DESCRIBE only
    secrets = urlencode([(k, v) for k, v in values.items() if k in CREDENTIAL_PARAMS])
    return ControlUrl(name, track, values, f"{parts.scheme}://{host}/{spelt}{'?' + secrets if secrets else ''}/")

"""The unit as a WS-Discovery target service: which datagrams it answers, and with what."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from . import codec

RFC3986 = "http://schemas.xmlsoap.org/ws/2005/04/discovery/rfc3986"
STRCMP = "http://schemas.xmlsoap.org/ws/2005/04/discovery/strcmp0"


def scope_matches(wanted: str, ours: str, match_by: str | None) -> bool:
    """RFC 3986 matching (the default): a probe scope matches when its path segments prefix ours."""
    if match_by == STRCMP:
        return wanted == ours
    w_scheme, _, w_rest = wanted.partition("://")
    o_scheme, _, o_rest = ours.partition("://")
    if w_scheme.lower() != o_scheme.lower():
        return False
    w_parts, o_parts = w_rest.rstrip("/").split("/"), o_rest.rstrip("/").split("/")
    if w_parts[0].lower() != o_parts[0].lower():
        return False
    return o_parts[: len(w_parts)] == w_parts


class Responder:
    """Answers Probe and Resolve for one target; counts its messages as WS-Discovery's AppSequence wants."""

    def __init__(self, target: Callable[[str], codec.Target], instance_id: int) -> None:
        self.target = target  # the target as seen from one of the unit's addresses
        self.instance_id = instance_id
        self._numbers = itertools.count(1)

    def answer(self, data: bytes, local_address: str) -> bytes | None:
        """The reply to a datagram that arrived on ``local_address``, or None to stay quiet."""
        request = codec.parse(data)
        if request is None:
            return None
        target = self.target(local_address)
        if isinstance(request, codec.Resolve):
            if request.address != target.address:
                return None
            return codec.resolve_matches(request, target, self.instance_id, next(self._numbers))
        if not self.matches(request, target):
            return None
        return codec.probe_matches(request, target, self.instance_id, next(self._numbers))

    @staticmethod
    def matches(probe: codec.Probe, target: codec.Target) -> bool:
        if probe.match_by not in (None, RFC3986, STRCMP):
            return False
        if any(t not in codec.TYPES for t in probe.types):
            return False
        return all(any(scope_matches(s, ours, probe.match_by) for ours in target.scopes) for s in probe.scopes)

    def hello(self, local_address: str) -> bytes:
        return codec.hello(self.target(local_address), self.instance_id, next(self._numbers))

    def bye(self, local_address: str) -> bytes:
        return codec.bye(self.target(local_address), self.instance_id, next(self._numbers))

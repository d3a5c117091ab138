"""What the RTSP server reads: a MediaSource, and LiveFeed, the fan-out of one live rendition to its readers.

The server never encodes. For each path it asks the source for a description (SDP facts: codec, size, SPS/PPS)
and, for every session that plays, for an async iterator of EncodedFrame. A live source hands every reader the
output of ONE encoder (LiveFeed does the fan-out); the server itself skips to the first keyframe and paces by
`pts`, so a file source may yield as fast as it reads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Protocol

from roto_server.imaging.encoded import EncodedFrame, LiveFeed
from roto_server.protocols.rtsp.sdp import StreamDescription

__all__ = ["LiveFeed", "MediaSource"]  # LiveFeed lives with the bus it fans out


class MediaSource(Protocol):
    async def describe(self, path: str, query: Mapping[str, str]) -> StreamDescription | None:
        """The stream at a canonical path ("stream1", "stream2", "recording"); None if there is none.

        May wait briefly, e.g. for a just-started encoder's first SPS/PPS.
        """
        ...

    def frames(self, path: str, query: Mapping[str, str]) -> AsyncIterator[EncodedFrame]:
        """Frames for one reader, from now on; the iterator ends with the stream (end of a recording).

        The server closes the iterator (aclose) when the reader stops, so a source can stop encoding
        when its last reader leaves.
        """
        ...

"""Matroska files of the pipeline's JPEG frames, muxed as they are (no second encode).

Matroska needs no index to be played, so a file cut off by a crash or a pulled stick
still plays up to its last complete frame; :func:`finalise` rewrites such a file with
its duration and cues. Frames carry their capture time as timestamps (milliseconds),
so a file plays at the real pace even when frames were dropped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av

TIME_BASE = Fraction(1, 1000)
EXTENSION = ".mkv"


@dataclass(frozen=True)
class Probe:
    frames: int
    duration: float  # seconds from the first to the end of the last frame
    size: int


class SegmentWriter:
    """Appends JPEG frames to a new Matroska file."""

    def __init__(self, path: Path, width: int, height: int, fps: int) -> None:
        self.path = path
        self.size = (width, height)
        self._fps = max(fps, 1)
        self._file: BinaryIO = open(path, "xb", buffering=0)  # noqa: SIM115 - closed in close()
        try:
            self._container = av.open(self._file, "w", format="matroska")
            stream = self._container.add_stream("mjpeg", rate=self._fps)
            stream.width, stream.height = width, height
            stream.pix_fmt = "yuvj420p"
            stream.time_base = TIME_BASE
            self._stream = stream
        except Exception:
            self._file.close()
            raise
        self.first: float | None = None
        self.last: float | None = None
        self.frames = 0
        self.bytes = 0

    def write(self, jpeg: bytes, captured: float) -> None:
        if self.first is None:
            self.first = captured
        pts = round((captured - self.first) * 1000)
        if self.last is not None and pts <= round((self.last - self.first) * 1000):
            return  # timestamps must grow; a duplicate frame adds nothing
        packet = av.Packet(jpeg)
        packet.stream = self._stream
        packet.pts = packet.dts = pts
        packet.time_base = TIME_BASE
        packet.duration = round(1000 / self._fps)
        packet.is_keyframe = True
        self._container.mux(packet)
        self.last = captured
        self.frames += 1
        self.bytes += len(jpeg)

    @property
    def duration(self) -> float:
        if self.first is None or self.last is None:
            return 0.0
        return self.last - self.first + 1.0 / self._fps

    def close(self) -> None:
        try:
            self._container.close()
        finally:
            self._file.close()


def probe(path: Path) -> Probe:
    """Frames and duration of a file, reading packets only (no decoding)."""
    frames, first, last, step = 0, None, None, 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        base = stream.time_base or TIME_BASE
        for packet in container.demux(stream):
            if packet.pts is None or packet.size == 0:
                continue
            frames += 1
            first = packet.pts if first is None else first
            last = packet.pts
            step = packet.duration or step
    if first is None or last is None:
        return Probe(0, 0.0, path.stat().st_size)
    return Probe(frames, float((last - first + step) * base), path.stat().st_size)


def finalise(path: Path) -> Probe:
    """Rewrite a file left open by a crash so that it has a duration and an index."""
    tmp = path.with_name(f".{path.name}.final")
    with av.open(str(path)) as source, av.open(str(tmp), "w", format="matroska") as target:
        original = source.streams.video[0]
        stream = target.add_stream("mjpeg", rate=original.average_rate or 30)
        stream.width, stream.height = original.codec_context.width, original.codec_context.height
        stream.pix_fmt = "yuvj420p"
        stream.time_base = original.time_base or TIME_BASE
        for packet in source.demux(original):
            if packet.pts is None or packet.size == 0:
                continue
            packet.stream = stream
            target.mux(packet)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return probe(path)

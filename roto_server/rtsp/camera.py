"""The MediaSource over the device: live H.264 from the pipeline's encoded-frame bus, and recordings from the library.

/stream1 and /stream2 are StreamService.encoded("stream1"/"stream2"): one encoder per rendition, shared by every
RTSP (and later WebRTC) reader. /recording plays a file of the library (the newest manual recording or backup
file, or ``?id=`` with a library id) in real time: the files are MJPEG in Matroska, so frames up to 2040 px
(RFC 2435's limit) go out as RTP/JPEG from the stored JPEG bytes, larger ones are transcoded to H.264.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Generator, Mapping
from dataclasses import dataclass
from typing import BinaryIO

import av
import cv2
import numpy as np

from roto_server.imaging.encoded import EncodedFrame
from roto_server.imaging.h264 import H264Encoder
from roto_server.imaging.pipeline import StreamService
from roto_server.protocols.rtp.h264 import ParameterSets
from roto_server.protocols.rtsp.sdp import StreamDescription, TrackDescription
from roto_server.recording.library import NotFound, OpenFile, RecordingLibrary

JPEG_MAX_SIDE = 2040  # RFC 2435 carries width and height in units of 8 pixels in one byte each
LIVE = ("stream1", "stream2")


@dataclass(frozen=True)
class _Recording:
    file: OpenFile
    width: int
    height: int
    fps: float
    duration: float | None


class CameraSource:
    """Implements roto_server.rtsp.source.MediaSource for the device's camera and recordings."""

    def __init__(self, stream: StreamService, library: RecordingLibrary) -> None:
        self.stream = stream
        self.library = library
        self._described: dict[str, tuple[tuple[tuple[int, int], int], StreamDescription]] = {}

    async def describe(self, path: str, query: Mapping[str, str]) -> StreamDescription | None:
        if path in LIVE:
            return await self._describe_live(path)
        if path == "recording":
            recording = await self._open_recording(query)
            if recording is None:
                return None
            recording.file.close()
            return _recording_description(recording)
        return None

    async def _describe_live(self, name: str) -> StreamDescription:
        # the SDP needs the SPS/PPS of the encoder the reader will get: the first keyframe carries them. They
        # depend only on size and fps (the encoder settings are fixed), so one answer serves until those change;
        # without that, every DESCRIBE and SETUP of every joining player would wait for a keyframe
        params = self.stream.params_of(name)
        key = (params.size, params.fps)
        cached = self._described.get(name)
        if cached is not None and cached[0] == key:
            return cached[1]
        described = await self._first_keyframe_description(name)
        self._described[name] = (key, described)
        return described

    async def _first_keyframe_description(self, name: str) -> StreamDescription:
        frames = self.stream.encoded(name)
        try:
            first = await anext(frames)
        finally:
            await frames.aclose()
        sets = ParameterSets.from_nal_units(first.units)
        fmtp = sets.fmtp() if sets else "packetization-mode=1"
        fps = float(self.stream.params_of(name).fps)
        track = TrackDescription(96, "H264", fmtp=fmtp, width=first.width, height=first.height, fps=fps)
        return StreamDescription((track,), title=f"roto {name}")

    def frames(self, path: str, query: Mapping[str, str]) -> AsyncIterator[EncodedFrame]:
        if path in LIVE:
            return self.stream.encoded(path)
        return self._play_recording(query)

    async def _open_recording(self, query: Mapping[str, str]) -> _Recording | None:
        item = query.get("id")
        if item is None:
            entries = (await self.library.everything()).entries
            complete = [e for e in entries if e.complete] or entries
            if not complete:
                return None
            item = complete[0].id
        try:
            opened = await self.library.open(item)
        except NotFound:
            return None
        try:
            return await asyncio.to_thread(_probe, opened)
        except (av.FFmpegError, OSError, ValueError):
            opened.close()
            return None

    async def _play_recording(self, query: Mapping[str, str]) -> AsyncIterator[EncodedFrame]:
        recording = await self._open_recording(query)
        if recording is None:
            return
        frames = _recording_frames(recording)
        try:
            while (frame := await asyncio.to_thread(next, frames, None)) is not None:
                yield frame
        finally:
            await asyncio.to_thread(frames.close)


def _reopened(opened: OpenFile) -> BinaryIO:
    """A file object of its own over the library's descriptor, from the start (a dup shares the offset)."""
    handle = os.fdopen(os.dup(opened.fd), "rb")
    handle.seek(0)
    return handle


def _probe(opened: OpenFile) -> _Recording:
    with contextlib.closing(_reopened(opened)) as handle, av.open(handle, "r") as container:
        video = container.streams.video[0]
        rate = float(video.average_rate or video.guessed_rate or 25)
        duration = float(container.duration / av.time_base) if container.duration else None
        width, height = video.codec_context.width, video.codec_context.height
    if not width or not height:
        raise ValueError("the recording has no picture size")
    return _Recording(opened, width, height, rate, duration)


def _transcoded(recording: _Recording) -> bool:
    return max(recording.width, recording.height) > JPEG_MAX_SIDE


def _recording_description(recording: _Recording) -> StreamDescription:
    if _transcoded(recording):
        encoder = H264Encoder(recording.width, recording.height, recording.fps)
        encoder.encode(np.zeros((recording.height, recording.width, 3), np.uint8), 0.0)
        sets = encoder.parameter_sets
        fmtp = sets.fmtp() if sets else "packetization-mode=1"
        track = TrackDescription(96, "H264", fmtp=fmtp, width=recording.width, height=recording.height)
    else:
        track = TrackDescription(26, "JPEG", width=recording.width, height=recording.height)
    track = TrackDescription(**{**track.__dict__, "fps": recording.fps})
    return StreamDescription((track,), title="roto recording", duration=recording.duration)


def _recording_frames(recording: _Recording) -> Generator[EncodedFrame, None, None]:
    """The file's frames with their pts (from 0); blocking, so the caller pulls each one in a thread."""
    encoder = H264Encoder(recording.width, recording.height, recording.fps) if _transcoded(recording) else None
    with (
        contextlib.closing(recording.file),
        contextlib.closing(_reopened(recording.file)) as handle,
        av.open(handle, "r") as container,
    ):
        video = container.streams.video[0]
        first: float | None = None
        for packet in container.demux(video):
            if packet.pts is None or not packet.size:
                continue
            seconds = float(packet.pts * (video.time_base or 0))
            first = seconds if first is None else first
            pts, jpeg = seconds - first, bytes(packet)
            if encoder is None:
                yield EncodedFrame("jpeg", (jpeg,), True, pts, time.monotonic(), recording.width, recording.height)
                continue
            picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
            if picture is not None:
                yield from encoder.encode(picture, pts)

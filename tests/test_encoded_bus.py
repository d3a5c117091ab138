"""The encoded-frame bus StreamService.encoded() as RTSP and WebRTC read it (pipeline run in-process)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from roto_server.device.hardware import SimulatedHardware
from roto_server.device.store import Set
from roto_server.device.unit import ControlUnit
from roto_server.imaging.camera import Camera
from roto_server.imaging.encoded import EncodedFrame
from roto_server.imaging.sources import SyntheticSource
from roto_server.protocols.rtp.h264 import NAL_PPS, NAL_SPS, ParameterSets, nal_type


@pytest.fixture
def camera(tmp_path: Path) -> Iterator[Camera]:
    unit = ControlUnit(tmp_path, SimulatedHardware(seed=1))
    unit.boot()
    # HD keeps the encoders cheap; the bus does not depend on the size
    unit.store.apply([Set("recordingResolution", "HD")], "admin")
    yield Camera(unit.store, [SyntheticSource(0, 2), SyntheticSource(1, 1)])


async def take(frames: AsyncIterator[EncodedFrame], count: int) -> list[EncodedFrame]:
    out = []
    async for frame in frames:
        out.append(frame)
        if len(out) == count:
            break
    return out


async def test_readers_start_at_a_keyframe_with_parameter_sets_and_share_one_encoder(camera: Camera) -> None:
    camera.start()
    try:
        first, second = camera.stream.encoded("stream1"), camera.stream.encoded("stream1")
        got = await asyncio.wait_for(asyncio.gather(take(first, 10), take(second, 10)), 30)
        await first.aclose()
        await second.aclose()
        encodes = camera.stream.stats.encodes[("stream1", None)]
        sub = await asyncio.wait_for(take(camera.stream.encoded("stream2"), 3), 30)
    finally:
        camera.stop()
    for frames in got:
        assert frames[0].keyframe and frames[0].codec == "h264"
        assert {nal_type(unit) for unit in frames[0].units} >= {NAL_SPS, NAL_PPS}
        assert [(f.width, f.height) for f in frames] == [(1280, 720)] * 10
        assert all(b.pts > a.pts for a, b in itertools.pairwise(frames))
    # two readers of ten frames each, yet the one encoder made about ten (a reader may join a frame late)
    assert encodes < 16
    assert (sub[0].width, sub[0].height) == (640, 360)


async def test_the_encoder_stops_with_its_last_reader_and_a_new_size_restarts_it(camera: Camera) -> None:
    camera.start()
    try:
        reader = camera.stream.encoded("stream1")
        before = await asyncio.wait_for(take(reader, 3), 30)
        camera._store.apply([Set("recordingResolution", "FullHD")], "admin")
        after: list[EncodedFrame] = []
        async for frame in reader:
            if frame.width == 1920:
                after.append(frame)
                break
        await reader.aclose()
        await asyncio.sleep(0)  # the reader's exit runs on the loop
        assert camera.stream.readers() == {}
        assert not any(key[0] == "stream1" for key in camera.stream._workers)
    finally:
        camera.stop()
    assert (before[0].width, before[0].height) == (1280, 720)
    # the first frame of the new size is a keyframe that carries the new SPS/PPS
    assert after[0].keyframe and (after[0].width, after[0].height) == (1920, 1080)
    old = ParameterSets.from_nal_units(before[0].units)
    new = ParameterSets.from_nal_units(after[0].units)
    assert old is not None and new is not None and new.sps != old.sps


async def test_a_keyframe_wanted_mid_gop_comes_before_the_gops_own(camera: Camera) -> None:
    camera.start()
    try:
        frames = camera.stream.encoded("stream1")
        before = await asyncio.wait_for(take(frames, 20), 30)  # a keyframe, then 19 of the GOP's 29 others
        camera.stream.want_keyframe("stream1")  # as a WebRTC viewer's PLI does (the join's request is 0.6 s old)
        after = await asyncio.wait_for(take(frames, 8), 30)
        await frames.aclose()
    finally:
        camera.stop()
    assert before[0].keyframe and not any(f.keyframe for f in before[1:])
    assert any(f.keyframe for f in after), "the encoder waited for its GOP's keyframe (frame 30)"


async def test_an_unknown_name_is_refused(camera: Camera) -> None:
    with pytest.raises(ValueError, match="stream1, stream2"):
        await anext(camera.stream.encoded("stream3"))

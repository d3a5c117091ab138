"""LiveFeed, the fan-out of one encoder to RTSP readers: keyframe start, late readers, keyframe requests."""

from __future__ import annotations

import asyncio

from roto_server.imaging.encoded import EncodedFrame
from roto_server.rtsp.source import LiveFeed


def frame(index: int, keyframe: bool = False) -> EncodedFrame:
    return EncodedFrame("h264", (bytes([index % 256]),), keyframe, index / 30, 0.0, 16, 16)


async def take(iterator, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    return [(await anext(iterator)).pts * 30 for _ in range(count)]


async def test_a_reader_starts_at_a_keyframe_and_every_reader_gets_the_same_frames() -> None:
    feed = LiveFeed()
    first, second = feed.subscribe(), feed.subscribe()
    pending = [asyncio.ensure_future(take(reader, 3)) for reader in (first, second)]
    await asyncio.sleep(0)
    for index in range(6):
        feed.publish(frame(index, keyframe=index == 2))
    assert [await task for task in pending] == [[2, 3, 4]] * 2
    assert feed.readers == 2
    await first.aclose()
    assert feed.readers == 1


async def test_a_late_reader_drops_its_backlog_and_resumes_at_the_next_keyframe() -> None:
    feed = LiveFeed(backlog=4)
    reader = feed.subscribe()
    started = asyncio.ensure_future(take(reader, 1))
    await asyncio.sleep(0)
    feed.publish(frame(0, keyframe=True))
    assert await started == [0]
    for index in range(1, 10):  # the reader takes nothing: its backlog of 4 overflows at frame 5
        feed.publish(frame(index, keyframe=index == 6))
    assert await take(reader, 4) == [6, 7, 8, 9]


async def test_end_finishes_every_reader_after_what_it_has() -> None:
    feed = LiveFeed()
    reader = feed.subscribe()
    collected = asyncio.ensure_future(take_all(reader))
    await asyncio.sleep(0)
    feed.publish(frame(0, keyframe=True))
    feed.publish(frame(1))
    feed.end()
    assert await collected == [0, 1] and feed.readers == 0


async def take_all(iterator) -> list[float]:  # type: ignore[no-untyped-def]
    return [item.pts * 30 async for item in iterator]


async def test_joining_readers_ask_for_keyframes_at_a_limited_rate() -> None:
    asked: list[int] = []
    feed = LiveFeed(request_keyframe=lambda: asked.append(1), keyframe_interval=60)
    readers = [feed.subscribe() for _ in range(3)]
    pending = [asyncio.ensure_future(anext(reader)) for reader in readers]
    await asyncio.sleep(0)
    for index in range(5):
        feed.publish(frame(index))
    assert len(asked) == 1  # three readers waiting, five frames without a keyframe: one request
    feed.publish(frame(5, keyframe=True))
    assert [(await task).pts * 30 for task in pending] == [5, 5, 5]

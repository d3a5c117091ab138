"""The recorders' writer thread: order, results, failures, a bounded queue, and a loop that stays free."""

from __future__ import annotations

import asyncio
import errno
import threading
import time

import pytest

from roto_server.recording.writing import FileWorker, StorageFull, failure_reason


async def test_work_runs_in_order_off_the_loop_and_calls_return_results() -> None:
    worker = FileWorker("test-writer", depth=4)
    done: list[int] = []
    threads: set[str] = set()

    def job(n: int) -> int:
        threads.add(threading.current_thread().name)
        done.append(n)
        return n * 10

    for n in range(20):
        await worker.post(job, n)
    assert await worker.call(job, 20) == 200
    await worker.close()
    assert done == list(range(21))
    assert threads == {"test-writer"}


async def test_a_slow_storage_does_not_stall_the_event_loop() -> None:
    worker = FileWorker("test-writer")
    release = threading.Event()
    await worker.post(release.wait, 5)  # a write that hangs until released
    start = time.perf_counter()
    for _ in range(10):
        await asyncio.sleep(0.005)
    assert time.perf_counter() - start < 1.0  # the loop kept running while the write hung
    release.set()
    await worker.close()


async def test_a_full_queue_makes_the_recorder_wait_not_grow() -> None:
    worker = FileWorker("test-writer", depth=2)
    release = threading.Event()
    await worker.post(release.wait, 5)
    await worker.post(lambda: None)
    third = asyncio.ensure_future(worker.post(lambda: None))
    await asyncio.sleep(0.05)
    assert not third.done()  # two jobs pending: the third waits for room
    release.set()
    await asyncio.wait_for(third, 5)
    await worker.close()


async def test_a_failed_write_is_raised_to_the_recorder_and_closing_still_runs() -> None:
    worker = FileWorker("test-writer")

    def fail() -> None:
        raise StorageFull()

    await worker.post(fail)
    await worker.call(lambda: None)  # the failure has happened by now
    with pytest.raises(OSError) as caught:
        await worker.post(lambda: None)
    assert failure_reason(caught.value) == "the storage is full"
    closed = await worker.call(lambda: "closed")  # a file can still be closed after a failure
    assert closed == "closed"
    with pytest.raises(OSError, match="the medium"):
        await worker.call(_raise_eio)
    await worker.close()


def _raise_eio() -> None:
    raise OSError(errno.EIO, "the medium")

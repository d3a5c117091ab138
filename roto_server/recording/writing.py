"""What both recorders share: one writer thread each for their file work, and how a write failure reads.

Muxing a frame, opening or closing a Matroska file and updating the backup index all touch the
storage, which may be a slow stick or a network path. They run in order on the recorder's own
thread, fed by a bounded queue, so the event loop never waits for the storage; when the storage
falls behind by a whole queue, the recorder (not the loop) waits for room.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
QUEUE_DEPTH = 32  # about a second of frames at 30 fps; more would only hide a storage that cannot keep up

_Job = tuple[Callable[..., Any], tuple[Any, ...], "asyncio.Future[Any] | None"]


def failure_reason(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the storage is full"
    if exc.errno in (errno.ENOENT, errno.EIO, errno.ENODEV, errno.ENXIO):
        return "the storage was removed"
    return f"writing failed ({exc.strerror or exc})"


class StorageFull(OSError):
    def __init__(self) -> None:
        super().__init__(errno.ENOSPC, "storage full")


class FileWorker:
    """Runs a recorder's file work in order on one thread; start it on the event loop, close it when done."""

    def __init__(self, name: str, depth: int = QUEUE_DEPTH) -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._room = asyncio.Semaphore(depth)
        self._loop = asyncio.get_running_loop()
        self._failure: OSError | None = None
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    async def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue work whose result nobody waits for. Waits only while the queue is full; a failure of
        earlier posted work is raised here (and from every later call), so the recorder stops writing."""
        self._raise_failure()
        await self._room.acquire()
        self._jobs.put((fn, args, None))

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` after the work queued before it and return its result (or raise its error). Runs even
        after posted work failed, so a file can still be closed."""
        await self._room.acquire()
        done: asyncio.Future[T] = self._loop.create_future()
        self._jobs.put((fn, args, done))
        return await done

    async def close(self) -> None:
        """Let queued work finish, then end the thread."""
        self._jobs.put(None)
        await asyncio.to_thread(self._thread.join)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, args, done = job
            try:
                result, error = fn(*args), None
            except Exception as exc:  # handed to the loop: the recorder decides what a failure means
                result, error = None, exc
            if done is None and isinstance(error, OSError):
                self._failure = self._failure or error
            elif done is None and error is not None:
                self._failure = self._failure or OSError(errno.EIO, f"{type(error).__name__}: {error}")
            with contextlib.suppress(RuntimeError):  # the loop is gone (shutdown): nobody is waiting any more
                self._loop.call_soon_threadsafe(self._finish, done, result, error)

    def _finish(self, done: asyncio.Future[Any] | None, result: Any, error: BaseException | None) -> None:
        self._room.release()
        if done is None or done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)

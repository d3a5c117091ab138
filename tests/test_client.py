"""The Python SDK (roto_tui.client) against a real server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from roto_tui.client import (
    AccessRefused,
    AuthenticationFailed,
    ConnectionChanged,
    Notification,
    RotoClient,
    StateChanged,
    StateReset,
)
from tests.server_process import ServerProcess


async def until(check: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)


async def test_state_mirror_set_get_and_answers(shared_server: ServerProcess) -> None:
    events: list[Any] = []
    async with RotoClient(shared_server.base, token=shared_server.token) as device:
        device.subscribe(events.append)
        await device.wait_connected()
        assert isinstance(events[0], ConnectionChanged) and isinstance(events[1], StateReset)
        assert len(device.state) == 108 and device.state["cam0Exists"] is True
        await device.set(pip=2)
        await until(lambda: device.state["pip"] == 2)
        assert any(isinstance(e, StateChanged) and e.changes.get("pip") == 2 for e in events)
        answer = await device.apply({"sharpness": 99, "brightness": 3})
        assert answer.values == {"sharpness": 15, "brightness": 3}  # brightness kept while exposure is on
        assert {n["variable"] for n in answer.notices} == {"sharpness", "brightness"}
        assert await device.get("pip", "sharpness") == {"pip": 2, "sharpness": 15}
        await device.set(recordingStorage="nope")
        await until(lambda: any(isinstance(e, Notification) for e in events))
        await device.apply({"pip": 0, "sharpness": 5})


async def test_user_and_password_work_too(shared_server: ServerProcess) -> None:
    async with RotoClient(shared_server.base, user="admin", password=shared_server.admin_password) as device:
        await device.wait_connected()
        assert "userAuthentication" in device.state
        assert (await device.get("httpPort"))["httpPort"] == 8080


async def test_wrong_credentials_are_reported_and_not_retried(shared_server: ServerProcess) -> None:
    device = RotoClient(shared_server.base, token="wrong")
    with pytest.raises(AuthenticationFailed):
        await device.apply({"get": ["light0"]})
    events: list[Any] = []
    device.subscribe(events.append)
    device.start()
    with pytest.raises(asyncio.TimeoutError):
        await device.wait_connected(timeout=1)
    assert device.refused and device._runner is not None and device._runner.done()  # no retry can help
    await device.close()
    assert any(isinstance(e, ConnectionChanged) and "HTTP 401" in e.detail for e in events)
    assert sum(isinstance(e, AccessRefused) for e in events) == 1


async def test_snapshot_and_frames(shared_server: ServerProcess) -> None:
    async with RotoClient(shared_server.base, token=shared_server.token) as device:
        jpeg = await device.snapshot(width=160)
        assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == (90, 160, 3)
        shapes = []
        async for frame in device.frames(width=320):
            shapes.append(cv2.imdecode(np.frombuffer(frame, np.uint8), cv2.IMREAD_COLOR).shape)
            if len(shapes) == 5:
                break
        assert shapes == [(180, 320, 3)] * 5


async def test_gallery_calls(server: ServerProcess) -> None:
    async with RotoClient(server.base, token=server.token) as device:
        answer = await device.create_tag("spindle", "noise at 12:00")
        assert answer.values["createTag"]["title"] == "spindle"
        files: list[dict[str, Any]] = []
        for _ in range(100):
            files = await device.backup_files(tagged_only=True)
            if files:
                break
            await asyncio.sleep(0.1)
        tags = await device.tags()
        assert files[0]["tags"][0]["title"] == "spindle" and tags[0]["fileId"] == files[0]["id"]
        await device.remove_tag(tags[0]["id"])
        assert await device.tags() == []
        await device.apply({"backupActive": False})


async def test_reconnects_and_resynchronises_after_a_restart(tmp_path: Path) -> None:
    first = ServerProcess(tmp_path / "data")
    port = first.port
    async with RotoClient(first.base, token=first.token) as device:
        events: list[Any] = []
        device.subscribe(events.append)
        await device.wait_connected()
        await device.apply({"sharpness": 9})
        await until(lambda: device.state["sharpness"] == 9)
        first.stop()
        await until(lambda: not device.connected)
        device.state["light0"] = "stale"  # anything local must be replaced by the fresh full state
        second = ServerProcess(tmp_path / "data", port=port)
        try:
            await until(lambda: device.connected, timeout=20)
            assert device.state["light0"] is True and device.state["sharpness"] == 9
            assert [type(e).__name__ for e in events if isinstance(e, ConnectionChanged)][:2] == [
                "ConnectionChanged",
                "ConnectionChanged",
            ]
            assert any(isinstance(e, ConnectionChanged) and not e.connected and "retrying" in e.detail for e in events)
        finally:
            second.stop()

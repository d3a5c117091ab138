"""Helpers to check recorded files with ffprobe and to drive storages in tests."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SEGMENT = ["--segment-seconds", "2"]  # short Visual Backup files, so tests see splits quickly


def probe_rtsp(
    url: str, transport: str = "tcp", entries: str = "codec_name,width,height"
) -> subprocess.CompletedProcess[str]:
    """ffprobe on an RTSP URL over ``transport`` (udp or tcp); stdout is JSON: {"streams": [{entries}]}."""
    command = ["ffprobe", "-v", "error", "-rtsp_transport", transport, "-show_entries", f"stream={entries}"]
    return subprocess.run([*command, "-of", "json", url], capture_output=True, text=True, timeout=30)


def first_stream(probe: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The first stream :func:`probe_rtsp` found (fails with ffprobe's message when there is none)."""
    streams = json.loads(probe.stdout or "{}").get("streams") or []
    assert streams, probe.stderr
    return streams[0]  # type: ignore[no-any-return]


def ffprobe(path: Path) -> dict[str, Any]:
    """Codec, size, frames actually decodable and duration of a video file."""
    done = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-count_packets",
            "-show_entries",
            "stream=codec_name,width,height,nb_read_packets:format=duration",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    stream = doc["streams"][0]
    duration = doc["format"].get("duration")
    return {
        "codec": stream["codec_name"],
        "width": stream["width"],
        "height": stream["height"],
        "frames": int(stream["nb_read_packets"]),
        "duration": float(duration) if duration else None,
    }


def wait_for(check: Callable[[], Any], timeout: float = 20, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached within {timeout} s")


def make_storage(root: Path, name: str, quota: int | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    if quota is not None:
        (folder / ".roto-storage.json").write_text(json.dumps({"name": name, "quotaBytes": quota}))
    return folder

"""/camera.jpeg and /camera.mjpeg with real clients: requests, raw sockets, OpenCV, ffmpeg."""

from __future__ import annotations

import socket
import subprocess
import time

import cv2
import numpy as np
import pytest
import requests

from tests.inprocess import InProcessServer
from tests.media_files import wait_for
from tests.server_process import ServerProcess


def decode(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a JPEG"
    return image


def read_parts(url: str, count: int) -> tuple[requests.Response, list[tuple[dict[str, str], bytes]]]:
    """Parse multipart parts strictly by their headers, the way simple MJPEG clients do."""
    res = requests.get(url, stream=True, timeout=10)
    raw = res.iter_content(chunk_size=65536)
    buf = b""
    parts: list[tuple[dict[str, str], bytes]] = []
    while len(parts) < count:
        while b"\r\n\r\n" not in buf:
            buf += next(raw)
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        assert lines[0] == "--rotoframe", lines
        headers = dict(line.split(": ", 1) for line in lines[1:])
        length = int(headers["Content-Length"])
        while len(buf) < length + 2:
            buf += next(raw)
        body, trailer, buf = buf[:length], buf[length : length + 2], buf[length + 2 :]
        assert trailer == b"\r\n"
        parts.append((headers, body))
    res.close()
    return res, parts


def test_camera_jpeg_is_a_full_size_frame(shared_server: ServerProcess) -> None:
    res = requests.get(shared_server.url(f"/camera.jpeg?user=API-User&token={shared_server.token}"), timeout=10)
    assert res.status_code == 200 and res.headers["Content-Type"] == "image/jpeg"
    assert "no-cache" in res.headers["Cache-Control"]
    assert decode(res.content).shape == (1080, 1920, 3)
    admin = requests.get(
        shared_server.url(f"/camera.jpeg?user=admin&password={shared_server.admin_password}"), timeout=10
    )
    assert decode(admin.content).shape == (1080, 1920, 3)


def test_scaled_rendition_for_previews(shared_server: ServerProcess) -> None:
    res = requests.get(
        shared_server.url("/camera.jpeg"), params={"token": shared_server.token, "width": 320}, timeout=10
    )
    assert decode(res.content).shape == (180, 320, 3)
    bad = requests.get(
        shared_server.url("/camera.jpeg"), params={"token": shared_server.token, "width": "x"}, timeout=10
    )
    assert bad.status_code == 400 and bad.json()["field"] == "width"


def test_streams_need_credentials_unless_opened(server: ServerProcess) -> None:
    for path in ("/camera.jpeg", "/camera.mjpeg"):
        res = requests.get(server.url(path), timeout=10)
        assert res.status_code == 401 and "WWW-Authenticate" in res.headers
    assert requests.get(server.url("/camera.jpeg"), auth=("API-User", server.token), timeout=10).ok
    server.post({"mjpgStreamIsOpen": True}, auth=("admin", server.admin_password))
    assert decode(requests.get(server.url("/camera.jpeg"), timeout=10).content).shape == (1080, 1920, 3)
    _, parts = read_parts(server.url("/camera.mjpeg"), 2)
    assert len(parts) == 2


def test_mjpeg_wire_format(shared_server: ServerProcess) -> None:
    res, parts = read_parts(shared_server.url(f"/camera.mjpeg?token={shared_server.token}"), 5)
    assert res.headers["Content-Type"] == "multipart/x-mixed-replace;boundary=rotoframe"
    assert "no-cache" in res.headers["Cache-Control"]
    for headers, body in parts:
        assert headers["Content-Type"] == "image/jpeg"
        assert body[:2] == b"\xff\xd8" and body[-2:] == b"\xff\xd9"
        assert decode(body).shape == (1080, 1920, 3)


def test_opencv_reads_the_mjpeg_url(shared_server: ServerProcess) -> None:
    cap = cv2.VideoCapture(shared_server.url(f"/camera.mjpeg?token={shared_server.token}"))
    try:
        assert cap.isOpened()
        shapes = []
        for _ in range(5):
            ok, frame = cap.read()
            assert ok
            shapes.append(frame.shape)
    finally:
        cap.release()
    assert shapes == [(1080, 1920, 3)] * 5


def test_ffmpeg_decodes_the_stream(shared_server: ServerProcess) -> None:
    url = shared_server.url(f"/camera.mjpeg?token={shared_server.token}&width=640")
    done = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,width,height",
            "-of",
            "csv=p=0",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.stdout.strip() == "mjpeg,640,360", done.stderr
    done = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", url, "-frames:v", "15", "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_resolution_change_reaches_the_stream(server: ServerProcess) -> None:
    server.post({"recordingResolution": "HD"})
    res = requests.get(server.url("/camera.jpeg"), params={"token": server.token}, timeout=10)
    assert decode(res.content).shape == (720, 1280, 3)


def test_a_stalled_client_does_not_slow_the_others(server: ServerProcess) -> None:
    stalled = socket.create_connection(("127.0.0.1", server.port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(f"GET /camera.mjpeg?token={server.token} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    time.sleep(1.0)  # its buffers fill with a few frames, then the server can no longer send to it
    started = time.monotonic()
    _, parts = read_parts(server.url(f"/camera.mjpeg?token={server.token}"), 30)
    elapsed = time.monotonic() - started
    assert len(parts) == 30
    assert elapsed < 20  # 30 frames at 30 fps take ~1 s; the bound only catches a stall
    assert requests.get(server.url("/api"), params={"token": server.token, "get": "[light0]"}, timeout=5).ok
    stalled.close()


def test_pipeline_idles_when_the_last_client_leaves(server: ServerProcess) -> None:
    read_parts(server.url(f"/camera.mjpeg?token={server.token}"), 3)
    deadline = time.monotonic() + 10
    while "pipeline idle" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "pipeline active" in server.log() and "pipeline idle: no frame consumers" in server.log()


@pytest.mark.parametrize("head1", ["none"])
def test_head_none_means_the_head_does_not_exist(tmp_path: object, head1: str) -> None:
    from pathlib import Path

    server = InProcessServer(Path(str(tmp_path)) / "data", args=["--head1", head1])
    try:
        assert server.state("cam0Exists", "cam1Exists") == {"cam0Exists": True, "cam1Exists": False}
        res = server.post({"cameraSwitch": True})
        assert res.json() == {"cameraSwitch": False}
    finally:
        server.stop()


def test_video_file_as_head_source(tmp_path: object) -> None:
    from pathlib import Path

    clip = Path(str(tmp_path)) / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    for i in range(10):
        frame = np.zeros((240, 320, 3), np.uint8)
        frame[:, :, 2] = 200  # a red clip
        cv2.putText(frame, str(i), (100, 150), cv2.FONT_HERSHEY_SIMPLEX, 3, (255, 255, 255), 5)
        writer.write(frame)
    writer.release()
    server = InProcessServer(Path(str(tmp_path)) / "data", args=["--head0", str(clip)])
    try:
        server.post({"whiteBalance": False, "exposure": False})

        def red_frame() -> bool:  # once the capture thread has read the clip's first frame
            image = decode(requests.get(server.url("/camera.jpeg"), params={"token": server.token}, timeout=10).content)
            b, g, r = cv2.mean(image)[:3]
            return bool(image.shape == (1080, 1920, 3) and r > 2 * b and r > 2 * g)

        assert wait_for(red_frame, what="the clip's red frame")
    finally:
        server.stop()


def test_quality_setting_changes_the_jpeg(server: ServerProcess) -> None:
    def size_at(quality: int) -> int:
        server.post({"recordingPictureQuality": quality})
        time.sleep(0.2)  # let a frame at the new quality through
        res = requests.get(server.url("/camera.jpeg"), params={"token": server.token}, timeout=10)
        return len(res.content)

    assert size_at(10) * 3 < size_at(95)


def test_frame_rate_follows_recording_fps(server: ServerProcess) -> None:
    server.post({"recordingFps": 5})
    res = requests.get(server.url(f"/camera.mjpeg?token={server.token}"), stream=True, timeout=10)
    started, parts = time.monotonic(), 0
    for chunk in res.iter_content(chunk_size=65536):
        parts += chunk.count(b"--rotoframe\r\n")
        if time.monotonic() - started > 2.0:
            break
    res.close()
    # a paced pipeline cannot deliver more than 5 frames/s (+1 already waiting); it may deliver fewer
    assert 1 <= parts <= 12

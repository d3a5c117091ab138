"""The Python3 examples of the C2 API documentation run against roto and do what they say."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from tests.server_process import ServerProcess
from tests.spec_examples import C2_SPEC, python_examples, retarget

pytestmark = pytest.mark.skipif(not C2_SPEC.exists(), reason=f"vendor spec not found at {C2_SPEC}")


def run_example(script: str, server: ServerProcess, cwd: Path) -> subprocess.CompletedProcess[str]:
    path = cwd / "example.py"
    path.write_text(retarget(script, server.port, server.token))
    return subprocess.run([sys.executable, str(path)], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_spec_has_both_python_examples() -> None:
    websocket_example, http_example = python_examples()
    assert "create_connection" in websocket_example and "myCurrentImg.jpg" in websocket_example
    assert "requests.post" in http_example and "create_connection" not in http_example


def test_websocket_example_toggles_the_light(server: ServerProcess, tmp_path: Path) -> None:
    before = server.state("light0")["light0"]
    done = run_example(python_examples()[0], server, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "'cam0Exists': True" in done.stdout  # it printed the whole state
    deadline = time.monotonic() + 5
    while server.state("light0")["light0"] == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.state("light0")["light0"] is (not before)
    image = cv2.imread(str(tmp_path / "myCurrentImg.jpg"))
    assert image is not None and image.shape == (1080, 1920, 3)


def test_http_example_switches_the_light_off_and_pans(server: ServerProcess, tmp_path: Path) -> None:
    done = run_example(python_examples()[1], server, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "'light0': True" in done.stdout and "'record': 'stop'" in done.stdout
    assert server.state("light0", "pan0") == {"light0": False, "pan0": {"x": 30.0, "y": 20.0}}

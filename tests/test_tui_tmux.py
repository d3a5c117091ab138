"""roto-tui in tmux at 80x24, driven with send-keys and read with capture-pane, as a person would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server_process import ServerProcess

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (scripts/test.sh installs it)"
)


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "roto")

    def wait_for(self, text: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; the screen shows:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        time.sleep(0.5)  # a person's pace: the screen settles (focus, first paint) between keystrokes
        self.run("send-keys", "-t", "roto", *keys)

    def type(self, text: str) -> None:
        time.sleep(0.5)
        self.run("send-keys", "-t", "roto", "-l", text)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    session = Tmux(f"roto-test-{os.getpid()}")
    yield session
    session.run("kill-server")


def test_console_in_tmux_at_80x24(tmux: Tmux, server: ServerProcess) -> None:
    tui = Path(sys.executable).with_name("roto-tui")
    command = f"TERM=xterm-256color {tui} {server.base} --token {server.token}"
    tmux.run("new-session", "-d", "-s", "roto", "-x", "80", "-y", "24", command)
    shown = tmux.wait_for("● connected to")
    assert "Head 0" in shown and "rotation" in shown and "Recording" in shown and "Visual Backup" in shown
    assert "1 Overview" in shown and "q Quit" in shown  # the footer lists the keys
    assert all(len(line) <= 80 for line in shown.splitlines())
    tmux.keys("2")
    tmux.wait_for("cam0Exists")
    tmux.keys("/")
    tmux.type("sharp")
    tmux.keys("Enter")  # leave the filter for the table
    shown = tmux.wait_for("sharpness")
    assert "cam0Exists" not in shown
    server.get(sharpness="9")
    row = next(line for line in tmux.wait_for("sharpness").splitlines() if "sharpness" in line)
    deadline = time.monotonic() + 10
    while row.split()[1] != "9" and time.monotonic() < deadline:  # the HTTP change reaches the table
        time.sleep(0.1)
        row = next(line for line in tmux.screen().splitlines() if "sharpness" in line)
    assert row.split()[:2] == ["sharpness", "9"]
    tmux.keys("4")
    tmux.wait_for("backup")
    tmux.keys("b")  # Visual Backup on, from the gallery
    deadline = time.monotonic() + 10
    while server.state("backupActive")["backupActive"] is not True and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.state("backupActive") == {"backupActive": True}
    tmux.keys("q")
    deadline = time.monotonic() + 10
    while "roto" in tmux.run("list-sessions") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "roto:" not in tmux.run("list-sessions")

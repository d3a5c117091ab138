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

from tests.media_files import wait_for
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


def start(tmux: Tmux, command: str) -> None:
    tmux.run("new-session", "-d", "-s", "roto", "-x", "80", "-y", "24", f"TERM=xterm-256color {command}")


def roto_tui() -> Path:
    return Path(sys.executable).with_name("roto-tui")


def fits(shown: str) -> bool:
    return all(len(line) <= 80 for line in shown.splitlines())


def test_console_in_tmux_at_80x24(tmux: Tmux, tmp_path: Path) -> None:
    (tmp_path / "data" / "storages" / "usb").mkdir(parents=True)  # a second storage to switch to
    server = ServerProcess(tmp_path / "data")
    try:
        drive(tmux, server)
    finally:
        server.stop()


def drive(tmux: Tmux, server: ServerProcess) -> None:
    start(tmux, f"{roto_tui()} {server.base} --token {server.token}")
    shown = tmux.wait_for("connected to")
    assert "Head 0" in shown and "disc" in shown and "Recording" in shown and "Visual Backup" in shown
    assert "1-4 Screens" in shown and "? Keys" in shown and "q Quit" in shown  # the footer fits, keys included
    assert fits(shown)
    tmux.keys("/")  # search from the Overview: the State table with its filter focused
    tmux.wait_for("cam0Exists")
    tmux.type("sharp")
    tmux.keys("Enter")  # leave the filter for the table
    shown = tmux.wait_for("sharpness")
    assert "cam0Exists" not in shown and "Edge sharpening strength" in shown  # the detail panel
    server.get(sharpness="9")
    tmux.wait_for("sharpness")

    def sharpness_row() -> list[str]:
        return next(line for line in tmux.screen().splitlines() if "sharpness" in line).split()[:2]

    wait_for(lambda: sharpness_row() == ["sharpness", "9"], 10, "the HTTP change in the table")

    tmux.keys("4")
    tmux.wait_for("Visual Backup")
    tmux.keys("S")  # the storage for recordings: a list on the current one, then a question
    shown = tmux.wait_for("● internal")
    assert "usb" in shown
    tmux.keys("j", "Enter")
    shown = tmux.wait_for("Switch the recording storage from internal to usb?")
    assert fits(shown) and server.state("recordingStorage")["recordingStorage"]["name"] == "internal"
    tmux.keys("y")
    wait_for(lambda: server.state("recordingStorage")["recordingStorage"]["name"] == "usb", 10, "storage switched")
    tmux.wait_for("recordingStorage = usb")  # the outcome is shown
    tmux.keys("b")  # Visual Backup on: nothing to confirm
    wait_for(lambda: server.state("backupActive") == {"backupActive": True}, 10, "Visual Backup on")
    tmux.wait_for("BACKUP")  # the badge in the top line
    quit_console(tmux)


def quit_console(tmux: Tmux) -> None:
    tmux.keys("q")
    wait_for(lambda: "roto:" not in tmux.run("list-sessions"), 10, "the console quit")


def test_a_wrong_token_stops_and_says_what_to_do(tmux: Tmux, shared_server: ServerProcess) -> None:
    start(tmux, f"{roto_tui()} {shared_server.base} --token wrong")
    shown = tmux.wait_for("stopped retrying")
    assert "refused the credentials (HTTP 401)" in shown and "--token TOKEN" in shown and fits(shown)
    quit_console(tmux)

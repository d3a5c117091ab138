from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.inprocess import InProcessServer
from tests.media_files import SEGMENT
from tests.server_process import ServerProcess

# What the API tests use: the app in this process on a real socket (no interpreter start, no imports
# again); a module where the process is the subject asks for process_server / shared_process_server.
Server = InProcessServer | ServerProcess


@pytest.fixture
def server(tmp_path: Path) -> Iterator[InProcessServer]:
    """A fresh server with its own data folder, in this process."""
    app = InProcessServer(tmp_path / "data")
    yield app
    app.stop()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """One in-process server for a module's read-mostly tests."""
    app = InProcessServer(tmp_path_factory.mktemp("shared") / "data")
    yield app
    app.stop()


@pytest.fixture
def process_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A fresh roto-server process with its own data folder."""
    proc = ServerProcess(tmp_path / "data")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def shared_process_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One roto-server process for a module's read-mostly tests."""
    proc = ServerProcess(tmp_path_factory.mktemp("shared") / "data")
    yield proc
    proc.stop()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A storage root of the test's own, where storages (sticks) come and go."""
    return tmp_path / "media"


@pytest.fixture
def unit(tmp_path: Path, root: Path) -> Iterator[InProcessServer]:
    """A unit watching ``root``, with two-second Visual Backup files (the recording tests)."""
    server = InProcessServer(tmp_path / "data", args=[*SEGMENT, "--storage-root", str(root)])
    yield server
    server.stop()

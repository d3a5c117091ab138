"""roto-tui's command line, environment and saved connections."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from roto_tui.config import DEFAULT_URL, connections_file, parse
from roto_tui.render import ColourMode


def test_defaults_and_environment(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    assert parse([], env).connection.url == DEFAULT_URL
    conn = parse([], {**env, "ROTO_URL": "http://10.0.0.7:8080", "ROTO_TOKEN": "t"}).connection
    assert (conn.url, conn.token) == ("http://10.0.0.7:8080", "t")
    conn = parse(["http://h:1", "--user", "admin", "--password", "pw"], {**env, "ROTO_TOKEN": "t"}).connection
    assert (conn.url, conn.token, conn.user, conn.password) == ("http://h:1", None, "admin", "pw")
    config = parse(["--colours", "256", "--screen", "preview"], env)
    assert config.colours is ColourMode.PALETTE and config.screen == "preview"


def test_saved_connections(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    with pytest.raises(SystemExit) as done:
        parse(["http://10.0.0.7:8080", "--token", "secret", "--save", "cell7"], env)
    assert done.value.code == 0
    path = connections_file(env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    conn = parse(["cell7"], env).connection
    assert (conn.url, conn.token) == ("http://10.0.0.7:8080", "secret")
    with pytest.raises(SystemExit):
        parse(["--token", "t", "--user", "u"], env)  # one way of logging in at a time

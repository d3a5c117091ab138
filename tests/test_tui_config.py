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


def test_the_fleet_file(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    path = tmp_path / "roto" / "units.toml"
    path.parent.mkdir(parents=True)
    path.write_text('[[unit]]\nname = "cell7"\nurl = "http://10.0.0.7:8080"\ntoken = "t7"\n')
    config = parse([], env)
    assert config.fleet and [(u.name, u.url, u.token) for u in config.units] == [
        ("cell7", "http://10.0.0.7:8080", "t7")
    ]
    assert not parse(["http://10.0.0.9:8080"], env).fleet  # a URL on the command line wins over the file
    path.write_text('[[unit]]\nname = "cell7"\n')
    with pytest.raises(SystemExit, match="unit 1 needs a url"):
        parse([], env)
    path.write_text("[[unit]\n")
    with pytest.raises(SystemExit, match=r"units\.toml"):
        parse([], env)


def test_the_local_token_is_used_on_loopback_only_and_never_saved(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "credentials.json").write_text('{"apiToken": "local-secret", "adminPassword": "x"}')
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    local = ["--data-dir", str(data)]
    assert parse(["http://127.0.0.1:8080", *local], env).connection.token == "local-secret"
    assert parse(["http://localhost:8080", *local], env).connection.token == "local-secret"
    assert parse(["http://10.0.0.7:8080", *local], env).connection.token is None
    assert parse(["http://127.0.0.1:8080", "--token", "given", *local], env).connection.token == "given"
    assert parse(["http://127.0.0.1:8080", "--user", "admin", "--password", "p", *local], env).connection.token is None
    with pytest.raises(SystemExit):
        parse(["http://127.0.0.1:8080", "--save", "here", *local], env)
    assert "local-secret" not in connections_file(env).read_text()

"""One set of HTTP tests per catalogue variable, generated from the catalogue itself."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from roto_shared.catalogue import Variable, load_catalogue
from tests.server_process import ServerProcess

CAT = load_catalogue()
WRITABLE = [v for v in CAT.values() if v.writable]
READ_ONLY = [v for v in CAT.values() if not v.writable]
RANGED = [v for v in WRITABLE if v.type in ("integer", "number") and v.options is None and v.min is not None]

# Writes whose refusal depends on the device: each reason must say why.
REFUSED_FOR_NOW = {
    "recordingStorage": ("0000-unknown", "no storage with uuid"),
    "backupStorage": ("0000-unknown", "no storage with uuid"),
    "createTag": ({"creationTime": 1000.0}, "no backup file covers"),
}
# Triggers and selections that act on the device; their effects are tested in test_recording.py.
ACTIONS = {"record", "takePicture", "backupActive", "recordingStorage", "backupStorage", "createTag"}
# Switches and ports of running servers: a write opens or moves a listener (test_listeners.py covers them).
LISTENERS = {"httpOn", "httpsOn", "httpPort", "httpsPort"}


def user_for(var: Variable, server: ServerProcess) -> tuple[str, str]:
    return ("admin", server.admin_password) if var.write_role == "admin" else ("API-User", server.token)


def write(
    server: ServerProcess, var: Variable, value: Any, auth: tuple[str, str] | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    body = {**var.requires, var.name: value}
    res = requests.post(server.url("/api"), json=body, auth=auth or user_for(var, server), timeout=5)
    assert res.status_code == 200
    return res.json(), json.loads(res.headers.get("X-Roto-Notices", "[]"))


# A storage's space figures follow the disk, which other tests (other workers) fill and empty meanwhile.
LIVE_FIGURES = {"free", "freeStr", "used", "usedStr"}


def current(server: ServerProcess, name: str) -> Any:
    return server.post({"get": [name]}, auth=("admin", server.admin_password)).json()[name]


def steady(value: Any) -> Any:
    """``value`` without the figures that change on their own."""
    return {k: v for k, v in value.items() if k not in LIVE_FIGURES} if isinstance(value, dict) else value


def valid_value(var: Variable, now: Any) -> tuple[Any, Any]:
    """A value to write and the value expected back."""
    if var.type == "boolean":
        return (not now, not now)
    if var.options is not None:
        pick = next(o for o in var.options if o != now)
        return (pick, pick)
    if var.name.startswith("pan"):
        return ({"x": 1.5, "y": -2}, {"x": now["x"] + 1.5, "y": now["y"] - 2})
    if var.relative:
        return (100, now + 100)
    if var.type in ("integer", "number"):
        assert var.min is not None and var.max is not None
        mid = (var.min + var.max) / 2
        value = int(mid) if var.type == "integer" else mid
        if value == now:
            value = int(var.max) if var.type == "integer" else var.max
        return (value, value)
    if var.name == "userAuthentication":
        return ({"enabled": not now["enabled"]}, {"enabled": not now["enabled"]})
    if var.pattern == "timezone":
        zone = "Asia/Tokyo" if now == "Europe/Berlin" else "Europe/Berlin"
        return (zone, zone)
    if var.pattern == "host":
        return ("time.example.org", "time.example.org")
    return ("cell-7_A", "cell-7_A")


def wrong_type(var: Variable) -> Any:
    return {"boolean": "banana", "integer": "banana", "number": "banana", "string": 12345, "object": 5, "array": 5}[
        var.accepts
    ]


@pytest.mark.parametrize("var", [v for v in WRITABLE if v.name not in ACTIONS | LISTENERS], ids=lambda v: v.name)
def test_writable_variable_accepts_a_valid_value(shared_server: ServerProcess, var: Variable) -> None:
    value, expected = valid_value(var, current(shared_server, var.name))
    values, notices = write(shared_server, var, value)
    assert values[var.name] == expected, notices
    assert current(shared_server, var.name) == expected
    assert notices == []


@pytest.mark.parametrize("name", sorted(REFUSED_FOR_NOW))
def test_write_that_needs_storage_is_refused_with_a_reason(shared_server: ServerProcess, name: str) -> None:
    var = CAT[name]
    value, reason = REFUSED_FOR_NOW[name]
    before = current(shared_server, name) if var.readable else None
    values, notices = write(shared_server, var, value)
    assert len(notices) == 1 and reason in notices[0]["message"] and notices[0]["variable"] == name
    if var.readable:
        assert steady(values[name]) == steady(before) == steady(current(shared_server, name))


@pytest.mark.parametrize("var", [v for v in RANGED if v.name not in LISTENERS], ids=lambda v: v.name)
def test_out_of_range_value_is_clamped(shared_server: ServerProcess, var: Variable) -> None:
    assert var.min is not None and var.max is not None
    span = var.max - var.min
    values, notices = write(shared_server, var, var.max + span + 1000)
    assert values[var.name] == var.max and "clamped" in notices[-1]["message"]
    values, notices = write(shared_server, var, var.min - 2 * span - 1000)
    assert values[var.name] == var.min and "clamped" in notices[-1]["message"]


@pytest.mark.parametrize("name", ["pan0", "pan1"])
def test_pan_members_are_clamped(shared_server: ServerProcess, name: str) -> None:
    values, _ = write(shared_server, CAT[name], {"x": 500, "y": -500})
    assert values[name] == {"x": 100.0, "y": 0.0}


@pytest.mark.parametrize("var", WRITABLE, ids=lambda v: v.name)
def test_wrong_type_is_refused_without_change(shared_server: ServerProcess, var: Variable) -> None:
    before = current(shared_server, var.name) if var.readable else None
    values, notices = write(shared_server, var, wrong_type(var))
    assert [n["variable"] for n in notices] == [var.name]
    assert var.name in notices[0]["message"] and "expected" in notices[0]["message"]
    if var.readable:
        assert steady(values[var.name]) == steady(before) == steady(current(shared_server, var.name))


@pytest.mark.parametrize("var", READ_ONLY, ids=lambda v: v.name)
def test_read_only_variable_refuses_writes(shared_server: ServerProcess, var: Variable) -> None:
    values, notices = write(shared_server, var, wrong_type(var), auth=("admin", shared_server.admin_password))
    assert notices[0]["message"] == f"{var.name} is read-only"
    assert var.name in values


@pytest.mark.parametrize("var", [v for v in WRITABLE if v.write_role == "admin"], ids=lambda v: v.name)
def test_admin_variables_refuse_the_api_user(shared_server: ServerProcess, var: Variable) -> None:
    before = current(shared_server, var.name)
    value, _ = valid_value(var, before)
    values, notices = write(shared_server, var, value, auth=("API-User", shared_server.token))
    assert "needs the admin role" in notices[0]["message"]
    assert steady(current(shared_server, var.name)) == steady(before)
    assert var.name not in values or steady(values[var.name]) == steady(before)


def test_api_user_reads_everything_but_admin_secrets(shared_server: ServerProcess) -> None:
    api_user = set(shared_server.get().json())
    admin = set(requests.get(shared_server.url("/api"), auth=("admin", shared_server.admin_password), timeout=5).json())
    assert admin == {v.name for v in CAT.values() if v.readable}
    assert api_user == admin  # the operator role reads every variable; viewers get less (see test_store)

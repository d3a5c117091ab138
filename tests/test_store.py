"""The state store on its own: ordered apply, coercion, clamping, guards, events."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roto_server.device import rules
from roto_server.device.store import ChangeEvent, Get, Refused, Set, StateStore
from roto_shared.catalogue import load_catalogue

CAT = load_catalogue()


def make_store(heads: tuple[bool, bool] = (True, True)) -> StateStore:
    store = StateStore(CAT)
    rules.install(store)
    store.set_facts({"cam0Exists": heads[0], "cam1Exists": heads[1]})
    return store


def test_catalogue_lists_every_variable_of_the_spec_table() -> None:
    assert len(CAT) == 110
    assert next(iter(CAT)) == "cam0Exists" and list(CAT)[-1] == "createTag"
    for var in CAT.values():
        assert var.description and var.group, var.name
        if var.options is None and var.type in ("integer", "number") and var.writable:
            assert var.min is not None and var.max is not None, var.name


def test_ops_apply_in_written_order() -> None:
    store = make_store()
    first = store.apply([Set("whiteBalance", False), Set("redGain", 10)], "operator")
    assert first.values == {"whiteBalance": False, "redGain": 10}
    store.apply([Set("whiteBalance", True)], "operator")
    second = store.apply([Set("redGain", 20), Set("whiteBalance", False), Get("redGain")], "operator")
    assert second.values == {"redGain": 20, "whiteBalance": False}
    # written while whiteBalance was still on: kept, and the note says when it acts
    assert [(n.variable, n.level) for n in second.notices] == [("redGain", "info")]
    assert "takes effect when whiteBalance is false" in second.notices[0].message


def test_query_text_is_converted_to_catalogue_types() -> None:
    store = make_store()
    res = store.apply([Set("light0", "false"), Set("contrast", "1.5"), Set("gain", "7")], "operator", text=True)
    assert res.values == {"light0": False, "contrast": 1.5, "gain": 7}  # kept; acts once exposure is off
    res = store.apply([Set("exposure", "false"), Set("gain", "7"), Set("contrast", "1.5")], "operator", text=True)
    assert res.values == {"exposure": False, "gain": 7, "contrast": 1.5}


def test_out_of_range_numbers_are_clamped_with_a_notice() -> None:
    store = make_store()
    res = store.apply([Set("sharpness", 99)], "operator")
    assert res.values == {"sharpness": 15}
    assert res.notices and "clamped to 15" in res.notices[0].message


def test_pan_and_zoom_are_relative_and_answered_absolute() -> None:
    store = make_store()
    res = store.apply([Set("pan0", {"x": -10.5, "y": -10}), Set("zoom0", 20000)], "operator")
    assert res.values == {"pan0": {"x": 39.5, "y": 40.0}, "zoom0": 20000}
    res = store.apply([Set("pan0", {"x": 200}), Set("zoom0", 20000)], "operator")
    assert res.values == {"pan0": {"x": 100.0, "y": 40.0}, "zoom0": 31424}
    res = store.apply([Set("zoom0", -99999)], "operator")
    assert res.values == {"zoom0": 0}


def test_wrong_type_changes_nothing() -> None:
    store = make_store()
    before = store.snapshot("admin")
    res = store.apply([Set("light0", "banana"), Set("sharpness", [1]), Set("pan0", {"z": 1})], "operator")
    assert store.snapshot("admin") == before
    assert len(res.notices) == 3
    assert "pan0: unknown member(s) z" in res.notices[2].message


def test_head_variables_refused_when_the_head_is_missing() -> None:
    store = make_store(heads=(True, False))
    res = store.apply([Set("light1", False), Set("cameraSwitch", True), Set("pip", 2)], "operator")
    assert res.values == {"light1": True, "cameraSwitch": False, "pip": 0}
    assert [n.variable for n in res.notices] == ["light1", "cameraSwitch", "pip"]
    assert "not connected" in res.notices[0].message


def test_permissions_per_role() -> None:
    store = make_store()
    res = store.apply([Set("httpPort", 9000)], "operator")
    assert res.values == {"httpPort": 8080} and "admin" in res.notices[0].message
    assert store.apply([Set("httpPort", 9000)], "admin").values == {"httpPort": 9000}
    assert "userAuthentication" not in store.snapshot("viewer")
    assert store.apply([Get("userAuthentication"), Set("light0", False)], "viewer").values == {"light0": True}


def test_unknown_and_write_only_variables() -> None:
    store = make_store()
    res = store.apply([Get("nonsense"), Set("jpeg", True), Get("takePicture")], "admin")
    assert res.values == {} and res.notices == []
    res = store.apply([Set("takePicture", True)], "admin")
    assert res.values == {"takePicture": False} and "not available" in res.notices[0].message


def test_read_only_variables_refuse_writes() -> None:
    store = make_store()
    res = store.apply([Set("cam0Exists", False), Set("RPM0", 5)], "admin")
    assert res.values == {"cam0Exists": True, "RPM0": 0}
    assert all("read-only" in n.message for n in res.notices)


def test_change_events_carry_only_changes() -> None:
    store = make_store()
    seen: list[ChangeEvent] = []
    store.subscribe(seen.append)
    store.apply([Set("light0", True), Set("light1", False)], "operator")
    assert [dict(e.changes) for e in seen] == [{"light1": False}]


def test_handler_refusal_leaves_value() -> None:
    store = make_store()

    def no_storage(value: Any) -> Any:
        raise Refused("record: no storage")

    store.set_handler("record", no_storage)
    res = store.apply([Set("record", "start")], "operator")
    assert res.values == {"record": "stop"} and res.notices[0].message == "record: no storage"


def test_dependent_settings_are_kept_and_act_once_the_switch_is_off() -> None:
    store = make_store()
    res = store.apply([Set("brightness", 3), Set("expo", 20.0), Set("blueGain", -9)], "operator")
    assert res.values == {"brightness": 3, "expo": 20.0, "blueGain": -9}
    assert [n.message for n in res.notices] == [
        "brightness: kept; takes effect when exposure is false",
        "expo: kept; takes effect when exposure is false",
        "blueGain: kept; takes effect when whiteBalance is false",
    ]
    assert all(n.level == "info" for n in res.notices) and res.changes == res.values
    quiet = store.apply([Set("exposure", False), Set("brightness", 4)], "operator")
    assert quiet.notices == [] and store["brightness"] == 4


def test_an_unexpected_error_in_one_write_keeps_the_others_and_announces_them() -> None:
    store = make_store()
    seen: list[ChangeEvent] = []
    store.subscribe(seen.append)

    def broken(value: Any) -> Any:
        raise RuntimeError("a bug in a setter")

    store.set_handler("changePostName", broken)
    res = store.apply([Set("light0", False), Set("changePostName", "x"), Set("sharpness", 7)], "operator")
    assert res.values == {"light0": False, "changePostName": "", "sharpness": 7}
    assert [(n.variable, n.level) for n in res.notices] == [("changePostName", "error")]
    assert "see the server log" in res.notices[0].message
    assert [dict(e.changes) for e in seen] == [{"light0": False, "sharpness": 7}]


def test_check_reports_refusals_without_applying_anything() -> None:
    store = make_store(heads=(True, False))
    ops = [Set("light0", False), Set("cameraSwitch", True), Set("pip", 9), Set("httpPort", 8080), Get("light0")]
    refused = store.check(ops, "operator")
    assert [n.variable for n in refused] == ["cameraSwitch", "pip", "httpPort"]
    assert store["light0"] is True and store.check([Set("brightness", 3)], "operator") == []


def test_record_transitions() -> None:
    assert rules.record_transition("start", "release") == "start"
    assert rules.record_transition("pause", "release") == "start"
    assert rules.record_transition("start", "pause") == "pause"
    with pytest.raises(Refused):
        rules.record_transition("stop", "pause")


WRITABLE = [v for v in CAT.values() if v.writable and v.readable]
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.sampled_from(["x", "y", "enabled", "z"]), st.floats(-500, 500), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(WRITABLE), JUNK, st.booleans()), max_size=20))
def test_any_write_sequence_keeps_every_value_valid(writes: list[Any]) -> None:
    store = make_store()
    for var, raw, text in writes:
        store.apply([Set(var.name, str(raw) if text else raw)], "admin", text=text)
    for var in WRITABLE:
        value = store[var.name]
        if var.options is not None:
            assert value in var.options, var.name
        if var.type in ("integer", "number") and var.min is not None:
            assert var.min <= value <= var.max, var.name  # type: ignore[operator]
        if var.type == "integer":
            assert isinstance(value, int) and not isinstance(value, bool), var.name
        if var.type == "boolean":
            assert isinstance(value, bool), var.name
        for key, spec in var.fields.items():
            if spec.min is not None and key in value:
                assert spec.min <= value[key] <= spec.max, var.name  # type: ignore[operator]


def test_docs_state_table_is_generated_from_the_catalogue() -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "catalogue_table.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_read_answers_what_apply_answers_for_reads_alone() -> None:
    store = make_store()
    events: list[ChangeEvent] = []
    store.subscribe(events.append)
    names = ["pan0", "nonsense", "userAuthentication", "takePicture", "light0", "pan0"]
    for role in ("viewer", "operator", "admin"):
        expected = store.apply([Get(n) for n in names], role).values
        assert store.read(names, role) == expected and list(store.read(names, role)) == list(expected)
    assert "userAuthentication" not in store.read(names, "viewer") and "light0" in store.read(names, "viewer")
    assert events == []

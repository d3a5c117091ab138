"""Which writes have consequences an operator should confirm first, and how to ask. No Textual."""

from __future__ import annotations

from typing import Any


def _storage_name(state: dict[str, Any], uid: Any) -> str:
    known = {**state.get("diskStorages", {}), **state.get("netStorages", {})}
    return str(known.get(uid, {}).get("name", uid))


def question(changes: dict[str, Any], state: dict[str, Any]) -> str | None:
    """The question to ask before sending ``changes``, or None when they are harmless."""
    asks = []
    recording = state.get("record", "stop") != "stop"
    if changes.get("record") == "stop" and recording:
        asks.append(f"Stop the recording ({state.get('recordTime', 0)} s so far)?")
    if changes.get("backupActive") is False and state.get("backupActive"):
        asks.append("Turn Visual Backup off? Nothing goes into the ring buffer until it is on again.")
    for key, role in (("recordingStorage", "recording"), ("backupStorage", "Visual Backup")):
        if key in changes and changes[key] != (state.get(key) or {}).get("uuid"):
            before = (state.get(key) or {}).get("name", "none")
            asks.append(f"Switch the {role} storage from {before} to {_storage_name(state, changes[key])}?")
    if "cameraSwitch" in changes and bool(changes["cameraSwitch"]) != bool(state.get("cameraSwitch")) and recording:
        asks.append(f"Switch to head {int(bool(changes['cameraSwitch']))} while recording? The file changes view.")
    return " ".join(asks) or None


def outcome(values: dict[str, Any], answer: dict[str, Any]) -> str:
    """A short line saying what the device now holds for each written variable."""
    parts = []
    for name in values:
        kept = answer.get(name, values[name])
        if isinstance(kept, dict) and "name" in kept:
            kept = kept["name"]
        elif isinstance(kept, bool):
            kept = "on" if kept else "off"
        parts.append(f"{name} = {kept}")
    return ", ".join(parts)

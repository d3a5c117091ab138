"""What an operator must not miss, derived from the state mirror and the device's notifications.

Pure functions and a small memory of the reasons the device gave; no Textual. An alarm lasts
while its cause does: a stopped Visual Backup clears when backup runs again, a stopped recording
when a new one starts, a storage alarm when the storage is back or has room.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from roto_shared.alarms import HEAD_TEMPERATURE_BAND_C, head_temperature_alarm, storage_full
from roto_tui.client import Notification

AIR_TOLERANCE_MBAR = 100.0  # sealing air this far from its set point lets coolant in
DISC_TOLERANCE = 0.10  # a disc this far (fraction) from its set point does not clear the window
REASON_WAIT_S = 5.0  # a storage notification may come before or after the state change it explains
DISC_GRACE_S = 5.0  # a disc spinning up or coasting down is off its set point for ~2 s: not an alarm yet
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Alarm:
    key: str
    text: str
    level: str = "error"  # or "warning"


def number(value: Any) -> float | None:
    """The number in a reading such as '38.4°C' or '1148mbar' (None when there is none)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    match = _NUMBER.search(str(value or ""))
    return float(match.group()) if match else None


class AlarmWatch:
    """Remembers why the device stopped something, until the cause is resolved."""

    def __init__(self) -> None:
        self.reasons: dict[str, str] = {}
        self.disc_off_since: dict[str, float] = {}
        self.storage_names: dict[str, str] = {}  # a lost storage is described by its uuid only
        self.storage_noted = 0.0

    def note(self, event: Notification) -> None:
        if event.level != "error" and event.variable in ("backupActive", "record"):
            return
        if event.variable == "backupActive":
            self.reasons["backup"] = event.message
        elif event.variable == "record":
            self.reasons["record"] = event.message
        elif event.variable is None and "storage" in event.message:
            self.reasons["storage"] = event.message
            self.storage_noted = time.monotonic()

    def changed(self, changes: dict[str, Any]) -> None:
        """Forget a reason once its cause is resolved: backup or recording running again.

        Only a change clears it, never the state as it stands: the device may send the
        notification a moment before the change that goes with it."""
        for key in ("diskStorages", "netStorages"):
            for uid, disk in (changes.get(key) or {}).items():
                self.storage_names[uid] = str(disk.get("name", uid))
        if changes.get("backupActive"):
            self.reasons.pop("backup", None)
        if changes.get("record", "stop") != "stop":
            self.reasons.pop("record", None)

    def current(self, state: dict[str, Any], now: float | None = None) -> list[Alarm]:
        now = time.monotonic() if now is None else now
        alarms = storage_alarms(state, self.reasons.get("storage"), self.storage_names)
        if not alarms and now - self.storage_noted > REASON_WAIT_S:
            self.reasons.pop("storage", None)
        if "backup" in self.reasons and not state.get("backupActive"):
            alarms.append(Alarm("backup", self.reasons["backup"]))
        if "record" in self.reasons and state.get("record", "stop") == "stop":
            alarms.append(Alarm("record", self.reasons["record"]))
        for head in (0, 1):
            if state.get(f"cam{head}Exists"):
                alarms += self._lasting(head, head_alarms(state, head), now)
        return alarms

    def _lasting(self, head: int, alarms: list[Alarm], now: float) -> list[Alarm]:
        """The disc alarm only once the disc has stayed off its set point for DISC_GRACE_S."""
        key = f"disc{head}"
        if not any(a.key == key for a in alarms):
            self.disc_off_since.pop(key, None)
            return alarms
        since = self.disc_off_since.setdefault(key, now)
        return [a for a in alarms if a.key != key or now - since >= DISC_GRACE_S]


def storage_alarms(state: dict[str, Any], reason: str | None, names: dict[str, str] | None = None) -> list[Alarm]:
    known = {**state.get("diskStorages", {}), **state.get("netStorages", {})}
    alarms = []
    for key, role in (("recordingStorage", "recording"), ("backupStorage", "backup")):
        chosen = state.get(key) or {}
        uid = chosen.get("uuid")
        if not uid:
            continue
        disk = known.get(uid)
        name = chosen.get("name") or (names or {}).get(uid, uid)
        if disk is None or not disk.get("available", True):
            alarms.append(Alarm(f"storage.{role}", f"{role} storage {name} lost" + (f": {reason}" if reason else "")))
        elif disk.get("total") and storage_full(int(disk.get("free", 0)), int(disk["total"])):
            alarms.append(Alarm(f"storage.{role}", f"{role} storage {name} full ({disk.get('freeStr', '')} free)"))
    return alarms


def head_alarms(state: dict[str, Any], head: int) -> list[Alarm]:
    alarms = []
    temp = number(state.get(f"oct{head}"))
    low, high = HEAD_TEMPERATURE_BAND_C
    if temp is not None and head_temperature_alarm(state.get(f"oct{head}")):
        alarms.append(Alarm(f"temp{head}", f"head {head} temperature {temp:g} °C (band {low:g}–{high:g} °C)"))
    air, wanted = number(state.get(f"psi{head}")), number(state.get("psiSetpoint"))
    if air is not None and wanted is not None and abs(air - wanted) > AIR_TOLERANCE_MBAR:
        alarms.append(Alarm(f"air{head}", f"head {head} sealing air {air:g} mbar (set {wanted:g} mbar)"))
    if state.get(f"dictRotation{head}"):
        speed, target = number(state.get(f"RPM{head}")), number(state.get(f"rpm{head}"))
        if speed is not None and target and abs(speed - target) > DISC_TOLERANCE * target:
            alarms.append(Alarm(f"disc{head}", f"head {head} disc {speed:g} rpm (set {target:g} rpm)", "warning"))
    return alarms

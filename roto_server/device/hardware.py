"""The camera heads and control-box sensors, behind an interface a real driver can implement.

:class:`SimulatedHardware` is the embedded default: two heads whose temperatures,
disc speeds and sealing air behave like the real thing (slow thermal drift, a
speed ramp towards the set point, pressure wandering around its set point).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

PSI_SETPOINT_MBAR = 1150
RPM_SETPOINT = 3000
RPM_RAMP_PER_S = 1500.0  # how fast the disc motor speeds up or coasts down


class Hardware(Protocol):
    """What the control unit needs from its hardware."""

    def read(self, now: float, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Current readings as catalogue variables, given the live settings (lights, rotation)."""
        ...


@dataclass
class _Head:
    index: int
    present: bool
    sensors: int  # optical sensors fitted: 1 or 2
    temp_c: float = 31.0
    rpm: float = 0.0
    psi: float = float(PSI_SETPOINT_MBAR)


class SimulatedHardware:
    """Physics-flavoured simulation of up to two heads and the control box."""

    def __init__(self, heads: tuple[bool, bool] = (True, True), seed: int | None = None) -> None:
        self._rng = random.Random(seed)
        # head 0 is a dual-sensor head, head 1 a single-sensor one (so its sensor 1 mirrors)
        self._heads = [_Head(0, heads[0], 2), _Head(1, heads[1], 1)]
        self._last: float | None = None
        self._fpga = 48.0

    def head_sensors(self, index: int) -> int:
        return self._heads[index].sensors if self._heads[index].present else 0

    def read(self, now: float, settings: Mapping[str, Any]) -> dict[str, Any]:
        dt = 0.0 if self._last is None else max(0.0, min(now - self._last, 5.0))
        self._last = now
        facts: dict[str, Any] = {}
        for head in self._heads:
            self._step(head, dt, settings)
            facts.update(self._facts(head))
        self._fpga += (52.0 - self._fpga) * min(1.0, dt / 120.0) + self._rng.gauss(0, 0.05)
        facts["fpgaTemp"] = f"{self._fpga:.1f}°C"
        facts["psiSetpoint"] = f"{PSI_SETPOINT_MBAR}mbar"
        facts.update(hdmiConnected=False, hdmiName="", downstat="idle", fmVersion="roto-sim 1.0.0")
        facts["licenseModules"] = ["API", "VisualBackup", "Recording"]
        facts["licenseConfig"] = [{"feature": "heads", "value": sum(h.present for h in self._heads)}]
        return facts

    def _step(self, head: _Head, dt: float, settings: Mapping[str, Any]) -> None:
        if not head.present:
            return
        i = head.index
        spinning = bool(settings.get(f"dictRotation{i}", False))
        target_rpm = RPM_SETPOINT if spinning else 0.0
        step = RPM_RAMP_PER_S * dt
        head.rpm += max(-step, min(step, target_rpm - head.rpm))
        # the lamp and the motor warm the head; it settles with a time constant of ~1 min
        target_t = 31.0 + (9.0 if settings.get(f"light{i}") else 0.0) + (4.0 if spinning else 0.0)
        head.temp_c += (target_t - head.temp_c) * (1 - math.exp(-dt / 60.0)) + self._rng.gauss(0, 0.03)
        # sealing air wanders around its set point and is pulled back to it
        head.psi += (PSI_SETPOINT_MBAR - head.psi) * min(1.0, dt / 4.0) + self._rng.gauss(0, 6.0) * math.sqrt(dt)

    def _facts(self, head: _Head) -> dict[str, Any]:
        i = head.index
        sensor_rate = ("60", "60" if head.sensors == 2 else "0") if head.present else ("0", "0")
        measured = round(head.rpm + (self._rng.gauss(0, 4) if head.rpm > 1 else 0))
        return {
            f"cam{i}Exists": head.present,
            f"lineRate{'AB'[i]}": "2.5 Gbit/s" if head.present else "",
            f"ver{i}": f"roto-sim head rev C / fw 2.7.{12 + i}" if head.present else "",
            f"rpm{i}": RPM_SETPOINT if head.present else 0,
            f"RPM{i}": max(0, measured) if head.present else 0,
            f"oct{i}": f"{head.temp_c:.1f}°C" if head.present else "",
            f"psi{i}": f"{round(head.psi)}mbar" if head.present else "0mbar",
            f"cfg3{i}": sensor_rate[0],
            f"cfg4{i}": sensor_rate[1],
        }

"""PTZ presets: a few named positions, kept in a small JSON file next to the settings."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from roto_server.protocols.soap.envelope import Fault

log = logging.getLogger("roto.onvif")


@dataclass(frozen=True)
class Position:
    pan: float  # -1..1
    tilt: float  # -1..1
    zoom: float  # 0..1


@dataclass(frozen=True)
class Preset:
    name: str
    position: Position


class Presets:
    """The presets; ``pending()`` hands the bytes to save to whoever may do file I/O."""

    LIMIT = 32

    def __init__(self, presets: dict[str, Preset] | None = None) -> None:
        self._presets = presets or {}
        self._dirty = False

    def items(self) -> Iterator[tuple[str, Preset]]:
        return iter(sorted(self._presets.items()))

    def get(self, token: str | None) -> Preset:
        if token is None or token not in self._presets:
            raise Fault("ter:NoToken", f"PresetToken {token!r} is unknown")
        return self._presets[token]

    def set(self, token: str | None, name: str | None, position: Position) -> str:
        if token is not None and token not in self._presets:
            raise Fault("ter:NoToken", f"PresetToken {token!r} is unknown; leave it out to create a preset")
        if token is None:
            if len(self._presets) >= self.LIMIT:
                raise Fault("ter:TooManyPresets", f"at most {self.LIMIT} presets; remove one first")
            token = next(f"preset{i}" for i in range(1, self.LIMIT + 2) if f"preset{i}" not in self._presets)
        name = name if name is not None else token
        if not name or len(name) > 64:
            raise Fault("ter:InvalidPresetName", "PresetName: 1 to 64 characters")
        self._presets[token] = Preset(name, position)
        self._dirty = True
        return token

    def remove(self, token: str | None) -> None:
        self.get(token)
        del self._presets[str(token)]
        self._dirty = True

    def pending(self) -> bytes | None:
        """What to write, once, after a change."""
        if not self._dirty:
            return None
        self._dirty = False
        data = {
            t: {"name": p.name, "pan": p.position.pan, "tilt": p.position.tilt, "zoom": p.position.zoom}
            for t, p in self._presets.items()
        }
        return json.dumps(data, indent=1).encode()

    @classmethod
    def load(cls, path: Path) -> Presets:
        """The stored presets; a damaged file is moved aside (``.damaged``) and the unit starts without."""
        if not path.exists():
            return cls()
        try:
            return cls(_parse(json.loads(path.read_bytes())))
        except (ValueError, TypeError, KeyError) as exc:
            aside = path.with_suffix(path.suffix + ".damaged")
            path.replace(aside)
            log.warning("PTZ presets in %s are damaged (%s); moved to %s", path, exc, aside)
            return cls()


def _parse(data: object) -> dict[str, Preset]:
    if not isinstance(data, dict) or len(data) > Presets.LIMIT:
        raise ValueError("not an object of at most 32 presets")
    out = {}
    for token, entry in data.items():
        if not isinstance(entry, dict) or not isinstance(entry["name"], str):
            raise ValueError(f"preset {token!r} is malformed")
        values = [entry["pan"], entry["tilt"], entry["zoom"]]
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
            raise ValueError(f"preset {token!r} has a non-numeric position")
        pan, tilt, zoom = (float(v) for v in values)
        if not (-1 <= pan <= 1 and -1 <= tilt <= 1 and 0 <= zoom <= 1):
            raise ValueError(f"preset {token!r} is out of range")
        out[str(token)] = Preset(entry["name"], Position(pan, tilt, zoom))
    return out

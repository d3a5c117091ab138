"""Limits that make a reading an alarm, shared by the server's events and the console's alarms.

The vendor documents no limits; these are roto's choices (the spec's own example shows a working
head at 69.7 °C, so the upper limit sits just above it).
"""

from __future__ import annotations

HEAD_TEMPERATURE_BAND_C = (5.0, 70.0)  # a head outside this band fogs up or overheats


def celsius(reading: object) -> float | None:
    """A temperature reading such as "38.4°C" as a number; None when there is no reading."""
    try:
        return float(str(reading).replace("°C", "").strip())
    except ValueError:
        return None


def head_temperature_alarm(reading: object) -> bool:
    """Whether a head's temperature reading lies outside the band (no reading is no alarm)."""
    value = celsius(reading)
    low, high = HEAD_TEMPERATURE_BAND_C
    return value is not None and not low <= value <= high


STORAGE_FULL_FRACTION = 0.02  # less free space than this share of the storage is full
STORAGE_FULL_BYTES = 100 * 1024 * 1024  # and less than this is full however large the storage


def storage_full(free: int, total: int) -> bool:
    """Whether a storage has too little room left to record on."""
    return free < STORAGE_FULL_BYTES or (total > 0 and free < STORAGE_FULL_FRACTION * total)

"""File names of pictures, recordings and backup segments."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path


def file_name(prefix: str, postfix: str, when: float, extension: str) -> str:
    """prefix, local date and time, postfix: e.g. cell7_2024-05-01_13-45-00_A.mkv (empty parts left out)."""
    stamp = datetime.fromtimestamp(when).strftime("%Y-%m-%d_%H-%M-%S")
    return "_".join(p for p in (prefix, stamp, postfix) if p) + extension


def unused(folder: Path, name: str) -> Path:
    """``folder/name``, or with a counter before the extension if that file exists already."""
    path = folder / name
    counter = 1
    while path.exists():
        path = folder / f"{Path(name).stem}-{counter}{Path(name).suffix}"
        counter += 1
    return path

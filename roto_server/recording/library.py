"""The recording library: every manual recording, backup file and tag on every connected storage,
under one id scheme, listed and opened the same way for every API.

Ids are ``<storage uuid>.<kind>.<ref>``: kind ``r`` (manual recording; ref is the file name in
unpadded URL-safe base64), ``b`` (backup file; ref is its row number in the storage's index) or
``t`` (tag; its row number). Uuids, base64 and numbers are URL-safe, and an id never becomes a
path: it names a storage and a row or a name that then passes the safe open of ``safe_files``.
File and index I/O runs in worker threads so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import errno
import logging
import os
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roto_server.device.storage import Storage, StorageService

from .index import BackupIndex, TagRow
from .indexes import IndexShelf
from .safe_files import NotServable, entry_refusal, folder_refusal, open_regular, regular_files

log = logging.getLogger("roto.library")
RECORDING_EXTENSION = ".mkv"
MIME = {".mkv": "video/x-matroska", ".jpg": "image/jpeg"}
_NUMBER = re.compile(r"[0-9]{1,18}")  # ASCII digits below 2^63: SQLite's integer range
_BASE64 = re.compile(r"[A-Za-z0-9_-]{1,400}")
REPORTED_MAX = 10_000  # a stick with a million crafted rows must not grow the memory of what was logged


class NotFound(Exception):
    """No servable file or tag has this id (the message says which id, never why)."""


@dataclass(frozen=True)
class Problem:
    """Why part of a storage is left out of the listings."""

    storage: Storage
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"storage": {"uuid": self.storage.uuid, "name": self.storage.name}, "reason": self.reason}


@dataclass(frozen=True)
class Entry:
    """A manual recording (``kind`` "recording") or a backup file ("backup")."""

    id: str
    kind: str
    name: str
    size: int
    start: float
    end: float
    complete: bool
    storage: Storage
    tags: tuple[TagRow, ...] = ()

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass
class Listing:
    entries: list[Entry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class OpenFile:
    """An open, checked regular file; whoever serves it closes it."""

    fd: int
    size: int
    name: str

    @property
    def mime(self) -> str:
        return MIME.get(os.path.splitext(self.name)[1], "application/octet-stream")

    def close(self) -> None:
        os.close(self.fd)


def make_id(storage: Storage, kind: str, ref: int | str) -> str:
    if kind == "r":
        ref = base64.urlsafe_b64encode(str(ref).encode()).decode().rstrip("=")
    return f"{storage.uuid}.{kind}.{ref}"


class RecordingLibrary:
    def __init__(self, storages: StorageService, shelf: IndexShelf) -> None:
        self._storages = storages
        self._shelf = shelf
        self._reported: set[tuple[str, str, str]] = set()  # (uuid, what, reason) already logged

    # -- listing -----------------------------------------------------------------------------
    async def backup_files(
        self, since: float | None = None, until: float | None = None, tagged_only: bool = False
    ) -> Listing:
        return await self._in_thread(self._list, False, since, until, tagged_only)

    async def everything(self) -> Listing:
        """Manual recordings and backup files of every storage, newest first."""
        listing = await self._in_thread(self._list, True, None, None, False)
        listing.entries.sort(key=lambda e: e.start, reverse=True)
        return listing

    async def tags(self) -> Listing:
        """The backup files that carry tags, each with its tags."""
        return await self.backup_files(tagged_only=True)

    def tag_id(self, entry: Entry, tag: TagRow) -> str:
        return make_id(entry.storage, "t", tag.id)

    def file_id(self, storage: Storage, row_id: int) -> str:
        return make_id(storage, "b", row_id)

    # -- opening -----------------------------------------------------------------------------
    async def open(self, item_id: str) -> OpenFile:
        """The file named by an id from any listing, opened safely; NotFound otherwise."""
        return await self._in_thread(self._open, item_id)

    async def remove_tag(self, tag_id: str) -> bool:
        try:
            storage, kind, ref = self._parse(tag_id)
        except NotFound:
            return False
        if kind != "t":
            return False
        return bool(await self._in_thread(self._query, storage, lambda index: index.remove_tag(int(ref)), False))

    # -- the work, in worker threads -----------------------------------------------------------
    async def _in_thread(self, func: Any, *args: Any) -> Any:
        try:
            return await asyncio.to_thread(func, *args)
        finally:
            self._shelf.announce_untold()

    def _list(self, manual: bool, since: float | None, until: float | None, tagged_only: bool) -> Listing:
        listing = Listing()
        for storage in list(self._storages.storages.values()):
            if manual:
                listing.entries += self._recordings(storage, listing)
            listing.entries += self._backup_files(storage, listing, since, until, tagged_only)
        return listing

    def _backup_files(
        self, storage: Storage, listing: Listing, since: float | None, until: float | None, tagged_only: bool
    ) -> list[Entry]:
        rows = self._query(storage, lambda index: _rows(index, since, until, tagged_only), None)
        if rows is None:
            if storage.uuid in self._shelf.problems:
                listing.problems.append(Problem(storage, self._shelf.problems[storage.uuid]))
            return []
        folder = self._folder(storage, "backup", listing)
        if folder is None:
            return []
        present = regular_files(folder)
        prefix = self.file_id(storage, 0)[:-1]  # the id without its number, built once for 100 000 rows
        return [
            Entry(
                f"{prefix}{row.id}",
                "backup",
                row.name,
                row.size,
                row.start,
                row.end,
                row.complete,
                storage,
                tuple(tags),
            )
            for row, tags in rows
            if self._servable(storage, folder, row.name, present)
        ]

    def _recordings(self, storage: Storage, listing: Listing) -> list[Entry]:
        folder = self._folder(storage, "recordings", listing)
        if folder is None:
            return []
        present = regular_files(folder)
        try:
            names = sorted(n for n in os.listdir(folder) if n.endswith(RECORDING_EXTENSION))
        except OSError:  # no recordings yet, or the medium failed: nothing to list
            return []
        out = []
        for name in names:
            if self._servable(storage, folder, name, present):
                try:
                    info = present[name].stat(follow_symlinks=False)
                except OSError:
                    continue
                entry_id = make_id(storage, "r", name)
                out.append(
                    Entry(entry_id, "recording", name, info.st_size, info.st_mtime, info.st_mtime, True, storage)
                )
        return out

    def _folder(self, storage: Storage, kind: str, listing: Listing) -> Path | None:
        """The storage's ``kind`` folder when it is safe to list, else None with the problem noted."""
        reason = folder_refusal(storage, kind)
        if reason is None:
            return storage.folder(kind)
        listing.problems.append(Problem(storage, reason))
        self._report(storage, kind, reason)
        return None

    def _servable(self, storage: Storage, folder: Path, name: str, present: dict[str, Any]) -> bool:
        """Whether a listed name passes the safe open's checks (``present``: the folder's regular files)."""
        if name in present:  # a directory entry is a plain name by construction: no /, NUL, . or ..
            return True
        reason = entry_refusal(folder, name)
        if reason is not None and reason != "missing":  # a file deleted a moment ago is no news
            self._report(storage, f"{folder.name} entry {name!r}", reason)
        return False

    def _report(self, storage: Storage, what: str, reason: str) -> None:
        """One log line per thing left out, not one per listing."""
        key = (storage.uuid, what, reason)
        if key not in self._reported:
            if len(self._reported) >= REPORTED_MAX:
                self._reported.clear()
            self._reported.add(key)
            log.warning("%s (%s): %s not served: %s", storage.name, storage.uuid, what, reason)

    def _query(self, storage: Storage, read: Any, otherwise: Any) -> Any:
        index = self._shelf.get(storage, create=False)
        if index is None:
            return otherwise
        try:
            return read(index)
        except sqlite3.DatabaseError as exc:  # damage found only now: leave this storage out, keep serving
            self._shelf.damaged(storage, exc)
            return otherwise

    def _open(self, item_id: str) -> OpenFile:
        storage, kind, ref = self._parse(item_id)
        if kind == "r":
            folder, name = "recordings", ref
        elif kind == "b":
            row = self._query(storage, lambda index: index.file(int(ref)), None)
            if row is None:
                raise NotFound(item_id)
            folder, name = "backup", row.name
        else:
            raise NotFound(item_id)
        try:
            fd, info = open_regular(storage, folder, name)
        except NotServable as exc:
            if str(exc) != os.strerror(errno.ENOENT):
                self._report(storage, f"{folder} entry {name!r}", str(exc))
            raise NotFound(item_id) from None
        return OpenFile(fd, info.st_size, name)

    def _parse(self, item_id: str) -> tuple[Storage, str, str]:
        """(storage, kind, ref) of a well-formed id of a connected storage; NotFound otherwise."""
        parts = item_id.rsplit(".", 2)
        if len(parts) != 3:
            raise NotFound(item_id)
        uid, kind, ref = parts
        storage = self._storages.storages.get(uid)
        if storage is None:
            raise NotFound(item_id)
        if kind in ("b", "t") and _NUMBER.fullmatch(ref):
            return storage, kind, ref
        if kind == "r" and _BASE64.fullmatch(ref):
            try:
                name = base64.urlsafe_b64decode(ref + "=" * (-len(ref) % 4)).decode("utf-8")
            except (binascii.Error, ValueError):
                raise NotFound(item_id) from None
            return storage, kind, name
        raise NotFound(item_id)


def _rows(
    index: BackupIndex, since: float | None, until: float | None, tagged_only: bool
) -> list[tuple[Any, list[TagRow]]]:
    by_file: dict[int, list[TagRow]] = {}
    for tag in index.tags():
        by_file.setdefault(tag.file_id, []).append(tag)
    return [(row, by_file.get(row.id, [])) for row in index.files(since, until, tagged_only)]

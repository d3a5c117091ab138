"""The Visual Backup index: segment files and their tags, in SQLite on the backup storage itself.

Kept beside the files (``roto/backup/index.sqlite3``) so a stick moved to another unit keeps
its tags. Every change is one transaction; WAL journaling keeps the database consistent
when the process is killed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roto_server.device.capacity import ONE_HOUR

# Totals are kept by triggers in the same transaction as every change, so reading them
# costs O(1) however many files there are (a SUM over 100,000 rows took ~60 ms).
SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    start REAL NOT NULL,
    end REAL NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    complete INTEGER NOT NULL DEFAULT 0,
    tags INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS files_by_start ON files (start);
CREATE INDEX IF NOT EXISTS deletable_by_start ON files (start) WHERE complete = 1 AND tags = 0;
CREATE TABLE IF NOT EXISTS totals (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    seconds REAL NOT NULL,
    free_seconds REAL NOT NULL,
    free_bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO totals VALUES (0, 0, 0, 0);
CREATE TRIGGER IF NOT EXISTS files_added AFTER INSERT ON files BEGIN
    UPDATE totals SET seconds = seconds + (NEW.end - NEW.start),
        free_seconds = free_seconds + IIF(NEW.complete = 1 AND NEW.tags = 0, NEW.end - NEW.start, 0),
        free_bytes = free_bytes + IIF(NEW.complete = 1 AND NEW.tags = 0, NEW.size, 0);
END;
CREATE TRIGGER IF NOT EXISTS files_removed AFTER DELETE ON files BEGIN
    UPDATE totals SET seconds = seconds - (OLD.end - OLD.start),
        free_seconds = free_seconds - IIF(OLD.complete = 1 AND OLD.tags = 0, OLD.end - OLD.start, 0),
        free_bytes = free_bytes - IIF(OLD.complete = 1 AND OLD.tags = 0, OLD.size, 0);
END;
CREATE TRIGGER IF NOT EXISTS files_changed AFTER UPDATE ON files BEGIN
    UPDATE totals SET seconds = seconds - (OLD.end - OLD.start) + (NEW.end - NEW.start),
        free_seconds = free_seconds - IIF(OLD.complete = 1 AND OLD.tags = 0, OLD.end - OLD.start, 0)
                                    + IIF(NEW.complete = 1 AND NEW.tags = 0, NEW.end - NEW.start, 0),
        free_bytes = free_bytes - IIF(OLD.complete = 1 AND OLD.tags = 0, OLD.size, 0)
                                + IIF(NEW.complete = 1 AND NEW.tags = 0, NEW.size, 0);
END;
CREATE TABLE IF NOT EXISTS tags (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    moment REAL NOT NULL,
    created REAL NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS tags_by_file ON tags (file_id);
CREATE TRIGGER IF NOT EXISTS tag_added AFTER INSERT ON tags BEGIN
    UPDATE files SET tags = tags + 1 WHERE id = NEW.file_id;
END;
CREATE TRIGGER IF NOT EXISTS tag_removed AFTER DELETE ON tags BEGIN
    UPDATE files SET tags = tags - 1 WHERE id = OLD.file_id;
END;
"""


@dataclass(frozen=True)
class FileRow:
    id: int
    name: str
    start: float
    end: float
    size: int
    complete: bool

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class TagRow:
    id: int
    file_id: int
    moment: float
    created: float
    title: str
    note: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "fileId": self.file_id,
            "creationTime": self.moment,
            "created": self.created,
            "title": self.title,
            "note": self.note,
        }


class BackupIndex:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)
            # a stick pulled mid-write or a file damaged by hand must show here, not in a listing later
            verdict = self._db.execute("PRAGMA quick_check").fetchone()[0]
            if verdict != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {verdict}")
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    def check_text(self) -> None:
        """Decode every text column once: text that is not UTF-8 passes SQLite's quick check
        but would fail every later read (sqlite3.OperationalError)."""
        for _ in self._db.execute("SELECT name FROM files UNION ALL SELECT title || note FROM tags"):
            pass

    # -- files -------------------------------------------------------------------------------
    def open_file(self, name: str, start: float) -> int:
        with self._db:
            cur = self._db.execute("INSERT INTO files (name, start, end) VALUES (?, ?, ?)", (name, start, start))
        assert cur.lastrowid is not None
        return cur.lastrowid

    def extend(self, file_id: int, end: float, size: int) -> None:
        with self._db:
            self._db.execute("UPDATE files SET end = ?, size = ? WHERE id = ?", (end, size, file_id))

    def complete(self, file_id: int, end: float, size: int) -> None:
        with self._db:
            self._db.execute("UPDATE files SET end = ?, size = ?, complete = 1 WHERE id = ?", (end, size, file_id))

    def add_complete(self, name: str, start: float, end: float, size: int) -> int:
        with self._db:
            cur = self._db.execute(
                "INSERT INTO files (name, start, end, size, complete) VALUES (?, ?, ?, ?, 1)", (name, start, end, size)
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def remove_files(self, ids: Iterable[int]) -> None:
        with self._db:
            self._db.executemany("DELETE FROM files WHERE id = ?", [(i,) for i in ids])

    def files(self, since: float | None = None, until: float | None = None, tagged_only: bool = False) -> list[FileRow]:
        sql = "SELECT id, name, start, end, size, complete FROM files WHERE 1=1"
        args: list[Any] = []
        if since is not None:
            sql += " AND end >= ?"
            args.append(since)
        if until is not None:
            sql += " AND start <= ?"
            args.append(until)
        if tagged_only:
            sql += " AND tags > 0"
        rows = self._db.execute(sql + " ORDER BY start", args).fetchall()
        return [FileRow(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]

    def file(self, file_id: int) -> FileRow | None:
        r = self._db.execute(
            "SELECT id, name, start, end, size, complete FROM files WHERE id = ?", (file_id,)
        ).fetchone()
        return FileRow(r[0], r[1], r[2], r[3], r[4], bool(r[5])) if r else None

    def covering(self, moment: float, slack: float = 1.0) -> FileRow | None:
        """The file recorded at ``moment`` (newest first when segments touch)."""
        r = self._db.execute(
            "SELECT id, name, start, end, size, complete FROM files WHERE start <= ? AND end >= ? "
            "ORDER BY start DESC LIMIT 1",
            (moment + slack, moment - slack),
        ).fetchone()
        return FileRow(r[0], r[1], r[2], r[3], r[4], bool(r[5])) if r else None

    def totals(self) -> tuple[float, float, int]:
        """(seconds of every file, seconds and bytes of the files the ring buffer may delete)."""
        seconds, free_seconds, free_bytes = self._db.execute(
            "SELECT seconds, free_seconds, free_bytes FROM totals"
        ).fetchone()
        return max(0.0, float(seconds)), max(0.0, float(free_seconds)), max(0, int(free_bytes))

    def deletable(self) -> Iterator[tuple[int, str, float, int]]:
        """(id, name, duration, size) of complete, untagged files, oldest first, read lazily."""
        yield from self._db.execute(
            "SELECT id, name, end - start, size FROM files WHERE complete = 1 AND tags = 0 ORDER BY start"
        )

    # -- tags --------------------------------------------------------------------------------
    def add_tag(self, file_id: int, moment: float, created: float, title: str, note: str) -> TagRow:
        with self._db:
            cur = self._db.execute(
                "INSERT INTO tags (file_id, moment, created, title, note) VALUES (?, ?, ?, ?, ?)",
                (file_id, moment, created, title, note),
            )
        assert cur.lastrowid is not None
        return TagRow(cur.lastrowid, file_id, moment, created, title, note)

    def tags(self, file_id: int | None = None) -> list[TagRow]:
        sql = "SELECT id, file_id, moment, created, title, note FROM tags"
        rows = self._db.execute(
            sql + (" WHERE file_id = ?" if file_id is not None else "") + " ORDER BY moment",
            (file_id,) if file_id is not None else (),
        ).fetchall()
        return [TagRow(*r) for r in rows]

    def remove_tag(self, tag_id: int) -> bool:
        with self._db:
            cur = self._db.execute("DELETE FROM tags WHERE id = ?", (tag_id,))
        return cur.rowcount > 0


def plan_deletions(
    deletable: Iterable[tuple[int, str, float, int]],
    *,
    free_bytes: int,
    bytes_per_second: float,
    use_complete_space: bool,
    stored_seconds: float,
    max_seconds: float,
) -> list[tuple[int, str, int]]:
    """Which files the ring buffer deletes now, oldest first: (id, name, size).

    With ``use_complete_space`` it frees files while less than an hour of recording fits
    into the free space; otherwise while the stored duration exceeds ``max_seconds``.
    ``deletable`` is consumed lazily, so the cost grows with the files deleted, not stored.
    """
    chosen: list[tuple[int, str, int]] = []
    for file_id, name, duration, size in deletable:
        if use_complete_space:
            if free_bytes / bytes_per_second >= ONE_HOUR:
                break
        elif stored_seconds <= max_seconds:
            break
        chosen.append((file_id, name, size))
        free_bytes += size
        stored_seconds -= duration
    return chosen

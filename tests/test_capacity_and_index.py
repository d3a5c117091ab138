"""Capacity model (the spec's worked example), the backup index and the ring buffer's decisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from roto_server.device import capacity
from roto_server.recording.index import BackupIndex, plan_deletions


def test_spec_worked_example_is_exact() -> None:
    assert capacity.remaining_seconds("HD", 30, 75, 60118794240) == 14313
    assert capacity.duration_text(14313) == "3:58h"  # "approx. 3h 58min"


def test_size_strings_match_the_spec() -> None:
    assert capacity.size_text(125828988928) == "117.187 GB"
    assert capacity.size_text(65710194688) == "61.197 GB"
    assert capacity.size_text(60118794240) == "55.990 GB"


def test_model_scales_with_pixels_fps_and_quality() -> None:
    hd = capacity.bytes_per_second("HD", 30, 75)
    assert capacity.bytes_per_second("FullHD", 30, 75) == pytest.approx(hd * 2.25)
    assert capacity.bytes_per_second("HD", 15, 75) == pytest.approx(hd / 2)
    qualities = [capacity.bytes_per_second("HD", 30, q) for q in (1, 20, 50, 75, 90, 100)]
    assert qualities == sorted(qualities) and len(set(qualities)) == len(qualities)
    assert capacity.duration_text(56100) == "15:35h"


def rows(index: BackupIndex, n: int, seconds: float = 10.0, size: int = 1000) -> list[int]:
    return [index.add_complete(f"f{i}.mkv", i * seconds, (i + 1) * seconds, size) for i in range(n)]


def test_tagged_and_open_files_are_never_deletable(tmp_path: Path) -> None:
    index = BackupIndex(tmp_path / "i.sqlite3")
    ids = rows(index, 5)
    open_id = index.open_file("open.mkv", 100.0)
    tag = index.add_tag(ids[1], 15.0, 16.0, "crash", "spindle stalled")
    assert [r[0] for r in index.deletable()] == [ids[0], ids[2], ids[3], ids[4]]
    assert open_id not in [r[0] for r in index.deletable()]
    assert index.covering(15.0).id == ids[1]  # type: ignore[union-attr]
    assert index.totals() == (50.0, 40.0, 4000)
    assert index.remove_tag(tag.id) and not index.remove_tag(tag.id)
    assert [r[0] for r in index.deletable()] == ids


def test_ring_buffer_with_a_maximum_duration_deletes_oldest_first(tmp_path: Path) -> None:
    index = BackupIndex(tmp_path / "i.sqlite3")
    ids = rows(index, 10)
    index.add_tag(ids[0], 5.0, 5.0, "keep", "")
    plan = plan_deletions(
        index.deletable(),
        free_bytes=10**12,
        bytes_per_second=1000.0,
        use_complete_space=False,
        stored_seconds=100.0,
        max_seconds=65.0,
    )
    assert [p[0] for p in plan] == ids[1:5]  # 100 s stored -> 60 s; the tagged oldest file stays


def test_ring_buffer_using_the_whole_space_keeps_an_hour_free(tmp_path: Path) -> None:
    index = BackupIndex(tmp_path / "i.sqlite3")
    ids = rows(index, 10, size=1_000_000)
    # 1000 B/s: an hour needs 3.6 MB; 1.2 MB free, so three files (3 MB) must go
    plan = plan_deletions(
        index.deletable(),
        free_bytes=1_200_000,
        bytes_per_second=1000.0,
        use_complete_space=True,
        stored_seconds=100.0,
        max_seconds=0,
    )
    assert [p[0] for p in plan] == ids[:3]
    assert (
        plan_deletions(
            index.deletable(),
            free_bytes=4_000_000,
            bytes_per_second=1000.0,
            use_complete_space=True,
            stored_seconds=100.0,
            max_seconds=0,
        )
        == []
    )


def test_index_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "i.sqlite3"
    index = BackupIndex(path)
    file_id = index.open_file("a.mkv", 1.0)
    index.add_tag(file_id, 1.5, 2.0, "t", "n")
    index.close()
    again = BackupIndex(path)
    assert [t.title for t in again.tags()] == ["t"] and again.file(file_id).complete is False  # type: ignore[union-attr]


def test_trigger_kept_totals_match_a_full_recount(tmp_path: Path) -> None:
    index = BackupIndex(tmp_path / "i.sqlite3")
    ids = rows(index, 20, size=500)
    open_id = index.open_file("open.mkv", 500.0)
    index.extend(open_id, 507.5, 900)
    tag = index.add_tag(ids[3], 35.0, 35.0, "", "")
    index.add_tag(ids[3], 36.0, 36.0, "", "")  # two tags on one file
    index.add_tag(ids[4], 45.0, 45.0, "", "")
    index.remove_tag(tag.id)
    index.remove_files([ids[0], ids[4]])  # one untagged, one tagged (its tag goes with it)
    index.complete(open_id, 510.0, 1000)
    db = index._db
    seconds = db.execute("SELECT SUM(end - start) FROM files").fetchone()[0]
    free_seconds, free_bytes = db.execute(
        "SELECT SUM(end - start), SUM(size) FROM files WHERE complete = 1 AND id NOT IN (SELECT file_id FROM tags)"
    ).fetchone()
    assert index.totals() == (pytest.approx(seconds), pytest.approx(free_seconds), free_bytes)
    assert [t.file_id for t in index.tags()] == [ids[3]]
    assert ids[3] not in [r[0] for r in index.deletable()] and open_id in [r[0] for r in index.deletable()]

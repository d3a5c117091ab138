"""The sans-IO Range parser (RFC 9110 section 14.1.2), without a server."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roto_server.api.byte_ranges import Span, Unsatisfiable, parse_range


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-9", 100, Span(0, 9, 100)),
        ("bytes=90-", 100, Span(90, 99, 100)),
        ("bytes=90-1000", 100, Span(90, 99, 100)),
        ("bytes=-10", 100, Span(90, 99, 100)),
        ("bytes=-99999999999", 100, Span(0, 99, 100)),  # a suffix longer than the file: all of it
        ("bytes=-" + "9" * 5000, 100, Span(0, 99, 100)),  # no int() of a 5000-digit string
        ("BYTES = 5 - 6", 100, Span(5, 6, 100)),
        ("bytes=100-", 100, Unsatisfiable(100)),
        ("bytes=" + "9" * 40 + "-", 100, Unsatisfiable(100)),
        ("bytes=-0", 100, Unsatisfiable(100)),
        ("bytes=9-1", 100, None),  # invalid: ignored, the whole file
        (f"bytes={10**30}-{10**25}", 100, None),  # also when both are past any file
        ("bytes=0-1,5-6", 100, None),  # several ranges are not served: the whole file
        ("bytes=²-", 100, None),  # Unicode digits are not digits here
        ("bytes=١-٢", 100, None),
        ("items=0-1", 100, None),
        ("bytes=-", 100, None),
        ("", 100, None),
        ("bytes=0-9", 0, None),  # an empty file has no ranges: 200 with nothing
    ],
)
def test_examples(header: str, size: int, expected: Span | Unsatisfiable | None) -> None:
    assert parse_range(header, size) == expected


def test_header_texts() -> None:
    assert Span(100, 299, 1000).content_range() == "bytes 100-299/1000"
    assert Unsatisfiable(1000).content_range() == "bytes */1000"


@given(header=st.text(max_size=60), size=st.integers(min_value=0, max_value=2**40))
def test_any_header_gives_a_span_inside_the_file_or_a_clear_answer(header: str, size: int) -> None:
    got = parse_range(header, size)
    if isinstance(got, Span):
        assert 0 <= got.first <= got.last < size and got.length == got.last - got.first + 1
    else:
        assert got is None or got == Unsatisfiable(size)


@given(first=st.integers(0, 2**70), last=st.integers(0, 2**70), size=st.integers(1, 2**40))
def test_first_last_ranges(first: int, last: int, size: int) -> None:
    got = parse_range(f"bytes={first}-{last}", size)
    if last < first:
        assert got is None
    elif first >= size:
        assert got == Unsatisfiable(size)
    else:
        assert got == Span(first, min(last, size - 1), size)

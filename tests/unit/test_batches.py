"""Slicing long id lists for IN (...) clauses."""

from __future__ import annotations

import pytest

from carebridge.lib.batches import chunked


def test_slices_cover_every_item_once_in_order() -> None:
    assert [list(c) for c in chunked(list(range(7)), 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunked([], 3)) == []
    assert [len(c) for c in chunked(list(range(1000)))] == [500, 500]


def test_a_slice_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list(chunked([1, 2], 0))

"""Records coded by the values of some of their columns (transforms/uniques.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.uniques import KnownCodes, by_unique_rows, first_rows, row_codes

FRAME = pd.DataFrame({
    "A": ["x", "x", "y", None, np.nan, "x", pd.NA],
    "B": [1.0, 1.0, 1.0, 2.0, 2.0, np.nan, 2.0],
})  # fmt: skip


def _classes(codes: np.ndarray) -> list[int]:
    """The codes renumbered in order of first appearance (what they mean: which are equal)."""
    return pd.factorize(codes)[0].tolist()


def test_records_share_a_code_where_they_hold_the_same_values() -> None:
    known: KnownCodes = {}
    both = row_codes(FRAME, ["B", "A"], known)
    # rows 0/1 alike; 3, 4 and 6: every kind of null alike, with B 2.0
    assert _classes(both) == [0, 0, 1, 2, 2, 3, 2]
    assert _classes(row_codes(FRAME, ["A"], known)) == [0, 0, 1, 2, 2, 0, 2]
    assert set(known) == {("A",), ("B",), ("A", "B")}  # each column and set coded once
    assert row_codes(FRAME, ["A", "B", "A"], known) is both
    assert row_codes(FRAME, []).tolist() == [0] * 7
    assert first_rows(both).tolist() == [0, 2, 3, 5]


def test_distinct_records_and_the_code_of_each_record() -> None:
    codes, distinct = by_unique_rows(FRAME.set_axis([10, 11, 12, 13, 14, 15, 16]))
    assert codes.tolist() == [0, 0, 1, 2, 2, 3, 2]
    assert distinct.index.tolist() == [0, 1, 2, 3]
    assert distinct["A"].tolist()[:2] == ["x", "y"] and distinct["A"].isna().tolist() == [
        False, False, True, False,
    ]  # fmt: skip
    assert distinct["B"].tolist()[:3] == [1.0, 1.0, 2.0] and np.isnan(distinct["B"][3])
    # spread back, the distinct records give every record's values
    back = distinct.take(codes).set_axis(FRAME.index)
    pd.testing.assert_frame_equal(back.iloc[[0, 1, 2, 5]], FRAME.iloc[[0, 1, 2, 5]])

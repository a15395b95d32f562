"""The change report's matching rules on small datasets, written as a run publishes them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from transforms.changes import compare

Row = tuple[str, str, float, str | None]
Write = Callable[..., Path]
KEYS = ["USUBJID", "TESTCD"]


@pytest.fixture
def frame(tmp_path: Path) -> Write:
    """Writes the rows (and any extra columns) as a dataset's Parquet file."""
    made = iter(range(100))

    def write(rows: list[Row], **extra: list[str]) -> Path:
        path = tmp_path / f"xx{next(made)}.parquet"
        df = pd.DataFrame(rows, columns=["USUBJID", "TESTCD", "SEQ", "RES"]).assign(**extra)
        df.astype({"USUBJID": "string", "TESTCD": "string", "RES": "string"}).to_parquet(
            path, index=False
        )
        return path

    return write


def test_added_removed_changed_and_renumbering_ignored(frame: Write) -> None:
    before = frame([("S1", "A", 1, "1"), ("S1", "B", 2, "2"), ("S2", "A", 1, None)])
    after = frame([("S1", "B", 1, "2"), ("S2", "A", 1, "5"), ("S3", "A", 1, "1")])
    changes = compare("XX", before, after, KEYS, ignore=["SEQ"])
    out = changes.records
    assert sorted(out[["change", "key", "columns"]].values.tolist()) == [
        ["added", "USUBJID=S3; TESTCD=A", ""],
        ["changed", "USUBJID=S2; TESTCD=A", "RES"],
        ["removed", "USUBJID=S1; TESTCD=A", ""],
    ]
    # the one changed cell: a missing result now 5 (SEQ renumbered is no change)
    assert changes.cells.values.tolist() == [["XX", "USUBJID=S2; TESTCD=A", "RES", "", "5"]]


def test_first_publication_is_all_added_and_duplicate_keys_match_in_order(frame: Write) -> None:
    rows: list[Row] = [("S1", "A", 1, "1"), ("S1", "A", 2, "2")]
    first = compare("XX", None, frame(rows), KEYS)
    assert first.records["change"].tolist() == ["added"] * 2 and first.cells.empty
    same = compare("XX", frame(rows), frame(rows), KEYS)
    assert same.records.empty and same.cells.empty
    assert list(same.cells.columns) == ["dataset", "key", "variable", "old", "new"]


def test_each_changed_record_names_its_own_columns_and_a_new_column_counts(
    frame: Write,
) -> None:
    before = frame([("S1", "A", 1, "1"), ("S1", "B", 2, "2"), ("S2", "A", 1, "3")])
    after = frame(
        [("S1", "A", 1, "1"), ("S1", "B", 3, "9"), ("S2", "A", 1, "3")],
        NEW=["x", "", "x"],
    )
    changes = compare("XX", before, after, KEYS)
    assert changes.records[["key", "columns"]].values.tolist() == [
        ["USUBJID=S1; TESTCD=A", "NEW"],
        ["USUBJID=S1; TESTCD=B", "SEQ, RES, NEW"],
        ["USUBJID=S2; TESTCD=A", "NEW"],
    ]
    # every changed cell, record by record, columns in file order; a column the old file
    # lacks was missing there (S1/B's NEW: missing, now empty, is no cell to show)
    assert changes.cells.drop(columns="dataset").values.tolist() == [
        ["USUBJID=S1; TESTCD=A", "NEW", "", "x"],
        ["USUBJID=S1; TESTCD=B", "SEQ", "2", "3"],
        ["USUBJID=S1; TESTCD=B", "RES", "2", "9"],
        ["USUBJID=S2; TESTCD=A", "NEW", "", "x"],
    ]

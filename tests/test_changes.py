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
    out = compare("XX", before, after, KEYS, ignore=["SEQ"])
    assert sorted(out[["change", "key", "columns"]].values.tolist()) == [
        ["added", "USUBJID=S3; TESTCD=A", ""],
        ["changed", "USUBJID=S2; TESTCD=A", "RES"],
        ["removed", "USUBJID=S1; TESTCD=A", ""],
    ]


def test_first_publication_is_all_added_and_duplicate_keys_match_in_order(frame: Write) -> None:
    rows: list[Row] = [("S1", "A", 1, "1"), ("S1", "A", 2, "2")]
    assert compare("XX", None, frame(rows), KEYS)["change"].tolist() == ["added"] * 2
    assert compare("XX", frame(rows), frame(rows), KEYS).empty


def test_each_changed_record_names_its_own_columns_and_a_new_column_counts(
    frame: Write,
) -> None:
    before = frame([("S1", "A", 1, "1"), ("S1", "B", 2, "2"), ("S2", "A", 1, "3")])
    after = frame(
        [("S1", "A", 1, "1"), ("S1", "B", 3, "9"), ("S2", "A", 1, "3")],
        NEW=["x", "", "x"],
    )
    out = compare("XX", before, after, KEYS)
    assert out[["key", "columns"]].values.tolist() == [
        ["USUBJID=S1; TESTCD=A", "NEW"],
        ["USUBJID=S1; TESTCD=B", "SEQ, RES, NEW"],
        ["USUBJID=S2; TESTCD=A", "NEW"],
    ]

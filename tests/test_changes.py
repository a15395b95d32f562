"""The change report's matching rules on small frames."""

from __future__ import annotations

import pandas as pd

from transforms.changes import compare


def frame(rows: list[tuple[str, str, float, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["USUBJID", "TESTCD", "SEQ", "RES"]).astype(
        {"USUBJID": "string", "TESTCD": "string", "RES": "string"}
    )


def test_added_removed_changed_and_renumbering_ignored() -> None:
    before = frame([("S1", "A", 1, "1"), ("S1", "B", 2, "2"), ("S2", "A", 1, None)])
    after = frame([("S1", "B", 1, "2"), ("S2", "A", 1, "5"), ("S3", "A", 1, "1")])
    out = compare("XX", before, after, ["USUBJID", "TESTCD"], ignore=["SEQ"])
    assert sorted(out[["change", "key", "columns"]].values.tolist()) == [
        ["added", "USUBJID=S3; TESTCD=A", ""],
        ["changed", "USUBJID=S2; TESTCD=A", "RES"],
        ["removed", "USUBJID=S1; TESTCD=A", ""],
    ]


def test_first_publication_is_all_added_and_duplicate_keys_match_in_order() -> None:
    after = frame([("S1", "A", 1, "1"), ("S1", "A", 2, "2")])
    assert compare("XX", None, after, ["USUBJID", "TESTCD"])["change"].tolist() == ["added"] * 2
    same = compare("XX", after, after.copy(), ["USUBJID", "TESTCD"])
    assert same.empty

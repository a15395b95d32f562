"""The change report's matching rules on small datasets, written as a run publishes them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import NightTwo
from transforms.changes import Changes, compare, compare_groups, write_report

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


def _joined(parts: list[Changes]) -> tuple[pd.DataFrame, pd.DataFrame]:
    records = pd.concat([p.records for p in parts], ignore_index=True)
    return records, pd.concat([p.cells for p in parts], ignore_index=True)


def test_groups_of_subjects_list_what_the_whole_comparison_lists(frame: Write) -> None:
    """Compared two subjects at a time, in USUBJID order: the same records and cells, in
    the same order, as the whole files compared (added, removed, changed, duplicate keys,
    the records of no USUBJID last, one group of them)."""
    before = frame(
        [
            ("S3", "A", 1, "1"),
            ("S1", "A", 1, "1"),
            ("S1", "A", 2, "2"),
            (None, "A", 1, "x"),
            ("S2", "B", 1, "2"),
            ("S5", "A", 1, "1"),
            ("S4", "A", 1, None),
        ]
    )
    after = frame(
        [
            ("S1", "A", 1, "9"),
            ("S2", "B", 1, "2"),
            (None, "A", 1, "y"),
            ("S4", "A", 1, "4"),
            ("S3", "A", 1, "1"),
            ("S6", "C", 1, "6"),
            (None, "B", 2, "z"),
        ]
    )
    whole = compare("XX", before, after, KEYS, ignore=["SEQ"])
    parts = list(compare_groups("XX", before, after, KEYS, ignore=["SEQ"], rows=3))
    assert len(parts) == 5  # rows 3+2 a group: S1 | S2 S3 | S4 | S5 S6 | no USUBJID
    records, cells = _joined(parts)
    pd.testing.assert_frame_equal(records, whole.records)
    pd.testing.assert_frame_equal(cells, whole.cells)
    assert records[["change", "key"]].values.tolist()[-2:] == [
        ["changed", "USUBJID=; TESTCD=A"],
        ["added", "USUBJID=; TESTCD=B"],
    ]
    first = _joined(list(compare_groups("XX", None, after, KEYS, rows=3)))[0]
    pd.testing.assert_frame_equal(first, compare("XX", None, after, KEYS).records)


def test_datasets_not_ordered_by_subject_are_compared_whole(frame: Write) -> None:
    """No USUBJID among the keys (trial design), or a key before it of two values: one
    comparison of the whole files."""
    before = frame([("S1", "A", 1, "1"), ("S2", "B", 1, "2")], STUDYID=["P1", "P1"])
    after = frame([("S1", "A", 1, "3"), ("S2", "B", 1, "2")], STUDYID=["P1", "P2"])
    for keys in (["TESTCD"], ["STUDYID", "USUBJID", "TESTCD"]):
        parts = list(compare_groups("XX", before, after, keys, rows=1))
        assert len(parts) == 1
        pd.testing.assert_frame_equal(parts[0].records, compare("XX", before, after, keys).records)
    one = frame([("S1", "A", 1, "1"), ("S2", "B", 1, "2")], STUDYID=["P1", "P1"])
    assert len(list(compare_groups("XX", before, one, ["STUDYID", *KEYS], rows=1))) == 2


def test_night_two_reports_are_the_same_compared_a_few_subjects_at_a_time(
    night_two: NightTwo, tmp_path: Path
) -> None:
    """Night 2 (a late correction) against night 1, every SDTM (SUPP-- too) and ADaM
    dataset: the reports written from groups of 40 records' subjects are the bytes of those
    written from the whole datasets compared, the manifest's counts the same."""
    from transforms.adam.spec import load_adam_spec
    from transforms.specs import load_study
    from transforms.store import RunFolder

    study = load_study("POMMAINT")
    run = RunFolder(night_two.published.resolve())
    sdtm = RunFolder(run.path.parent / run.adam_info["sdtm_run"])
    night_one = RunFolder(run.path.parent / sdtm.manifest()["changes"]["against"])
    compared = []
    for name, path in sdtm.sdtm_tables().items():
        spec = study.datasets.get(name)
        keys = list(spec.keys) if spec is not None else ["USUBJID", "QNAM"]
        compared.append((name, night_one.sdtm_table(name), path, keys))
    for name, path in run.adam_tables().items():
        keys = list(load_adam_spec(study.adam_spec_path(name)).keys)
        compared.append((name, night_one.adam_table(name), path, keys))
    assert {"LB", "SUPPAE", "ADSL", "ADLB"} <= {name for name, *_ in compared}

    def report(folder: Path, rows: int | None) -> dict[str, object]:
        folder.mkdir()
        parts: list[Changes] = []
        for name, before, after, keys in compared:
            ignore = [c for c in pd.read_parquet(after).columns if c.endswith("SEQ")]
            old = before if before.exists() else None
            if rows is None:
                parts.append(compare(name, old, after, keys, ignore))
            else:
                parts.extend(compare_groups(name, old, after, keys, ignore, rows=rows))
        counts = write_report(folder, parts, "night1", "POMMAINT", "night2")
        return {"parts": len(parts), "counts": counts}

    whole, grouped = report(tmp_path / "whole", None), report(tmp_path / "grouped", 40)
    assert grouped["counts"] == whole["counts"]
    assert "changed" in str(whole["counts"])
    assert int(str(grouped["parts"])) > int(str(whole["parts"]))  # the groups split
    for name in ("changes.csv", "changes_cells.csv", "changes_cells.html"):
        assert (tmp_path / "grouped" / name).read_bytes() == (
            tmp_path / "whole" / name
        ).read_bytes()

"""Record-wise checks validated on the distinct records (transforms/quality/distinct.py):
the same outcomes, failing rows included, as one validation of every record."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transforms.conditions import Condition
from transforms.quality import distinct, engine
from transforms.quality.checks import Check, Suite


def test_a_condition_is_met_as_gx_filters_rows_by_it() -> None:
    """GX's own query (no trimming, unlike the mapping engine's conditions; NA never
    meets a value test)."""
    frame = pd.DataFrame({"T": ["HGB", " HGB", None, "ALB", "HGB"], "V": [1, 2, 3, None, 5]})
    hgb = Condition("eq", "T", ("HGB",))
    assert engine.rows_meeting(frame, hgb).tolist() == [True, False, False, False, True]
    either = Condition("any", parts=(hgb, Condition("is_null", "V")))
    assert engine.rows_meeting(frame, either).tolist() == [True, False, False, True, True]
    other = Condition("ne", "T", ("HGB",))  # a missing value is not "not HGB"
    assert engine.rows_meeting(frame, other).tolist() == [False, True, False, True, False]


def _check(rule: str, expectation: str, field: str, **kwargs: object) -> Check:
    where = kwargs.pop("where", None)
    return Check(rule, "error", field, rule.lower(), expectation, kwargs, "test",
                 where=where)  # type: ignore[arg-type]  # fmt: skip


CHECKS = (
    _check(
        "COLS",
        "ExpectTableColumnsToMatchSet",
        "",
        column_set=["ID", "T", "R", "D", "LO", "HI"],
        exact_match=False,
    ),
    _check("CT", "ExpectColumnValuesToBeInSet", "T", column="T", value_set=["HGB", "ALB", "PLT"]),
    _check("REQ", "ExpectColumnValuesToNotBeNull", "R", column="R"),
    _check("TYPE", "ExpectColumnValuesToMatchRegex", "R", column="R", regex=r"^\d+(?:\.\d+)?$"),
    # a range read only where the test is HGB (a condition: its column is read too)
    _check(
        "RANGE",
        "ExpectColumnValuesToBeBetween",
        "R",
        column="N",
        min_value=50,
        max_value=200,
        where=Condition("eq", "T", ("HGB",)),
    ),
    _check(
        "ORDER",
        "ExpectColumnPairValuesAToBeGreaterThanB",
        "HI",
        column_A="HI",
        column_B="LO",
        or_equal=True,
        ignore_row_if="either_value_is_missing",
    ),
    _check(
        "KEY",
        "ExpectCompoundColumnsToBeUnique",
        "ID/T/D",
        column_list=["ID", "T", "D"],
        ignore_row_if="never",
    ),
    _check("MOSTLY", "ExpectColumnValuesToNotBeNull", "LO", column="LO", mostly=0.999),
    # a column the export lacks: GX cannot evaluate it, and says so
    _check(
        "GONE",
        "ExpectColumnValuesToBeInSet",
        "G",
        column="G",
        value_set=["x"],
        where=Condition("eq", "T", ("HGB",)),
    ),
)


def _frame(rows: int) -> pd.DataFrame:
    """`rows` lab records of few distinct values, with failures planted at known rows."""
    i = np.arange(rows)
    frame = pd.DataFrame({
        "ID": (i // 30).astype(str), "T": np.array(["HGB", "ALB", "PLT"])[i % 3],
        "R": np.where(i % 3 == 0, "120", "40"), "D": (i % 30 // 3).astype(str),
        "LO": 1.0, "HI": 2.0,
    })  # fmt: skip
    frame.loc[[7, 1207], "T"] = "XYZ"  # not in the set (twice, one distinct record)
    frame.loc[[12, 2412], "R"] = "1,5"  # a comma number: TYPE (and no number)
    frame.loc[[3, 903, 1803], "R"] = "300"  # HGB (row % 3 == 0) out of range
    frame.loc[[4], "R"] = "300"  # ALB: not a record RANGE checks
    frame.loc[[5, 6], "R"] = None  # REQ
    frame.loc[[40], "HI"] = 0.5  # ORDER
    frame.loc[[61], ["ID", "T", "D"]] = frame.loc[60, ["ID", "T", "D"]].to_numpy()  # KEY
    frame.loc[range(100, 110), "LO"] = np.nan  # MOSTLY: 10 of 3,000 missing
    frame["N"] = pd.to_numeric(frame["R"], errors="coerce")
    return frame


@pytest.mark.parametrize("leaves_out", [distinct.LEAVES_OUT, 10**9])
def test_distinct_records_give_the_outcomes_of_every_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, leaves_out: int
) -> None:
    """Validated apart (distinct records for the record-wise checks, every record for the
    key and ``mostly``) or, below LEAVES_OUT left out, once: each check's success, failing
    rows and details are those of one GX validation of the whole frame."""
    monkeypatch.setattr(distinct, "LEAVES_OUT", leaves_out)
    frame = _frame(3000)
    suite = Suite("S", "sdtm", "LB", CHECKS)
    every = range(len(CHECKS))
    at = datetime(2026, 1, 1, tzinfo=UTC)
    session = engine.Session(tmp_path / "docs", "sdtm", "r", at)
    apart = distinct.validate_by_distinct_records(session, suite, frame, {}, every, "S")
    whole = session.validate(suite, frame, {}, every, "S.whole")
    session.close()
    assert list(apart) == list(whole) == list(every)
    for i in every:
        assert apart[i].success == whole[i].success, CHECKS[i].rule
        assert apart[i].positions.tolist() == whole[i].positions.tolist(), CHECKS[i].rule
        assert apart[i].details == whole[i].details, CHECKS[i].rule
    failing = {CHECKS[i].rule: apart[i].positions.tolist() for i in every}
    assert failing["CT"] == [7, 1207]
    assert failing["TYPE"] == [12, 2412]
    assert failing["RANGE"] == [3, 61, 903, 1803]  # 61: given row 60's HGB, with 40
    assert failing["REQ"] == [5, 6]
    assert failing["ORDER"] == [40]
    assert failing["KEY"] == [60, 61]
    assert not apart[len(CHECKS) - 2].success  # MOSTLY: 10 nulls > 0.1 %
    assert (
        not apart[len(CHECKS) - 1].success
        and "could not be evaluated" in apart[len(CHECKS) - 1].details
    )
    names = {p.parent.name if p.name.isdigit() else p.name
             for p in (tmp_path / "docs" / "validations" / "S").iterdir()}  # fmt: skip
    split = leaves_out < len(frame)  # else: validated once, as "S"
    assert ("distinct-records" in names) is split, names
    assert ("all-records" in names) is split, names


def test_a_value_set_parameter_is_cut_to_the_values_validated() -> None:
    """The study's subjects as a value set (SUBJECT-NOT-IN-DM) are cut to the subjects the
    frame holds; a parameter used otherwise, or on a column the frame lacks, is kept."""
    in_dm = _check("IN-DM", "ExpectColumnValuesToBeInSet", "S", column="S",
                   value_set={"$PARAMETER": "subjects"})  # fmt: skip
    cutoff = _check("CUT", "ExpectColumnValuesToBeBetween", "D", column="D",
                    max_value={"$PARAMETER": "cutoff"})  # fmt: skip
    frame = pd.DataFrame({"S": ["002", "004", "009", None], "D": [1, 2, 3, 4]})
    given = {"subjects": ["001", "002", "003", "004"], "cutoff": 3}
    assert engine.narrowed(given, [in_dm, cutoff], frame) == {
        "subjects": ["002", "004"], "cutoff": 3,
    }  # fmt: skip
    elsewhere = replace(in_dm, kwargs={"column": "T", "value_set": {"$PARAMETER": "subjects"}})
    assert engine.narrowed(given, [in_dm, elsewhere], frame) == given  # T: not in the frame
    between = replace(cutoff, kwargs={"column": "D", "max_value": {"$PARAMETER": "subjects"}})
    assert engine.narrowed(given, [in_dm, between], frame) == given


def test_pieces_validated_together_give_each_piece_its_own_outcomes(tmp_path: Path) -> None:
    """The distinct records of three pieces of a table (groups of subjects) in one
    validation (DistinctBatch), of the columns their checks read: each piece gets the
    outcomes a validation of its own gives, failing rows as positions in the piece; a check
    failing only in another piece passes in this one. The table's columns, keys, ``mostly``
    and a column the table lacks are the rest's, validated on every record."""
    frame = _frame(3600)
    pieces = [frame.iloc[k : k + 1200].reset_index(drop=True) for k in (0, 1200, 2400)]
    suite = Suite("S", "sdtm", "LB", CHECKS)
    every = range(len(CHECKS))
    session = engine.Session(tmp_path / "docs", "sdtm", "r", datetime(2026, 1, 1, tzinfo=UTC))
    batch = distinct.DistinctBatch(session, suite, {})
    reduced = [distinct.reduce(suite, piece, every) for piece in pieces]
    assert all(r.apart for r in reduced)
    assert reduced[0].rest == (0, 6, 7, 8)  # COLS, KEY, MOSTLY, GONE
    assert reduced[0].columns == ("T", "R", "LO", "HI", "N")  # not ID, D: the key's
    for k, (piece, r) in enumerate(zip(pieces, reduced, strict=True)):
        batch.add(k, piece, r)
    assert batch.rows == sum(len(r.records) for r in reduced) < len(frame) / 10
    together = batch.validate("S.together")
    alone = [session.validate(suite, piece, {}, reduced[0].wise, f"S.alone-{k}")
             for k, piece in enumerate(pieces)]  # fmt: skip
    session.close()
    assert [k for k, _ in together] == [0, 1, 2] and batch.rows == 0
    for (k, got), expected in zip(together, alone, strict=True):
        assert list(got) == list(expected) == list(reduced[0].wise)
        for i in got:
            assert got[i].success == expected[i].success, (k, CHECKS[i].rule)
            assert got[i].positions.tolist() == expected[i].positions.tolist(), (k, CHECKS[i].rule)
            assert got[i].details == expected[i].details, (k, CHECKS[i].rule)
    failing = [{CHECKS[i].rule: o.positions.tolist() for i, o in got.items() if not o.success}
               for _, got in together]  # fmt: skip
    assert failing[0] == {"CT": [7], "TYPE": [12], "RANGE": [3, 61, 903], "REQ": [5, 6],
                          "ORDER": [40]}  # fmt: skip
    assert failing[1] == {"CT": [7], "RANGE": [603]}  # rows 1207 and 1803
    assert failing[2] == {"TYPE": [12]}  # row 2412; no CT, RANGE, REQ here: passed


@pytest.mark.parametrize(("rows", "kept"), [("100000", True), ("1", False)])
def test_a_filtered_frame_is_kept_within_a_validation_up_to_frame_rows(
    monkeypatch: pytest.MonkeyPatch, rows: str, kept: bool
) -> None:
    """GX filters a frame by an expectation's condition once per metric: within a
    validation the rows are selected once, and the filtered frame itself is given again
    while the frames kept hold at most CDISC_FRAME_ROWS rows (else filtered anew, alike)."""
    from transforms.conditions import gx_row_condition
    from transforms.jobs.kit import FRAME_ROWS_ENV

    monkeypatch.setenv(FRAME_ROWS_ENV, rows)
    engine.import_gx()
    from great_expectations.execution_engine import PandasExecutionEngine

    frame = pd.DataFrame({"T": ["HGB", "ALB", "HGB", None], "V": [1, 2, 3, 4]})
    hgb = gx_row_condition(Condition("eq", "T", ("HGB",)))
    gx = PandasExecutionEngine()
    with engine.configurations_memoised():
        first = gx._apply_row_condition_filter(frame, hgb, {})
        again = gx._apply_row_condition_filter(frame, hgb, {})
    after = gx._apply_row_condition_filter(frame, hgb, {})  # outside a validation: as GX does
    assert first["V"].tolist() == again["V"].tolist() == after["V"].tolist() == [1, 3]
    assert (again is first) is kept
    assert after is not first


def test_a_table_with_no_records_is_validated_whole(tmp_path: Path) -> None:
    """A form exported with its header alone: no distinct records to keep, so nothing is
    validated apart; the checks run on the empty frame (the table's columns still read)."""
    empty = _frame(3000).iloc[:0]
    suite = Suite("S", "sdtm", "LB", CHECKS)
    reduced = distinct.reduce(suite, empty, range(len(CHECKS)))
    assert not reduced.apart and not len(reduced.records)
    session = engine.Session(tmp_path / "docs", "sdtm", "r", datetime(2026, 1, 1, tzinfo=UTC))
    outcomes = distinct.validate_by_distinct_records(session, suite, empty, {},
                                                     range(len(CHECKS)), "S")  # fmt: skip
    session.close()
    assert outcomes[0].success  # COLS: every column there
    assert not outcomes[len(CHECKS) - 1].success  # GONE: a column the form lacks

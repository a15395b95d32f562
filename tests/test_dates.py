"""ISO 8601 conversion of raw EDC dates and the --DY rule."""

from __future__ import annotations

import pandas as pd
import pytest

from transforms.sdtm.dates import study_day, to_iso8601

CASES = [
    ("05 JAN 2025", "2025-01-05", False),
    ("5 jan 2025", "2025-01-05", False),
    (" 05 JAN 2025 ", "2025-01-05", False),
    ("UN JAN 2025", "2025-01", False),
    ("UN UNK 2025", "2025", False),
    ("UNK UNK 2025", "2025", False),
    ("05 UNK 2025", "2025---05", False),
    ("29 FEB 2024", "2024-02-29", False),
    ("29 FEB 2025", None, True),
    ("30 FEB 2025", None, True),
    ("31 APR 2025", None, True),
    ("05 XYZ 2025", None, True),
    # A complete ISO 8601 date or date-time (how the SAS reader writes SAS date and datetime
    # numerics) is read as itself in every format; a partial or impossible one is not.
    ("2025-01-05", "2025-01-05", False),
    ("2025-01-05T10:30:00", "2025-01-05T10:30:00", False),
    ("2025-01-05T10:30:00.250", "2025-01-05T10:30:00.250", False),
    ("2025-01", None, True),
    ("2025-02-30", None, True),
    ("2025-01-05T25:00", None, True),
    ("05/01/2025", None, True),
    # Every year ISO 8601 allows, 0001-9999 (typing slips included); there is no year 0.
    ("26 FEB 3025", "3025-02-26", False),
    ("11 MAY 1663", "1663-05-11", False),
    ("01 JAN 0001", "0001-01-01", False),
    ("31 DEC 9999", "9999-12-31", False),
    ("29 FEB 1600", "1600-02-29", False),
    ("29 FEB 1700", None, True),
    ("01 JAN 0000", None, True),
    ("UN UNK 0000", None, True),
    ("", None, False),
    (None, None, False),
]


@pytest.mark.parametrize(("raw", "iso", "bad"), CASES)
def test_dd_mon_yyyy(raw: str | None, iso: str | None, bad: bool) -> None:
    out, flagged = to_iso8601(pd.Series([raw], dtype="string"), "DD MON YYYY")
    assert (None if pd.isna(out[0]) else out[0]) == iso
    assert bool(flagged[0]) is bad


@pytest.mark.parametrize(
    ("raw", "iso", "bad"),
    [("2025", "2025", False), ("2025-03", "2025-03", False), ("2025-03-09", "2025-03-09", False),
     ("2025-13", None, True), ("2025-02-30", None, True), ("25-03-09", None, True),
     # digits of other scripts are not ISO 8601 digits (found by tests/robustness/test_fuzz)
     ("2020-0\u0661", None, True), ("\u0662\u0660\u0662\u0660", None, True)],
)  # fmt: skip
def test_iso_input(raw: str, iso: str | None, bad: bool) -> None:
    out, flagged = to_iso8601(pd.Series([raw], dtype="string"), "ISO")
    assert (None if pd.isna(out[0]) else out[0]) == iso
    assert bool(flagged[0]) is bad


def test_time_is_added_to_complete_dates_only() -> None:
    dates = pd.Series(["05 JAN 2025", "UN JAN 2025", "05 JAN 2025", "05 JAN 2025"], dtype="string")
    times = pd.Series(["08:30", "08:30", "25:00", None], dtype="string")
    out, bad = to_iso8601(dates, "DD MON YYYY", times)
    assert out.tolist() == ["2025-01-05T08:30", "2025-01", "2025-01-05", "2025-01-05"]
    assert bad.tolist() == [False, False, True, False]


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown date format"):
        to_iso8601(pd.Series(["x"]), "MM/DD/YYYY")


def test_study_day_has_no_day_zero() -> None:
    ref = pd.Series(["2025-01-05"] * 6, dtype="string")
    dtc = pd.Series(
        ["2025-01-05", "2025-01-06", "2025-01-04", "2024-12-06", "2025-01", "2025-01-07T10:00"],
        dtype="string",
    )
    got = study_day(dtc, ref).tolist()
    assert got[:4] == [1.0, 2.0, -1.0, -30.0]
    assert pd.isna(got[4])
    assert got[5] == 3.0


def test_study_day_over_the_whole_year_range() -> None:
    """No nanosecond-timestamp limits (1677-2262): days counted for any year 0001-9999."""
    dtc = pd.Series(["3025-02-26", "1663-05-11", "0001-01-01", "9999-12-31"], dtype="string")
    ref = pd.Series(["2024-02-05", "2024-02-05", "9999-12-31", "0001-01-01"], dtype="string")
    assert study_day(dtc, ref).tolist() == [365_630.0, -131_757.0, -3_652_058.0, 3_652_059.0]


def test_study_day_needs_a_complete_reference() -> None:
    got = study_day(pd.Series(["2025-01-05"]), pd.Series(["2025-01"]))
    assert pd.isna(got[0])

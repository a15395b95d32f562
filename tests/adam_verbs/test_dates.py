"""date, study_day, duration."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.adam_verbs.frames import ADSL, AE, day, described, run, values
from transforms.errors import SpecError

AE_ADSL = "- {verb: records, from: {dataset: AE}}\n- {verb: merge_vars, from: {dataset: ADSL}, vars: [TRTSDT, DTHDT]}\n"


def test_date_imputes_partial_starts_and_raises_them_to_the_first_dose() -> None:
    steps = (
        AE_ADSL
        + "- {verb: date, var: ASTDT, dtc: AESTDTC, impute: first, flag: ASTDTF, min_date: TRTSDT}\n"
    )
    out = run(steps, sdtm={"AE": AE}, adam={"ADSL": ADSL})
    # 2025-01-05 complete; 2025-01 -> 01-01, but the first dose 2025-01-03 is in that month
    # and later: 2025-01-03; 2024-12-30 complete; 2025 -> 01-01, dose 2025-02-10 is in that
    # year and later: 2025-02-10.
    assert values(out, "ASTDT") == [
        day("2025-01-05"),
        day("2025-01-03"),
        day("2024-12-30"),
        day("2025-02-10"),
    ]
    assert values(out, "ASTDTF") == [None, "D", None, "M"]
    assert "or to TRTSDT when that falls in the month (year)" in described(steps)["ASTDT"]


def test_date_imputes_partial_ends_to_the_last_day_never_after_the_cap() -> None:
    steps = (
        AE_ADSL
        + "- {verb: date, var: AENDT, dtc: AEENDTC, impute: last, flag: AENDTF, not_after: DTHDT}\n"
    )
    out = run(steps, sdtm={"AE": AE}, adam={"ADSL": ADSL})
    # 2025-02 -> 2025-02-28; 2025-03-03 is after death 2025-03-01: the death date
    assert values(out, "AENDT") == [day("2025-01-10"), None, day("2025-02-28"), day("2025-03-01")]
    assert values(out, "AENDTF") == [None, None, "D", None]


def test_date_without_imputation_keeps_complete_dates_and_takes_the_first_given() -> None:
    steps = "- {verb: records, from: {dataset: AE}}\n- {verb: date, var: ADT, dtc: [AEENDTC, AESTDTC]}\n"
    out = run(steps, sdtm={"AE": AE})
    assert values(out, "ADT") == [day("2025-01-10"), None, None, day("2025-03-03")]
    assert described(steps)["ADT"] == "AEENDTC (else AESTDTC) as a date"


def test_date_refuses_a_flag_without_imputation() -> None:
    with pytest.raises(
        SpecError, match=r"ADXX.ADT: derivations\[0\] date: flag: flag and min_date"
    ):
        run("[{verb: date, var: ADT, dtc: X, flag: ADTF}]")


def test_study_day_has_no_day_zero() -> None:
    steps = AE_ADSL + (
        "- {verb: date, var: ASTDT, dtc: AESTDTC}\n- {verb: study_day, var: ASTDY, date: ASTDT}\n"
    )
    out = run(steps, sdtm={"AE": AE}, adam={"ADSL": ADSL})
    # 2025-01-05 vs 2025-01-03: day 3; 2024-12-30: 4 days before, -4
    assert values(out, "ASTDY") == [3.0, None, -4.0, None]
    assert (
        described(steps)["ASTDY"] == "ASTDT - TRTSDT + 1 on or after TRTSDT, ASTDT - TRTSDT before"
    )


def test_duration_counts_both_ends() -> None:
    out = run(
        "[{verb: records, from: {dataset: ADSL}}, "
        "{verb: duration, var: TRTDURD, start: TRTSDT, end: TRTEDT}]",
        adam={"ADSL": ADSL},
    )
    assert values(out, "TRTDURD") == [58.0, 11.0, None]


def test_duration_without_add_one_gives_elapsed_days() -> None:
    # admiral derive_vars_duration(add_one = FALSE): TRTSDT 2025-01-01 .. TRTEDT 2025-02-27
    # is 57 elapsed days (58 counting both ends, as above); a missing end stays missing.
    steps = (
        "[{verb: records, from: {dataset: ADSL}}, "
        "{verb: duration, var: ELAPSED, start: TRTSDT, end: TRTEDT, add_one: false}]"
    )
    out = run(steps, adam={"ADSL": ADSL})
    assert values(out, "ELAPSED") == [57.0, 10.0, None]
    assert described(steps)["ELAPSED"] == "TRTEDT - TRTSDT"
    with pytest.raises(SpecError, match="add_one: expected true or false, not 'no'"):
        run(steps.replace("false", "'no'"), adam={"ADSL": ADSL})


def test_dates_study_days_and_durations_of_any_year() -> None:
    """No nanosecond-timestamp limits (1677-2262): a year typed 3025 or 1663 is a date,
    imputed and counted like any other."""
    ae = AE.assign(
        AESTDTC=pd.Series(["1663-05-11", "3025-02", "2025-01-05", "1663"], dtype="string"),
        AEENDTC=pd.Series(["3025-02-26", None, "3025", "2025-03-03"], dtype="string"),
    )
    steps = AE_ADSL + (
        "- {verb: date, var: ASTDT, dtc: AESTDTC, impute: first, flag: ASTDTF}\n"
        "- {verb: date, var: AENDT, dtc: AEENDTC, impute: last}\n"
        "- {verb: study_day, var: ASTDY, date: ASTDT}\n"
        "- {verb: duration, var: ADURN, start: ASTDT, end: AENDT}\n"
    )
    out = run(steps, sdtm={"AE": ae}, adam={"ADSL": ADSL})
    assert values(out, "ASTDT") == [
        day("1663-05-11"), day("3025-02-01"), day("2025-01-05"), day("1663-01-01")
    ]  # fmt: skip
    assert values(out, "AENDT") == [day("3025-02-26"), None, day("3025-12-31"), day("2025-03-03")]
    # first doses 2025-01-03 (subject 1) and 2025-02-10 (subject 2); no day 0
    assert values(out, "ASTDY") == [-132_090.0, 365_272.0, 3.0, -132_258.0]
    assert values(out, "ADURN") == [497_387.0, None, 365_603.0, 132_280.0]

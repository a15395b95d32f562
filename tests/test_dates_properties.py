"""Property tests for the ISO 8601 conversion and --DY (hypothesis), over every year
ISO 8601 and SDTM allow (0001-9999: no nanosecond-timestamp limits anywhere on the date
path: raw parsing, the raw gate's date bounds, SDTM and ADaM study days, ADaM dates and
imputation, the conformance date checks)."""

from __future__ import annotations

import calendar
from datetime import date, datetime

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from transforms.adam import dates as adam_dates
from transforms.conformance import dates as conformance_dates
from transforms.quality.prepare import date_bounds
from transforms.sdtm.algorithms import to_iso8601 as layout_to_iso8601
from transforms.sdtm.dates import MONTHS, study_day, to_iso8601

NAMES = {v: k for k, v in MONTHS.items()}
days = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))


@given(days)
def test_every_real_date_round_trips(d: date) -> None:
    raw = f"{d.day:02d} {NAMES[f'{d.month:02d}']} {d.year:04d}"
    iso, bad = to_iso8601(pd.Series([raw], dtype="string"), "DD MON YYYY")
    assert iso[0] == d.isoformat() and not bad[0]


@given(days, st.sampled_from(["UN", "UNK"]))
def test_unknown_day_keeps_year_and_month(d: date, unknown: str) -> None:
    raw = f"{unknown} {NAMES[f'{d.month:02d}']} {d.year:04d}"
    iso, bad = to_iso8601(pd.Series([raw], dtype="string"), "DD MON YYYY")
    assert iso[0] == d.isoformat()[:7] and not bad[0]


@given(st.integers(1, 9999), st.integers(1, 12), st.integers(29, 31))
def test_impossible_dates_are_flagged_never_shifted(year: int, month: int, day: int) -> None:
    try:
        date(year, month, day)
    except ValueError:
        raw = f"{day} {NAMES[f'{month:02d}']} {year:04d}"
        iso, bad = to_iso8601(pd.Series([raw], dtype="string"), "DD MON YYYY")
        assert pd.isna(iso[0]) and bool(bad[0])


@given(days, days)
def test_study_day_has_no_zero_and_counts_days(ref: date, d: date) -> None:
    offset = (d - ref).days
    expected = offset + 1 if offset >= 0 else offset
    dy = study_day(pd.Series([d.isoformat()]), pd.Series([ref.isoformat()]))[0]
    assert dy != 0
    assert dy == expected
    # The conformance check's and ADaM's study days count the same days.
    sdtm = pd.Series([f"{d.isoformat()}T10:00"]), pd.Series([ref.isoformat()])
    assert conformance_dates.study_day(*sdtm)[0] == expected
    adam = adam_dates.iso_date(sdtm[0]), adam_dates.iso_date(sdtm[1])
    assert adam_dates.study_day(*adam)[0] == expected


@given(days, st.sampled_from(["DD MON YYYY", "ISO", "MM/DD/YYYY", "DD-MON-YYYY"]))
def test_iso_dates_and_date_times_read_in_every_format(d: date, fmt: str) -> None:
    """How the SAS reader writes SAS date and datetime numerics: read as they are."""
    stamp = datetime(d.year, d.month, d.day, 23, 59, 7).isoformat()
    raw = pd.Series([d.isoformat(), stamp], dtype="string")
    iso, bad = layout_to_iso8601(raw, fmt, pd.Series(["10:00", "10:00"]))
    assert iso.tolist() == [f"{d.isoformat()}T10:00", stamp] and not bad.any()


@given(days)
def test_gate_bounds_of_partial_dates(d: date) -> None:
    """The raw gate's earliest and latest day of a date, a month and a year, any year."""
    month = NAMES[f"{d.month:02d}"]
    raw = pd.Series(
        [f"{d.day:02d} {month} {d.year:04d}", f"UN {month} {d.year:04d}", f"UN UNK {d.year:04d}"]
    )
    bounds = date_bounds(raw, "DD MON YYYY")
    last = calendar.monthrange(d.year, d.month)[1]
    assert [x.date() for x in bounds["lo"]] == [d, d.replace(day=1), date(d.year, 1, 1)]
    assert [x.date() for x in bounds["hi"]] == [d, d.replace(day=last), date(d.year, 12, 31)]


@given(days)
def test_adam_imputation_any_year(d: date) -> None:
    dtc = pd.Series([d.isoformat(), d.isoformat()[:7], d.isoformat()[:4]])
    first, flag = adam_dates.impute_date(dtc, "first")
    last, _ = adam_dates.impute_date(dtc, "last")
    end = calendar.monthrange(d.year, d.month)[1]
    assert [x.date() for x in first] == [d, d.replace(day=1), date(d.year, 1, 1)]
    assert [x.date() for x in last] == [d, d.replace(day=end), date(d.year, 12, 31)]
    assert flag.tolist()[1:] == ["D", "M"] and pd.isna(flag[0])
    assert conformance_dates.valid_iso8601(dtc).all()

"""Property tests for the ISO 8601 conversion and --DY (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from transforms.sdtm.dates import MONTHS, study_day, to_iso8601

NAMES = {v: k for k, v in MONTHS.items()}
days = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


@given(days)
def test_every_real_date_round_trips(d: date) -> None:
    raw = f"{d.day:02d} {NAMES[f'{d.month:02d}']} {d.year}"
    iso, bad = to_iso8601(pd.Series([raw], dtype="string"), "DD MON YYYY")
    assert iso[0] == d.isoformat() and not bad[0]


@given(days, st.sampled_from(["UN", "UNK"]))
def test_unknown_day_keeps_year_and_month(d: date, unknown: str) -> None:
    raw = f"{unknown} {NAMES[f'{d.month:02d}']} {d.year}"
    iso, bad = to_iso8601(pd.Series([raw], dtype="string"), "DD MON YYYY")
    assert iso[0] == d.isoformat()[:7] and not bad[0]


@given(st.integers(1900, 2100), st.integers(1, 12), st.integers(29, 31))
def test_impossible_dates_are_flagged_never_shifted(year: int, month: int, day: int) -> None:
    try:
        date(year, month, day)
    except ValueError:
        raw = f"{day} {NAMES[f'{month:02d}']} {year}"
        iso, bad = to_iso8601(pd.Series([raw], dtype="string"), "DD MON YYYY")
        assert pd.isna(iso[0]) and bool(bad[0])


@given(days, st.integers(-2000, 2000))
def test_study_day_has_no_zero_and_counts_days(ref: date, offset: int) -> None:
    d = ref + timedelta(days=offset)
    dy = study_day(pd.Series([d.isoformat()]), pd.Series([ref.isoformat()]))[0]
    assert dy != 0
    assert dy == (offset + 1 if offset >= 0 else offset)

"""ISO 8601 text (SDTM --DTC) to analysis dates, with ADaM imputation flags."""

from __future__ import annotations

from typing import Literal

import pandas as pd


def iso_date(dtc: pd.Series) -> pd.Series:
    """The date of a complete ISO 8601 date(time); partial or missing -> NaT."""
    day = dtc.astype("string").str.slice(0, 10)
    complete = day.str.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fillna(False)
    return pd.to_datetime(day.where(complete), format="%Y-%m-%d", errors="coerce").astype(
        "datetime64[s]"
    )


def impute_date(dtc: pd.Series, side: Literal["first", "last"]) -> tuple[pd.Series, pd.Series]:
    """A date for every ISO date with at least a year: a missing day becomes the first (or
    last) day of the month, flag ``D``; a missing month and day the first (or last) day of
    the year, flag ``M``. Returns (date, flag); complete dates have no flag."""
    text = dtc.astype("string").str.slice(0, 10)
    month = text.str.fullmatch(r"[0-9]{4}-[0-9]{2}").fillna(False)
    year = text.str.fullmatch(r"[0-9]{4}").fillna(False)
    filled = text.copy()
    if side == "first":
        filled = filled.mask(month, text + "-01").mask(year, text + "-01-01")
    else:
        month_end = pd.to_datetime(
            text.where(month) + "-01", errors="coerce"
        ) + pd.offsets.MonthEnd(0)
        filled = filled.mask(month, month_end.dt.strftime("%Y-%m-%d").astype("string"))
        filled = filled.mask(year, text + "-12-31")
    date = iso_date(filled)
    flag = pd.Series(pd.NA, index=dtc.index, dtype="string").mask(month, "D").mask(year, "M")
    return date, flag.where(date.notna())


def study_day(date: pd.Series, ref: pd.Series) -> pd.Series:
    """ADaM --DY: date - reference + 1 on or after it, date - reference before (no day 0)."""
    delta = (date - ref).dt.days.astype("Float64")
    return delta.where(delta < 0, delta + 1).astype("float64")

"""ISO 8601 text dates as SDTM writes them, checked and compared without row loops.

SDTMIG 4.4: a date/time is ``YYYY-MM-DDThh:mm:ss`` (fraction allowed) with unknown trailing
parts left off and an unknown inner part written ``-`` (``2003---15``, ``--12-15``,
``2003-12-15T-:15``); an interval is two such values joined by ``/``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.sdtm.dates import by_unique

_ISO = (
    r"^(?P<y>\d{4}|-)"
    r"(?:-(?P<m>\d{2}|-)"
    r"(?:-(?P<d>\d{2}|-)"
    r"(?:T(?P<H>\d{2}|-)"
    r"(?::(?P<M>\d{2}|-)"
    r"(?::(?P<S>\d{2}(?:\.\d+)?))?"
    r")?)?)?)?$"
)
_FULL_DATE = r"^\d{4}-\d{2}-\d{2}"


def _valid_point(text: pd.Series) -> pd.Series:
    """True where ``text`` (no nulls) is one ISO 8601 date/time as SDTM writes it."""
    parts = text.str.extract(_ISO)
    ok = parts["y"].notna() & ~text.str.endswith("-") & text.str.contains(r"\d", regex=True)

    def number(col: str) -> pd.Series:
        return pd.to_numeric(parts[col].where(parts[col] != "-"), errors="coerce")

    month, day, hour, minute = number("m"), number("d"), number("H"), number("M")
    second = pd.to_numeric(parts["S"], errors="coerce")
    ok &= month.isna() | month.between(1, 12)
    ok &= day.isna() | day.between(1, 31)
    ok &= hour.isna() | hour.between(0, 23)
    ok &= minute.isna() | minute.between(0, 59)
    ok &= second.isna() | ((second >= 0) & (second < 60))
    # A complete calendar date must exist (no 2023-02-30).
    full = text.str.contains(_FULL_DATE, regex=True)
    parsed = pd.to_datetime(text.str.slice(0, 10).where(full), format="%Y-%m-%d", errors="coerce")
    ok &= ~full | parsed.notna()
    return ok.fillna(False).astype(bool)


def valid_iso8601(values: pd.Series) -> pd.Series:
    """False where a non-null value is not an ISO 8601 date/time or interval of two."""
    return by_unique(values.astype("string"), _valid_text)


def _valid_text(text: pd.Series) -> pd.Series:
    present = text.dropna()
    if present.empty:
        return pd.Series(True, index=text.index)
    left = present.str.replace(r"/.*$", "", regex=True)
    right = present.str.extract(r"/(.*)$")[0].astype("string")
    ok = _valid_point(left)
    has_right = right.notna()
    if has_right.any():
        ok &= ~has_right | _valid_point(right.fillna("x"))
    ok &= present.str.count("/") <= 1
    return ok.reindex(text.index, fill_value=True)


def complete_date(values: pd.Series) -> pd.Series:
    """The date part of complete ISO 8601 dates (YYYY-MM-DD...), else NaT."""
    return by_unique(values.astype("string"), _complete_date)


def _complete_date(text: pd.Series) -> pd.Series:
    full = text.str.contains(_FULL_DATE, regex=True).fillna(False).astype(bool)
    return pd.to_datetime(text.str.slice(0, 10).where(full), format="%Y-%m-%d", errors="coerce")


def study_day(dates: pd.Series, reference: pd.Series) -> pd.Series:
    """SDTM study day: date - reference (+1 on or after it; no day 0); NaN if either is
    not a complete date."""
    date, ref = complete_date(dates), complete_date(reference)
    days = (date - ref).dt.days.astype("float64")
    return days + (days >= 0).astype("float64")


def _precision(text: pd.Series) -> pd.Series:
    """How many leading characters of each ISO date compare: 10 (a day), 7 (a month), 4 (a
    year), else 0."""
    day = text.str.contains(r"^\d{4}-\d{2}-\d{2}", regex=True)
    month = text.str.contains(r"^\d{4}-\d{2}", regex=True)
    year = text.str.contains(r"^\d{4}", regex=True)
    out = year.astype("Int64") * 4
    out = out.mask(month.fillna(False).astype(bool), 7)
    return out.mask(day.fillna(False).astype(bool), 10).fillna(0)


def after(first: pd.Series, second: pd.Series) -> pd.Series:
    """True where the ISO date ``first`` is surely later than ``second``, compared at the
    precision both give (year, month or day); False where either is missing or unknown."""
    a, b = first.astype("string"), second.astype("string")
    common = np.minimum(
        by_unique(a, _precision).to_numpy(dtype="int64"),
        by_unique(b, _precision).to_numpy(dtype="int64"),
    )
    result = pd.Series(False, index=first.index)
    for width in (4, 7, 10):
        at = common == width
        if at.any():
            later = a[at].str.slice(0, width) > b[at].str.slice(0, width)
            result[at] = later.fillna(False).astype(bool)
    return result

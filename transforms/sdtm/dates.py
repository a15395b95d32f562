"""ISO 8601 dates from raw EDC text, and study days (--DY), vectorised.

Raw formats (named in the specs):
- ``DD MON YYYY``: ``05 JAN 2025``; unknown day ``UN``, unknown month ``UNK`` (or ``UN``):
  ``UN JAN 2025`` -> ``2025-01``, ``UN UNK 2025`` -> ``2025``, ``05 UNK 2025`` -> ``2025---05``
  (SDTMIG: a missing middle part is written as a hyphen).
- ``ISO``: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` as sent.
Times (``HH:MM`` or ``HH:MM:SS``) are appended only to complete dates.

Whatever the format, a complete ISO 8601 date or date-time (``2025-01-05``,
``2025-01-05T10:30:00``) is read as itself: it cannot be mistaken for another date, and it
is how the SAS reader writes SAS date and datetime numerics (DATE9., DATETIME20., ...), so a
SAS export is read against the same specs as the EDC's text export. A date-time keeps its
own time (a time column beside it is not appended).
Any year 0001-9999 is a date (no nanosecond-timestamp limits): a year typed 3025 for 2025
is listed by the raw gate (DATE-AFTER-CUTOFF, DATE-BEFORE-BIRTH), not a crash.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Final, TypeVar

import numpy as np
import pandas as pd

T = TypeVar("T", pd.Series, pd.DataFrame)

MONTHS: Final = {
    m: f"{i:02d}"
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
FORMATS: Final = ("DD MON YYYY", "ISO")
_UNKNOWN = r"UNK|UN|UK|--"
_PATTERNS: Final = {
    "DD MON YYYY": (
        rf"^(?P<d>[0-9]{{1,2}}|{_UNKNOWN})[ -](?P<m>[A-Za-z]{{3}}|{_UNKNOWN})[ -](?P<y>[0-9]{{4}})$"
    ),
    "ISO": r"^(?P<y>[0-9]{4})(?:-(?P<m>[0-9]{2})(?:-(?P<d>[0-9]{2}))?)?$",
}
_TIME = r"^(?P<h>[01][0-9]|2[0-3]):(?P<mi>[0-5][0-9])(?::(?P<s>[0-5][0-9]))?$"
ISO_STAMP = (
    r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})"
    r"(?P<t>T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]+)?)?)?$"
)


def by_unique(values: pd.Series, func: Callable[[pd.Series], T]) -> T:
    """Apply a column function to the distinct values only, then spread the result back.

    Raw columns repeat few values over many rows (dates, units, visit names), and pandas
    runs regular expressions per element, so this is where the time goes on large forms.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct = pd.concat(
        [pd.Series(uniques, dtype=values.dtype), pd.Series([pd.NA], dtype=values.dtype)],
        ignore_index=True,
    )
    result = func(distinct)
    taken = result.take(np.where(codes < 0, len(uniques), codes))
    taken.index = values.index
    return taken


def to_iso8601(
    raw: pd.Series, fmt: str, time: pd.Series | None = None
) -> tuple[pd.Series, pd.Series]:
    """Convert raw dates to ISO 8601 text.

    Returns (iso, bad): `iso` is NA where the raw value is empty or cannot be read; `bad`
    marks non-empty raw values that are not a valid (possibly partial) date in `fmt`,
    including impossible ones such as ``30 FEB 2025``, and non-empty times that are not
    ``HH:MM[:SS]``.

    Each distinct value is read once, in plain Python: a night's date columns repeat few
    values, and pandas' per-operation cost made a vectorised reading of a handful of
    values cost ~13 ms a column (2 s of a 15-subject night).
    """
    if fmt not in _PATTERNS:
        raise ValueError(f"unknown date format {fmt!r}; known: {', '.join(FORMATS)}")
    read = by_unique(raw.astype("string"), partial(_read_dates, pattern=_REGEX[fmt]))
    iso, bad = read["iso"], read["bad"]
    if time is None:
        return iso, bad
    clock = by_unique(time.astype("string"), _read_times)
    timed = read["complete"] & clock["hhmm"].notna()
    return iso.mask(timed, iso + "T" + clock["hhmm"]), bad | clock["bad"]


_REGEX: Final = {fmt: re.compile(pattern) for fmt, pattern in _PATTERNS.items()}
_STAMP: Final = re.compile(ISO_STAMP)
_CLOCK: Final = re.compile(_TIME)
_UNKNOWN_TOKENS: Final = frozenset(_UNKNOWN.split("|"))


def _read_dates(distinct: pd.Series, pattern: re.Pattern[str]) -> pd.DataFrame:
    """Per distinct raw value: its ISO 8601 text (``iso``), whether it is unreadable
    (``bad``) and whether it is a complete date without a time of its own (``complete``:
    a time column may be added to it)."""
    text = distinct.str.strip().str.upper()
    rows = [_read_date(t, pattern) if isinstance(t, str) else _EMPTY for t in text.to_list()]
    iso, bad, complete = zip(*rows, strict=True) if rows else ((), (), ())
    return pd.DataFrame(
        {"iso": pd.array(iso, dtype="string"), "bad": np.array(bad, dtype=bool),
         "complete": np.array(complete, dtype=bool)},
        index=distinct.index,
    )  # fmt: skip


_EMPTY: Final = (None, False, False)


def _read_date(text: str, pattern: re.Pattern[str]) -> tuple[str | None, bool, bool]:
    """(iso, bad, complete) of one trimmed, upper-case raw value (see :func:`_read_dates`)."""
    if not text:
        return _EMPTY
    own_time = None
    parts = pattern.match(text)
    if parts is not None:
        year, month, day = parts["y"], parts["m"], parts["d"]
        if month is not None and not month.isdigit():  # DD MON YYYY: a name or unknown
            if month not in MONTHS and month not in _UNKNOWN_TOKENS:
                return None, True, False
            month = MONTHS.get(month)
            day = day.zfill(2) if day.isdigit() else None
    elif (stamp := _STAMP.match(text)) is not None:  # a complete ISO 8601 date(-time)
        year, month, day, own_time = stamp["y"], stamp["m"], stamp["d"], stamp["t"]
    else:
        return None, True, False
    if year == "0000":  # years run 0001-9999
        return None, True, False
    if month is None:
        return (year if day is None else f"{year}---{day}"), False, False
    if not 1 <= int(month) <= 12:
        return None, True, False
    if day is None:
        return f"{year}-{month}", False, False
    try:  # impossible calendar dates (2025-02-30, 31 APR) are not dates
        date(int(year), int(month), int(day))
    except ValueError:
        return None, True, False
    iso = f"{year}-{month}-{day}"
    return (iso + own_time, False, False) if own_time else (iso, False, True)


def _read_times(distinct: pd.Series) -> pd.DataFrame:
    """Per distinct raw time: ``HH:MM`` or ``HH:MM:SS`` (``hhmm``), and whether a
    non-empty value is neither (``bad``)."""
    text = distinct.str.strip()
    hhmm, bad = [], []
    for t in text.to_list():
        clock = _CLOCK.match(t) if isinstance(t, str) else None
        hhmm.append(None if clock is None else clock.group(0))
        bad.append(clock is None and isinstance(t, str) and t != "")
    return pd.DataFrame(
        {"hhmm": pd.array(hhmm, dtype="string"), "bad": np.array(bad, dtype=bool)},
        index=distinct.index,
    )


def is_complete_date(iso: pd.Series) -> pd.Series:
    """True where the ISO 8601 value holds a complete calendar date (YYYY-MM-DD...)."""
    return iso.astype("string").str.match(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}").fillna(False).astype(bool)


def study_day(iso: pd.Series, ref: pd.Series) -> pd.Series:
    """--DY: DTC - RFSTDTC + 1 on or after the reference, DTC - RFSTDTC before; no day 0.

    Only where both dates are complete (date parts only, any time ignored); else NA.
    """
    ok = is_complete_date(iso) & is_complete_date(ref)
    d = pd.to_datetime(iso.astype("string").str.slice(0, 10).where(ok), format="%Y-%m-%d")
    r = pd.to_datetime(ref.astype("string").str.slice(0, 10).where(ok), format="%Y-%m-%d")
    days = (d - r).dt.days
    return (days + (days >= 0).astype("Int64")).astype("Float64").astype("float64")

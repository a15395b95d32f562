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

from collections.abc import Callable
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
    including impossible ones such as ``30 FEB 2025``.
    """
    if fmt not in _PATTERNS:
        raise ValueError(f"unknown date format {fmt!r}; known: {', '.join(FORMATS)}")
    if time is None:
        both = by_unique(
            raw.astype("string"), lambda d: pd.concat(_to_iso8601(d, fmt, None), axis=1)
        )
        return both.iloc[:, 0], both.iloc[:, 1]
    return _to_iso8601(raw, fmt, time)


def _to_iso8601(raw: pd.Series, fmt: str, time: pd.Series | None) -> tuple[pd.Series, pd.Series]:
    text = raw.astype("string").str.strip().str.upper()
    present = text.notna() & (text != "")
    parts = text.str.extract(_PATTERNS[fmt])
    year = parts["y"]
    if fmt == "ISO":
        month, day = parts["m"], parts["d"]
    else:
        month = parts["m"].map(MONTHS, na_action="ignore").astype("string")
        day = parts["d"].where(parts["d"].str.fullmatch(r"[0-9]{1,2}").fillna(False)).str.zfill(2)
    # A month that is neither a known name nor an "unknown" token is unreadable.
    bad_month = parts["m"].notna() & month.isna()
    if fmt != "ISO":
        bad_month &= ~parts["m"].str.fullmatch(_UNKNOWN).fillna(False)
    # A complete ISO 8601 date (or date-time), as the SAS reader writes SAS dates.
    stamp = text.str.extract(ISO_STAMP)
    stamped = year.isna() & stamp["y"].notna()
    year = year.mask(stamped, stamp["y"])
    month = month.mask(stamped, stamp["m"])
    day = day.mask(stamped, stamp["d"])
    own_time = stamped & stamp["t"].notna()
    matched = year.notna() & ~bad_month

    full = matched & month.notna() & day.notna()
    iso = pd.Series(pd.NA, index=raw.index, dtype="string")
    iso[matched] = year[matched]
    ym = matched & month.notna()
    iso[ym] = year[ym] + "-" + month[ym]
    iso[full] = year[full] + "-" + month[full] + "-" + day[full]
    no_month_day = matched & month.isna() & day.notna()
    iso[no_month_day] = year[no_month_day] + "---" + day[no_month_day]

    # Impossible calendar dates (2025-02-30, 31 APR) are not dates.
    real = pd.to_datetime(iso.where(full), format="%Y-%m-%d", errors="coerce")
    impossible = full & real.isna()
    month_num = pd.to_numeric(month, errors="coerce")
    impossible |= ym & ((month_num < 1) | (month_num > 12)).fillna(False)
    impossible |= matched & (year == "0000").fillna(False)  # years run 0001-9999
    iso[impossible] = pd.NA
    bad = present & (~matched | impossible)
    timed = own_time & full & ~impossible
    iso[timed] = iso[timed] + stamp["t"][timed]

    if time is not None:
        t = time.astype("string").str.strip()
        tparts = t.str.extract(_TIME)
        good_t = tparts["h"].notna()
        hhmm = tparts["h"] + ":" + tparts["mi"]
        hhmm = hhmm.where(tparts["s"].isna(), hhmm + ":" + tparts["s"])
        with_time = full & ~impossible & good_t & ~own_time
        iso[with_time] = iso[with_time] + "T" + hhmm[with_time]
        bad |= t.notna() & (t != "") & ~good_t
    return iso, bad


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

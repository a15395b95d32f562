"""Dates: raw dates to ISO 8601, study days, dates moved by days, the last record before a
reference date."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

import pandas as pd

from transforms.sdtm import dates
from transforms.sdtm.algorithms.base import (
    Arg,
    Context,
    Parsing,
    Rule,
    algorithm,
    complete_day,
    rules,
    whole,
)


def _date_format(value: Any, p: Parsing) -> str:
    fmt = str(value)
    if fmt not in dates.FORMATS and _layout_patterns(fmt) is None:
        raise p.fail(
            f"unknown format {fmt!r}; known {list(dates.FORMATS)} or a layout of "
            "DD, MM (or MON) and YYYY with one separator, such as MM/DD/YYYY"
        )
    return fmt


@algorithm("iso8601")
@dataclass(frozen=True)
class Iso8601:
    """Raw date (and optional time) to ISO 8601, partial dates kept as far as known."""

    fmt: Annotated[str, Arg(_date_format, key="format", default="DD MON YYYY")]
    time: Annotated[Rule | None, Arg(default=None)]
    date: Annotated[Rule, Arg()]

    def evaluate(self, ctx: Context) -> pd.Series:
        raw = self.date.evaluate(ctx)
        time = self.time.evaluate(ctx) if self.time else None
        iso, bad = to_iso8601(raw, self.fmt, time)
        ctx.report(bad, raw, "ISO8601", f"not a valid date in format {self.fmt!r}")
        return iso


def to_iso8601(
    raw: pd.Series, fmt: str, time: pd.Series | None = None
) -> tuple[pd.Series, pd.Series]:
    """:func:`dates.to_iso8601` for every format a spec may name: the reader's own formats
    and the layouts (``MM/DD/YYYY``...). Returns (iso, bad) as that function does."""
    if fmt in dates.FORMATS:
        return dates.to_iso8601(raw, fmt, time)
    patterns = _layout_patterns(fmt)
    if patterns is None:
        raise ValueError(f"unknown date format {fmt!r}")
    text = dates.by_unique(raw.astype("string"), partial(_from_layout, patterns=patterns))
    return dates.to_iso8601(text, "DD MON YYYY", time)


_UNKNOWN_PART = r"UNK|UN|UK"  # an unknown day or month
_LAYOUT = re.compile(r"^(DD|MM|MON|YYYY)([/\-. ])(DD|MM|MON|YYYY)\2(DD|MM|MON|YYYY)$")
_LAYOUT_PARTS = {
    "DD": rf"(?P<d>[0-9]{{1,2}}|{_UNKNOWN_PART})",
    "MM": rf"(?P<m>[0-9]{{1,2}}|{_UNKNOWN_PART})",
    "MON": rf"(?P<m>[A-Z]{{3}}|{_UNKNOWN_PART})",
    "YYYY": r"(?P<y>[0-9]{4})",
}
_MONTH_NAMES = {number: name for name, number in dates.MONTHS.items()}


def _layout_patterns(fmt: str) -> tuple[str, ...] | None:
    """The regular expressions of a date layout such as ``MM/DD/YYYY``, ``DD-MON-YYYY`` or
    ``YYYY.MM.DD`` (day, month and year once each, one separator): the whole date, the date
    without its day (``01/2014``) and the year alone (``2014``), as an EDC writes a partial
    date. None if `fmt` is not such a layout."""
    found = _LAYOUT.match(fmt)
    if found is None:
        return None
    parts = [found.group(1), found.group(3), found.group(4)]
    if sorted(p.replace("MON", "MM") for p in parts) != ["DD", "MM", "YYYY"]:
        return None
    sep = re.escape(found.group(2))
    no_day = [p for p in parts if p != "DD"]
    return tuple(
        "^" + sep.join(_LAYOUT_PARTS[p] for p in layout) + "$"
        for layout in (parts, no_day, ["YYYY"])
    )


def _from_layout(raw: pd.Series, patterns: tuple[str, ...]) -> pd.Series:
    """Dates in a layout rewritten as ``DD MON YYYY`` text (unknown or missing parts as
    ``UN``/``UNK``), so one reader checks them all; a complete ISO 8601 date(-time) stays as
    it is (read as such in every format); other text that does not fit stays unreadable."""
    text = raw.str.strip().str.upper()
    parts = text.str.extract(patterns[0])
    for pattern in patterns[1:]:
        more = text.str.extract(pattern).reindex(columns=["d", "m", "y"])
        parts = parts.where(parts["y"].notna(), more)
    month = parts["m"]
    numeric = month.str.fullmatch(r"[0-9]{1,2}").fillna(False).astype(bool)
    names = month.str.zfill(2).map(_MONTH_NAMES, na_action="ignore").fillna("???")
    month = month.mask(numeric, names)
    unknown = month.str.fullmatch(_UNKNOWN_PART).fillna(False).astype(bool)
    month = month.mask(unknown | month.isna(), "UNK")
    out = parts["d"].fillna("UN") + " " + month + " " + parts["y"]
    out = out.mask(text.str.fullmatch(dates.ISO_STAMP).fillna(False).astype(bool), text)
    return out.mask(text.notna() & (text != "") & out.isna(), "?").astype("string")


@algorithm("study_day")
@dataclass(frozen=True)
class StudyDay:
    """--DY from a date and the reference start date (no day 0; complete dates only)."""

    date: Annotated[Rule, Arg()]
    ref: Annotated[Rule, Arg()]

    def evaluate(self, ctx: Context) -> pd.Series:
        return dates.study_day(self.date.evaluate(ctx), self.ref.evaluate(ctx))


@algorithm("date_add")
@dataclass(frozen=True)
class DateAdd:
    """A complete date moved by a number of days (e.g. the end of a treatment-emergent
    window); partial or missing dates give null."""

    days: Annotated[int, Arg(whole)]
    date: Annotated[Rule, Arg()]

    def evaluate(self, ctx: Context) -> pd.Series:
        day = complete_day(self.date.evaluate(ctx))
        moved = (day + pd.Timedelta(days=self.days)).dt.strftime("%Y-%m-%d")
        return moved.astype("string")


@algorithm("last_before")
@dataclass(frozen=True)
class LastBefore:
    """Y on the last record with a value on or before a reference date, per group
    (--LOBXFL: last observation before exposure; dates compare as complete dates only)."""

    by: Annotated[tuple[Rule, ...], Arg(rules)]
    date: Annotated[Rule, Arg()]
    value: Annotated[Rule, Arg()]
    ref: Annotated[Rule, Arg()]

    def evaluate(self, ctx: Context) -> pd.Series:
        day = self.date.evaluate(ctx).astype("string")
        ref = self.ref.evaluate(ctx).astype("string")
        ok = (
            dates.is_complete_date(day)
            & dates.is_complete_date(ref)
            & self.value.evaluate(ctx).notna()
            & (day.str.slice(0, 10) <= ref.str.slice(0, 10)).fillna(False)
        )
        groups = pd.DataFrame({f"g{i}": b.evaluate(ctx) for i, b in enumerate(self.by)})
        table = groups.assign(d=day.str.slice(0, 10), r=ctx.frame["__ROW"])[ok]
        last = table.sort_values(["d", "r"]).groupby(list(groups.columns), dropna=False).tail(1)
        out = pd.Series(pd.NA, index=ctx.frame.index, dtype="string")
        return out.mask(out.index.isin(last.index), "Y")

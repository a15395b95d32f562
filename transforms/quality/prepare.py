"""The frame Great Expectations validates for one raw form, built vectorised.

Every raw column becomes trimmed text with empty as null (what the mapping reads, so
``"FEMALE "`` and ``"Female"`` are the same value, and a blank is missing as for extract),
``__ROW`` is kept, and each :class:`~transforms.quality.checks.Derived` column the suite
reads is added. Regular expressions and date parsing run on distinct values only.
The raw frame itself is left as read: listings show the raw spelling.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from transforms.quality.checks import Derived
from transforms.quality.library import LIBRARY
from transforms.sdtm import dates
from transforms.sdtm.algorithms import normalise, to_iso8601

ROW = "__ROW"
SUBJECT = "SUBJID"
DATETIME = "datetime64[s]"  # whole days, any year 0001-9999 (no nanosecond limits)
NS_FIRST, NS_LAST = np.datetime64("1678-01-01", "s"), np.datetime64("2261-12-31", "s")


def text(values: pd.Series) -> pd.Series:
    """Trimmed text; empty (or blank) is null."""
    out = values.astype("string").str.strip()
    return out.mask(out == "")


def date_bounds(raw: pd.Series, fmt: str) -> pd.DataFrame:
    """The earliest (``lo``) and latest (``hi``) day a raw, possibly partial date may stand
    for (``UN JAN 2025``: 2025-01-01 and 2025-01-31); both null where it is not a date.
    Each distinct value once, in plain Python (a handful per column on a night)."""

    def bounds(distinct: pd.Series) -> pd.DataFrame:
        iso, _ = to_iso8601(distinct, fmt)
        lo, hi = zip(*(_period(v) for v in iso.to_list()), strict=True)
        days = np.array(lo + hi, dtype=DATETIME)
        # GX compares datetime64[ns] columns vectorised, others a Python object per value
        # (ColumnValuesBetween): nanoseconds where every day fits them (years 1678-2261)
        fits = bool(((days >= NS_FIRST) & (days <= NS_LAST) | np.isnat(days)).all())
        unit = np.dtype("datetime64[ns]" if fits else DATETIME)
        return pd.DataFrame(
            {"lo": pd.Series(days[: len(lo)], index=distinct.index).astype(unit),
             "hi": pd.Series(days[len(lo) :], index=distinct.index).astype(unit)},
        )  # fmt: skip

    return dates.by_unique(raw.astype("string"), bounds)


def _period(iso: object) -> tuple[str, str]:
    """The first and last day (``YYYY-MM-DD``; ``NaT`` for none) of an ISO 8601 date made
    by :func:`~transforms.sdtm.dates.to_iso8601`: a complete date's day (its time dropped),
    ``YYYY-MM``'s month, ``YYYY``'s and ``YYYY---DD``'s year (its month is unknown)."""
    if not isinstance(iso, str):
        return "NaT", "NaT"
    if len(iso) == 4 or "---" in iso:
        return f"{iso[:4]}-01-01", f"{iso[:4]}-12-31"
    if len(iso) == 7:
        last = calendar.monthrange(int(iso[:4]), int(iso[5:7]))[1]
        return f"{iso}-01", f"{iso}-{last:02d}"
    return iso[:10], iso[:10]


def number(values: pd.Series) -> pd.Series:
    """A number where the text is one, else NaN (float64: GX compares it vectorised)."""
    numeric = pd.to_numeric(values, errors="coerce").astype("Float64")
    return pd.Series(numeric.to_numpy(dtype="float64", na_value=np.nan), index=values.index)


PerSubject = tuple[pd.Series, Any]
"""A derived column of another form per subject: its values indexed by SUBJID (trimmed
text; the earliest ``lo``, the latest ``hi``, else the first value of the subject's rows)
and the column's dtype."""


class _Columns:
    """The trimmed columns of every form, computed once each."""

    def __init__(self, forms: Mapping[str, pd.DataFrame]) -> None:
        self.forms = forms
        self._text: dict[tuple[str, str], pd.Series] = {}
        self._dates: dict[tuple[str, str, str], pd.DataFrame] = {}
        self._codes: dict[str, tuple[np.ndarray, pd.Index]] = {}

    def text(self, form: str, column: str) -> pd.Series:
        key = (form, column)
        if key not in self._text:
            frame = self.forms[form]
            if column in frame.columns:
                self._text[key] = text(frame[column])
            else:  # a contract breach reported by FORM-COLUMNS; the checks see nulls
                self._text[key] = pd.Series(pd.NA, index=frame.index, dtype="string")
        return self._text[key]

    def derive(self, d: Derived, form: str) -> pd.Series:
        """The derived column over the rows of `form` (d.form is ignored here)."""
        if d.kind == "library":
            return normalise(LIBRARY[d.column](self.forms, form).astype("string"))
        values = self.text(form, d.column)
        if d.kind == "text":
            return values
        if d.kind == "num":
            return number(values)
        if d.kind in ("lo", "hi"):
            key = (form, d.column, d.fmt)
            if key not in self._dates:
                self._dates[key] = date_bounds(values, d.fmt)
            return self._dates[key][d.kind]
        folded = normalise(values)
        if d.kind == "norm":
            return folded
        return folded.where(folded.isin(d.keys), values)  # ct

    def picked(self, d: Derived) -> PerSubject:
        """A derived column of another form, one value per subject (see :data:`PerSubject`)."""
        assert d.form is not None
        values = self.derive(d, d.form)
        groups = values.groupby(self.text(d.form, SUBJECT).to_numpy(), dropna=True)
        return {"lo": groups.min, "hi": groups.max}.get(d.kind, groups.first)(), values.dtype

    def _subjects(self, form: str) -> tuple[np.ndarray, pd.Index]:
        """The subject of each row of `form` as a code into its distinct subjects (code
        ``len(subjects)`` where it has none), coded once per form."""
        if form not in self._codes:
            codes, subjects = pd.factorize(self.text(form, SUBJECT), use_na_sentinel=True)
            self._codes[form] = (np.where(codes < 0, len(subjects), codes), pd.Index(subjects))
        return self._codes[form]

    def joined(self, d: Derived, form: str, picked: PerSubject | None = None) -> pd.Series:
        """A derived column of another form, brought onto `form`'s rows by SUBJID
        (`picked`: its values per subject, where known already): looked up once per
        distinct subject of the rows."""
        values, dtype = self.picked(d) if picked is None else picked
        codes, subjects = self._subjects(form)
        found = values.reindex(subjects).to_numpy()
        missing = pd.Series([None], dtype=values.dtype).to_numpy()  # no subject: no value
        out = np.concatenate([found, missing])[codes]
        return pd.Series(out, index=self.text(form, SUBJECT).index, dtype=dtype)


class _With(Mapping[str, pd.DataFrame]):
    """The forms, with the rows of one form given (all its rows, or some subjects')."""

    def __init__(self, forms: Mapping[str, pd.DataFrame], form: str, rows: pd.DataFrame) -> None:
        self._forms, self._form, self._rows = forms, form, rows

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self._rows if name == self._form else self._forms[name]

    def __contains__(self, name: object) -> bool:
        return name == self._form or name in self._forms

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([self._form, *self._forms]))

    def __len__(self) -> int:
        return len(dict.fromkeys([self._form, *self._forms]))


def per_subject(d: Derived, form: pd.DataFrame) -> PerSubject:
    """The derived column `d` of another form per subject, from the rows `form` of that
    form (all its rows, or whole subjects' rows; with SUBJID and the column `d` reads)."""
    assert d.form is not None
    return _Columns({d.form: form}).picked(d)


def validated_frame(
    form: str,
    raw: pd.DataFrame,
    others: Mapping[str, pd.DataFrame],
    derived: Sequence[Derived],
    known: Mapping[Derived, PerSubject] | None = None,
) -> pd.DataFrame:
    """The frame the suite of `form` runs on, for its rows `raw` (all, or the rows of some
    subjects: every derived column is computed per row, or per subject from `others`, the
    other forms, or the columns of them the derived columns read; `known`: derived columns
    of other forms already computed per subject, not read from `others`)."""
    known = known or {}
    columns = _Columns(_With(others, form, raw))
    data: dict[str, pd.Series] = {}
    if ROW in raw.columns:
        data[ROW] = raw[ROW]
    for name in raw.columns:
        if name != ROW:
            data[name] = columns.text(form, name)
    for d in derived:
        data[d.name] = columns.joined(d, form, known.get(d)) if d.form else columns.derive(d, form)
    return pd.DataFrame(data, index=raw.index)

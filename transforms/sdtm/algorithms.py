"""The mapping vocabulary: small reusable algorithms named in the specs, implemented once.

A rule in a spec is a mapping with an ``algorithm`` key, or one of three shorthands:
``{column: X}`` (a raw column of the current form), ``{var: X}`` (a variable already
derived in this dataset) and ``{value: X}`` (a constant). Rules nest: wherever an algorithm
takes a source, any rule may stand. Every algorithm works on whole columns at once.

Each algorithm is parsed once when the spec is loaded (unknown algorithms, unknown or
missing arguments, unknown raw columns and codelist values are spec errors naming the
file and entry) and evaluated per run against a :class:`Context`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, ClassVar, Protocol, cast

import pandas as pd

from transforms.errors import UserError
from transforms.issues import IssueLog
from transforms.sdtm import dates


class SpecError(UserError, ValueError):
    """A spec that cannot be used; the message names the spec file and entry."""


@dataclass(frozen=True)
class Scope:
    """What a rule may refer to while it is parsed: for messages and checks."""

    where: str  # "sdtm_specs/POMMAINT/sdtm/dm.yaml: DM.RFSTDTC"
    form: str  # the form whose rows the rule runs over
    form_columns: frozenset[str]
    forms: Mapping[str, frozenset[str]]  # every form of the study -> its columns
    known_vars: frozenset[str]
    codelist: Codelist | None = None  # the target variable's codelist, if any
    with_dm: bool = False  # DM is built already: {dm: VAR} may be used

    def fail(self, message: str) -> SpecError:
        return SpecError(f"{self.where}: {message}")

    def in_form(self, form: str) -> Scope:
        if form not in self.forms:
            raise self.fail(f"unknown form {form!r} (forms: {', '.join(sorted(self.forms))})")
        return Scope(
            self.where, form, self.forms[form], self.forms, frozenset(), self.codelist, self.with_dm
        )


class Codelist(Protocol):
    """What the algorithms need of a controlled-terminology codelist."""

    code: str
    extensible: bool

    def lookup(self, value: str) -> object | None: ...


@dataclass
class Context:
    """The rows a rule runs over, and what it may consult."""

    frame: pd.DataFrame  # raw form rows (text), with __ROW
    form: str
    dataset: str
    column: str  # the target variable, for issue listings
    forms: Mapping[str, pd.DataFrame]
    vars: dict[str, pd.Series]
    ct_map: Mapping[str, Mapping[str, str]]  # codelist code -> normalised raw -> value
    issues: IssueLog
    form_files: Mapping[str, str] = field(default_factory=dict)
    datasets: Mapping[str, pd.DataFrame] = field(default_factory=dict)  # built SDTM (DM)

    def subset(self, mask: pd.Series) -> Context:
        """The same context restricted to the rows where `mask` holds."""
        return replace(
            self, frame=self.frame[mask], vars={k: v[mask] for k, v in self.vars.items()}
        )

    def report(
        self, mask: pd.Series, values: pd.Series, rule: str, message: str, severity: str = "error"
    ) -> None:
        self.issues.add(
            self.frame,
            mask,
            severity=severity,
            dataset=self.dataset,
            form=self.form_files.get(self.form, self.form),
            column=self.column,
            values=values,
            rule=rule,
            message=message,
        )


class Rule(Protocol):
    def evaluate(self, ctx: Context) -> pd.Series: ...


def _extract(values: pd.Series, pattern: str) -> pd.DataFrame:
    return values.str.extract(pattern)


def normalise(values: pd.Series) -> pd.Series:
    """Raw text compared loosely: trimmed, inner blanks collapsed, case-folded."""
    return dates.by_unique(
        values.astype("string"),
        lambda v: v.str.strip().str.replace(r"\s+", " ", regex=True).str.casefold(),
    )


def _text(values: pd.Series) -> pd.Series:
    out = values.astype("string").str.strip()
    return out.mask(out == "")


def _args(raw: Mapping[str, Any], scope: Scope, required: set[str], optional: set[str]) -> None:
    keys = set(raw) - {"algorithm"}
    if missing := required - keys:
        raise scope.fail(f"{raw.get('algorithm')}: missing argument(s) {sorted(missing)}")
    if unknown := keys - required - optional:
        allowed = sorted(required | optional)
        raise scope.fail(
            f"{raw.get('algorithm')}: unknown argument(s) {sorted(unknown)}; allowed {allowed}"
        )


# --- sources --------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A raw column of the current form, trimmed; optionally upper-cased."""

    name: str
    upper: bool = False
    NAME: ClassVar = "column"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> Column:
        _args(raw, scope, {"column"}, {"upper"})
        name = str(raw["column"])
        if name not in scope.form_columns:
            raise scope.fail(f"unknown raw column {name!r} in form {scope.form}")
        return cls(name, bool(raw.get("upper", False)))

    def evaluate(self, ctx: Context) -> pd.Series:
        out = _text(ctx.frame[self.name])
        return out.str.upper() if self.upper else out


@dataclass(frozen=True)
class Var:
    """A variable derived earlier in the same dataset."""

    name: str
    NAME: ClassVar = "var"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> Var:
        _args(raw, scope, {"var"}, set())
        name = str(raw["var"])
        if name not in scope.known_vars:
            raise scope.fail(f"variable {name!r} is not derived before this one")
        return cls(name)

    def evaluate(self, ctx: Context) -> pd.Series:
        return ctx.vars[self.name]


@dataclass(frozen=True)
class Hardcode:
    """A constant (``value: null`` gives an empty Expected variable)."""

    value: str | float | None
    NAME: ClassVar = "hardcode"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> Hardcode:
        _args(raw, scope, {"value"}, set())
        value = raw["value"]
        codelist = scope.codelist
        if isinstance(value, str) and codelist is not None and codelist.lookup(value) is None:
            raise scope.fail(f"value {value!r} is not in codelist {codelist.code}")
        if value is not None and not isinstance(value, str | int | float):
            raise scope.fail(f"hardcode value must be text or a number, not {value!r}")
        return cls(value)

    def evaluate(self, ctx: Context) -> pd.Series:
        if isinstance(self.value, str):
            return pd.Series(self.value, index=ctx.frame.index, dtype="string")
        return pd.Series(self.value, index=ctx.frame.index, dtype="float64")


# --- value algorithms ------------------------------------------------------------------


@dataclass(frozen=True)
class ControlledTerm:
    """Raw text to a CT submission value: the study's CT map first, then the exact value."""

    source: Rule
    codelist: Codelist
    NAME: ClassVar = "ct"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> ControlledTerm:
        _args(raw, scope, {"source"}, {"codelist"})
        codelist = scope.codelist
        if "codelist" in raw:  # one of the variable's codelists (e.g. DSDECOD: NCOMPLT)
            from transforms import standards

            try:
                codelist = standards.controlled_terms().codelist(str(raw["codelist"]))
            except KeyError as exc:
                raise scope.fail(f"ct: unknown codelist {raw['codelist']!r}") from exc
        if codelist is None:
            raise scope.fail("ct: the target variable has no codelist")
        return cls(parse_rule(raw["source"], scope), codelist)

    def evaluate(self, ctx: Context) -> pd.Series:
        raw = self.source.evaluate(ctx).astype("string")
        mapping = ctx.ct_map.get(self.codelist.code, {})
        out = normalise(raw).map(mapping, na_action="ignore").astype("string")
        terms = {v for v in raw.dropna().unique() if self.codelist.lookup(str(v)) is not None}
        out = out.where(out.notna(), raw.where(raw.isin(terms)))
        unknown = raw.notna() & out.isna()
        ctx.report(
            unknown,
            raw,
            "CT",
            f"not a term of codelist {self.codelist.code} nor in the study CT map",
        )
        return out


@dataclass(frozen=True)
class Iso8601:
    """Raw date (and optional time) to ISO 8601, partial dates kept as far as known."""

    date: Rule
    time: Rule | None
    fmt: str
    NAME: ClassVar = "iso8601"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> Iso8601:
        _args(raw, scope, {"date"}, {"time", "format"})
        fmt = str(raw.get("format", "DD MON YYYY"))
        if fmt not in dates.FORMATS and _layout_patterns(fmt) is None:
            raise scope.fail(
                f"iso8601: unknown format {fmt!r}; known {list(dates.FORMATS)} or a layout of "
                "DD, MM (or MON) and YYYY with one separator, such as MM/DD/YYYY"
            )
        time = parse_rule(raw["time"], scope) if "time" in raw else None
        return cls(parse_rule(raw["date"], scope), time, fmt)

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
    ``UN``/``UNK``), so one reader checks them all; text that does not fit stays unreadable."""
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
    return out.mask(text.notna() & (text != "") & out.isna(), "?").astype("string")


@dataclass(frozen=True)
class Concat:
    """Parts joined by a separator; null when any part is null."""

    parts: tuple[Rule, ...]
    sep: str
    NAME: ClassVar = "concat"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> Concat:
        _args(raw, scope, {"parts"}, {"sep"})
        return cls(tuple(parse_rule(p, scope) for p in raw["parts"]), str(raw.get("sep", "")))

    def evaluate(self, ctx: Context) -> pd.Series:
        values = [p.evaluate(ctx).astype("string") for p in self.parts]
        out = values[0]
        for v in values[1:]:
            out = out + self.sep + v
        return out


@dataclass(frozen=True)
class Extract:
    """The part of a text a regular expression captures (its first group, or the group
    named ``value``): the site and subject numbers of a combined ``701-1015``. A value the
    expression does not match is listed."""

    source: Rule
    pattern: re.Pattern[str]
    NAME: ClassVar = "extract"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> Extract:
        _args(raw, scope, {"source", "pattern"}, set())
        try:
            pattern = re.compile(str(raw["pattern"]))
        except re.error as exc:
            raise scope.fail(f"extract: pattern {raw['pattern']!r} is not valid: {exc}") from exc
        if pattern.groups < 1:
            raise scope.fail(f"extract: pattern {pattern.pattern!r} captures no group")
        return cls(parse_rule(raw["source"], scope), pattern)

    def evaluate(self, ctx: Context) -> pd.Series:
        raw = self.source.evaluate(ctx).astype("string")
        found = dates.by_unique(raw, partial(_extract, pattern=self.pattern.pattern))
        out = _text(found["value"] if "value" in self.pattern.groupindex else found.iloc[:, 0])
        ctx.report(raw.notna() & out.isna(), raw, "EXTRACT",
                   f"does not match the pattern {self.pattern.pattern!r}")  # fmt: skip
        return out


@dataclass(frozen=True)
class Recode:
    """A lookup table from raw (compared trimmed and case-folded) to output values.

    A value not in the table is listed, unless ``default`` is given: then it becomes that
    value (``default: null``: null, on purpose, e.g. no planned day for an unscheduled
    visit)."""

    source: Rule
    mapping: Mapping[str, str]
    default: str | None
    null_default: bool = False  # `default: null` given: unmatched values become null
    NAME: ClassVar = "recode"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> Recode:
        _args(raw, scope, {"source", "map"}, {"default"})
        table = {str(k): str(v) for k, v in dict(raw["map"]).items()}
        keys = normalise(pd.Series(list(table), dtype="string"))
        if keys.duplicated().any():
            raise scope.fail(f"recode: keys clash once trimmed and case-folded: {list(table)}")
        if scope.codelist is not None:
            outside = [v for v in table.values() if scope.codelist.lookup(v) is None]
            if outside:
                raise scope.fail(f"recode: {outside} not in codelist {scope.codelist.code}")
        mapping = dict(zip(keys, table.values(), strict=True))
        default = raw.get("default")
        return cls(
            parse_rule(raw["source"], scope),
            mapping,
            None if default is None else str(default),
            "default" in raw and default is None,
        )

    def evaluate(self, ctx: Context) -> pd.Series:
        raw = self.source.evaluate(ctx).astype("string")
        out = normalise(raw).map(self.mapping, na_action="ignore").astype("string")
        unknown = raw.notna() & out.isna()
        if self.default is not None:
            return out.mask(unknown, self.default)
        if self.null_default:
            return out
        ctx.report(unknown, raw, "RECODE", "value not in the spec's recode table")
        return out


@dataclass(frozen=True)
class CountryIso3:
    """Country name or ISO 3166 code to ISO 3166-1 alpha-3 (via pycountry)."""

    source: Rule
    NAME: ClassVar = "country_iso3"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> CountryIso3:
        _args(raw, scope, {"source"}, set())
        return cls(parse_rule(raw["source"], scope))

    def evaluate(self, ctx: Context) -> pd.Series:
        import pycountry

        raw = self.source.evaluate(ctx).astype("string")

        def alpha3(text: str) -> str | None:
            try:
                return str(pycountry.countries.lookup(text).alpha_3)
            except LookupError:
                return None

        table = {v: alpha3(v) for v in raw.dropna().unique()}
        out = raw.map(table, na_action="ignore").astype("string")
        ctx.report(raw.notna() & out.isna(), raw, "ISO3166", "not a country name or ISO code")
        return out


@dataclass(frozen=True)
class StudyDay:
    """--DY from a date and the reference start date (no day 0; complete dates only)."""

    date: Rule
    ref: Rule
    NAME: ClassVar = "study_day"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> StudyDay:
        _args(raw, scope, {"date", "ref"}, set())
        return cls(parse_rule(raw["date"], scope), parse_rule(raw["ref"], scope))

    def evaluate(self, ctx: Context) -> pd.Series:
        return dates.study_day(self.date.evaluate(ctx), self.ref.evaluate(ctx))


@dataclass(frozen=True)
class DateAdd:
    """A complete date moved by a number of days (e.g. the end of a treatment-emergent
    window); partial or missing dates give null."""

    date: Rule
    days: int
    NAME: ClassVar = "date_add"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> DateAdd:
        _args(raw, scope, {"date", "days"}, set())
        if not isinstance(raw["days"], int):
            raise scope.fail("date_add: days must be a whole number")
        return cls(parse_rule(raw["date"], scope), int(raw["days"]))

    def evaluate(self, ctx: Context) -> pd.Series:
        iso = self.date.evaluate(ctx).astype("string")
        day = pd.to_datetime(
            iso.str.slice(0, 10).where(dates.is_complete_date(iso)), format="%Y-%m-%d"
        )
        moved = (day + pd.Timedelta(days=self.days)).dt.strftime("%Y-%m-%d")
        return moved.astype("string")


@dataclass(frozen=True)
class Number:
    """Raw text to a number; text that is not a number is listed."""

    source: Rule
    NAME: ClassVar = "number"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> Number:
        _args(raw, scope, {"source"}, set())
        return cls(parse_rule(raw["source"], scope))

    def evaluate(self, ctx: Context) -> pd.Series:
        raw = self.source.evaluate(ctx)
        out = pd.to_numeric(raw, errors="coerce").astype("float64")
        ctx.report(raw.notna() & out.isna(), raw.astype("string"), "NUMBER", "not a number")
        return out


# --- combining algorithms --------------------------------------------------------------


@dataclass(frozen=True)
class Coalesce:
    """The first non-null of several sources."""

    sources: tuple[Rule, ...]
    NAME: ClassVar = "coalesce"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> Coalesce:
        _args(raw, scope, {"of"}, set())
        return cls(tuple(parse_rule(s, scope) for s in raw["of"]))

    def evaluate(self, ctx: Context) -> pd.Series:
        values = [s.evaluate(ctx) for s in self.sources]
        out = values[0]
        for v in values[1:]:
            out = out.fillna(v)
        return out


@dataclass(frozen=True)
class Extreme:
    """Per row, the smallest or largest of several sources (ISO dates compare as text)."""

    sources: tuple[Rule, ...]
    pick: str
    NAME: ClassVar = "extreme"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> Extreme:
        _args(raw, scope, {"of", "pick"}, set())
        if raw["pick"] not in ("min", "max"):
            raise scope.fail("extreme: pick must be min or max")
        return cls(tuple(parse_rule(s, scope) for s in raw["of"]), str(raw["pick"]))

    def evaluate(self, ctx: Context) -> pd.Series:
        values = [s.evaluate(ctx).astype("string") for s in self.sources]
        frame = pd.concat(values, axis=1, ignore_index=True)  # sources may share a name
        stacked = frame.stack().dropna()
        grouped = stacked.groupby(level=0)
        picked = grouped.min() if self.pick == "min" else grouped.max()
        return cast(pd.Series, picked).reindex(ctx.frame.index).astype("string")


@dataclass(frozen=True)
class Merge:
    """A value from another form, joined on the subject (or other key) columns.

    ``value`` is evaluated over the other form's rows (optionally ``where`` a condition
    holds); ``pick`` takes the ``only`` row per key (more than one is an error), or the
    ``min``/``max`` value.
    """

    form: str
    by: tuple[str, ...]
    value: Rule
    where: Condition | None
    pick: str
    NAME: ClassVar = "merge"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> Merge:
        _args(raw, scope, {"form", "value"}, {"by", "where", "pick"})
        inner = scope.in_form(str(raw["form"]))
        by = tuple(raw.get("by", ["SUBJID"]))
        for key in by:
            if key not in scope.form_columns or key not in inner.form_columns:
                raise scope.fail(
                    f"merge: key {key!r} must be a column of {scope.form} and {inner.form}"
                )
        pick = str(raw.get("pick", "only"))
        if pick not in ("only", "min", "max"):
            raise scope.fail("merge: pick must be only, min or max")
        where = Condition.parse(raw["where"], inner) if "where" in raw else None
        return cls(inner.form, by, parse_rule(raw["value"], inner), where, pick)

    def evaluate(self, ctx: Context) -> pd.Series:
        other = ctx.forms[self.form]
        inner = replace(ctx, frame=other, form=self.form, vars={})
        keys = [_text(other[k]) for k in self.by]
        values = self.value.evaluate(inner)
        table = pd.DataFrame({f"k{i}": k for i, k in enumerate(keys)} | {"v": values})
        if self.where is not None:
            table = table[self.where.test(inner)]
        kcols = [f"k{i}" for i in range(len(keys))]
        if self.pick == "only":
            dup = table.duplicated(kcols, keep=False)
            inner.report(
                pd.Series(dup, index=table.index).reindex(other.index, fill_value=False),
                values,
                "MERGE",
                f"more than one {self.form} record for the same {'/'.join(self.by)}",
            )
            table = table[~dup]
        table = table.dropna(subset=["v"])
        grouped = table.groupby(kcols, dropna=False)["v"]
        picked = grouped.max() if self.pick == "max" else grouped.min()
        left = pd.DataFrame({f"k{i}": _text(ctx.frame[k]) for i, k in enumerate(self.by)})
        index = pd.MultiIndex.from_frame(left) if len(kcols) > 1 else pd.Index(left["k0"])
        result = picked.reindex(index)
        return pd.Series(result.to_numpy(), index=ctx.frame.index, dtype=picked.dtype)


@dataclass(frozen=True)
class DmValue:
    """``{dm: VAR}``: the subject's value of a DM variable (joined on SUBJID).

    A record whose subject is not in DM is listed (rule SUBJECT-NOT-IN-DM)."""

    name: str
    by: str | None = None  # a variable of DM and of this dataset (derived before) to join on
    NAME: ClassVar = "dm"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> DmValue:
        _args(raw, scope, {"dm"}, {"by"})
        if not scope.with_dm:
            raise scope.fail("{dm: ...} is only available in datasets mapped after DM")
        if "by" in raw:
            by = str(raw["by"])
            if by not in scope.known_vars:
                raise scope.fail(f"{{dm: ..., by: {by}}}: {by} is not derived before this one")
            return cls(str(raw["dm"]), by)
        if "SUBJID" not in scope.form_columns:
            raise scope.fail(
                f"{{dm: ...}} needs a SUBJID column in form {scope.form} (or give 'by': a "
                "variable such as USUBJID derived before)"
            )
        return cls(str(raw["dm"]))

    def evaluate(self, ctx: Context) -> pd.Series:
        key = self.by or "SUBJID"
        dm = ctx.datasets["DM"].set_index(key)
        if self.name not in dm.columns:
            raise SpecError(f"{ctx.dataset}.{ctx.column}: DM has no variable {self.name}")
        subject = _text(ctx.vars[self.by] if self.by else ctx.frame["SUBJID"])
        known = subject.isin(dm.index)
        ctx.report(~known, subject, "SUBJECT-NOT-IN-DM", "subject is not in DM")
        values = dm[self.name].reindex(subject.where(known)).to_numpy()
        return pd.Series(values, index=ctx.frame.index, dtype=dm[self.name].dtype)


@dataclass(frozen=True)
class Seq:
    """--SEQ: 1, 2, ... per subject (or per ``by`` variables, e.g. TSSEQ per TSPARMCD) in
    the dataset's sort order; set by the builder after sorting."""

    by: tuple[str, ...] = ("USUBJID",)
    NAME: ClassVar = "seq"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> Seq:
        _args(raw, scope, set(), {"by"})
        return cls(tuple(str(b) for b in raw.get("by", ["USUBJID"])))

    def evaluate(self, ctx: Context) -> pd.Series:
        return pd.Series(float("nan"), index=ctx.frame.index, dtype="float64")


@dataclass(frozen=True)
class Epoch:
    """EPOCH of a date: the last epoch whose start is on or before it (complete dates only).

    ``epochs`` lists ``{name, start, after}`` in time order; ``after: true`` makes an epoch
    start the day after its date (e.g. FOLLOW-UP after the last dose). A date before the
    first start, a partial date or a missing boundary gives null: EPOCH is never imputed.
    """

    date: Rule
    epochs: tuple[tuple[str, Rule, bool], ...]
    NAME: ClassVar = "epoch"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> Epoch:
        _args(raw, scope, {"date", "epochs"}, set())
        epochs = []
        for e in raw["epochs"]:
            if not isinstance(e, Mapping) or not {"name", "start"} <= set(e) <= {
                "name", "start", "after"
            }:  # fmt: skip
                raise scope.fail(f"epoch: each epoch is {{name, start, after}}: {e}")
            if scope.codelist is not None and scope.codelist.lookup(str(e["name"])) is None:
                raise scope.fail(f"epoch: {e['name']!r} is not in codelist {scope.codelist.code}")
            epochs.append((str(e["name"]), parse_rule(e["start"], scope), bool(e.get("after"))))
        return cls(parse_rule(raw["date"], scope), tuple(epochs))

    def evaluate(self, ctx: Context) -> pd.Series:
        def day(values: pd.Series) -> pd.Series:
            text = values.astype("string")
            ok = dates.is_complete_date(text)
            return pd.to_datetime(text.str.slice(0, 10).where(ok), format="%Y-%m-%d")

        when = day(self.date.evaluate(ctx))
        out = pd.Series(pd.NA, index=ctx.frame.index, dtype="string")
        for name, start_rule, after in self.epochs:
            start = day(start_rule.evaluate(ctx))
            begun = (when > start) if after else (when >= start)
            out = out.mask(begun.fillna(False).astype(bool), name)
        return out.where(when.notna())


@dataclass(frozen=True)
class Visit:
    """VISITNUM (``output: number``) or VISIT (``output: label``) from the raw visit name.

    ``planned`` maps raw visit names to their number; a ``{n}`` in a name matches a whole
    number and may be used in the value (``"Cycle {n} Day 1": "{n}"``), a ``{x}`` a decimal
    one (``"Unscheduled {x}": "{x}"`` numbers ``Unscheduled 4.1`` 4.1). A visit named in
    ``unscheduled`` gets the number of the subject's last planned visit on or before its
    date plus .01, .02, ... per distinct date (SDTMIG: unscheduled as decimals), and the
    label ``UNSCHEDULED <number>``. Planned labels are the raw names upper-cased.
    """

    visit: Rule
    date: Rule
    planned: tuple[tuple[str, str], ...]  # regex, number template
    unscheduled: frozenset[str]
    output: str
    NAME: ClassVar = "visit"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> Visit:
        _args(raw, scope, {"visit", "date", "planned", "output"}, {"unscheduled"})
        if raw["output"] not in ("number", "label"):
            raise scope.fail("visit: output must be number or label")
        planned = []
        for name, number in dict(raw["planned"]).items():
            pattern = re.escape(normalise(pd.Series([str(name)])).iloc[0])
            pattern = pattern.replace(r"\{n\}", r"(?P<n>[0-9]+)")
            pattern = pattern.replace(r"\{x\}", r"(?P<n>[0-9]+(?:\.[0-9]+)?)")
            planned.append((pattern, str(number)))
        unscheduled = frozenset(normalise(pd.Series(list(raw.get("unscheduled", [])))).tolist())
        return cls(parse_rule(raw["visit"], scope), parse_rule(raw["date"], scope),
                   tuple(planned), unscheduled, str(raw["output"]))  # fmt: skip

    def _planned(self, names: pd.Series) -> pd.Series:
        """The planned number of each (normalised) visit name; NaN if none matches."""
        number = pd.Series(float("nan"), index=names.index)
        for pattern, template in self.planned:
            found = _extract(names, f"^(?P<all>{pattern})$")
            hit = found["all"].notna() & number.isna()
            if "{n}" in template or "{x}" in template:
                number = number.mask(hit, pd.to_numeric(found["n"], errors="coerce"))
            else:
                number = number.mask(hit, float(template))
        return number

    def evaluate(self, ctx: Context) -> pd.Series:
        raw = self.visit.evaluate(ctx).astype("string")
        name = normalise(raw)
        number = dates.by_unique(name, self._planned)
        label = dates.by_unique(raw, lambda r: r.str.upper()).where(number.notna())
        unscheduled = name.isin(self.unscheduled)
        if unscheduled.any():
            iso = self.date.evaluate(ctx).astype("string")
            day = pd.to_datetime(
                iso.str.slice(0, 10).where(dates.is_complete_date(iso)), format="%Y-%m-%d"
            )
            subject = _text(ctx.frame["SUBJID"])
            plan = pd.DataFrame({"s": subject, "d": day, "n": number}).dropna()
            plan = plan.sort_values("d")
            todo = pd.DataFrame({"s": subject, "d": day})[unscheduled].dropna().sort_values("d")
            base = pd.merge_asof(
                todo.reset_index(), plan.rename(columns={"n": "base"}), on="d", by="s"
            ).set_index("index")
            base["base"] = base["base"].fillna(0.0)
            rank = base.groupby(["s", "base"])["d"].rank(method="dense")
            number = number.mask(unscheduled, (base["base"] + rank / 100).round(2))
            shown = dates.by_unique(number, lambda u: u.map("{:.2f}".format, na_action="ignore"))
            label = label.mask(unscheduled & number.notna(), "UNSCHEDULED " + shown)
        ctx.report(
            raw.notna() & number.isna(), raw, "VISIT",
            "not a planned visit of the spec, or an unscheduled visit without a complete date",
        )  # fmt: skip
        return number.astype("float64") if self.output == "number" else label.astype("string")


_RESULT = r"^(?P<op>[<>]=?)?\s*(?P<num>[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))$"


def _number_text(values: pd.Series) -> pd.Series:
    """Numbers as short text without float noise (8 significant digits)."""
    return dates.by_unique(
        values, lambda u: u.map("{:.8g}".format, na_action="ignore").astype("string")
    )


def _result(values: pd.Series) -> pd.DataFrame:
    """A result's comparison operator (``op``) and number (``number``; NaN if none)."""
    parts = _extract(values, _RESULT)
    return pd.DataFrame({"op": parts["op"], "number": pd.to_numeric(parts["num"], errors="coerce")})


def _looked_up(keys: pd.Series, table: Mapping[str, Any]) -> pd.Series:
    """Each key's value in `table` (NaN where it has none), looked up once per distinct key."""
    return dates.by_unique(keys, lambda k: k.map(table, na_action="ignore"))


@dataclass(frozen=True)
class Standardise:
    """A result in the standard unit of its test (--STRESC/--STRESN/--STRESU).

    ``units`` maps each test code to ``{unit: <standard unit or null>, from: {<collected
    unit>: factor}, round: <decimals>}`` (a missing collected unit is written ``""``;
    ``round`` is optional). Numeric results, also ``<0.05``-style ones, are multiplied by the
    factor; a conversion that is not a plain factor is ``{factor: f, offset: o}`` (result
    x f + o: Fahrenheit to Celsius is ``{factor: 5/9, offset: -160/9}``; a factor or offset
    may be written as a ratio ``a/b``). ``output: number`` gives the value (null for a result
    with ``<``/``>``), ``text`` the standardised text (``<0.5``, or a text result
    upper-cased), ``unit`` the standard unit. A numeric result whose unit has no factor is
    listed, never guessed.
    """

    test: Rule
    value: Rule
    unit: Rule
    table: Mapping[tuple[str, str], float]
    standard: Mapping[str, str | None]
    output: str
    offsets: Mapping[tuple[str, str], float] = field(default_factory=dict)
    decimals: Mapping[str, int] = field(default_factory=dict)  # test -> decimals kept
    NAME: ClassVar = "standardise"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> Standardise:
        _args(raw, scope, {"test", "value", "unit", "units", "output"}, set())
        if raw["output"] not in ("number", "text", "unit"):
            raise scope.fail("standardise: output must be number, text or unit")
        table: dict[tuple[str, str], float] = {}
        offsets: dict[tuple[str, str], float] = {}
        standard: dict[str, str | None] = {}
        decimals: dict[str, int] = {}
        for test, entry in dict(raw["units"]).items():
            if not isinstance(entry, Mapping) or not {"unit", "from"} <= set(entry) <= {
                "unit", "from", "round"
            }:  # fmt: skip
                raise scope.fail(
                    f"standardise: units.{test} needs 'unit' and 'from' (and may give 'round')"
                )
            standard[str(test)] = None if entry["unit"] is None else str(entry["unit"])
            if "round" in entry:
                if not isinstance(entry["round"], int) or entry["round"] < 0:
                    raise scope.fail(f"standardise: units.{test}.round must be a whole number")
                decimals[str(test)] = entry["round"]
            for unit, conversion in dict(entry["from"]).items():
                key = (str(test), "" if unit is None else str(unit))
                where = f"standardise: units.{test}.from.{unit}"
                if isinstance(conversion, Mapping):
                    if not {"factor"} <= set(conversion) <= {"factor", "offset"}:
                        raise scope.fail(f"{where}: give 'factor' (and 'offset')")
                    factor = _ratio(conversion["factor"], where, scope)
                    offsets[key] = _ratio(conversion.get("offset", 0), where, scope)
                else:
                    factor = _ratio(conversion, where, scope)
                if factor <= 0:
                    raise scope.fail(f"standardise: factor for {test} {unit} must be > 0")
                table[key] = factor
        return cls(parse_rule(raw["test"], scope), parse_rule(raw["value"], scope),
                   parse_rule(raw["unit"], scope), table, standard, str(raw["output"]),
                   offsets, decimals)  # fmt: skip

    def evaluate(self, ctx: Context) -> pd.Series:
        test = self.test.evaluate(ctx).astype("string")
        if self.output == "unit":
            out = _looked_up(test, self.standard)
            value = self.value.evaluate(ctx).astype("string")
            has_number = dates.by_unique(value, lambda v: v.str.match(_RESULT).fillna(False))
            return out.astype("string").where(has_number.astype(bool))
        raw = self.value.evaluate(ctx).astype("string").str.strip()
        unit = self.unit.evaluate(ctx).astype("string").fillna("")
        parts = dates.by_unique(raw, _result)
        number = parts["number"]
        key = test.fillna("") + "\x1f" + unit
        table = {f"{t}\x1f{u}": f for (t, u), f in self.table.items()}
        factor = _looked_up(key, table).astype("float64")
        missing = number.notna() & factor.isna()
        ctx.report(missing, unit.mask(unit == "", "(no unit)"), "UNIT",
                   "no conversion factor in the spec for this test and unit")  # fmt: skip
        converted = number * factor
        if self.offsets:
            offsets = {f"{t}\x1f{u}": o for (t, u), o in self.offsets.items()}
            converted = converted + _looked_up(key, offsets).astype("float64").fillna(0.0)
        for digits in set(self.decimals.values()):
            tests = [t for t, d in self.decimals.items() if d == digits]
            converted = converted.mask(test.isin(tests).fillna(False), converted.round(digits))
        if self.output == "number":
            return converted.where(parts["op"].isna())
        text = parts["op"].fillna("") + _number_text(converted)
        return text.where(number.notna(), raw.str.upper()).where(~missing)


def _ratio(value: Any, where: str, scope: Scope) -> float:
    """A number, or a ratio written ``a/b`` (``5/9``), as a float."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    found = re.fullmatch(r"\s*(-?[0-9]+(?:\.[0-9]+)?)\s*/\s*([0-9]+(?:\.[0-9]+)?)\s*", str(value))
    if found is None or float(found.group(2)) == 0:
        raise scope.fail(f"{where}: {value!r} is not a number or a ratio such as 5/9")
    return float(found.group(1)) / float(found.group(2))


@dataclass(frozen=True)
class NormalRange:
    """--NRIND from a standardised value and its range: LOW, HIGH or NORMAL."""

    value: Rule
    low: Rule
    high: Rule
    NAME: ClassVar = "nrind"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> NormalRange:
        _args(raw, scope, {"value", "low", "high"}, set())
        return cls(parse_rule(raw["value"], scope), parse_rule(raw["low"], scope),
                   parse_rule(raw["high"], scope))  # fmt: skip

    def evaluate(self, ctx: Context) -> pd.Series:
        value = pd.to_numeric(self.value.evaluate(ctx), errors="coerce")
        low = pd.to_numeric(self.low.evaluate(ctx), errors="coerce")
        high = pd.to_numeric(self.high.evaluate(ctx), errors="coerce")
        out = pd.Series(pd.NA, index=ctx.frame.index, dtype="string")
        known = value.notna() & (low.notna() | high.notna())
        out = out.mask(known, "NORMAL")
        out = out.mask(known & (value < low).fillna(False), "LOW")
        return out.mask(known & (value > high).fillna(False), "HIGH")


@dataclass(frozen=True)
class LastBefore:
    """Y on the last record with a value on or before a reference date, per group
    (--LOBXFL: last observation before exposure; dates compare as complete dates only)."""

    by: tuple[Rule, ...]
    date: Rule
    value: Rule
    ref: Rule
    NAME: ClassVar = "last_before"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> LastBefore:
        _args(raw, scope, {"by", "date", "value", "ref"}, set())
        return cls(tuple(parse_rule(b, scope) for b in raw["by"]), parse_rule(raw["date"], scope),
                   parse_rule(raw["value"], scope), parse_rule(raw["ref"], scope))  # fmt: skip

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


def _terminology() -> Any:
    from transforms import standards

    return standards.controlled_terms()


@dataclass(frozen=True)
class Decode:
    """The term of the variable's codelist with the same NCI C-code as a term of another
    codelist (--TEST from --TESTCD, TSPARM from TSPARMCD)."""

    source: Rule
    table: Mapping[str, str]
    NAME: ClassVar = "decode"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> Decode:
        _args(raw, scope, {"source", "from"}, set())
        if scope.codelist is None:
            raise scope.fail("decode: the target variable has no codelist")
        try:
            source_list = _terminology().codelist(str(raw["from"]))
        except KeyError as exc:
            raise scope.fail(f"decode: unknown codelist {raw['from']!r}") from exc
        target = getattr(scope.codelist, "terms", {})
        by_code = {t.code: value for value, t in target.items()}
        table = {v: by_code[t.code] for v, t in source_list.terms.items() if t.code in by_code}
        return cls(parse_rule(raw["source"], scope), table)

    def evaluate(self, ctx: Context) -> pd.Series:
        raw = self.source.evaluate(ctx).astype("string")
        out = raw.map(self.table, na_action="ignore").astype("string")
        ctx.report(raw.notna() & out.isna(), raw, "CT", "no term with the same C-code to decode to")
        return out


@dataclass(frozen=True)
class TermCode:
    """The NCI C-code of a value in a codelist named per record (TSVALCD); null where no
    codelist is named, listed where the value is not a term of the named one."""

    value: Rule
    codelist: Rule
    NAME: ClassVar = "term_code"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> TermCode:
        _args(raw, scope, {"value", "codelist"}, set())
        return cls(parse_rule(raw["value"], scope), parse_rule(raw["codelist"], scope))

    def evaluate(self, ctx: Context) -> pd.Series:
        value = self.value.evaluate(ctx).astype("string")
        codes = self.codelist.evaluate(ctx).astype("string")
        out = pd.Series(pd.NA, index=ctx.frame.index, dtype="string")
        for code in codes.dropna().unique():
            rows = codes == code
            terms = _terminology().codelist(str(code)).terms
            table = {v: t.code for v, t in terms.items()}
            out = out.mask(rows, value.map(table, na_action="ignore"))
        ctx.report(
            codes.notna() & value.notna() & out.isna(),
            value,
            "CT",
            "not a term of the codelist named",
        )
        return out


@dataclass(frozen=True)
class Aggregate:
    """A study-level figure from a dataset built before: min, max or count of a variable."""

    dataset: str
    variable: str
    func: str
    NAME: ClassVar = "aggregate"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> Aggregate:
        _args(raw, scope, {"dataset", "value", "func"}, set())
        if str(raw["dataset"]) != "DM" or not scope.with_dm:
            raise scope.fail("aggregate: only DM is built before other datasets")
        if raw["func"] not in ("min", "max", "count"):
            raise scope.fail("aggregate: func must be min, max or count")
        return cls(str(raw["dataset"]), str(raw["value"]), str(raw["func"]))

    def evaluate(self, ctx: Context) -> pd.Series:
        values = ctx.datasets[self.dataset][self.variable].dropna()
        result = {"min": values.min, "max": values.max, "count": values.count}[self.func]()
        text = str(result) if len(values) or self.func == "count" else None
        return pd.Series(text, index=ctx.frame.index, dtype="string")


# --- conditions ------------------------------------------------------------------------

_OPS = ("eq", "ne", "in", "not_in", "is_null", "not_null", "on_or_after", "on_or_before")


def _date_bound(iso: pd.Series, high: bool) -> pd.Series:
    """The latest (or earliest) calendar date a possibly partial ISO date can stand for,
    as comparable text: ``2024-03`` -> ``2024-03-99`` / ``2024-03-00``."""
    day = iso.astype("string").str.slice(0, 10)
    pad = {4: "-99-99", 7: "-99", 10: ""} if high else {4: "-00-00", 7: "-00", 10: ""}
    return day + day.str.len().map(pad).astype("string")


@dataclass(frozen=True)
class Condition:
    """``{<source>, <op>: value}`` with op eq/ne/in/not_in/is_null/not_null (values compared
    trimmed, as text), or on_or_after/on_or_before another source (ISO dates; a partial date
    counts when any day it may stand for qualifies), or ``{all: [...]}``, ``{any: [...]}``,
    ``{not: {...}}``."""

    op: str
    source: Rule | None = None
    operand: Any = None
    parts: tuple[Condition, ...] = ()

    @classmethod
    def parse(cls, raw: Any, scope: Scope) -> Condition:
        if not isinstance(raw, Mapping):
            raise scope.fail(f"condition must be a mapping, not {raw!r}")
        for combinator in ("all", "any"):
            if combinator in raw:
                if len(raw) != 1:
                    raise scope.fail(f"condition: {combinator} stands alone")
                return cls(combinator, parts=tuple(cls.parse(p, scope) for p in raw[combinator]))
        if "not" in raw:
            return cls("not", parts=(cls.parse(raw["not"], scope),))
        ops = [k for k in raw if k in _OPS]
        if len(ops) != 1:
            raise scope.fail(f"condition needs exactly one of {list(_OPS)}: {dict(raw)}")
        op = ops[0]
        source = parse_rule({k: v for k, v in raw.items() if k != op}, scope)
        operand = raw[op]
        if op in ("on_or_after", "on_or_before"):
            operand = parse_rule(operand, scope)
        elif op in ("in", "not_in"):
            operand = frozenset(str(v) for v in operand)
        elif op in ("eq", "ne"):
            operand = str(operand)
        return cls(op, source, operand)

    def test(self, ctx: Context) -> pd.Series:
        if self.op in ("all", "any", "not"):
            results = [p.test(ctx) for p in self.parts]
            if self.op == "not":
                return ~results[0]
            out = results[0]
            for r in results[1:]:
                out = (out & r) if self.op == "all" else (out | r)
            return out
        assert self.source is not None
        values = self.source.evaluate(ctx)
        if self.op in ("on_or_after", "on_or_before"):
            other = self.operand.evaluate(ctx)
            after = self.op == "on_or_after"
            mine = _date_bound(values, high=after)
            theirs = _date_bound(other, high=not after)
            hit = (mine >= theirs) if after else (mine <= theirs)
            return hit.fillna(False).astype(bool)
        text = values.astype("string").str.strip()
        test = {
            "is_null": lambda: values.isna(),
            "not_null": lambda: values.notna(),
            "eq": lambda: text == self.operand,
            "ne": lambda: text != self.operand,
            "in": lambda: text.isin(self.operand),
            "not_in": lambda: ~text.isin(self.operand),
        }[self.op]()
        return pd.Series(test, index=ctx.frame.index).fillna(False).astype(bool)


@dataclass(frozen=True)
class Case:
    """The first case whose ``when`` holds gives the value; otherwise ``else`` (or null)."""

    cases: tuple[tuple[Condition, Rule], ...]
    otherwise: Rule | None
    NAME: ClassVar = "condition"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], scope: Scope) -> Case:
        _args(raw, scope, {"cases"}, {"else"})
        cases = []
        for case in raw["cases"]:
            if set(case) != {"when", "then"}:
                raise scope.fail(f"condition: each case has exactly 'when' and 'then': {case}")
            cases.append((Condition.parse(case["when"], scope), parse_rule(case["then"], scope)))
        otherwise = parse_rule(raw["else"], scope) if "else" in raw else None
        return cls(tuple(cases), otherwise)

    def evaluate(self, ctx: Context) -> pd.Series:
        """Each branch runs only on its own rows, so it lists problems of those rows only."""
        parts = []
        left = pd.Series(True, index=ctx.frame.index)
        for when, then in self.cases:
            hit = when.test(ctx) & left
            parts.append(then.evaluate(ctx.subset(hit)))
            left &= ~hit
        if self.otherwise is not None:
            parts.append(self.otherwise.evaluate(ctx.subset(left)))
        values = [p for p in parts if len(p)]
        if not values:
            return pd.Series(pd.NA, index=ctx.frame.index, dtype="string")
        return pd.concat(values).reindex(ctx.frame.index)


ALGORITHMS: dict[str, Callable[[Mapping[str, Any], Scope], Rule]] = {
    cls.NAME: cls.parse
    for cls in (
        Hardcode, ControlledTerm, Iso8601, Concat, Extract, Recode, CountryIso3, StudyDay,
        Number, DateAdd, Coalesce, Extreme, Merge, Case, Seq, Epoch, Visit, Standardise,
        NormalRange, LastBefore, Decode, TermCode, Aggregate,
    )
}  # fmt: skip


def parse_rule(raw: Any, scope: Scope) -> Rule:
    """Parse one rule (or shorthand) of a spec into an algorithm object."""
    if not isinstance(raw, Mapping):
        raise scope.fail(f"a rule must be a mapping, not {raw!r}")
    if "algorithm" not in raw:
        shorthands: tuple[tuple[str, Callable[[Mapping[str, Any], Scope], Rule]], ...] = (
            ("column", Column.parse), ("var", Var.parse), ("value", _value), ("dm", DmValue.parse)
        )  # fmt: skip
        for key, parse in shorthands:
            if key in raw:
                return parse(raw, scope)
        raise scope.fail(f"a rule needs 'algorithm' (or column/var/value/dm): {dict(raw)}")
    name = raw["algorithm"]
    if name not in ALGORITHMS:
        raise scope.fail(f"unknown algorithm {name!r}; known: {', '.join(sorted(ALGORITHMS))}")
    return ALGORITHMS[name](raw, scope)


def _value(raw: Mapping[str, Any], scope: Scope) -> Rule:
    return Hardcode.parse({"algorithm": "hardcode", **raw}, scope)

"""Time-to-event parameters (ADTTE) from a declarative spec, in the manner of admiral's
``derive_param_tte``: events and censorings are source objects, not code.

Spec format (YAML, read with a safe loader; every problem names the parameter and key)::

    dataset: ADTTE                   # optional, used in messages
    subject_keys: [STUDYID, USUBJID] # optional (this is the default)
    adsl_vars: [AGE, SEX, ARM]       # ADSL variables copied onto every row
    sources:                         # named event / censoring sources
      pd:
        dataset: ADRS                # a key of the ``sources`` mapping given to build_tte
        where: {all: [{var: PARAMCD, eq: PD}, {var: AVALC, eq: "Y"}]}  # a condition
        date: ADT                    # the candidate ADT
        evntdesc: Disease Progression
        srcdom: ADRS                 # default: dataset
        srcvar: ADT                  # default: date
        srcseq: ASEQ                 # optional: variable copied to SRCSEQ
      lastalive:
        dataset: ADSL
        date: LSTALVDT
        cnsr: 1                      # events: 0 (default); censorings: 1 or more (default 1)
        evntdesc: Alive
        cnsdtdsc: Alive During Study # censorings only
        before: NACTDT               # optional ADSL date: keep records dated before it
                                     # (on_or_before: X keeps those on or before X); a
                                     # subject with no X keeps all records
        if_any: [nact]               # optional: only subjects with a record of each of
                                     # these named sources (their where and bound applied)
        unless_any: [pd]             # optional: only subjects with a record of none of them
    parameters:
      - paramcd: PFS
        param: Progression Free Survival
        paramn: 2                    # optional
        avalu: DAYS                  # optional AVALU
        set: {PARCAT1: Efficacy}     # optional constants
        population: {var: ITTFL, eq: "Y"}  # optional condition on ADSL
        start: {date: RANDDT}        # STARTDT: an ADSL date, or the subject's earliest
                                     # qualifying record of a dataset, e.g.
                                     # {dataset: ADRS, where: {...}, date: ADT}
        events: [pd, death]          # names from ``sources`` or inline source mappings
        censors: [rand, lasta]
        if_any: [response]           # optional: the parameter's subjects are those with a
                                     # record of each named source (e.g. responders)

Rule, per subject and parameter: the earliest event wins; with no event, the latest
censoring; an event always beats a censoring, even one on the same day; equal dates go to
the source listed first (then the lower SRCSEQ, then the earlier record). An ADT before
STARTDT becomes STARTDT (as in admiral). AVAL = ADT - STARTDT + 1 (days).
Distinct censoring reasons are distinct censoring sources: sources sharing a date (the last
adequate assessment) and told apart by ``if_any`` / ``unless_any`` (the subject has / has no
record of another source, e.g. new anticancer therapy) get their own CNSR and CNSDTDSC, the
first listed that applies winning the tie.
ASEQ numbers each subject's rows in PARAMCD order. Dates (datetime64, or ``date`` objects
as pyreadstat gives them) are taken as calendar days. Every ADSL subject without a row for a
parameter, and every subject with source records but no ADSL row, is in the ``unassigned``
listing with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transforms import conditions, yamlfile
from transforms.conditions import Condition, ConditionError
from transforms.errors import UserError
from transforms.sdtm.algorithms import SpecError

ADSL = "ADSL"
DERIVED = (
    "ASEQ",
    "PARAMCD",
    "PARAM",
    "PARAMN",
    "STARTDT",
    "ADT",
    "AVAL",
    "AVALU",
    "CNSR",
    "EVNTDESC",
    "CNSDTDSC",
    "SRCDOM",
    "SRCVAR",
    "SRCSEQ",
)
_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
_EPOCH = pd.Timestamp("1970-01-01")


class TteSpecError(SpecError):
    """A time-to-event spec that cannot be used (or that does not fit the data given)."""


class TteDataError(UserError, ValueError):
    """Input data the builder cannot use: the message names dataset, variable and rows."""


@dataclass(frozen=True)
class Source:
    """One event or censoring source: which records, which date, what to write."""

    name: str
    dataset: str
    date: str
    cnsr: int
    evntdesc: str
    cnsdtdsc: str | None
    srcdom: str
    srcvar: str
    srcseq: str | None
    where: Condition | None
    bound: str | None
    bound_inclusive: bool
    context: str
    if_any: tuple[Source, ...] = ()
    unless_any: tuple[Source, ...] = ()


@dataclass(frozen=True)
class Origin:
    """STARTDT: an ADSL date, or the earliest qualifying date in another dataset."""

    dataset: str
    date: str
    where: Condition | None
    context: str


@dataclass(frozen=True)
class Parameter:
    """One PARAMCD: its origin, population, sources and constants."""

    paramcd: str
    param: str
    paramn: int | float | None
    avalu: str | None
    constants: tuple[tuple[str, str | int | float], ...]
    population: Condition | None
    start: Origin
    events: tuple[Source, ...]
    censors: tuple[Source, ...]
    context: str
    if_any: tuple[Source, ...] = ()


@dataclass(frozen=True)
class TteSpec:
    """A checked spec: what ``build_tte`` runs."""

    parameters: tuple[Parameter, ...]
    adsl_vars: tuple[str, ...]
    subject_keys: tuple[str, ...]


@dataclass(frozen=True)
class TteResult:
    """``data``: the ADTTE rows (sorted by keys, PARAMCD); ``unassigned``: who got none, why."""

    data: pd.DataFrame
    unassigned: pd.DataFrame


# --- spec ----------------------------------------------------------------------------------


def _keys(raw: Mapping[str, Any], where: str, required: set[str], optional: set[str]) -> None:
    if not isinstance(raw, Mapping):
        raise TteSpecError(f"{where}: expected a mapping, got {raw!r}")
    missing = sorted(required - set(raw))
    if missing:
        raise TteSpecError(f"{where}: missing key(s) {missing}")
    unknown = sorted(set(raw) - required - optional)
    if unknown:
        raise TteSpecError(
            f"{where}: unknown key(s) {unknown}; allowed: {sorted(required | optional)}"
        )


def _text(raw: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise TteSpecError(f"{where}: {key} must be non-empty text, not {value!r}")
    return value


def _name(raw: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = _text(raw, key, where, default)
    if not _NAME.match(value):
        raise TteSpecError(
            f"{where}: {key} {value!r} is not a variable name (upper case, at most 8 characters)"
        )
    return value


def _number(value: Any, where: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TteSpecError(f"{where}: expected a number, not {value!r}")
    return value


def _condition(raw: Mapping[str, Any], key: str, where: str) -> Condition | None:
    if key not in raw:
        return None
    try:
        return conditions.parse(raw[key], f"{where}: {key}", conditions.named("var"))
    except ConditionError as exc:
        raise TteSpecError(str(exc)) from exc


def _mask(condition: Condition, frame: pd.DataFrame) -> np.ndarray:
    try:
        return conditions.frame_mask(condition, frame).to_numpy(dtype=bool)
    except ConditionError as exc:
        raise TteSpecError(str(exc)) from exc


_SOURCE_KEYS = {"dataset", "where", "date", "cnsr", "evntdesc", "cnsdtdsc", "srcdom", "srcvar"}
_SOURCE_KEYS |= {"srcseq", "before", "on_or_before", "if_any", "unless_any"}


def _markers(
    raw: Mapping[str, Any], key: str, named: Mapping[str, Any], where: str, seen: tuple[str, ...]
) -> tuple[Source, ...]:
    """The named sources of ``if_any`` / ``unless_any``: whose records say which subjects a
    source (or parameter) applies to; an event or a censoring, as its ``cnsr`` says."""
    items = raw.get(key)
    if items is None:
        return ()
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise TteSpecError(f"{where}: {key} must be a non-empty list of source names")
    out = []
    for item in items:
        if item not in named:
            raise TteSpecError(f"{where}: {key}: unknown source {item!r}; defined: {sorted(named)}")
        if item in seen:
            raise TteSpecError(f"{where}: {key}: source {item!r} refers back to itself")
        marker = named[item]
        event = not (isinstance(marker, Mapping) and marker.get("cnsr", 0))
        out.append(_source(marker, item, event, f"{where}: {key} {item!r}", named, (*seen, item)))
    return tuple(out)


def _source(
    raw: Any,
    name: str,
    event: bool,
    where: str,
    named: Mapping[str, Any] | None = None,
    seen: tuple[str, ...] = (),
) -> Source:
    _keys(raw, where, {"dataset", "date", "evntdesc"}, _SOURCE_KEYS)
    named = named or {}
    seen = seen or (name,)
    dataset = _name(raw, "dataset", where)
    cnsr = raw.get("cnsr", 0 if event else 1)
    if isinstance(cnsr, bool) or not isinstance(cnsr, int) or (cnsr == 0) != event or cnsr < 0:
        rule = "0" if event else "an integer of 1 or more"
        raise TteSpecError(
            f"{where}: cnsr must be {rule} for an {'event' if event else 'censoring'}, not {cnsr!r}"
        )
    if event and raw.get("cnsdtdsc") is not None:
        raise TteSpecError(f"{where}: cnsdtdsc describes censoring dates; an event has none")
    if "before" in raw and "on_or_before" in raw:
        raise TteSpecError(f"{where}: give 'before' or 'on_or_before', not both")
    bound_key = "before" if "before" in raw else "on_or_before" if "on_or_before" in raw else None
    return Source(
        name=name,
        dataset=dataset,
        date=_name(raw, "date", where),
        cnsr=cnsr,
        evntdesc=_text(raw, "evntdesc", where),
        cnsdtdsc=_text(raw, "cnsdtdsc", where) if raw.get("cnsdtdsc") is not None else None,
        srcdom=_name(raw, "srcdom", where, dataset),
        srcvar=_name(raw, "srcvar", where, raw["date"]),
        srcseq=_name(raw, "srcseq", where) if raw.get("srcseq") is not None else None,
        where=_condition(raw, "where", where),
        bound=_name(raw, bound_key, where) if bound_key else None,
        bound_inclusive=bound_key == "on_or_before",
        context=where,
        if_any=_markers(raw, "if_any", named, where, seen),
        unless_any=_markers(raw, "unless_any", named, where, seen),
    )


def _origin(raw: Any, where: str) -> Origin:
    _keys(raw, where, {"date"}, {"dataset", "where"})
    dataset = _name(raw, "dataset", where, ADSL)
    if dataset == ADSL and "where" in raw:
        raise TteSpecError(
            f"{where}: an ADSL start takes no 'where'; use the parameter's population"
        )
    return Origin(dataset, _name(raw, "date", where), _condition(raw, "where", where), where)


def _parameter(raw: Any, index: int, named: Mapping[str, Any], where: str) -> Parameter:
    here = f"{where}: parameters[{index}]"
    if isinstance(raw, Mapping) and isinstance(raw.get("paramcd"), str):
        here = f"{where}: parameter {raw['paramcd']}"
    _keys(
        raw,
        here,
        {"paramcd", "param", "start", "events"},
        {"paramn", "avalu", "set", "population", "censors", "if_any"},
    )
    paramcd = _name(raw, "paramcd", here)
    param = _text(raw, "param", here)
    if len(param) > 200:
        raise TteSpecError(f"{here}: param is longer than 200 characters")
    constants: list[tuple[str, str | int | float]] = []
    extra = raw.get("set") or {}
    if not isinstance(extra, Mapping):
        raise TteSpecError(f"{here}: set must map variable names to constants")
    for var, value in extra.items():
        if not isinstance(var, str) or not _NAME.match(var) or var in DERIVED:
            raise TteSpecError(f"{here}: set: {var!r} is not a free variable name")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise TteSpecError(f"{here}: set: {var} must be text or a number, not {value!r}")
        constants.append((var, value))

    def sources(key: str, event: bool) -> tuple[Source, ...]:
        items = raw.get(key) or []
        if not isinstance(items, list) or (event and not items):
            raise TteSpecError(f"{here}: {key} must be a {'non-empty ' if event else ''}list")
        out = []
        for i, item in enumerate(items):
            if isinstance(item, str):
                if item not in named:
                    raise TteSpecError(
                        f"{here}: {key}[{i}]: unknown source {item!r}; defined: {sorted(named)}"
                    )
                out.append(_source(named[item], item, event, f"{here}: {key}[{i}] {item!r}", named))
            else:
                out.append(_source(item, f"{key}[{i}]", event, f"{here}: {key}[{i}]", named))
        return tuple(out)

    avalu = raw.get("avalu")
    return Parameter(
        paramcd=paramcd,
        param=param,
        paramn=_number(raw["paramn"], f"{here}: paramn") if "paramn" in raw else None,
        avalu=_text(raw, "avalu", here) if avalu is not None else None,
        constants=tuple(constants),
        population=_condition(raw, "population", here),
        start=_origin(raw["start"], f"{here}: start"),
        events=sources("events", True),
        censors=sources("censors", False),
        context=here,
        if_any=_markers(raw, "if_any", named, here, ()),
    )


def parse_tte_spec(raw: Any, where: str = "spec") -> TteSpec:
    """Check a spec mapping and parse it; errors start with ``where`` (e.g. the file name)."""
    _keys(raw, where, {"parameters"}, {"dataset", "subject_keys", "adsl_vars", "sources"})
    keys = raw.get("subject_keys", ["STUDYID", "USUBJID"])
    adsl_vars = raw.get("adsl_vars") or []
    for key, names in (("subject_keys", keys), ("adsl_vars", adsl_vars)):
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise TteSpecError(f"{where}: {key} must be a list of variable names")
    if not keys:
        raise TteSpecError(f"{where}: subject_keys must not be empty")
    clash = sorted(set(adsl_vars) & (set(DERIVED) | set(keys)))
    if clash:
        raise TteSpecError(f"{where}: adsl_vars {clash} are keys or derived by the builder")
    named = raw.get("sources") or {}
    if not isinstance(named, Mapping):
        raise TteSpecError(f"{where}: sources must map names to source definitions")
    params = raw["parameters"]
    if not isinstance(params, list) or not params:
        raise TteSpecError(f"{where}: parameters must be a non-empty list")
    parsed = tuple(_parameter(p, i, named, where) for i, p in enumerate(params))
    seen: set[str] = set()
    for p in parsed:
        if p.paramcd in seen:
            raise TteSpecError(f"{p.context}: PARAMCD {p.paramcd} is defined twice")
        seen.add(p.paramcd)
    return TteSpec(parsed, tuple(adsl_vars), tuple(keys))


def load_tte_spec(path: str | Path) -> TteSpec:
    """Read (transforms.yamlfile.load) and check a YAML time-to-event spec; errors name the
    file, then the parameter and entry."""
    path = Path(path)
    return parse_tte_spec(yamlfile.load(path), str(path))


# --- data ----------------------------------------------------------------------------------


def _dates(series: pd.Series, where: str) -> pd.Series:
    """Calendar days as datetime64; refuses anything that is not a date or datetime."""
    dtype = series.dtype
    if series.isna().all():  # an empty date column may come back from a reader untyped
        return pd.Series(pd.NaT, index=series.index, dtype="datetime64[s]")
    if isinstance(dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_localize(None)
    elif not pd.api.types.is_datetime64_dtype(dtype):
        if not pd.api.types.is_object_dtype(dtype):
            raise TteDataError(f"{where}: expected dates, found values of dtype {dtype}")
        present = series.dropna()
        is_date = present.map(lambda v: isinstance(v, date)).astype(bool)
        if not is_date.all():
            shown = present[~is_date].head(3).tolist()
            raise TteDataError(f"{where}: expected dates, found {shown}")
        series = pd.to_datetime(series)
    return series.dt.normalize()


def _columns(frame: pd.DataFrame, needed: set[str], dataset: str, where: str) -> None:
    missing = sorted(needed - set(frame.columns))
    if missing:
        raise TteSpecError(f"{where}: {dataset} has no variable(s) {missing}")


def _dataset(sources: Mapping[str, pd.DataFrame], name: str, where: str) -> pd.DataFrame:
    if name not in sources:
        raise TteSpecError(f"{where}: dataset {name} was not given (given: {sorted(sources)})")
    return sources[name]


def _adsl(spec: TteSpec, sources: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    adsl = _dataset(sources, ADSL, "build_tte")
    keys = list(spec.subject_keys)
    _columns(adsl, set(keys) | set(spec.adsl_vars), ADSL, "build_tte")
    doubled = adsl[adsl.duplicated(keys, keep=False)]
    if len(doubled):
        shown = doubled[keys].drop_duplicates().head(3).to_dict("records")
        raise TteDataError(f"ADSL: {len(doubled)} rows share their subject keys, e.g. {shown}")
    return adsl.reset_index(drop=True)


def _listing(frame: pd.DataFrame, keys: list[str], paramcd: str, reason: str) -> pd.DataFrame:
    out = frame[keys].copy()
    out["PARAMCD"] = paramcd
    out["REASON"] = reason
    return out


def _candidates(
    src: Source, rank: int, sources: Mapping[str, pd.DataFrame], adsl: pd.DataFrame, keys: list[str]
) -> pd.DataFrame:
    """The source's dated records, one row each, with what the output row would say."""
    frame = _dataset(sources, src.dataset, src.context)
    needed = set(keys) | {src.date} | (conditions.subjects(src.where) if src.where else set())
    _columns(frame, needed | ({src.srcseq} if src.srcseq else set()), src.dataset, src.context)
    if src.where is not None:
        frame = frame[_mask(src.where, frame)]
    out = frame[keys].copy()
    out["ADT"] = _dates(frame[src.date], f"{src.context}: {src.dataset}.{src.date}")
    if src.srcseq:
        seq = frame[src.srcseq]
        if not pd.api.types.is_numeric_dtype(seq.dtype):
            raise TteDataError(f"{src.context}: {src.dataset}.{src.srcseq} is not numeric")
        out["SRCSEQ"] = seq.astype("float64")
    else:
        out["SRCSEQ"] = np.nan
    out["_row"] = np.arange(len(out))
    out = out[out["ADT"].notna()]
    if src.bound is not None:
        _columns(adsl, {src.bound}, ADSL, src.context)
        bound = adsl[[*keys, src.bound]].rename(columns={src.bound: "_bound"})
        bound["_bound"] = _dates(bound["_bound"], f"{src.context}: ADSL.{src.bound}")
        out = out.merge(bound, on=keys, how="left")
        inside = out["ADT"] <= out["_bound"] if src.bound_inclusive else out["ADT"] < out["_bound"]
        out = out[inside | out["_bound"].isna()].drop(columns="_bound")
    out = _with_markers(out, src.if_any, src.unless_any, sources, adsl, keys)
    out["CNSR"] = src.cnsr
    out["EVNTDESC"] = src.evntdesc
    out["CNSDTDSC"] = pd.Series(src.cnsdtdsc, index=out.index, dtype="str")
    out["SRCDOM"] = src.srcdom
    out["SRCVAR"] = src.srcvar
    out["_source"] = src.name
    out["_censor"] = int(src.cnsr > 0)
    out["_rank"] = rank
    return out


def _marked(
    markers: tuple[Source, ...],
    sources: Mapping[str, pd.DataFrame],
    adsl: pd.DataFrame,
    keys: list[str],
) -> list[pd.DataFrame]:
    """Per marker source, the subjects (keys) with at least one of its records."""
    return [_candidates(m, 0, sources, adsl, keys)[keys].drop_duplicates() for m in markers]


def _with_markers(
    frame: pd.DataFrame,
    if_any: tuple[Source, ...],
    unless_any: tuple[Source, ...],
    sources: Mapping[str, pd.DataFrame],
    adsl: pd.DataFrame,
    keys: list[str],
) -> pd.DataFrame:
    """The rows of subjects with a record of every ``if_any`` source and none of any
    ``unless_any`` source."""
    for subjects in _marked(if_any, sources, adsl, keys):
        frame = frame.merge(subjects, on=keys, how="inner")
    for subjects in _marked(unless_any, sources, adsl, keys):
        hit = frame.merge(subjects, on=keys, how="left", indicator=True)["_merge"] == "both"
        frame = frame[~hit.to_numpy()]
    return frame


def _origin_dates(
    param: Parameter, sources: Mapping[str, pd.DataFrame], subjects: pd.DataFrame, keys: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """STARTDT per subject of the population, and the subjects that have none."""
    start = param.start
    if start.dataset == ADSL:
        _columns(subjects, {start.date}, ADSL, start.context)
        dated = subjects[keys].assign(
            STARTDT=_dates(subjects[start.date], f"{start.context}: ADSL.{start.date}")
        )
        reason = f"no origin date (ADSL.{start.date} is missing)"
    else:
        frame = _dataset(sources, start.dataset, start.context)
        read = conditions.subjects(start.where) if start.where else set()
        needed = set(keys) | {start.date} | read
        _columns(frame, needed, start.dataset, start.context)
        if start.where is not None:
            frame = frame[_mask(start.where, frame)]
        records = frame[keys].assign(
            STARTDT=_dates(frame[start.date], f"{start.context}: {start.dataset}.{start.date}")
        )
        first = records.dropna(subset=["STARTDT"]).groupby(keys, as_index=False)["STARTDT"].min()
        dated = subjects[keys].merge(first, on=keys, how="left")
        reason = f"no qualifying {start.dataset} record with {start.date} for the origin"
    missing = dated["STARTDT"].isna()
    return dated[~missing], _listing(dated[missing], keys, param.paramcd, reason)


def _parameter_rows(
    param: Parameter, sources: Mapping[str, pd.DataFrame], adsl: pd.DataFrame, keys: list[str]
) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    listings = []
    subjects = adsl
    if param.population is not None:
        inside = _mask(param.population, adsl)
        subjects = adsl[inside]
        listings.append(_listing(adsl[~inside], keys, param.paramcd, "not in the population"))
    if param.if_any:
        kept = _with_markers(subjects, param.if_any, (), sources, adsl, keys)
        wanted = ", ".join(m.name for m in param.if_any)
        out = subjects.merge(kept[keys], on=keys, how="left", indicator=True)["_merge"]
        listings.append(
            _listing(
                subjects[(out != "both").to_numpy()], keys, param.paramcd, f"no record of {wanted}"
            )
        )
        subjects = kept
    origin, no_origin = _origin_dates(param, sources, subjects, keys)
    listings.append(no_origin)

    all_sources = param.events + param.censors
    cands = pd.concat(
        [_candidates(s, i, sources, adsl, keys) for i, s in enumerate(all_sources)],
        ignore_index=True,
    )
    known = cands.merge(adsl[keys], on=keys, how="left", indicator=True)["_merge"] == "both"
    strangers = cands[~known.to_numpy()].drop_duplicates(keys)
    if len(strangers):
        names = sorted(set(cands.loc[~known.to_numpy(), "_source"]))
        listings.append(
            _listing(strangers, keys, param.paramcd, f"records in {names} but not in ADSL")
        )
    cands = cands.merge(origin, on=keys, how="inner")
    days = (cands["ADT"] - _EPOCH).dt.days
    # events: earliest first; censorings: latest first; then listing order, SRCSEQ, record
    cands["_order"] = days.where(cands["_censor"] == 0, -days)
    cands = cands.sort_values(
        [*keys, "_censor", "_order", "_rank", "SRCSEQ", "_row"], na_position="last", kind="stable"
    )
    rows = cands.drop_duplicates(keys, keep="first")
    no_date = origin.merge(rows[keys], on=keys, how="left", indicator=True)
    no_date = no_date[no_date["_merge"] == "left_only"]
    used = ", ".join(s.name for s in all_sources)
    listings.append(
        _listing(no_date, keys, param.paramcd, f"no event or censoring date (sources: {used})")
    )
    rows = rows.assign(PARAMCD=param.paramcd, PARAM=param.param)
    if param.paramn is not None:
        rows["PARAMN"] = param.paramn
    for var, value in param.constants:
        rows[var] = value
    # admiral: an event or censoring date before the origin date is the origin date.
    rows["ADT"] = rows["ADT"].where(rows["ADT"] >= rows["STARTDT"], rows["STARTDT"])
    rows["AVAL"] = (rows["ADT"] - rows["STARTDT"]).dt.days + 1
    if param.avalu is not None:
        rows["AVALU"] = param.avalu
    return rows, listings


def build_tte(spec: Mapping[str, Any] | TteSpec, sources: Mapping[str, pd.DataFrame]) -> TteResult:
    """Build every parameter of ``spec`` from ``sources`` (which must include ``ADSL``)."""
    tte = spec if isinstance(spec, TteSpec) else parse_tte_spec(spec)
    keys = list(tte.subject_keys)
    adsl = _adsl(tte, sources)
    parts: list[pd.DataFrame] = []
    listings: list[pd.DataFrame] = []
    for param in tte.parameters:
        rows, missing = _parameter_rows(param, sources, adsl, keys)
        parts.append(rows)
        listings.extend(missing)

    data = pd.concat(parts, ignore_index=True).sort_values([*keys, "PARAMCD"], kind="stable")
    data["ASEQ"] = data.groupby(keys, sort=False).cumcount() + 1
    data = data.merge(adsl[[*keys, *tte.adsl_vars]], on=keys, how="left")
    for column in ("ASEQ", "AVAL", "CNSR"):
        data[column] = data[column].astype("int64")
    constants = [v for p in tte.parameters for v, _ in p.constants]
    order = [
        *keys,
        "ASEQ",
        "PARAMCD",
        "PARAM",
        "PARAMN",
        *dict.fromkeys(constants),
        "STARTDT",
        "ADT",
        "AVAL",
        "AVALU",
        "CNSR",
        "EVNTDESC",
        "CNSDTDSC",
        "SRCDOM",
        "SRCVAR",
        "SRCSEQ",
        *tte.adsl_vars,
    ]
    data = data[[c for c in order if c in data.columns]].reset_index(drop=True)

    unassigned = pd.concat(listings, ignore_index=True)
    unassigned = unassigned.sort_values([*keys, "PARAMCD"], kind="stable").reset_index(drop=True)
    return TteResult(data, unassigned)

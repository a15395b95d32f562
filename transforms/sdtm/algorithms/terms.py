"""Raw text to controlled terms: the study's CT map, a spec's recode table, a codelist's
C-codes, ISO 3166 countries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import pandas as pd

from transforms.sdtm.algorithms.base import (
    Arg,
    Codelist,
    Context,
    Parsing,
    Rule,
    algorithm,
    normalise,
)


def _terminology() -> Any:
    from transforms import standards

    return standards.controlled_terms()


class _TargetCodelist:
    def __repr__(self) -> str:
        return "the target variable's codelist"


TARGET_CODELIST: Any = _TargetCodelist()


def _codelist(value: Any, p: Parsing) -> Codelist:
    """A codelist named by its C-code, or (by default) the target variable's."""
    if value is TARGET_CODELIST:
        if p.scope.codelist is None:
            raise p.fail("the target variable has no codelist")
        return p.scope.codelist
    try:
        return _terminology().codelist(str(value))
    except KeyError as exc:
        raise p.fail(f"unknown codelist {value!r}") from exc


@algorithm("ct")
@dataclass(frozen=True)
class ControlledTerm:
    """Raw text to a CT submission value: the study's CT map first, then the exact value.

    ``codelist`` names one of the variable's codelists (e.g. DSDECOD: NCOMPLT)."""

    codelist: Annotated[Codelist, Arg(_codelist, default=TARGET_CODELIST)]
    source: Annotated[Rule, Arg()]

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


def _recode_table(value: Any, p: Parsing) -> Mapping[str, str]:
    """The table keyed by normalised raw text; keys must stay distinct once normalised and
    values be terms of the target's codelist. ``map: arms`` is the study design's arm table
    (ARMCD -> ARM), ``map: criteria`` its eligibility criteria (IETESTCD -> IETEST) and
    ``map: criteria_categories`` their categories (IETESTCD -> IECAT)."""
    design = p.scope.design
    tables = {
        "arms": ("arms", design.arms if design else {}),
        "criteria": ("criteria", design.criteria if design else {}),
        "criteria_categories": ("criteria", design.categories if design else {}),
    }
    if isinstance(value, str) and value in tables:
        section, table = tables[value]
        if not table:
            raise p.fail(f"map: {value} needs the {section} of a design: section in study.yaml")
        value = table
    if not isinstance(value, Mapping):
        words = ", ".join(tables)
        raise p.fail(f"map must be a table (or one of the words {words}), not {value!r}")
    table = {str(k): str(v) for k, v in dict(value).items()}
    keys = normalise(pd.Series(list(table), dtype="string"))
    if keys.duplicated().any():
        raise p.fail(f"keys clash once trimmed and case-folded: {list(table)}")
    if p.scope.codelist is not None:
        outside = [v for v in table.values() if p.scope.codelist.lookup(v) is None]
        if outside:
            raise p.fail(f"{outside} not in codelist {p.scope.codelist.code}")
    return dict(zip(keys, table.values(), strict=True))


def _optional_text(value: Any, p: Parsing) -> str | None:
    return None if value is None else str(value)


def _is_null(value: Any, p: Parsing) -> bool:
    return value is None


@algorithm("recode")
@dataclass(frozen=True)
class Recode:
    """A lookup table from raw (compared trimmed and case-folded) to output values.

    A value not in the table is listed, unless ``default`` is given: then it becomes that
    value (``default: null``: null, on purpose, e.g. no planned day for an unscheduled
    visit)."""

    source: Annotated[Rule, Arg()]
    mapping: Annotated[Mapping[str, str], Arg(_recode_table, key="map")]
    default: Annotated[str | None, Arg(_optional_text, default=None)]
    # `default: null` given: unmatched values become null on purpose
    null_default: Annotated[bool, Arg(_is_null, key="default", default=False)]

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


@algorithm("country_iso3")
@dataclass(frozen=True)
class CountryIso3:
    """Country name or ISO 3166 code to ISO 3166-1 alpha-3 (via pycountry)."""

    source: Annotated[Rule, Arg()]

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


def _decode_table(value: Any, p: Parsing) -> Mapping[str, str]:
    """Each term of the codelist `value` -> the term of the target's codelist with the same
    C-code."""
    if p.scope.codelist is None:
        raise p.fail("the target variable has no codelist")
    try:
        source_list = _terminology().codelist(str(value))
    except KeyError as exc:
        raise p.fail(f"unknown codelist {value!r}") from exc
    target = getattr(p.scope.codelist, "terms", {})
    by_code = {t.code: term for term, t in target.items()}
    return {v: by_code[t.code] for v, t in source_list.terms.items() if t.code in by_code}


@algorithm("decode")
@dataclass(frozen=True)
class Decode:
    """The term of the variable's codelist with the same NCI C-code as a term of another
    codelist (--TEST from --TESTCD, TSPARM from TSPARMCD)."""

    table: Annotated[Mapping[str, str], Arg(_decode_table, key="from")]
    source: Annotated[Rule, Arg()]

    def evaluate(self, ctx: Context) -> pd.Series:
        raw = self.source.evaluate(ctx).astype("string")
        out = raw.map(self.table, na_action="ignore").astype("string")
        ctx.report(raw.notna() & out.isna(), raw, "CT", "no term with the same C-code to decode to")
        return out


@algorithm("term_code")
@dataclass(frozen=True)
class TermCode:
    """The NCI C-code of a value in a codelist named per record (TSVALCD); null where no
    codelist is named, listed where the value is not a term of the named one."""

    value: Annotated[Rule, Arg()]
    codelist: Annotated[Rule, Arg()]

    def evaluate(self, ctx: Context) -> pd.Series:
        value = self.value.evaluate(ctx).astype("string")
        codes = self.codelist.evaluate(ctx).astype("string")
        out = pd.Series(pd.NA, index=ctx.frame.index, dtype="string")
        for code in codes.dropna().unique():
            rows = (codes == code).fillna(False).astype(bool)
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

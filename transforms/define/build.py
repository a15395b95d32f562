"""Join dataset metadata with the written XPT files into the Define-XML document model.

What the specs cannot know comes from the files themselves (their values read a column at
a time by :mod:`~transforms.define.values`): the length each character variable was written
with, the tests (parameters, qualifiers) present for value-level metadata, the codelist
terms actually used, the precision of numbers, and whether an ISO 8601 variable holds
complete or partial dates. Every OID is assigned here:
``IG.<DATASET>``, ``IT.<DATASET>.<VAR>`` (``.<value>`` for value-level items),
``CL.<codelist>``, ``VL.<DATASET>.<VAR>``, ``WC.<DATASET>.<VAR>.<value>``,
``MT.<DATASET>.<VAR>``, ``COM.<DATASET>.<VAR>``, ``LF.<DATASET>``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

from transforms import __version__, standards
from transforms.define.model import (
    ISO8601_TYPES,
    NUMBER_TYPES,
    AnalysisMeta,
    AnalysisResult,
    AnnotatedCrf,
    CodeList,
    Comment,
    DatasetMeta,
    Define,
    Document,
    Item,
    ItemGroup,
    ItemRef,
    Layer,
    Method,
    RangeCheck,
    Standard,
    Term,
    ValueList,
    ValueListMeta,
    VariableMeta,
    WhereClause,
)
from transforms.define.values import DatasetValues

log = logging.getLogger("cdisc.define")

DICTIONARIES = {"MedDRA": "https://www.meddra.org/"}
_DEFAULT_SOURCE = {
    "Collected": "Investigator",
    "Derived": "Sponsor",
    "Assigned": "Sponsor",
    "Protocol": "Sponsor",
}
_ISO_PATTERNS = (  # most specific first; a column takes the first type all its values fit
    ("date", r"\d{4}-\d{2}-\d{2}"),
    ("datetime", r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?"),
    ("partialDate", r"\d{4}(-\d{2}(-\d{2})?)?"),
    ("partialDatetime", r"\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?)?)?"),
    ("incompleteDatetime", r"[\d-]{4}-[\d-]{2}-[\d-]{2}(T[\d-]{2}(:[\d-]{2}(:[\d-]{2})?)?)?"),
)
_DURATION = r"-?P(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
_NUMBER = r"[-+]?(\d+\.?\d*|\.\d+)"
NUMERIC_NO_DATA_LENGTH = 8
"""Length of a numeric variable without any value: the XPT storage length."""


class DefineError(ValueError):
    """Define-XML cannot be written: files and metadata disagree, or the result is invalid."""


def _version(path: str) -> str:
    """The version in a standards file name: ``sdtmig-3.4/...`` -> 3.4, ``..._2025-03-28``."""
    found = re.search(r"(\d{4}-\d{2}-\d{2}|\d+\.\d+)", path)
    if found is None:
        raise DefineError(f"no version in the standards file name {path!r}")
    return found.group(1)


IG_VERSIONS = {
    "SDTMIG": _version(standards.IG_VARIABLES["SDTMIG"]),
    "ADaMIG": _version(standards.IG_VARIABLES["ADAMIG"]),
}
CT_VERSIONS = {"SDTM": _version(standards.SDTM_CT), "ADaM": _version(standards.NCI_CT["ADaM"])}


def _oid_part(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", value.strip()) or "_"


# --- values ------------------------------------------------------------------------------


def _present(values: pd.Series) -> pd.Series:
    """Non-missing values; a blank character value is missing (as in SAS)."""
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        text = values.astype("string")
        return text[text.notna() & (text.str.strip() != "")]
    return values.dropna()


def _number_texts(values: pd.Series) -> list[str]:
    """The distinct numbers as plain decimal text (no exponent), to 10 significant digits so
    that binary noise of a unit conversion (20.524799999999) does not count as precision."""
    numbers = pd.unique(values.to_numpy(dtype=np.float64))
    return [
        np.format_float_positional(v, precision=10, unique=True, fractional=False, trim="-")
        for v in numbers
        if np.isfinite(v)
    ]


def _digits(texts: Iterable[str]) -> tuple[int, int]:
    """(total digits, digits after the point) over numbers written as text."""
    total = decimals = 0
    for text in texts:
        whole, _, fraction = text.lstrip("+-<>=").partition(".")
        total = max(total, sum(c.isdigit() for c in whole + fraction))
        decimals = max(decimals, len(fraction))
    return max(total, 1), decimals


def _iso_type(values: pd.Series, default: str) -> str:
    """The Define-XML ISO 8601 data type all values fit, else ``default``."""
    if values.empty:
        return default
    text = values.astype("string").drop_duplicates()  # one test per distinct value
    for kind, pattern in _ISO_PATTERNS:
        if text.str.fullmatch(pattern).all():
            return kind
    return default


@dataclass(frozen=True)
class Shape:
    """A column's (or value-level subset's) data type, length and decimals."""

    data_type: str
    length: int | None
    digits: int | None


def _shape_numbers(values: pd.Series, declared: str) -> Shape:
    if values.empty:
        return Shape(declared, NUMERIC_NO_DATA_LENGTH, 0 if declared == "float" else None)
    texts = _number_texts(values)
    total, decimals = _digits(texts)
    data_type = declared
    if declared == "integer" and decimals:
        log.warning("%s: declared integer but holds fractions; described as float", values.name)
        data_type = "float"
    if data_type == "float":
        return Shape("float", max(total, decimals + 1), decimals)
    return Shape(data_type, total, None)


def _shape(var: VariableMeta, values: pd.Series, width: int | None) -> Shape:
    """The variable's Define shape from its present values and its XPT width."""
    if var.type == "Num":
        if var.data_type in ISO8601_TYPES:
            return Shape(var.data_type, None, None)
        return _shape_numbers(values, var.data_type if var.data_type in NUMBER_TYPES else "float")
    data_type = var.data_type
    if data_type == "text" and var.name.endswith("DTC"):
        data_type = _iso_type(values, "partialDate" if values.empty else "text")
    elif data_type == "text" and var.name.endswith(("DUR", "ELTM")) and not values.empty:
        data_type = (
            "durationDatetime" if values.astype("string").str.fullmatch(_DURATION).all() else "text"
        )
    if data_type in ISO8601_TYPES:
        return Shape(data_type, None, None)
    if data_type in NUMBER_TYPES:  # character storage of numbers: digits, as for numbers
        total, decimals = _digits(values.astype("string").unique())
        return Shape(data_type, total, decimals if data_type == "float" else None)
    return Shape("text", width or 1, None)


def _value_shape(parent: VariableMeta, parent_type: str, values: pd.Series) -> Shape:
    """A value-level subset's shape: numbers when every value is one (results per test)."""
    if parent.type == "Num":
        declared = parent_type if parent_type in NUMBER_TYPES else "float"
        if not values.empty and (values == np.trunc(values)).all():
            declared = "integer"
        return (
            _shape_numbers(values, declared)
            if parent_type not in ISO8601_TYPES
            else (Shape(parent_type, None, None))
        )
    if parent_type in ISO8601_TYPES:
        return Shape(_iso_type(values, parent_type), None, None)
    text = values.astype("string").drop_duplicates()  # one test per distinct value
    if not values.empty and text.str.fullmatch(_NUMBER).all():
        total, decimals = _digits(text)
        if decimals:
            return Shape("float", max(total, decimals + 1), decimals)
        return Shape("integer", total, None)
    iso = _iso_type(values, "text")  # dates held in a text result (TSVAL for SSTDTC)
    if iso != "text":
        return Shape(iso, None, None)
    return Shape("text", int(text.str.len().max()) if not values.empty else 1, None)


# --- codelists ---------------------------------------------------------------------------


@dataclass
class _CodeListUse:
    """What the variables sharing one codelist hold, gathered over all datasets."""

    codes: tuple[str, ...]
    data_type: str
    values: set[str] = field(default_factory=set)
    decodes: dict[str, str] = field(default_factory=dict)
    all_decoded: bool = True
    used_by: list[str] = field(default_factory=list)


def _terminology(code: str) -> tuple[standards.Codelist, str]:
    """The NCI codelist and the CT package (SDTM, else ADaM) that holds it."""
    for package in ("SDTM", "ADaM"):
        try:
            return standards.controlled_terms(package).codelist(code), package
        except KeyError:
            continue
    raise DefineError(f"codelist {code!r} is in neither the SDTM nor the ADaM CT in the repo")


def _codelist_key(codes: str, values: set[str]) -> tuple[str, ...]:
    """The codelists of ``codes`` (one, or several "; "-separated) the values call for: of
    several, those holding any of the values (all of them when none does)."""
    parts = tuple(c.strip() for c in codes.split(";") if c.strip())
    if len(parts) == 1:
        return parts
    used = tuple(p for p in parts if any(_terminology(p)[0].lookup(v) for v in values))
    return used or parts


def _decodes_by_code(
    codes: Iterable[str], decode_codelist: str, values: set[str]
) -> dict[str, str]:
    """value -> the term of ``decode_codelist`` with the value's C-code (LBTESTCD ALB ->
    LBTEST Albumin), for the values that have one."""
    decode_terms = {t.code: value for value, t in _terminology(decode_codelist)[0].terms.items()}
    lists = [_terminology(code)[0] for code in codes]
    out = {}
    for value in values:
        term = next((t for cl in lists if (t := cl.lookup(value)) is not None), None)
        if term is not None and term.code in decode_terms:
            out[value] = decode_terms[term.code]
    return out


# --- the builder -------------------------------------------------------------------------


@dataclass
class _Builder:
    dictionaries: Mapping[str, str]
    items: list[Item] = field(default_factory=list)
    groups: list[ItemGroup] = field(default_factory=list)
    value_lists: list[ValueList] = field(default_factory=list)
    where_clauses: dict[str, WhereClause] = field(default_factory=dict)
    methods: list[Method] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    uses: dict[tuple[tuple[str, ...], str], _CodeListUse] = field(default_factory=dict)
    dictionary_uses: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    packages: set[str] = field(default_factory=set)
    oids: set[str] = field(default_factory=set)
    sponsor_codelists: list[CodeList] = field(default_factory=list)
    crf: AnnotatedCrf | None = None

    def pages(self, origin: str, key: str) -> tuple[int, ...]:
        """The annotated CRF's pages of a collected variable (``DM.SEX``)."""
        if origin != "Collected" or self.crf is None:
            return ()
        return tuple(self.crf.pages.get(key, ()))

    def unique(self, oid: str) -> str:
        candidate, n = oid, 1
        while candidate in self.oids:
            n += 1
            candidate = f"{oid}.{n}"
        self.oids.add(candidate)
        return candidate

    def method(self, oid: str, name: str, text: str) -> str:
        oid = self.unique(oid)
        kind = "Imputation" if "imput" in text.lower() else "Computation"
        self.methods.append(Method(oid, name, kind, text))
        return oid

    def comment(self, oid: str, text: str) -> str:
        oid = self.unique(oid)
        self.comments.append(Comment(oid, text))
        return oid

    # codelists: gathered per variable, made once all datasets are read
    def use_codelist(
        self,
        where: str,
        var: VariableMeta,
        data_type: str,
        values: set[str],
        decodes: dict[str, str] | None,
        decode_codelist: str | None = None,
    ) -> tuple[tuple[str, ...], str] | None:
        """Record that ``var`` (named ``where``) holds ``values`` of its codelist; returns the
        codelist's key. ``decodes`` pairs each value with its decode (LBTESTCD -> LBTEST), from
        the data; a value the data does not pair is decoded by C-code through
        ``decode_codelist``, the decode variable's codelist."""
        if var.dictionary is not None:
            kind = "integer" if data_type in NUMBER_TYPES else "text"
            self.dictionary_uses.setdefault((var.dictionary, kind), []).append(where)
            return ((f"@{var.dictionary}",), kind)
        if var.type == "Char":
            values = values | set(var.terms)
        if var.codelist is None or not values:
            return None
        cl_type = data_type if data_type in NUMBER_TYPES else "text"
        key = (_codelist_key(var.codelist, values), cl_type)
        use = self.uses.setdefault(key, _CodeListUse(key[0], cl_type))
        use.values |= values
        use.used_by.append(where)
        if decodes is not None and decode_codelist is not None:
            decodes = {**_decodes_by_code(key[0], decode_codelist, values), **decodes}
        if decodes is None or not values <= set(decodes):
            use.all_decoded = False
        else:
            use.decodes.update(decodes)
        return key

    def codelist_oid(self, key: tuple[tuple[str, ...], str]) -> str:
        codes, kind = key
        if codes[0].startswith("@"):
            name = codes[0][1:]
            return f"CL.{_oid_part(name.upper())}" + (".CODE" if kind != "text" else "")
        shorts = ".".join(_oid_part(_terminology(c)[0].short_name) for c in codes)
        return f"CL.{shorts}" + (f".{kind}" if kind != "text" else "")

    def parameter_codelist(self, meta: DatasetMeta, name: str, source: DatasetValues) -> str:
        """The sponsor codelist of an ADaM dataset's parameters: PARAMCD's codes each decoded
        by its PARAM, or PARAM's values; returns its OID."""
        pairs = source.first("PARAMCD", "PARAM") if "PARAM" in source.columns else None
        if name == "PARAMCD" and pairs is not None:
            pairs = pairs.dropna(subset=["PARAMCD"]).astype("string")
            terms = [
                Term(code, None, None if pd.isna(param) else param, False)
                for code, param in sorted(zip(pairs["PARAMCD"], pairs["PARAM"], strict=True))
                if code.strip()
            ]
        else:
            values = _present(source.distinct(name)).astype("string")
            terms = [Term(v, None, None, False) for v in sorted(set(values))]
        oid = self.unique(f"CL.{meta.name}.{name}")
        label = "Parameter Code" if name == "PARAMCD" else "Parameter"
        self.sponsor_codelists.append(
            CodeList(oid, f"{label} ({meta.name})", "text", None, tuple(terms), None)
        )
        return oid

    def codelists(self) -> list[CodeList]:
        out = []
        for (codes, kind), use in self.uses.items():
            parts = [_terminology(c) for c in codes]
            self.packages.update(package for _, package in parts)
            lists = [p for p, _ in parts]
            terms = []
            extended_closed = []
            for value in sorted(use.values):
                term = next((cl.lookup(value) for cl in lists if cl.lookup(value)), None)
                if term is None and not any(cl.extensible for cl in lists):
                    extended_closed.append(value)
                decode = use.decodes.get(value) if use.all_decoded else None
                terms.append(Term(value, term.code if term else None, decode, term is None))
            if extended_closed:
                log.warning(
                    "%s: %s not in the non-extensible codelist %s",
                    ", ".join(use.used_by), extended_closed, "; ".join(codes),
                )  # fmt: skip
            single = len(lists) == 1
            package = parts[0][1]
            out.append(
                CodeList(
                    oid=self.codelist_oid(((codes), kind)),
                    name=lists[0].name if single else " / ".join(cl.name for cl in lists),
                    data_type=kind,
                    code=lists[0].code if single else None,
                    terms=tuple(terms),
                    standard_oid=_ct_oid(package) if single else None,
                    extensible=lists[0].extensible if single else any(c.extensible for c in lists),
                    description=None
                    if single
                    else "Terms of the NCI codelists "
                    + ", ".join(f"{cl.code} ({cl.short_name})" for cl in lists),
                )
            )
        out += self.sponsor_codelists
        for (dictionary, kind), _users in self.dictionary_uses.items():
            version = self.dictionaries.get(dictionary)
            if version is None:
                log.warning("no %s version given: define.xml names the dictionary only", dictionary)
            out.append(
                CodeList(
                    oid=self.codelist_oid(((f"@{dictionary}",), kind)),
                    name=dictionary + (" codes" if kind != "text" else ""),
                    data_type=kind,
                    code=None,
                    terms=(),
                    standard_oid=None,
                    dictionary=dictionary,
                    version=version,
                    href=DICTIONARIES.get(dictionary),
                )
            )
        return out

    # datasets
    def dataset(self, meta: DatasetMeta, path: Path) -> None:
        try:
            source = DatasetValues(path)
        except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError) as exc:
            raise DefineError(f"{path}: not a readable SAS XPT file ({exc})") from exc
        columns = source.columns
        expected = [v.name for v in meta.variables]
        if columns != expected:
            raise DefineError(
                f"{path}: variables {columns} differ from the metadata of {meta.name} {expected}"
            )
        widths = source.widths
        # The distinct present values of each column: what shapes and codelist terms need.
        present = {name: _present(source.distinct(name)) for name in columns}
        value_vars = {v: vl for vl in meta.value_lists for v in vl.variables if v in columns}
        group_oid = self.unique(f"IG.{meta.name}")
        refs = []
        item_types: dict[str, str] = {}
        for order, var in enumerate(meta.variables, start=1):
            values = present[var.name]
            shape = _shape(var, values, widths.get(var.name))
            item_types[var.name] = shape.data_type
            texts = (
                set(values.astype("string").unique())
                if shape.data_type not in NUMBER_TYPES
                else set(_number_texts(values))
            )
            decode_var = var.name[:-2] if var.name.endswith("CD") else None
            decodes = decode_codelist = None
            if decode_var in columns and var.codelist:
                decode_codelist = meta.variable(decode_var).codelist
                pairs = source.first(var.name, decode_var)  # each code, its first decode
                pairs = pairs.loc[_present(pairs[var.name]).index]
                decodes = {
                    str(k): str(d)
                    for k, d in zip(pairs[var.name], pairs[decode_var], strict=True)
                    if str(d).strip()
                }
            key = self.use_codelist(
                f"{meta.name}.{var.name}", var, shape.data_type, texts, decodes, decode_codelist
            )
            codelist_oid = self.codelist_oid(key) if key else None
            if codelist_oid is None and _is_parameter(meta, var) and not values.empty:
                codelist_oid = self.parameter_codelist(meta, var.name, source)
            item_oid = self.unique(f"IT.{meta.name}.{var.name}")
            method_oid = None
            if var.origin == "Derived":
                text = var.method
                if not text:
                    log.warning("%s.%s: derived, no method given", meta.name, var.name)
                    text = "Derived by the sponsor; the metadata gives no algorithm."
                method_oid = self.method(
                    f"MT.{meta.name}.{var.name}", f"Algorithm for {meta.name}.{var.name}", text
                )
            comment_oid = (
                self.comment(f"COM.{meta.name}.{var.name}", var.comment) if var.comment else None
            )
            vl_oid = f"VL.{meta.name}.{var.name}" if var.name in value_vars else None
            self.items.append(
                Item(
                    oid=item_oid,
                    name=var.name,
                    label=var.label,
                    data_type=shape.data_type,
                    length=shape.length,
                    digits=shape.digits,
                    display_format=var.format,
                    origin=var.origin,
                    source=var.source or _DEFAULT_SOURCE.get(var.origin),
                    origin_text=var.predecessor,
                    codelist_oid=codelist_oid,
                    value_list_oid=vl_oid,
                    comment_oid=comment_oid,
                    xpt_length=widths.get(var.name),
                    dataset=meta.name,
                    pages=self.pages(var.origin, f"{meta.name}.{var.name}"),
                )
            )
            refs.append(
                ItemRef(
                    item_oid=item_oid,
                    order=order,
                    mandatory=var.mandatory,
                    key_sequence=meta.keys.index(var.name) + 1 if var.name in meta.keys else None,
                    method_oid=method_oid,
                    role=var.role,
                    has_no_data=values.empty,
                )
            )
        for vl in meta.value_lists:
            self.value_list(meta, vl, source, present, item_types, refs)
        repeating = meta.repeating
        if repeating is None:
            repeating = not set(meta.keys) <= {"STUDYID", "USUBJID"}
        self.groups.append(
            ItemGroup(
                oid=group_oid,
                name=meta.name,
                label=meta.label,
                domain=meta.domain,
                class_=meta.class_,
                subclass=meta.subclass,
                structure=meta.structure,
                purpose=meta.purpose,
                repeating=repeating,
                reference=meta.reference,
                standard_oid=_ig_oid(meta.standard),
                leaf_id=f"LF.{meta.name}",
                href=path.name,
                records=source.records,
                refs=tuple(refs),
                comment_oid=self.comment(f"COM.{meta.name}", meta.comment)
                if meta.comment
                else None,
            )
        )

    def value_list(
        self,
        meta: DatasetMeta,
        vl: ValueListMeta,
        source: DatasetValues,
        present: Mapping[str, pd.Series],
        item_types: Mapping[str, str],
        refs: Sequence[ItemRef],
    ) -> None:
        if vl.by not in source.columns:
            return
        keys = [vl.by, *(k for k in vl.also if k in source.columns)]
        combos = _combinations(source, keys, present[vl.by])
        where_oids = {}
        for combo in combos:
            oid = f"WC.{meta.name}." + ".".join([vl.by, *(_oid_part(v) for v in combo if v)])
            if oid not in self.where_clauses:
                oid = self.unique(oid)
                also = tuple(
                    RangeCheck(f"IT.{meta.name}.{k}", k, "EQ", (v,))
                    for k, v in zip(keys[1:], combo[1:], strict=True)
                    if v  # a null further key: no check of it
                )
                self.where_clauses[oid] = WhereClause(
                    oid, f"IT.{meta.name}.{vl.by}", vl.by, "EQ", (combo[0],), also
                )
            where_oids[combo] = oid
        decodes = _most_frequent(source, vl.by, vl.decode) if vl.decode in source.columns else {}
        parent_refs = {r.item_oid: r for r in refs}
        for position, name in enumerate(v for v in vl.variables if v in source.columns):
            parent = meta.variable(name)
            parent_item = next(i for i in self.items if i.oid == f"IT.{meta.name}.{name}")
            parent_ref = parent_refs[parent_item.oid]
            vl_refs: list[ItemRef] = []
            pairs = source.counts(*keys, name)
            columns = [pairs[k].astype("string").fillna("") for k in keys]
            pairs["__key"] = list(zip(*columns, strict=True))
            groups: dict[object, pd.DataFrame] = dict(iter(pairs.groupby("__key")))
            for combo in combos:
                value = combo[0]
                part = ".".join(_oid_part(v) for v in combo if v)
                group = groups[combo]  # the distinct values of name for this combination
                values = _present(group[name])
                records, filled = group["n"].sum(), group.loc[values.index, "n"].sum()
                if values.empty and position > 0:
                    continue  # the first variable covers every value; others only with data
                shape = _value_shape(parent, item_types[name], values)
                label = vl.labels.get(value)
                if label is None:
                    label = decodes.get(value)
                origin = vl.origins.get(value, parent.origin)
                item_oid = self.unique(f"IT.{meta.name}.{name}.{part}")
                method_oid = comment_oid = None
                text = vl.methods.get(value)
                condition = " and ".join(
                    f"{k} = {v}" for k, v in zip(keys, combo, strict=True) if v
                )
                if origin == "Derived":
                    method_oid = (
                        self.method(
                            f"MT.{meta.name}.{name}.{part}",
                            f"Algorithm for {meta.name}.{name} where {condition}",
                            text,
                        )
                        if text
                        else parent_ref.method_oid
                    )
                elif text:
                    comment_oid = self.comment(f"COM.{meta.name}.{name}.{part}", text)
                codelist_oid = parent_item.codelist_oid if shape.data_type == "text" else None
                self.items.append(
                    Item(
                        oid=item_oid,
                        name=name,
                        label=label or parent.label,
                        data_type=shape.data_type,
                        length=shape.length,
                        digits=shape.digits,
                        display_format=parent.format,
                        origin=origin,
                        source=_DEFAULT_SOURCE.get(origin)
                        if origin != parent.origin
                        else (parent.source or _DEFAULT_SOURCE.get(origin)),
                        origin_text=parent.predecessor if origin == "Predecessor" else None,
                        codelist_oid=codelist_oid,
                        value_list_oid=None,
                        comment_oid=comment_oid,
                        xpt_length=parent_item.xpt_length,
                        dataset=meta.name,
                        where_text=self.where_clauses[where_oids[combo]].text,
                        pages=self.pages(origin, f"{meta.name}.{value}"),
                    )
                )
                vl_refs.append(
                    ItemRef(
                        item_oid=item_oid,
                        order=len(vl_refs) + 1,
                        mandatory=bool(filled == records),
                        method_oid=method_oid,
                        where_oid=where_oids[combo],
                    )
                )
            if vl_refs:
                vl_oid = self.unique(f"VL.{meta.name}.{name}")
                self.value_lists.append(ValueList(vl_oid, meta.name, name, tuple(vl_refs)))
            else:  # nothing to describe: drop the reference from the parent item
                self.items = [i if i.oid != parent_item.oid else _replace_vl(i) for i in self.items]


def _combinations(
    source: DatasetValues, keys: Sequence[str], first: pd.Series
) -> list[tuple[str, ...]]:
    """The value-level entries of ``keys``: each present value of the first key (``first``)
    alone, or with the values of the further keys its records hold ("" where null)."""
    values = sorted(set(first.astype("string").unique()))
    if len(keys) == 1:
        return [(v,) for v in values]
    counts = source.counts(*keys)
    text = counts[list(keys)].astype("string").fillna("")
    wanted = set(values)
    return sorted({tuple(row) for row in text.itertuples(index=False) if row[0] in wanted})


def _is_parameter(meta: DatasetMeta, var: VariableMeta) -> bool:
    """PARAMCD or PARAM of an ADaM dataset without a codelist of its own: the sponsor's
    parameters (ADaMIG 1.3 section 3.3.4), a codelist per dataset."""
    return (
        meta.standard == "ADaMIG"
        and var.name in ("PARAMCD", "PARAM")
        and var.codelist is None
        and var.dictionary is None
    )


def _most_frequent(source: DatasetValues, by: str, decode: str) -> dict[str, str]:
    """Each value of ``by`` (as text) with the decode most of its records hold (of several,
    the first in sort order)."""
    counts = source.counts(by, decode).astype({by: "string", decode: "string"})
    counts = counts.dropna(subset=[decode]).sort_values(["n", decode], ascending=[False, True])
    first = counts.drop_duplicates(by)
    return dict(zip(first[by], first[decode], strict=True))


def _replace_vl(item: Item) -> Item:
    from dataclasses import replace

    return replace(item, value_list_oid=None)


def _ig_oid(standard: str) -> str:
    return f"STD.{standard}.{IG_VERSIONS[standard]}"


def _ct_oid(package: str) -> str:
    return f"STD.CT.{package}.{CT_VERSIONS[package]}"


def build_define(
    metas: Sequence[DatasetMeta],
    folder: Path,
    *,
    layer: Layer,
    study_id: str,
    study_title: str,
    created: datetime,
    dictionaries: Mapping[str, str] | None = None,
    analyses: Sequence[AnalysisMeta] = (),
    annotated_crf: AnnotatedCrf | None = None,
    supplemental: Sequence[Document] = (),
) -> Define:
    """The Define-XML model of the datasets written to ``folder`` (one ``<name>.xpt`` each,
    its values read from the ``<name>.parquet`` beside it when there is one), described by
    ``metas``. Every XPT file in the folder needs metadata; metadata without a
    file is left out (a dataset the run did not write). ``dictionaries`` gives external
    dictionary versions, e.g. ``{"MedDRA": "27.1"}``; ``analyses`` the analysis results of
    the Analysis Results Metadata (ADaM); ``annotated_crf`` the annotated CRF beside
    define.xml, whose pages each collected variable's origin points at; ``supplemental``
    the documents it names as def:SupplementalDoc (the reviewer's guide)."""
    folder = Path(folder)
    files = {p.stem.upper(): p for p in sorted(folder.glob("*.xpt"))}
    by_name = {m.name: m for m in metas}
    if unknown := sorted(set(files) - set(by_name)):
        raise DefineError(f"{folder}: no metadata for {', '.join(unknown)} (.xpt written)")
    if not files:
        raise DefineError(f"{folder}: no .xpt files to describe")
    if skipped := [m.name for m in metas if m.name not in files]:
        log.info("define: no file for %s: not described", ", ".join(skipped))
    builder = _Builder(dict(dictionaries or {}), crf=annotated_crf)
    for meta in metas:
        if meta.name in files:
            builder.dataset(meta, files[meta.name])
    codelists = builder.codelists()
    used_standards = sorted({m.standard for m in metas if m.name in files})
    std = [Standard(_ig_oid(s), s, "IG", IG_VERSIONS[s]) for s in used_standards]
    packages = builder.packages | ({"SDTM"} if layer == "sdtm" else set())
    std += [
        Standard(_ct_oid(p), "CDISC/NCI", "CT", CT_VERSIONS[p], publishing_set=p)
        for p in sorted(packages)
    ]
    main = "SDTMIG" if layer == "sdtm" else "ADaMIG"
    return Define(
        layer=layer,
        file_oid=f"DEF.{study_id}.{layer.upper()}.{created:%Y%m%dT%H%M%S}",
        study_oid=f"STDY.{study_id}",
        study_name=study_id,
        study_description=study_title,
        protocol_name=study_id,
        mdv_oid=f"MDV.{study_id}.{main}.{IG_VERSIONS[main]}",
        mdv_name=f"{study_id} {'SDTM' if layer == 'sdtm' else 'ADaM'} data definitions",
        created=created,
        standards=tuple(std),
        value_lists=tuple(builder.value_lists),
        where_clauses=tuple(builder.where_clauses.values()),
        groups=tuple(builder.groups),
        items=tuple(builder.items),
        codelists=tuple(codelists),
        methods=tuple(builder.methods),
        comments=tuple(builder.comments),
        version=__version__,
        analysis_results=tuple(_analysis_result(builder, a) for a in analyses),
        annotated_crf=annotated_crf,
        supplemental=tuple(supplemental),
    )


def _analysis_result(builder: _Builder, analysis: AnalysisMeta) -> AnalysisResult:
    """The ARM entry of one analysis, its dataset, parameter, where-clause and variables
    resolved to the OIDs of the datasets just described; DefineError if any is missing."""
    where = f"analysis result {analysis.key}"
    group = next((g for g in builder.groups if g.name == analysis.dataset), None)
    if group is None:
        raise DefineError(f"{where}: dataset {analysis.dataset} is not described")
    items = {i.name: i.oid for i in builder.items if i.dataset == group.name and not i.where_text}
    missing = [v for v in ("PARAMCD", *analysis.variables) if v not in items]
    if missing:
        raise DefineError(f"{where}: {analysis.dataset} has no {', '.join(missing)}")
    clause = next(
        (
            w.oid
            for w in builder.where_clauses.values()
            if w.item_oid == items["PARAMCD"] and w.comparator == "EQ"
            and w.values == (analysis.paramcd,) and not w.also
        ),
        None,
    )  # fmt: skip
    if clause is None:
        raise DefineError(f"{where}: {analysis.dataset} holds no PARAMCD {analysis.paramcd}")
    key = _oid_part(analysis.key)
    return AnalysisResult(
        display_oid=builder.unique(f"RD.{key}"),
        display=analysis.display,
        description=analysis.description,
        result_oid=builder.unique(f"AR.{key}"),
        result=analysis.result,
        parameter_oid=items["PARAMCD"],
        reason=analysis.reason,
        purpose=analysis.purpose,
        group_oid=group.oid,
        where_oid=clause,
        variable_oids=tuple(items[v] for v in analysis.variables),
        documentation=analysis.documentation,
        context=analysis.context,
        code=analysis.code,
    )

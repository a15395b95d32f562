"""Load and check a study's specs (the format is documented in sdtm_specs/README.md).

A study folder holds ``study.yaml``, ``forms.yaml``, ``ct_map.yaml`` and one YAML file
per SDTM dataset under ``sdtm/``. Labels, types, order, core and codelists of standard
variables come from the SDTMIG table in ``sdtm_specs/_standards``: a spec states only
what is study-specific (origin and mapping rule), so nothing is typed twice.
Every problem raises :class:`SpecError` naming the spec file and entry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from transforms import standards
from transforms.conditions import Condition
from transforms.sdtm.algorithms import (
    Codelist,
    Rule,
    Scope,
    SpecError,
    normalise,
    parse_condition,
    parse_rule,
)
from transforms.studies import STUDY_ID, specs_dir

__all__ = ["DatasetSpec", "FormSpec", "SpecError", "StudySpec", "VariableSpec", "load_study"]

# Pseudo-forms a dataset may use as a source besides the raw forms: the run's study-level
# facts (one row), and the rows a spec lists itself (trial design tables such as TS).
STUDY_FORM = "_STUDY"
STUDY_COLUMNS = frozenset({"__ROW", "STUDYID", "DCUTDTC", "EXPORTID"})
ROWS_FORM = "_ROWS"
ROW_KEY = "__ROW"  # a form's key when it has no natural one: the record's place in the file
ORIGINS = ("Collected", "Derived", "Assigned", "Protocol", "Predecessor", "Not Available")
COLUMN_TYPES = ("text", "integer", "decimal", "date", "time")
NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    label: str
    type: str
    required: bool


@dataclass(frozen=True)
class FormSpec:
    """One raw eCRF form: file stem, keys and columns (in export order)."""

    oid: str
    file: str
    label: str
    keys: tuple[str, ...]
    columns: Mapping[str, ColumnSpec]


@dataclass(frozen=True)
class VariableSpec:
    name: str
    label: str
    type: str  # Char | Num
    order: int  # position in the standard (IG) order
    core: str  # Req | Exp | Perm
    codelist: str | None
    origin: str
    length: int | None  # None: longest value present
    format: str | None
    data_type: str  # Define-XML / Dataset-JSON: text, integer or float


@dataclass(frozen=True)
class SuppSpec:
    qnam: str
    qlabel: str
    qorig: str
    qeval: str | None


@dataclass(frozen=True)
class RecordBlock:
    """The records one source form gives a dataset: a rule for every variable and qualifier."""

    source: str
    where: Condition | None
    distinct: tuple[str, ...]  # raw columns: one record per distinct value (first row wins)
    rules: Mapping[str, Rule]  # variable -> rule, in evaluation order
    supplemental: Mapping[str, Rule]  # QNAM -> rule


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    label: str
    class_: str
    structure: str
    keys: tuple[str, ...]
    sort: tuple[str, ...]  # record order (and --SEQ order); default: the keys
    blocks: tuple[RecordBlock, ...]  # one per source form; records are stacked
    rows: tuple[Mapping[str, str | None], ...]  # the spec's own rows (source _ROWS)
    variables: tuple[VariableSpec, ...]  # evaluation order (as written in the spec)
    supplemental: tuple[SuppSpec, ...]
    path: Path

    @property
    def sources(self) -> list[str]:
        return [b.source for b in self.blocks]

    def output_variables(self) -> list[VariableSpec]:
        """Variables in standard (IG) order."""
        return sorted(self.variables, key=lambda v: v.order)


@dataclass(frozen=True)
class StudySpec:
    id: str
    title: str
    sponsor: str
    schedule: str | None
    forms: Mapping[str, FormSpec]
    datasets: Mapping[str, DatasetSpec]  # mapping order: DM first
    adam: tuple[str, ...]  # ADaM datasets in derivation order (specs in <study>/adam/)
    dictionaries: Mapping[str, str]  # external dictionary -> version (MedDRA, WHODrug)
    ct_map: Mapping[str, Mapping[str, str]]  # codelist -> normalised raw text -> term
    not_mapped: Mapping[str, str]  # form -> why its records are not (all) SDTM records
    retention: int  # run folders kept in the store (the published one always is)
    settle_seconds: float  # a manifest-less export counts once its files are this old
    path: Path

    @property
    def form_files(self) -> dict[str, str]:
        return {oid: f.file for oid, f in self.forms.items()}

    def adam_spec_path(self, dataset: str) -> Path:
        """The spec file of one of the study's ADaM datasets."""
        return self.path / "adam" / f"{dataset.lower()}.yaml"


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError as exc:
        raise SpecError(f"{path}: spec file missing") from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from exc


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SpecError(f"{where}: expected a mapping, found {type(value).__name__}")
    return value


def _keys(raw: Mapping[str, Any], where: str, required: set[str], optional: set[str]) -> None:
    if missing := required - set(raw):
        raise SpecError(f"{where}: missing {sorted(missing)}")
    if unknown := set(raw) - required - optional:
        raise SpecError(f"{where}: unknown key(s) {sorted(unknown)}")


def _codelist(code: str, where: str) -> Codelist:
    try:
        return standards.controlled_terms().codelist(code)
    except KeyError as exc:
        raise SpecError(f"{where}: unknown codelist {code!r}") from exc


def _load_forms(path: Path) -> dict[str, FormSpec]:
    raw = _mapping(_read_yaml(path), str(path))
    _keys(raw, str(path), {"forms"}, set())
    forms: dict[str, FormSpec] = {}
    for oid, body in _mapping(raw["forms"], f"{path}: forms").items():
        where = f"{path}: forms.{oid}"
        body = _mapping(body, where)
        _keys(body, where, {"file", "label", "keys", "columns"}, set())
        columns: dict[str, ColumnSpec] = {}
        for name, col in _mapping(body["columns"], f"{where}.columns").items():
            cw = f"{where}.columns.{name}"
            col = _mapping(col, cw)
            _keys(col, cw, {"label", "type"}, {"required"})
            if col["type"] not in COLUMN_TYPES:
                raise SpecError(f"{cw}: type {col['type']!r} not one of {COLUMN_TYPES}")
            columns[str(name).upper()] = ColumnSpec(
                str(name).upper(), str(col["label"]), col["type"], bool(col.get("required"))
            )
        keys = tuple(str(k) for k in body["keys"] or ())
        # A form without a natural key (an export that carries no record id, where even
        # whole rows may repeat) names the record's position in the file instead.
        bad = [k for k in keys if k not in columns]
        if keys != (ROW_KEY,) and (bad or not keys):
            raise SpecError(
                f"{where}.keys: {bad or 'none given'}: keys are columns of the form "
                f"(a form without a natural key gives [{ROW_KEY}])"
            )
        if not re.fullmatch(r"[a-z][a-z0-9_]*", str(body["file"])):
            raise SpecError(f"{where}.file: {body['file']!r} must be a lowercase file stem")
        forms[str(oid)] = FormSpec(str(oid), str(body["file"]), str(body["label"]), keys, columns)
    return forms


def _load_ct_map(path: Path) -> dict[str, dict[str, str]]:
    raw = _mapping(_read_yaml(path) or {}, str(path))
    out: dict[str, dict[str, str]] = {}
    for code, table in raw.items():
        where = f"{path}: {code}"
        codelist = _codelist(str(code), where)
        table = _mapping(table, where)
        outside = [v for v in table.values() if codelist.lookup(str(v)) is None]
        if outside:
            raise SpecError(f"{where}: {outside} are not terms of codelist {code}")
        keys = normalise(pd.Series([str(k) for k in table], dtype="string"))
        if keys.duplicated().any():
            raise SpecError(f"{where}: raw values clash once trimmed and case-folded")
        out[str(code)] = dict(zip(keys, (str(v) for v in table.values()), strict=True))
    return out


def _data_type(name: str, vtype: str) -> str:
    """Define-XML data type: counters, study days, ages and dictionary codes are integers."""
    if vtype == "Char":
        return "text"
    whole = name.endswith(("SEQ", "DY")) or name == "AGE" or re.fullmatch(r"AE\w*CD", name)
    return "integer" if whole else "float"


def _variable(raw: Mapping[str, Any], domain: str, where: str) -> VariableSpec:
    _keys(
        raw,
        where,
        {"name", "origin"},
        {"rule", "label", "type", "core", "codelist", "length", "format", "order", "datatype"},
    )
    name = str(raw["name"])
    where = f"{where} {name}"
    if not NAME.match(name):
        raise SpecError(f"{where}: variable names are 1-8 of A-Z, 0-9, _ starting with a letter")
    ig = standards.ig_variable(domain, name)
    if ig is None and not {"label", "type", "core", "order"} <= set(raw):
        raise SpecError(f"{where}: not an SDTMIG {domain} variable: give label, type, core, order")
    label = str(raw.get("label", ig.label if ig else ""))
    vtype = str(raw.get("type", ig.type if ig else ""))
    if vtype not in ("Char", "Num"):
        raise SpecError(f"{where}: type must be Char or Num, not {vtype!r}")
    if len(label.encode("ascii", "replace")) > 40 or not label.isascii():
        raise SpecError(f"{where}: label {label!r} is over 40 bytes or not ASCII")
    codelist = raw.get("codelist", "; ".join(ig.codelists) if ig and ig.codelists else None)
    if codelist:
        _codelist(str(codelist), where)
    origin = str(raw["origin"])
    if origin not in ORIGINS:
        raise SpecError(f"{where}: origin {origin!r} not one of {ORIGINS}")
    length = raw.get("length")
    if length is not None and (not isinstance(length, int) or not 1 <= length <= 200):
        raise SpecError(f"{where}: length must be a whole number 1-200 (or absent: longest value)")
    return VariableSpec(
        name=name,
        label=label,
        type=vtype,
        order=int(raw.get("order", ig.order if ig else 0)),
        core=str(raw.get("core", ig.core if ig else "Perm")),
        codelist=str(codelist) if codelist else None,
        origin=origin,
        length=length,
        format=raw.get("format"),
        data_type=str(raw.get("datatype", _data_type(name, vtype))),
    )


def _block(
    raw: Mapping[str, Any],
    where: str,
    variables: list[VariableSpec],
    defaults: Mapping[str, Any],
    supp_defaults: Mapping[str, Any],
    forms: Mapping[str, frozenset[str]],
    with_dm: bool,
) -> RecordBlock:
    """Parse one source block: every variable's rule (the block's own, else the default)."""
    _keys(raw, where, {"source"}, {"where", "distinct", "rules", "supplemental"})
    source = str(raw["source"])
    if source not in forms:
        raise SpecError(f"{where}: source form {source!r} unknown (forms: {sorted(forms)})")
    distinct = tuple(str(c) for c in raw.get("distinct") or ())
    if bad := [c for c in distinct if c not in forms[source]]:
        raise SpecError(f"{where}: distinct {bad} are not columns of form {source}")
    where = f"{where} (source {source})"
    own = _mapping(raw.get("rules") or {}, f"{where}: rules")
    if unknown := set(own) - {v.name for v in variables}:
        raise SpecError(f"{where}: rules for undeclared variable(s) {sorted(unknown)}")

    def scope(label: str, known: frozenset[str], codelist: str | None) -> Scope:
        cl = _codelist(codelist, label) if codelist else None
        return Scope(label, source, forms[source], forms, known, cl, with_dm)

    condition = None
    if "where" in raw:
        condition = parse_condition(raw["where"], scope(where, frozenset(), None), "where")
    rules: dict[str, Rule] = {}
    for var in variables:
        rule = own.get(var.name, defaults.get(var.name))
        if rule is None:
            raise SpecError(f"{where} {var.name}: no rule (give one in variables or the block)")
        rules[var.name] = parse_rule(
            rule, scope(f"{where} {var.name}", frozenset(rules), var.codelist)
        )
    own_supp = _mapping(raw.get("supplemental") or {}, f"{where}: supplemental")
    supp: dict[str, Rule] = {}
    for qnam, default in supp_defaults.items():
        rule = own_supp.get(qnam, default)
        if rule is not None:
            supp[qnam] = parse_rule(rule, scope(f"{where} {qnam}", frozenset(rules), None))
    return RecordBlock(source, condition, distinct, rules, supp)


def _transposed(raw: Mapping[str, Any], where: str, names: set[str]) -> list[dict[str, Any]]:
    """A block with ``transpose`` (a wide form: one row holds several tests) as one block per
    item: the item's records are the rows where its column has a value (or its ``keep``
    condition holds), with the ``code`` variable set to the item's code and the ``value``
    variable to its column; the item's own ``rules`` override the block's."""
    spec = _mapping(raw["transpose"], f"{where}: transpose")
    _keys(spec, f"{where}: transpose", {"code", "value", "items"}, set())
    code_var, value_var = str(spec["code"]), str(spec["value"])
    if unknown := {code_var, value_var} - names:
        raise SpecError(f"{where}: transpose names undeclared variable(s) {sorted(unknown)}")
    items = spec["items"]
    if not isinstance(items, list) or not items:
        raise SpecError(f"{where}: transpose.items must be a non-empty list")
    blocks, seen = [], set()
    for i, item in enumerate(items):
        iw = f"{where}: transpose.items[{i}]"
        item = _mapping(item, iw)
        _keys(item, iw, {"code", "column"}, {"keep", "rules"})
        code = str(item["code"])
        if code in seen:
            raise SpecError(f"{iw}: code {code!r} given twice")
        seen.add(code)
        present: dict[str, Any] = {"column": str(item["column"]), "not_null": True}
        if "keep" in item:
            present = {"any": [present, item["keep"]]}
        condition = {"all": [raw["where"], present]} if "where" in raw else present
        own = _mapping(item.get("rules") or {}, f"{iw}.rules")
        if clash := {code_var, value_var} & set(own):
            raise SpecError(f"{iw}.rules: {sorted(clash)} are set by the transpose itself")
        rules = {
            **_mapping(raw.get("rules") or {}, f"{where}: rules"),
            code_var: {"value": code},
            value_var: {"column": str(item["column"])},
            **own,
        }
        block = {k: v for k, v in raw.items() if k not in ("transpose", "where", "rules")}
        blocks.append({**block, "where": condition, "rules": rules})
    return blocks


def _load_dataset(path: Path, forms: Mapping[str, FormSpec]) -> DatasetSpec:
    raw = _mapping(_read_yaml(path), str(path))
    _keys(
        raw,
        str(path),
        {"dataset", "keys", "variables"},
        # `tables` only holds YAML anchors that rules refer to.
        {
            "source",
            "where",
            "distinct",
            "transpose",
            "records",
            "supplemental",
            "sort",
            "tables",
            "rows",
        },
    )
    name = str(raw["dataset"])
    where = f"{path}: {name}"
    ig = standards.ig_dataset(name)
    if ig is None:
        raise SpecError(f"{where}: not an SDTMIG 3.4 dataset")
    if ("source" in raw) == ("records" in raw):
        raise SpecError(f"{where}: give either 'source' (one form) or 'records' (several)")

    variables: list[VariableSpec] = []
    defaults: dict[str, Any] = {}
    for i, entry in enumerate(raw["variables"] or []):
        entry = _mapping(entry, f"{where} variables[{i}]")
        var = _variable(entry, name, f"{where} variables[{i}]")
        if any(v.name == var.name for v in variables):
            raise SpecError(f"{where}: variable {var.name} given twice")
        variables.append(var)
        if "rule" in entry:
            defaults[var.name] = entry["rule"]
    names = {v.name for v in variables}
    missing = [
        v.name
        for v in standards.ig_variables_of(name)
        if v.core in ("Req", "Exp") and v.name not in names
    ]
    if missing:
        raise SpecError(f"{where}: Required/Expected variables missing from the spec: {missing}")
    keys = tuple(str(k) for k in raw["keys"])
    if bad := [k for k in keys if k not in names]:
        raise SpecError(f"{where}: keys {bad} are not variables of the dataset")
    sort = tuple(str(k) for k in raw.get("sort", keys))
    if bad := [k for k in sort if k not in names]:
        raise SpecError(f"{where}: sort {bad} are not variables of the dataset")

    supp: list[SuppSpec] = []
    supp_defaults: dict[str, Any] = {}
    for i, entry in enumerate(raw.get("supplemental") or []):
        sw = f"{where} supplemental[{i}]"
        entry = _mapping(entry, sw)
        _keys(entry, sw, {"qnam", "qlabel", "qorig"}, {"qeval", "rule"})
        qnam, qlabel = str(entry["qnam"]), str(entry["qlabel"])
        if not NAME.match(qnam) or len(qlabel) > 40 or not qlabel.isascii():
            raise SpecError(f"{sw}: QNAM must be a valid name and QLABEL ASCII ≤ 40 bytes")
        supp.append(SuppSpec(qnam, qlabel, str(entry["qorig"]), entry.get("qeval")))
        supp_defaults[qnam] = entry.get("rule")

    rows = tuple(
        {
            str(k).upper(): None if v is None else str(v)
            for k, v in _mapping(r, f"{where} rows").items()
        }
        for r in raw.get("rows") or []
    )
    form_columns = {oid: frozenset(f.columns) for oid, f in forms.items()}
    form_columns[STUDY_FORM] = STUDY_COLUMNS
    form_columns[ROWS_FORM] = frozenset({"__ROW"}.union(*rows)) if rows else frozenset()
    with_dm = name != "DM"
    raw_blocks = raw.get("records") or [
        {"source": raw["source"],
         **{k: raw[k] for k in ("where", "distinct", "transpose") if k in raw}}
    ]  # fmt: skip
    expanded: list[tuple[str, Mapping[str, Any]]] = []  # (where, block)
    for i, b in enumerate(raw_blocks):
        b = _mapping(b, f"{where} records[{i}]")
        if "transpose" in b:
            items = _transposed(b, f"{where} records[{i}]", names)
            expanded += [(f"{where} transpose {t['rules'][b['transpose']['code']]['value']}", t)
                         for t in items]  # fmt: skip
        else:
            expanded.append((where, b))
    blocks = tuple(
        _block(b, bw, variables, defaults, supp_defaults, form_columns, with_dm)
        for bw, b in expanded
    )
    return DatasetSpec(
        name=name,
        label=ig.label,
        class_=ig.class_,
        structure=ig.structure,
        keys=keys,
        sort=sort,
        blocks=blocks,
        rows=rows,
        variables=tuple(variables),
        supplemental=tuple(supp),
        path=path,
    )


@cache
def load_study(study: str, root: Path | None = None) -> StudySpec:
    """Load, check and return the specs of one study."""
    if not STUDY_ID.fullmatch(study):
        raise SpecError(f"study id {study!r} must match {STUDY_ID.pattern}")
    folder = (root or specs_dir()) / study
    if not folder.is_dir():
        raise SpecError(f"{folder}: no specs for study {study}")
    meta = _mapping(_read_yaml(folder / "study.yaml"), str(folder / "study.yaml"))
    where = str(folder / "study.yaml")
    _keys(
        meta,
        where,
        {"study", "title", "sponsor", "sdtm"},
        {"schedule", "not_mapped", "retention", "settle_seconds", "adam", "dictionaries"},
    )
    settle = meta.get("settle_seconds", 120)
    if not isinstance(settle, int | float) or settle < 0:
        raise SpecError(f"{where}: settle_seconds must be a number of seconds, at least 0")
    retention = meta.get("retention", 30)
    if not isinstance(retention, int) or retention < 1:
        raise SpecError(f"{where}: retention must be a whole number of runs, at least 1")
    if meta["study"] != study:
        raise SpecError(f"{where}: study {meta['study']!r} does not match its folder {study!r}")
    forms = _load_forms(folder / "forms.yaml")
    not_mapped = {str(k): str(v) for k, v in _mapping(meta.get("not_mapped") or {}, where).items()}
    if unknown := set(not_mapped) - set(forms):
        raise SpecError(f"{where}: not_mapped names unknown form(s) {sorted(unknown)}")
    ct_map = _load_ct_map(folder / "ct_map.yaml")
    # Dataset names become spec file names: nothing but a dataset name may reach the path.
    for key in ("sdtm", "adam"):
        bad = [n for n in meta.get(key) or () if not NAME.fullmatch(str(n))]
        if bad:
            raise SpecError(f"{where}: {key} names {bad} must match {NAME.pattern}")
    datasets: dict[str, DatasetSpec] = {}
    for name in meta["sdtm"]:
        path = folder / "sdtm" / f"{str(name).lower()}.yaml"
        spec = _load_dataset(path, forms)
        if spec.name != name:
            raise SpecError(f"{path}: holds dataset {spec.name}, study.yaml expects {name}")
        datasets[spec.name] = spec
    if next(iter(datasets), None) != "DM":
        raise SpecError(f"{where}: sdtm must list DM first (it sets the reference dates)")
    return StudySpec(
        id=study,
        title=str(meta["title"]),
        sponsor=str(meta["sponsor"]),
        schedule=meta.get("schedule"),
        forms=forms,
        datasets=datasets,
        adam=tuple(str(d) for d in meta.get("adam") or ()),
        dictionaries={
            str(k): str(v) for k, v in _mapping(meta.get("dictionaries") or {}, where).items()
        },
        ct_map=ct_map,
        not_mapped=not_mapped,
        retention=retention,
        settle_seconds=float(settle),
        path=folder,
    )

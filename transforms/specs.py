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
from transforms.sdtm.algorithms import (
    Codelist,
    Condition,
    Rule,
    Scope,
    SpecError,
    normalise,
    parse_rule,
)
from transforms.studies import STUDY_ID, specs_dir

__all__ = ["DatasetSpec", "FormSpec", "SpecError", "StudySpec", "VariableSpec", "load_study"]

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
    rule: Rule


@dataclass(frozen=True)
class SuppSpec:
    qnam: str
    qlabel: str
    qorig: str
    qeval: str | None
    rule: Rule


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    label: str
    class_: str
    structure: str
    keys: tuple[str, ...]
    source: str  # the driver form: one record per (filtered) row of it
    where: Condition | None
    variables: tuple[VariableSpec, ...]  # evaluation order (as written in the spec)
    supplemental: tuple[SuppSpec, ...]
    path: Path

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
    ct_map: Mapping[str, Mapping[str, str]]  # codelist -> normalised raw text -> term
    path: Path

    @property
    def form_files(self) -> dict[str, str]:
        return {oid: f.file for oid, f in self.forms.items()}


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
        keys = tuple(str(k) for k in body["keys"])
        if bad := [k for k in keys if k not in columns]:
            raise SpecError(f"{where}.keys: {bad} are not columns of the form")
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


def _variable(
    raw: Mapping[str, Any], domain: str, where: str, scope: Scope
) -> tuple[VariableSpec, str]:
    _keys(
        raw,
        where,
        {"name", "origin", "rule"},
        {"label", "type", "core", "codelist", "length", "format", "order"},
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
    codelist = raw.get("codelist", ig.codelists[0] if ig and ig.codelists else None)
    origin = str(raw["origin"])
    if origin not in ORIGINS:
        raise SpecError(f"{where}: origin {origin!r} not one of {ORIGINS}")
    length = raw.get("length")
    if length is not None and (not isinstance(length, int) or not 1 <= length <= 200):
        raise SpecError(f"{where}: length must be a whole number 1-200 (or absent: longest value)")
    rule_scope = Scope(
        f"{scope.where} {name}",
        scope.form,
        scope.form_columns,
        scope.forms,
        scope.known_vars,
        _codelist(str(codelist), where) if codelist else None,
    )
    spec = VariableSpec(
        name=name,
        label=label,
        type=vtype,
        order=int(raw.get("order", ig.order if ig else 0)),
        core=str(raw.get("core", ig.core if ig else "Perm")),
        codelist=str(codelist) if codelist else None,
        origin=origin,
        length=length,
        format=raw.get("format"),
        rule=parse_rule(raw["rule"], rule_scope),
    )
    return spec, name


def _load_dataset(path: Path, forms: Mapping[str, FormSpec]) -> DatasetSpec:
    raw = _mapping(_read_yaml(path), str(path))
    _keys(raw, str(path), {"dataset", "source", "keys", "variables"}, {"where", "supplemental"})
    name = str(raw["dataset"])
    where = f"{path}: {name}"
    ig = standards.ig_dataset(name)
    if ig is None:
        raise SpecError(f"{where}: not an SDTMIG 3.4 dataset")
    source = str(raw["source"])
    if source not in forms:
        raise SpecError(f"{where}: source form {source!r} unknown (forms: {sorted(forms)})")
    form_columns = {oid: frozenset(f.columns) for oid, f in forms.items()}
    scope = Scope(where, source, form_columns[source], form_columns, frozenset())
    condition = Condition.parse(raw["where"], scope) if "where" in raw else None

    variables: list[VariableSpec] = []
    for i, entry in enumerate(raw["variables"] or []):
        scope = Scope(
            where, source, form_columns[source], form_columns, frozenset(v.name for v in variables)
        )
        spec, vname = _variable(
            _mapping(entry, f"{where} variables[{i}]"), name, f"{where} variables[{i}]", scope
        )
        if any(v.name == vname for v in variables):
            raise SpecError(f"{where}: variable {vname} given twice")
        variables.append(spec)
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

    all_vars = frozenset(names)
    supp: list[SuppSpec] = []
    for i, entry in enumerate(raw.get("supplemental") or []):
        sw = f"{where} supplemental[{i}]"
        entry = _mapping(entry, sw)
        _keys(entry, sw, {"qnam", "qlabel", "qorig", "rule"}, {"qeval"})
        qnam, qlabel = str(entry["qnam"]), str(entry["qlabel"])
        if not NAME.match(qnam) or len(qlabel) > 40 or not qlabel.isascii():
            raise SpecError(f"{sw}: QNAM must be a valid name and QLABEL ASCII ≤ 40 bytes")
        sscope = Scope(f"{sw} {qnam}", source, form_columns[source], form_columns, all_vars)
        supp.append(
            SuppSpec(
                qnam,
                qlabel,
                str(entry["qorig"]),
                entry.get("qeval"),
                parse_rule(entry["rule"], sscope),
            )
        )
    return DatasetSpec(
        name=name,
        label=ig.label,
        class_=ig.class_,
        structure=ig.structure,
        keys=keys,
        source=source,
        where=condition,
        variables=tuple(variables),
        supplemental=tuple(supp),
        path=path,
    )


@cache
def load_study(study: str, root: Path | None = None) -> StudySpec:
    """Load, check and return the specs of one study."""
    if not STUDY_ID.match(study):
        raise SpecError(f"study id {study!r} must match {STUDY_ID.pattern}")
    folder = (root or specs_dir()) / study
    if not folder.is_dir():
        raise SpecError(f"{folder}: no specs for study {study}")
    meta = _mapping(_read_yaml(folder / "study.yaml"), str(folder / "study.yaml"))
    where = str(folder / "study.yaml")
    _keys(meta, where, {"study", "title", "sponsor", "sdtm"}, {"schedule"})
    if meta["study"] != study:
        raise SpecError(f"{where}: study {meta['study']!r} does not match its folder {study!r}")
    forms = _load_forms(folder / "forms.yaml")
    ct_map = _load_ct_map(folder / "ct_map.yaml")
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
        ct_map=ct_map,
        path=folder,
    )

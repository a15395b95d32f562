"""Load and check a study's specs (the format is documented in sdtm_specs/README.md).

A study folder holds ``study.yaml`` (with the trial design, handed to every rule through
its parse scope), ``forms.yaml``, ``ct_map.yaml`` and one YAML file per SDTM dataset under
``sdtm/``. Labels, types, order, core and codelists of standard
variables come from the SDTMIG table in ``sdtm_specs/_standards``: a spec states only
what is study-specific (origin and mapping rule), so nothing is typed twice; STUDYID,
DOMAIN, USUBJID and --SEQ need not even state that.
Every problem raises :class:`SpecError` naming the spec file and entry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from transforms import standards, yamlfile
from transforms.conditions import Condition
from transforms.endpoint_spec import EndpointSpec, read_endpoint_spec
from transforms.sdtm import trial
from transforms.sdtm.algorithms import (
    CONDITION,
    Aggregate,
    Codelist,
    Design,
    DmValue,
    ParticipationEnd,
    Read,
    Rule,
    Scope,
    SpecError,
    nodes,
    normalise,
    parse_condition,
    parse_rule,
    reads,
)
from transforms.sdtm.trial import Schedule, TrialDesign
from transforms.specs_design import load_design, require
from transforms.studies import (
    REFERENCE_DATASET,
    STUDY_ID,
    read_deadline,
    sdtm_reads,
    sdtm_spec_path,
    specs_dir,
    unknown_study,
)
from transforms.yamlfile import Entry

__all__ = [
    "DatasetSpec",
    "FieldUse",
    "FormSpec",
    "SpecError",
    "StudySpec",
    "VariableSpec",
    "load_study",
]

# Pseudo-forms a dataset may use as a source besides the raw forms: the run's study-level
# facts (one row), the rows a spec lists itself (trial design tables such as TS), and the
# tables of the trial design (transforms.sdtm.trial: _ARMS, _VISITS, _SUBJECT_VISITS...).
STUDY_FORM = "_STUDY"
STUDY_COLUMNS = frozenset({"__ROW", "STUDYID", "DCUTDTC", "EXPORTID"})
ROWS_FORM = "_ROWS"
ROW_KEY = "__ROW"  # a form's key when it has no natural one: the record's place in the file
ORIGINS = ("Collected", "Derived", "Assigned", "Protocol", "Predecessor", "Not Available")
COLUMN_TYPES = ("text", "integer", "decimal", "result", "date", "time")
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
    dictionary: str | None = None  # the external dictionary of its values (study.yaml)


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
class FieldUse:
    """A raw field (a column of a form) that a dataset's spec reads: for `target` (``DS.VAR``,
    ``SUPPDS.QNAM``, or ``DS`` for the records a block's ``where`` or ``distinct`` selects)
    and how (VALUE, KEY or CONDITION of :func:`transforms.sdtm.algorithms.reads`)."""

    form: str
    field: str
    target: str
    how: str


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
    reads: tuple[str, ...] = ()  # other SDTM datasets its sources read (DM: completed)
    # The keys of its value-level metadata: --TESTCD and further keys (LBSPEC); empty: the
    # default (--TESTCD alone).
    value_level: tuple[str, ...] = ()

    @property
    def sources(self) -> list[str]:
        return [b.source for b in self.blocks]

    def output_variables(self) -> list[VariableSpec]:
        """Variables in standard (IG) order."""
        return sorted(self.variables, key=lambda v: v.order)

    def field_uses(self) -> set[FieldUse]:
        """Every raw field the spec's rules read, per variable (and SUPP-- qualifier): each
        block's rules walked over its source form (a `merge` reads the form it names); a
        block's ``where`` and ``distinct`` select the dataset's records."""
        found: set[FieldUse] = set()
        for block in self.blocks:
            selects = reads(block.where, block.source) if block.where else set()
            selects |= {Read(block.source, c, CONDITION) for c in block.distinct}
            targets = [(self.name, selects)]
            targets += [
                (f"{self.name}.{v}", reads(r, block.source)) for v, r in block.rules.items()
            ]
            targets += [
                (f"SUPP{self.name}.{q}", reads(r, block.source))
                for q, r in block.supplemental.items()
            ]
            found |= {FieldUse(r.form, r.column, t, r.how) for t, rs in targets for r in rs}
        return found


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
    design: Design | None = None  # the trial design of study.yaml (arms, epochs, visits)
    trial: TrialDesign | None = None  # the planned trial (elements, visits, criteria)
    transitions: Schedule | None = None  # how subjects enter the elements (SE)
    # the endpoints the ADaM job summarises (None: it writes no endpoint summary)
    endpoints: EndpointSpec | None = None
    # form -> field -> why the field's value reaches no SDTM variable (study.yaml)
    not_submitted: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # role (ODM_ROLES) -> the column a whole-study ODM export's structure fills (forms.yaml)
    odm_structure: Mapping[str, str] = field(default_factory=dict)

    @property
    def form_files(self) -> dict[str, str]:
        return {oid: f.file for oid, f in self.forms.items()}

    @cached_property
    def field_uses(self) -> frozenset[FieldUse]:
        """Every raw field the datasets' specs read (pseudo-forms such as _STUDY left out)."""
        uses = set().union(*(d.field_uses() for d in self.datasets.values()))
        return frozenset(u for u in uses if u.form in self.forms)

    def adam_spec_path(self, dataset: str) -> Path:
        """The spec file of one of the study's ADaM datasets."""
        return self.path / "adam" / f"{dataset.lower()}.yaml"


def _codelist(code: str, where: Entry | str) -> Codelist:
    try:
        return standards.controlled_terms().codelist(code)
    except KeyError as exc:
        raise SpecError(f"{where}: unknown codelist {code!r}") from exc


ODM_ROLES = ("subject", "site", "visit")
"""What forms.yaml's ``odm:`` may name a column for, in a whole-study ODM export: the
SubjectData's SubjectKey, its SiteRef's LocationOID, the StudyEventDef Name of the visit."""


def _load_forms(path: Path) -> tuple[dict[str, FormSpec], dict[str, str]]:
    """The forms by id, and the columns the structure of a whole-study ODM file fills."""
    doc = Entry(path)
    raw = yamlfile.load(path)
    yamlfile.keys(raw, doc, {"forms"}, {"odm"})
    forms: dict[str, FormSpec] = {}
    for oid, body in yamlfile.mapping(raw["forms"], doc / "forms").items():
        where = doc / "forms" / str(oid)
        body = yamlfile.mapping(body, where)
        yamlfile.keys(body, where, {"file", "label", "keys", "columns"}, set())
        columns: dict[str, ColumnSpec] = {}
        for name, col in yamlfile.mapping(body["columns"], where / "columns").items():
            cw = where / "columns" / str(name)
            col = yamlfile.mapping(col, cw)
            yamlfile.keys(col, cw, {"label", "type"}, {"required"})
            if col["type"] not in COLUMN_TYPES:
                raise (cw / "type").error(f"{col['type']!r} not one of {COLUMN_TYPES}")
            columns[str(name).upper()] = ColumnSpec(
                str(name).upper(), str(col["label"]), col["type"], bool(col.get("required"))
            )
        keys = tuple(str(k) for k in yamlfile.sequence(body["keys"] or [], where / "keys"))
        # A form without a natural key (an export that carries no record id, where even
        # whole rows may repeat) names the record's position in the file instead.
        bad = [k for k in keys if k not in columns]
        if keys != (ROW_KEY,) and (bad or not keys):
            raise (where / "keys").error(
                f"{bad or 'none given'}: keys are columns of the form "
                f"(a form without a natural key gives [{ROW_KEY}])"
            )
        if not re.fullmatch(r"[a-z][a-z0-9_]*", str(body["file"])):
            raise (where / "file").error(f"{body['file']!r} must be a lowercase file stem")
        forms[str(oid)] = FormSpec(str(oid), str(body["file"]), str(body["label"]), keys, columns)
    odm = {
        str(k): str(v).upper()
        for k, v in yamlfile.mapping(raw.get("odm") or {}, doc / "odm").items()
    }
    yamlfile.keys(odm, doc / "odm", set(), set(ODM_ROLES))
    for role, column in odm.items():
        if not any(column in form.columns for form in forms.values()):
            raise (doc / "odm" / role).error(f"{column!r} is a column of no form")
    return forms, odm


def _load_ct_map(path: Path) -> dict[str, dict[str, str]]:
    raw = yamlfile.load(path)
    out: dict[str, dict[str, str]] = {}
    for code, table in raw.items():
        where = Entry(path) / str(code)
        codelist = _codelist(str(code), where)
        table = yamlfile.mapping(table, where)
        outside = [v for v in table.values() if codelist.lookup(str(v)) is None]
        if outside:
            raise where.error(f"{outside} are not terms of codelist {code}")
        keys = normalise(pd.Series([str(k) for k in table], dtype="string"))
        if keys.duplicated().any():
            raise where.error("raw values clash once trimmed and case-folded")
        out[str(code)] = dict(zip(keys, (str(v) for v in table.values()), strict=True))
    return out


def _data_type(name: str, vtype: str) -> str:
    """Define-XML data type: counters, study days, ages and dictionary codes are integers."""
    if vtype == "Char":
        return "text"
    whole = name.endswith(("SEQ", "DY")) or name == "AGE" or re.fullmatch(r"AE\w*CD", name)
    return "integer" if whole else "float"


def _boilerplate(name: str, domain: str, study: str) -> tuple[str, dict[str, Any]] | None:
    """The origin and rule of a variable every dataset has, when a spec names it bare:
    STUDYID the study, DOMAIN the dataset, USUBJID the subject's DM record, --SEQ seq."""
    if name == "STUDYID":
        return "Protocol", {"value": study}
    if name == "DOMAIN":
        return "Assigned", {"value": domain}
    if name == "USUBJID" and domain != "DM":
        return "Derived", {"dm": "USUBJID"}
    if name == f"{domain}SEQ":
        return "Derived", {"algorithm": "seq"}
    return None


def _variable_entry(raw: Any, domain: str, study: str, entry: Entry) -> Mapping[str, Any]:
    """A variable entry with its boilerplate filled in: a bare name (``- STUDYID``) or an
    entry without origin or rule takes the derivable default; what is written wins."""
    if isinstance(raw, str):
        raw = {"name": raw}
    raw = yamlfile.mapping(raw, entry)
    default = _boilerplate(str(raw.get("name")), domain, study)
    if default is None:
        return raw
    origin, rule = default
    return {"origin": origin, "rule": rule, **raw}


def _variable(raw: Mapping[str, Any], domain: str, entry: Entry) -> VariableSpec:
    """A dataset spec's variable entry; its errors name the entry and the variable."""
    yamlfile.keys(
        raw,
        entry,
        {"name", "origin"},
        {"rule", "label", "type", "core", "codelist", "length", "format", "order", "datatype"}
        | {"dictionary"},
    )
    name = str(raw["name"])
    if not NAME.match(name):
        raise (entry / "name").error(
            f"{name}: variable names are 1-8 of A-Z, 0-9, _ starting with a letter"
        )
    ig = standards.ig_variable(domain, name)
    if ig is None and not {"label", "type", "core", "order"} <= set(raw):
        raise entry.error(f"{name}: not an SDTMIG {domain} variable: give label, type, core, order")
    label = str(raw.get("label", ig.label if ig else ""))
    vtype = str(raw.get("type", ig.type if ig else ""))
    if vtype not in ("Char", "Num"):
        raise (entry / "type").error(f"{name}: type must be Char or Num, not {vtype!r}")
    if len(label.encode("ascii", "replace")) > 40 or not label.isascii():
        raise (entry / "label").error(f"{name}: label {label!r} is over 40 bytes or not ASCII")
    codelist = raw.get("codelist", "; ".join(ig.codelists) if ig and ig.codelists else None)
    if codelist:
        _codelist(str(codelist), f"{entry / 'codelist'}: {name}")
    origin = str(raw["origin"])
    if origin not in ORIGINS:
        raise (entry / "origin").error(f"{name}: origin {origin!r} not one of {ORIGINS}")
    length = raw.get("length")
    if length is not None and (
        isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= 200
    ):
        raise (entry / "length").error(
            f"{name}: length must be a whole number 1-200 (or absent: longest value)"
        )
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
        dictionary=str(raw["dictionary"]) if raw.get("dictionary") else None,
    )


def _block(
    raw: Mapping[str, Any],
    where: Entry,
    variables: list[VariableSpec],
    defaults: Mapping[str, tuple[Any, Entry]],
    supp_defaults: Mapping[str, tuple[Any, Entry]],
    forms: Mapping[str, frozenset[str]],
    with_dm: bool,
    design: Design | None,
) -> RecordBlock:
    """Parse one source block: every variable's rule (the block's own, else the default
    of its variable entry); an error names the entry the rule was read from."""
    yamlfile.keys(raw, where, {"source"}, {"where", "distinct", "rules", "supplemental"})
    source = str(raw["source"])
    if source not in forms:
        raise (where / "source").error(f"form {source!r} unknown (forms: {sorted(forms)})")
    distinct = tuple(str(c) for c in raw.get("distinct") or ())
    if bad := [c for c in distinct if c not in forms[source]]:
        raise (where / "distinct").error(f"{bad} are not columns of form {source}")
    own = yamlfile.mapping(raw.get("rules") or {}, where / "rules")
    if unknown := set(own) - {v.name for v in variables}:
        raise (where / "rules").error(f"rules for undeclared variable(s) {sorted(unknown)}")

    def scope(label: str, known: frozenset[str], codelist: str | None) -> Scope:
        cl = _codelist(codelist, label) if codelist else None
        return Scope(label, source, forms[source], forms, known, cl, with_dm, design)

    def pick(name: str, given: Mapping[str, Any], default: tuple[Any, Entry] | None,
             key: str) -> tuple[Any, str]:  # fmt: skip
        """The rule of ``name`` and its label: the entry it is read from (and the name,
        where the entry is a variable's own)."""
        if name in given:
            return given[name], str(where / key / name)
        rule, at = default if default is not None else (None, where / key / name)
        return rule, f"{at}: {name}"

    condition = None
    if "where" in raw:
        condition = parse_condition(raw["where"], scope(str(where), frozenset(), None), "where")
    rules: dict[str, Rule] = {}
    for var in variables:
        rule, at = pick(var.name, own, defaults.get(var.name), "rules")
        if rule is None:
            raise where.error(f"{var.name}: no rule (give one in variables or the block)")
        rules[var.name] = parse_rule(rule, scope(at, frozenset(rules), var.codelist))
    own_supp = yamlfile.mapping(raw.get("supplemental") or {}, where / "supplemental")
    supp: dict[str, Rule] = {}
    for qnam, default in supp_defaults.items():
        rule, at = pick(qnam, own_supp, default, "supplemental")
        if rule is not None:
            supp[qnam] = parse_rule(rule, scope(at, frozenset(rules), None))
    return RecordBlock(source, condition, distinct, rules, supp)


def _transposed(
    raw: Mapping[str, Any], where: Entry, names: set[str]
) -> list[tuple[Entry, dict[str, Any]]]:
    """A block with ``transpose`` (a wide form: one row holds several tests) as one block per
    item: the item's records are the rows where its column has a value (or its ``keep``
    condition holds), with the ``code`` variable set to the item's code and the ``value``
    variable to its column; the item's own ``rules`` override the block's. Each block comes
    with its item's entry."""
    tw = where / "transpose"
    spec = yamlfile.mapping(raw["transpose"], tw)
    yamlfile.keys(spec, tw, {"code", "value", "items"}, set())
    code_var, value_var = str(spec["code"]), str(spec["value"])
    if unknown := {code_var, value_var} - names:
        raise tw.error(f"names undeclared variable(s) {sorted(unknown)}")
    items = spec["items"]
    if not isinstance(items, list) or not items:
        raise (tw / "items").error("must be a non-empty list")
    blocks, seen = [], set()
    for i, item in enumerate(items):
        iw = tw / "items" / i
        item = yamlfile.mapping(item, iw)
        yamlfile.keys(item, iw, {"code", "column"}, {"keep", "rules"})
        code = str(item["code"])
        if code in seen:
            raise (iw / "code").error(f"{code!r} given twice")
        seen.add(code)
        present: dict[str, Any] = {"column": str(item["column"]), "not_null": True}
        if "keep" in item:
            present = {"any": [present, item["keep"]]}
        condition = {"all": [raw["where"], present]} if "where" in raw else present
        own = yamlfile.mapping(item.get("rules") or {}, iw / "rules")
        if clash := {code_var, value_var} & set(own):
            raise (iw / "rules").error(f"{sorted(clash)} are set by the transpose itself")
        rules = {
            **yamlfile.mapping(raw.get("rules") or {}, where / "rules"),
            code_var: {"value": code},
            value_var: {"column": str(item["column"])},
            **own,
        }
        block = {k: v for k, v in raw.items() if k not in ("transpose", "where", "rules")}
        blocks.append((iw, {**block, "where": condition, "rules": rules}))
    return blocks


def _load_dataset(
    path: Path,
    forms: Mapping[str, FormSpec],
    study: str,
    design: Design | None,
    planned: TrialDesign | None,
    reads: tuple[str, ...],
) -> DatasetSpec:
    doc = Entry(path)
    raw = yamlfile.load(path)
    yamlfile.keys(
        raw,
        doc,
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
            "reads",  # other datasets it reads (resolved by transforms.studies.sdtm_reads)
            "value_level",  # the keys of its value-level metadata (Define-XML)
        },
    )
    name = str(raw["dataset"])
    ig = standards.ig_dataset(name)
    if ig is None:
        raise (doc / "dataset").error(f"{name}: not an SDTMIG 3.4 dataset")
    if ("source" in raw) == ("records" in raw):
        raise doc.error(f"{name}: give either 'source' (one form) or 'records' (several)")

    variables: list[VariableSpec] = []
    defaults: dict[str, tuple[Any, Entry]] = {}
    for i, entry in enumerate(yamlfile.sequence(raw["variables"] or [], doc / "variables")):
        vw = doc / "variables" / i
        entry = _variable_entry(entry, name, study, vw)
        var = _variable(entry, name, vw)
        if any(v.name == var.name for v in variables):
            raise vw.error(f"variable {var.name} given twice")
        variables.append(var)
        if "rule" in entry:
            defaults[var.name] = (entry["rule"], vw / "rule")
    names = {v.name for v in variables}
    missing = [
        v.name
        for v in standards.ig_variables_of(name)
        if v.core in ("Req", "Exp") and v.name not in names
    ]
    if missing:
        raise (doc / "variables").error(
            f"{name}: Required/Expected variables missing from the spec: {missing}"
        )
    keys = tuple(str(k) for k in yamlfile.sequence(raw["keys"], doc / "keys"))
    if bad := [k for k in keys if k not in names]:
        raise (doc / "keys").error(f"{bad} are not variables of the dataset")
    sort = tuple(str(k) for k in yamlfile.sequence(raw.get("sort", list(keys)), doc / "sort"))
    if bad := [k for k in sort if k not in names]:
        raise (doc / "sort").error(f"{bad} are not variables of the dataset")
    value_level = tuple(
        str(k) for k in yamlfile.sequence(raw.get("value_level") or [], doc / "value_level")
    )
    if bad := [k for k in value_level if k not in names]:
        raise (doc / "value_level").error(f"{bad} are not variables of the dataset")
    if value_level and not (value_level[0] == f"{name[:2]}TESTCD" or value_level[0] == "TSPARMCD"):
        raise (doc / "value_level").error(
            f"the first key must be the dataset's test code ({name[:2]}TESTCD), "
            f"not {value_level[0]}"
        )

    supp: list[SuppSpec] = []
    supp_defaults: dict[str, tuple[Any, Entry]] = {}
    supplemental = yamlfile.sequence(raw.get("supplemental") or [], doc / "supplemental")
    for i, entry in enumerate(supplemental):
        sw = doc / "supplemental" / i
        entry = yamlfile.mapping(entry, sw)
        yamlfile.keys(entry, sw, {"qnam", "qlabel", "qorig"}, {"qeval", "rule"})
        qnam, qlabel = str(entry["qnam"]), str(entry["qlabel"])
        if not NAME.match(qnam) or len(qlabel) > 40 or not qlabel.isascii():
            raise sw.error("QNAM must be a valid name and QLABEL ASCII ≤ 40 bytes")
        supp.append(SuppSpec(qnam, qlabel, str(entry["qorig"]), entry.get("qeval")))
        supp_defaults[qnam] = (entry.get("rule"), sw / "rule")

    rows = tuple(
        {
            str(k).upper(): None if v is None else str(v)
            for k, v in yamlfile.mapping(r, doc / "rows" / i).items()
        }
        for i, r in enumerate(yamlfile.sequence(raw.get("rows") or [], doc / "rows"))
    )
    form_columns = {oid: frozenset(f.columns) for oid, f in forms.items()}
    form_columns[STUDY_FORM] = STUDY_COLUMNS
    form_columns[ROWS_FORM] = frozenset({"__ROW"}.union(*rows)) if rows else frozenset()
    form_columns.update(
        {table: frozenset({"__ROW", *columns}) for table, columns in trial.COLUMNS.items()}
    )
    with_dm = name != "DM"
    raw_blocks = raw.get("records") or [
        {"source": raw["source"],
         **{k: raw[k] for k in ("where", "distinct", "transpose") if k in raw}}
    ]  # fmt: skip
    expanded: list[tuple[Entry, Mapping[str, Any]]] = []  # (entry, block)
    for i, b in enumerate(raw_blocks):
        bw = doc / "records" / i if "records" in raw else doc
        b = yamlfile.mapping(b, bw)
        if "transpose" in b:
            expanded += _transposed(b, bw, names)
        else:
            expanded.append((bw, b))
    blocks = tuple(
        _block(b, bw, variables, defaults, supp_defaults, form_columns, with_dm, design)
        for bw, b in expanded
    )
    for (bw, _), block in zip(expanded, blocks, strict=True):
        require(planned, block.source, bw / "source")
    return DatasetSpec(
        name=name,
        label=ig.label,
        class_=ig.class_,
        structure=ig.structure,
        keys=keys,
        sort=sort,
        blocks=blocks,
        rows=rows,
        value_level=value_level,
        variables=tuple(variables),
        supplemental=tuple(supp),
        path=path,
        reads=reads,
    )


def _schedule(
    planned: TrialDesign, design: Design, dm: DatasetSpec, forms: Mapping[str, FormSpec]
) -> Schedule:
    """The design's element transition rules, read over the rows of the form DM is mapped
    from with DM's variables known (``{dm: X, by: USUBJID}`` works as in any dataset)."""
    form = dm.blocks[0].source
    columns = {oid: frozenset(f.columns) for oid, f in forms.items()}
    known = frozenset(v.name for v in dm.variables)
    scope = Scope("", form, columns[form], columns, known, None, True, design)
    return trial.schedule(planned, scope)


def _check_completed_reads(
    datasets: Mapping[str, DatasetSpec], schedule: trial.Schedule | None
) -> None:
    """No dataset reads a DM variable that is final only once the other datasets are mapped
    (a participation_end: RFPENDTC), unless its spec says it does (``reads: [DM]``: it is
    then mapped after DM's completion); it would read DM's value before its completion.
    SE reads, besides its own rules, the design's transition and end rules."""
    dm = datasets[REFERENCE_DATASET]
    completed = {
        v.name
        for v in dm.variables
        if any(isinstance(b.rules.get(v.name), ParticipationEnd) for b in dm.blocks)
    }
    before = [s for s in list(datasets.values())[1:] if REFERENCE_DATASET not in s.reads]
    for spec in before if completed else ():
        rules: dict[str, object] = {}
        for block in spec.blocks:
            rules |= {**block.rules, **block.supplemental}
            if block.source == trial.SUBJECT_ELEMENTS and schedule is not None:
                rules["(design end)"] = schedule.end
                rules |= {f"(design {t.etcd})": t.rule for t in schedule.transitions}
        for target, rule in rules.items():
            for node in nodes(rule):
                read = (
                    node.name
                    if isinstance(node, DmValue)
                    else node.variable
                    if isinstance(node, Aggregate)
                    else None
                )
                if read in completed:
                    raise SpecError(
                        f"{spec.path}: {spec.name}.{target}: reads DM.{read}, which is "
                        "completed only once the other datasets are mapped "
                        "(participation_end): give the spec reads: [DM]"
                    )


@cache
def load_study(study: str, root: Path | None = None) -> StudySpec:
    """Load, check and return the specs of one study."""
    if not STUDY_ID.fullmatch(study):
        raise SpecError(f"study id {study!r} must match {STUDY_ID.pattern}")
    folder = (root or specs_dir()) / study
    if not folder.is_dir():
        raise SpecError(f"{folder}: {unknown_study(study, root)}")
    where = Entry(folder / "study.yaml")
    meta = yamlfile.load(where.file)
    yamlfile.keys(
        meta,
        where,
        {"study", "title", "sponsor", "sdtm"},
        {
            "schedule",
            "deadline",
            "not_mapped",
            "retention",
            "settle_seconds",
            "adam",
            "dictionaries",
            "design",
            "endpoints",
            "not_submitted",
        },
    )
    read_deadline(meta.get("deadline"), where / "deadline")  # checked here too: cdisc run
    settle = meta.get("settle_seconds", 120)
    if not isinstance(settle, int | float) or settle < 0:
        raise (where / "settle_seconds").error("must be a number of seconds, at least 0")
    retention = meta.get("retention", 30)
    if not isinstance(retention, int) or retention < 1:
        raise (where / "retention").error("must be a whole number of runs, at least 1")
    if meta["study"] != study:
        raise (where / "study").error(f"{meta['study']!r} does not match its folder {study!r}")
    forms, odm_structure = _load_forms(folder / "forms.yaml")
    not_mapped = {
        str(k): str(v)
        for k, v in yamlfile.mapping(meta.get("not_mapped") or {}, where / "not_mapped").items()
    }
    if unknown := set(not_mapped) - set(forms):
        raise (where / "not_mapped").error(f"names unknown form(s) {sorted(unknown)}")
    ct_map = _load_ct_map(folder / "ct_map.yaml")
    # Dataset names become spec file names: nothing but a dataset name may reach the path.
    for key in ("sdtm", "adam"):
        bad = [n for n in meta.get(key) or () if not NAME.fullmatch(str(n))]
        if bad:
            raise (where / key).error(f"names {bad} must match {NAME.pattern}")
    design, planned = (
        load_design(meta["design"], where / "design") if "design" in meta else (None, None)
    )
    names = tuple(str(n) for n in yamlfile.sequence(meta["sdtm"], where / "sdtm"))
    reads = sdtm_reads(study, names, folder.parent)
    datasets: dict[str, DatasetSpec] = {}
    for name in names:
        path = sdtm_spec_path(folder.parent, study, name)
        spec = _load_dataset(path, forms, study, design, planned, reads[name])
        if spec.name != name:
            raise SpecError(f"{path}: holds dataset {spec.name}, study.yaml expects {name}")
        datasets[spec.name] = spec
    if next(iter(datasets), None) != REFERENCE_DATASET:
        raise (where / "sdtm").error("must list DM first (it sets the reference dates)")
    not_submitted = _load_not_submitted(meta.get("not_submitted"), where / "not_submitted", forms)
    transitions = None
    if planned is not None and design is not None and planned.arms:
        transitions = _schedule(planned, design, datasets[REFERENCE_DATASET], forms)
    _check_completed_reads(datasets, transitions)
    loaded = StudySpec(
        id=study,
        title=str(meta["title"]),
        sponsor=str(meta["sponsor"]),
        schedule=meta.get("schedule"),
        forms=forms,
        datasets=datasets,
        adam=tuple(str(d) for d in meta.get("adam") or ()),
        dictionaries={
            str(k): str(v)
            for k, v in yamlfile.mapping(
                meta.get("dictionaries") or {}, where / "dictionaries"
            ).items()
        },
        ct_map=ct_map,
        not_mapped=not_mapped,
        retention=retention,
        settle_seconds=float(settle),
        path=folder,
        design=design,
        trial=planned,
        transitions=transitions,
        endpoints=read_endpoint_spec(meta, where),
        not_submitted=not_submitted,
        odm_structure=odm_structure,
    )
    _check_not_submitted(loaded, where / "not_submitted")
    for spec in datasets.values():
        for var in spec.variables:
            if var.dictionary is not None and var.dictionary not in loaded.dictionaries:
                raise (where / "dictionaries").error(
                    f"{spec.path}: {spec.name}.{var.name}: dictionary {var.dictionary!r} has "
                    f"no version here (dictionaries: {sorted(loaded.dictionaries)})"
                )
    return loaded


def _load_not_submitted(
    raw: Any, where: Entry, forms: Mapping[str, FormSpec]
) -> dict[str, dict[str, str]]:
    """``not_submitted:`` of study.yaml: per form, the fields whose value reaches no SDTM
    variable, each with its reason; a form or field forms.yaml does not know is an error."""
    declared: dict[str, dict[str, str]] = {}
    for oid, fields in yamlfile.mapping(raw or {}, where).items():
        if oid not in forms:
            raise (where / str(oid)).error(f"unknown form (forms: {', '.join(forms)})")
        declared[str(oid)] = {}
        for name, reason in yamlfile.mapping(fields, where / str(oid)).items():
            entry = where / str(oid) / str(name)
            if str(name) not in forms[oid].columns:
                raise entry.error(f"not a column of form {oid} in forms.yaml")
            if not isinstance(reason, str) or not reason.strip():
                raise entry.error("give the reason the field is not submitted, as text")
            declared[str(oid)][str(name)] = reason.strip()
    return declared


def _check_not_submitted(study: StudySpec, where: Entry) -> None:
    """A field declared not submitted must not be mapped: its value reaching a variable (or
    being the key a value is looked up by) contradicts the declaration."""
    for use in sorted(study.field_uses, key=lambda u: (u.form, u.field, u.target)):
        if use.how != CONDITION and use.field in study.not_submitted.get(use.form, {}):
            raise (where / use.form / use.field).error(
                f"declared not submitted, but the specs map it to {use.target} "
                "(a field is mapped or not submitted, not both)"
            )

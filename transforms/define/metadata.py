"""Dataset metadata for Define-XML from the study specs (SDTM) or ADaM dataset specs.

SDTM: one :class:`~transforms.define.model.DatasetMeta` per dataset of the study spec, and
one per SUPP-- dataset of a spec with supplemental qualifiers. Methods (derived variables)
and comments (assigned or collected values that are not plain copies) are the spec's rules
in words. ADaM: :func:`adam_metadata` takes ADaM dataset specs (anything shaped like
``transforms.adam.spec.AdamSpec``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Protocol

from transforms import standards
from transforms.define.describe import describe_blocks, is_copy, literal_values
from transforms.define.model import (
    ORIGIN_TYPES,
    AnalysisMeta,
    DatasetMeta,
    ValueListMeta,
    VariableMeta,
)
from transforms.specs import DatasetSpec, StudySpec, VariableSpec

# MedDRA-coded variables of the SDTM events domains (and ADaM OCCDS copies of them): the
# part of the name after the two-letter prefix.
MEDDRA_SUFFIXES = frozenset(
    {"LLT", "LLTCD", "DECOD", "PTCD", "HLT", "HLTCD", "HLGT", "HLGTCD", "BODSYS", "BDSYCD"}
    | {"SOC", "SOCCD"}
)
MEDDRA_PREFIXES = frozenset({"AE", "MH", "CE"})
SUPP_KEYS = ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM")
# QORIG (SDTMIG: CRF, eDT, Derived, Assigned, Protocol...) -> def:Origin Type
SUPP_ORIGINS = {"CRF": "Collected", "EDT": "Collected"} | {o.upper(): o for o in ORIGIN_TYPES}
# Result variables described per test (Findings), per parameter (TS, ADaM BDS).
FINDINGS_RESULTS = ("ORRES", "STRESC", "STRESN")
BDS_RESULTS = ("AVAL", "AVALC", "CNSR", "EVNTDESC", "CNSDTDSC")


def meddra(name: str) -> bool:
    """Whether a variable holds MedDRA terms or codes (AEDECOD, AESOCCD, MHLLT...)."""
    return name[:2] in MEDDRA_PREFIXES and name[2:] in MEDDRA_SUFFIXES


def define_class(class_: str) -> str:
    """The def:Class name of an SDTMIG class ("Special-Purpose" -> "SPECIAL PURPOSE")."""
    return class_.upper().replace("-", " ")


def default_value_lists(names: Sequence[str]) -> tuple[ValueListMeta, ...]:
    """Value-level metadata a dataset's variables call for: results per --TESTCD (Findings),
    TSVAL per TSPARMCD, AVAL/AVALC... per PARAMCD (ADaM BDS)."""
    present = set(names)
    lists = []
    for name in names:
        if name.endswith("TESTCD") and len(name) == 8:
            prefix = name[:2]
            results = tuple(prefix + r for r in FINDINGS_RESULTS if prefix + r in present)
            decode = prefix + "TEST"
            if results:
                lists.append(ValueListMeta(name, results, decode if decode in present else None))
        elif name == "TSPARMCD" and "TSVAL" in present:
            lists.append(ValueListMeta(name, ("TSVAL",), "TSPARM" if "TSPARM" in present else None))
        elif name == "PARAMCD":
            results = tuple(r for r in BDS_RESULTS if r in present)
            if results:
                lists.append(ValueListMeta(name, results, "PARAM" if "PARAM" in present else None))
    return tuple(lists)


# --- SDTM --------------------------------------------------------------------------------


def _rule_text(spec: DatasetSpec, name: str) -> tuple[str, bool]:
    """The variable's rules in words, and whether every block only copies a value."""
    rules = [(b.source, b.where, b.rules[name]) for b in spec.blocks if name in b.rules]
    if not rules:
        return "", True
    copy = all(is_copy(rule) for _, _, rule in rules)
    text = describe_blocks(rules, spec.sort)
    return (f"equal to {text}" if copy and not text.startswith("Records from ") else text), copy


def _sdtm_variable(spec: DatasetSpec, var: VariableSpec) -> VariableMeta:
    text, copy = _rule_text(spec, var.name)
    method = comment = None
    if var.origin == "Derived":
        method = _sentence(text) if text else None
    elif text and not copy:
        comment = _sentence(text)
    terms = set().union(*(literal_values(b.rules[var.name]) for b in spec.blocks))
    return VariableMeta(
        name=var.name,
        label=var.label,
        type=var.type,
        data_type=var.data_type,
        terms=tuple(sorted(terms)) if var.codelist else (),
        origin=var.origin,
        mandatory=var.core == "Req",
        codelist=var.codelist,
        role=standards.ig_role(spec.name, var.name),
        format=var.format,
        method=method,
        comment=comment,
        dictionary=var.dictionary or ("MedDRA" if meddra(var.name) else None),
    )


def sdtm_dataset(spec: DatasetSpec) -> DatasetMeta:
    """The Define-XML metadata of one SDTM dataset spec."""
    variables = tuple(_sdtm_variable(spec, v) for v in spec.output_variables())
    names = [v.name for v in variables]
    return DatasetMeta(
        name=spec.name,
        label=spec.label,
        class_=define_class(spec.class_),
        structure=spec.structure,
        keys=spec.keys,
        variables=variables,
        purpose="Tabulation",
        standard="SDTMIG",
        domain=spec.name,
        reference=spec.class_.upper() in ("TRIAL DESIGN", "STUDY REFERENCE"),
        value_lists=_keyed(default_value_lists(names), spec.value_level),
    )


def _keyed(lists: tuple[ValueListMeta, ...], keys: tuple[str, ...]) -> tuple[ValueListMeta, ...]:
    """The value lists with the further keys a spec states (``value_level: [LBTESTCD,
    LBSPEC]``) on the one keyed by the first."""
    if not keys:
        return lists
    return tuple(replace(vl, also=keys[1:]) if vl.by == keys[0] else vl for vl in lists)


def supp_dataset(spec: DatasetSpec) -> DatasetMeta:
    """The Define-XML metadata of the SUPP-- dataset of a spec with supplemental qualifiers:
    the SUPPQUAL variables, and QVAL described per QNAM (label, origin, rule)."""
    from transforms.sdtm.build import SUPP_COLUMNS

    name = f"SUPP{spec.name}"
    ig_dataset = standards.ig_dataset(name)
    seq = next((v.name for v in spec.variables if v.name == f"{spec.name}SEQ"), None)
    origins = {
        "STUDYID": ("Protocol", None),
        "RDOMAIN": ("Assigned", f'"{spec.name}", the parent domain'),
        "USUBJID": ("Predecessor", None),
        "IDVAR": ("Assigned", f'"{seq}"' if seq else "Null: qualifiers of the subject record"),
        "IDVARVAL": ("Predecessor", None) if seq else ("Assigned", "Null, as IDVAR"),
        "QNAM": ("Assigned", None),
        "QLABEL": ("Assigned", None),
        "QVAL": ("Assigned", None),  # per QNAM in the value-level metadata
        "QORIG": ("Assigned", None),
        "QEVAL": ("Assigned", None),
    }
    predecessors = {"USUBJID": f"{spec.name}.USUBJID", "IDVARVAL": f"{spec.name}.{seq}"}
    variables = []
    for column, label in SUPP_COLUMNS:
        ig = standards.ig_variable(name, column)
        origin, comment = origins.get(column, ("Assigned", None))
        variables.append(
            VariableMeta(
                name=column,
                label=label,
                type="Char",
                data_type="text",
                origin=origin,
                mandatory=bool(ig and ig.core == "Req"),
                codelist="; ".join(ig.codelists) if ig and ig.codelists else None,
                role=standards.ig_role(name, column),
                comment=comment,
                predecessor=predecessors.get(column) if origin == "Predecessor" else None,
            )
        )
    labels = {q.qnam: q.qlabel for q in spec.supplemental}
    qorigins = {q.qnam: SUPP_ORIGINS.get(q.qorig.upper(), q.qorig) for q in spec.supplemental}
    return DatasetMeta(
        name=name,
        label=f"Supplemental Qualifiers for {spec.name}",
        class_=define_class(ig_dataset.class_ if ig_dataset else "Relationship"),
        structure=ig_dataset.structure
        if ig_dataset
        else "One record per IDVAR, IDVARVAL, and QNAM value per subject",
        keys=SUPP_KEYS,
        variables=tuple(variables),
        purpose="Tabulation",
        standard="SDTMIG",
        domain=spec.name,
        value_lists=(
            ValueListMeta(
                "QNAM", ("QVAL",), labels=labels, origins=qorigins, methods=_supp_rules(spec)
            ),
        ),
    )


def _supp_rules(spec: DatasetSpec) -> dict[str, str]:
    """QNAM -> the qualifier's rule in words."""
    out = {}
    for q in spec.supplemental:
        rules = [
            (b.source, b.where, b.supplemental[q.qnam])
            for b in spec.blocks
            if q.qnam in b.supplemental
        ]
        derived = SUPP_ORIGINS.get(q.qorig.upper(), q.qorig) == "Derived"
        if rules and (derived or not all(is_copy(rule) for _, _, rule in rules)):
            out[q.qnam] = _sentence(describe_blocks(rules, spec.sort))
    return out


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def sdtm_metadata(study: StudySpec) -> list[DatasetMeta]:
    """Every SDTM dataset of the study (and its SUPP--), in the study's mapping order."""
    out: list[DatasetMeta] = []
    for spec in study.datasets.values():
        out.append(sdtm_dataset(spec))
        if spec.supplemental:
            out.append(supp_dataset(spec))
    return out


# --- ADaM --------------------------------------------------------------------------------


class AdamVariableLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def origin(self) -> str: ...
    @property
    def format(self) -> str | None: ...
    @property
    def source(self) -> str | None: ...
    @property
    def method(self) -> str | None: ...
    @property
    def codelist(self) -> str | None: ...
    @property
    def data_type(self) -> str: ...


class AdamSpecLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def structure(self) -> str: ...
    @property
    def class_(self) -> str: ...
    @property
    def keys(self) -> tuple[str, ...]: ...
    @property
    def variables(self) -> Sequence[AdamVariableLike]: ...


ADAM_STRUCTURES = {
    "ADSL": "One record per subject",
    "BDS": "One record per subject per parameter per analysis timepoint",
    "TTE": "One record per subject per parameter",
    "OCCDS": "One record per subject per occurrence",
}
ADAM_REQUIRED = frozenset({"STUDYID", "USUBJID", "PARAM", "PARAMCD"})


def adam_dataset(spec: AdamSpecLike, structure: str | None = None) -> DatasetMeta:
    """The Define-XML metadata of one ADaM dataset spec. A numeric date (SAS day count with
    a DATE format) is DataType integer with its display format; TTE is the BASIC DATA
    STRUCTURE subclass TIME-TO-EVENT."""
    variables = []
    for var in spec.variables:
        data_type = var.data_type
        if var.type == "Num" and data_type not in ("integer", "float"):
            data_type = "integer"
        variables.append(
            VariableMeta(
                name=var.name,
                label=var.label,
                type=var.type,
                data_type=data_type,
                origin=var.origin,
                mandatory=var.name in ADAM_REQUIRED or var.name in spec.keys,
                codelist=var.codelist,
                format=var.format,
                method=var.method,
                predecessor=var.source if var.origin == "Predecessor" else None,
                comment=_adam_comment(var),
                dictionary="MedDRA" if meddra(var.name) else None,
            )
        )
    names = [v.name for v in variables]
    return DatasetMeta(
        name=spec.name,
        label=spec.label,
        class_=spec.class_,
        structure=structure or ADAM_STRUCTURES.get(spec.structure, spec.structure),
        keys=tuple(spec.keys),
        variables=tuple(variables),
        purpose="Analysis",
        standard="ADaMIG",
        subclass="TIME-TO-EVENT" if spec.structure == "TTE" else None,
        repeating=spec.structure != "ADSL",
        value_lists=default_value_lists(names),
        comment=getattr(spec, "comment", None),  # a spec may say nothing of the dataset
    )


def _adam_comment(var: AdamVariableLike) -> str | None:
    """The CommentDef of an ADaM variable: what its spec says a reviewer needs (``comment``),
    and the method of a variable neither derived nor copied (an assigned value's rule)."""
    parts = [
        var.method if var.origin not in ("Derived", "Predecessor") else None,
        getattr(var, "comment", None),  # a spec may give no comment field
    ]
    return " ".join(p for p in parts if p) or None


def adam_metadata(specs: Iterable[AdamSpecLike]) -> list[DatasetMeta]:
    """Define-XML metadata of ADaM dataset specs, in the order given."""
    return [adam_dataset(spec) for spec in specs]


# --- Analysis Results Metadata -----------------------------------------------------------


def endpoint_analyses(study: StudySpec) -> list[AnalysisMeta]:
    """The analysis results of the study's endpoint declaration that say their ``purpose``
    (the primary endpoint, ...): each time-to-event endpoint's Kaplan-Meier estimates at its
    landmarks, as ``transforms.adam.endpoints`` computes them."""
    from transforms import __version__
    from transforms.endpoint_spec import PURPOSES

    spec = study.endpoints
    if spec is None:
        return []
    population = spec.efficacy
    out = []
    for tte in spec.time_to_event:
        if tte.purpose is None:
            continue
        name = tte.label or tte.paramcd
        marks = ", ".join(f"{m.label} (day {m.day})" for m in tte.landmarks) or "its median"
        out.append(
            AnalysisMeta(
                key=tte.key,
                display=f"{name}: Kaplan-Meier estimates ({population.name})",
                description=f"Kaplan-Meier analysis of {name} ({tte.dataset} PARAMCD "
                f"{tte.paramcd}) in the {population.label} population",
                result=f"Kaplan-Meier estimate of {name} at {marks}, with its 95% CI",
                dataset=tte.dataset,
                paramcd=tte.paramcd,
                variables=("AVAL", "CNSR", population.flag),
                purpose=PURPOSES[tte.purpose],
                reason="SPECIFIED IN PROTOCOL",
                documentation=(
                    f"Subjects of the {population.label} population ({population.flag} = Y) "
                    f"with a {tte.paramcd} record of {tte.dataset}; AVAL is the time in days, "
                    "an event when CNSR = 0 (censored otherwise). Kaplan-Meier estimator with "
                    "Greenwood's variance; pointwise 95% confidence interval on log(-log S) "
                    f"at {marks}; the median with its 95% CI. Reported in "
                    "reports/endpoints.json and endpoints.html of the ADaM run."
                ),
                context=f"Python 3.11, cdisc-pipeline {__version__}",
                code=(
                    "transforms.adam.endpoints.write_endpoints (Kaplan-Meier: statsmodels "
                    f"SurvfuncRight), study.yaml endpoints: time_to_event: {tte.key}"
                ),
            )
        )
    return out

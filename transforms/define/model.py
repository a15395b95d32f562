"""The Define-XML model: what a caller says about its datasets, and the document built from it.

Two layers of plain frozen dataclasses:

- **metadata in** (:class:`DatasetMeta`, :class:`VariableMeta`, :class:`ValueListMeta`): what
  the specs know about a dataset: names, labels, types, origins, codelist C-codes, keys, how
  derived values are computed (in words). SDTM metadata comes from the study specs
  (:mod:`transforms.define.metadata`); ADaM builders can make the same objects.
- **the document** (:class:`Define` and its parts): the metadata joined with what the written
  files hold (the lengths actually written to the XPT, the tests and terms actually present),
  with every OID assigned. Both define.xml and define.html are rendered from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Layer = Literal["sdtm", "adam"]

ORIGIN_TYPES = ("Collected", "Derived", "Assigned", "Protocol", "Predecessor", "Not Available")
ISO8601_TYPES = frozenset(
    {
        "date",
        "datetime",
        "time",
        "partialDate",
        "partialTime",
        "partialDatetime",
        "incompleteDatetime",
        "incompleteDate",
        "incompleteTime",
        "durationDatetime",
        "intervalDatetime",
    }
)
"""Define-XML data types of ISO 8601 text: no Length attribute (Define-XML 2.1 rules)."""
NUMBER_TYPES = frozenset({"integer", "float"})


# --- metadata in -------------------------------------------------------------------------


@dataclass(frozen=True)
class VariableMeta:
    """One variable as the specs describe it."""

    name: str
    label: str
    type: str  # Char | Num (the XPT type)
    data_type: str  # Define-XML DataType; "text" for Char ISO 8601 --DTC is refined from data
    origin: str  # one of ORIGIN_TYPES
    mandatory: bool = False  # Required (never null)
    codelist: str | None = None  # NCI codelist C-code(s), "; "-separated when several
    role: str | None = None  # SDTM role (Identifier, Topic, ...); None for ADaM
    format: str | None = None  # SAS display format (def:DisplayFormat)
    method: str | None = None  # how a Derived value is computed, in words
    comment: str | None = None  # anything else a reviewer should know, in words
    predecessor: str | None = None  # Predecessor origin: DATASET.VARIABLE
    dictionary: str | None = None  # external dictionary the values come from ("MedDRA")
    source: str | None = None  # def:Origin Source; default by origin type
    terms: tuple[str, ...] = ()  # codelist values the spec itself gives (constants, recodes)


@dataclass(frozen=True)
class ValueListMeta:
    """Value-level metadata: ``variables`` described separately per value of ``by``.

    ``decode`` names the variable that labels each value (LBTEST for LBTESTCD); ``labels``
    and ``origins`` give a label / origin type per value instead (SUPP-- QLABEL, QORIG),
    ``methods`` how the value is derived (a method when derived, else a comment).
    ``also`` names further keys: an entry per combination of values present (LBTESTCD and
    LBSPEC for a test measured in serum and urine), its where-clause a range check per key.
    The first of ``variables`` gets an entry for every value present in the data, the others
    only where they hold data, so the where-clauses cover every value.
    """

    by: str
    variables: tuple[str, ...]
    decode: str | None = None
    also: tuple[str, ...] = ()  # further keys: one entry per combination present (LBSPEC)
    labels: Mapping[str, str] = field(default_factory=dict)
    origins: Mapping[str, str] = field(default_factory=dict)
    methods: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetMeta:
    """One dataset as the specs describe it; variables in output (XPT) order."""

    name: str
    label: str
    class_: str  # SDTMIG class ("Findings") or ADaM class ("BASIC DATA STRUCTURE")
    structure: str
    keys: tuple[str, ...]
    variables: tuple[VariableMeta, ...]
    purpose: Literal["Tabulation", "Analysis"] = "Tabulation"
    standard: Literal["SDTMIG", "ADaMIG"] = "SDTMIG"
    subclass: str | None = None  # ADaM: TIME-TO-EVENT
    domain: str | None = None  # SDTM domain (the parent's for SUPP--)
    repeating: bool | None = None  # None: more than one record per subject unless keyed so
    reference: bool = False  # IsReferenceData (trial design)
    comment: str | None = None
    value_lists: tuple[ValueListMeta, ...] = ()

    def variable(self, name: str) -> VariableMeta:
        for var in self.variables:
            if var.name == name:
                return var
        raise KeyError(f"{self.name} has no variable {name}")


@dataclass(frozen=True)
class AnalysisMeta:
    """One analysis result for the Analysis Results Metadata (ARM 1.0): an endpoint's
    result as the study declares it, on one parameter of one ADaM dataset."""

    key: str  # the endpoint's key (PFS): OIDs RD.<key>, AR.<key>
    display: str  # the result display's name ("Table 14.2.1 Progression-Free Survival")
    description: str  # what the display shows
    result: str  # the result, in words ("Kaplan-Meier estimate at 2 years, ...")
    dataset: str  # ADTTE
    paramcd: str  # PFS: the where-clause PARAMCD EQ PFS
    variables: tuple[str, ...]  # analysis variables (AVAL, CNSR)
    purpose: str  # ARM AnalysisPurpose: PRIMARY OUTCOME MEASURE, ...
    reason: str  # ARM AnalysisReason: SPECIFIED IN PROTOCOL, ...
    documentation: str  # the method in words (population, estimator, CI)
    context: str  # the programming language / system of the code
    code: str  # where the code is, or the code itself


# --- the document ------------------------------------------------------------------------


@dataclass(frozen=True)
class Standard:
    oid: str
    name: str  # SDTMIG | ADaMIG | CDISC/NCI
    type: Literal["IG", "CT"]
    version: str
    publishing_set: str | None = None  # CT: SDTM | ADaM | DEFINE-XML
    status: str = "Final"


@dataclass(frozen=True)
class ItemRef:
    item_oid: str
    order: int
    mandatory: bool
    key_sequence: int | None = None
    method_oid: str | None = None
    role: str | None = None
    has_no_data: bool = False
    where_oid: str | None = None  # value-level entries only


@dataclass(frozen=True)
class ItemGroup:
    oid: str
    name: str
    label: str
    domain: str | None
    class_: str  # def:Class Name (Define-XML CT)
    subclass: str | None
    structure: str
    purpose: str
    repeating: bool
    reference: bool
    standard_oid: str
    leaf_id: str
    href: str  # the XPT file, relative to define.xml
    records: int
    refs: tuple[ItemRef, ...]
    comment_oid: str | None = None


@dataclass(frozen=True)
class Item:
    oid: str
    name: str
    label: str
    data_type: str
    length: int | None  # Define Length (text: XPT storage width; numbers: digits)
    digits: int | None  # SignificantDigits (float)
    display_format: str | None
    origin: str
    source: str | None
    origin_text: str | None  # Predecessor: DATASET.VARIABLE
    codelist_oid: str | None
    value_list_oid: str | None
    comment_oid: str | None
    xpt_length: int | None  # the XPT storage width of a character variable
    dataset: str
    where_text: str | None = None  # value-level items: "LBTESTCD EQ NEUT"
    pages: tuple[int, ...] = ()  # Collected: the annotated CRF's pages showing the field


@dataclass(frozen=True)
class RangeCheck:
    item_oid: str
    variable: str  # the name of item_oid's variable, for display
    comparator: str
    values: tuple[str, ...]

    @property
    def text(self) -> str:
        return f"{self.variable} {self.comparator} {', '.join(self.values)}"


@dataclass(frozen=True)
class WhereClause:
    """A where-clause: its first range check, and ``also`` those that must hold with it."""

    oid: str
    item_oid: str
    variable: str  # the name of item_oid's variable, for display
    comparator: str
    values: tuple[str, ...]
    also: tuple[RangeCheck, ...] = ()

    @property
    def checks(self) -> tuple[RangeCheck, ...]:
        first = RangeCheck(self.item_oid, self.variable, self.comparator, self.values)
        return (first, *self.also)

    @property
    def text(self) -> str:
        return " and ".join(c.text for c in self.checks)


@dataclass(frozen=True)
class ValueList:
    oid: str
    dataset: str
    variable: str
    refs: tuple[ItemRef, ...]


@dataclass(frozen=True)
class Term:
    value: str
    code: str | None  # NCI C-code; None for a sponsor value
    decode: str | None
    extended: bool  # a sponsor value added to an extensible codelist


@dataclass(frozen=True)
class CodeList:
    oid: str
    name: str
    data_type: str  # text | integer | float
    code: str | None  # NCI codelist C-code (None for a sponsor or external list)
    terms: tuple[Term, ...]
    standard_oid: str | None
    extensible: bool | None = None
    dictionary: str | None = None  # ExternalCodeList: MedDRA ...
    version: str | None = None
    href: str | None = None
    description: str | None = None

    @property
    def decoded(self) -> bool:
        """CodeListItem (with Decode) rather than EnumeratedItem."""
        return bool(self.terms) and all(t.decode is not None for t in self.terms)


@dataclass(frozen=True)
class Method:
    oid: str
    name: str
    type: str  # Computation | Imputation
    text: str


@dataclass(frozen=True)
class Comment:
    oid: str
    text: str


@dataclass(frozen=True)
class AnnotatedCrf:
    """The annotated CRF beside define.xml: its file, title, and the pages of each
    collected variable (``DM.SEX``; a supplemental qualifier ``SUPPDM.RACEOTH``)."""

    href: str
    title: str
    pages: Mapping[str, tuple[int, ...]]
    leaf_id: str = "LF.ACRF"


@dataclass(frozen=True)
class Document:
    """A document beside define.xml that it names as a ``def:SupplementalDoc`` (a
    reviewer's guide): its file, title and the ID of its ``def:leaf``."""

    href: str
    title: str
    leaf_id: str


@dataclass(frozen=True)
class AnalysisResult:
    """An ARM result display with its one analysis result, OIDs resolved."""

    display_oid: str
    display: str
    description: str
    result_oid: str
    result: str
    parameter_oid: str  # the PARAMCD ItemDef
    reason: str
    purpose: str
    group_oid: str
    where_oid: str
    variable_oids: tuple[str, ...]
    documentation: str
    context: str
    code: str


@dataclass(frozen=True)
class Define:
    """One define.xml: a study's datasets of one layer, everything resolved."""

    layer: Layer
    file_oid: str
    study_oid: str
    study_name: str
    study_description: str
    protocol_name: str
    mdv_oid: str
    mdv_name: str
    created: datetime
    standards: tuple[Standard, ...]
    value_lists: tuple[ValueList, ...]
    where_clauses: tuple[WhereClause, ...]
    groups: tuple[ItemGroup, ...]
    items: tuple[Item, ...]
    codelists: tuple[CodeList, ...]
    methods: tuple[Method, ...]
    comments: tuple[Comment, ...]
    originator: str = "cdisc-pipeline"
    version: str = ""  # of the software that wrote it
    analysis_results: tuple[AnalysisResult, ...] = ()  # ARM 1.0 (ADaM only)
    annotated_crf: AnnotatedCrf | None = None
    supplemental: tuple[Document, ...] = ()  # def:SupplementalDoc, each with its def:leaf

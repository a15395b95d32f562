"""The quality vocabulary: checks, the derived columns they read, and suites.

A :class:`Check` is one Great Expectations expectation (class name and arguments) plus what
the data manager reads when it fails: rule, severity, field and message. A check may read
columns that the raw export does not have as such; each is a :class:`Derived` column that
:mod:`transforms.quality.prepare` adds to the validated frame, named ``<COLUMN>:<kind>``
(``AESTDAT:lo``, ``SEX:C66731``) or ``<FORM>.<COLUMN>:<kind>`` when joined from another
form on SUBJID (``IC.ICDAT:lo``). The names cannot clash with raw columns (no ``:`` there).

Severity: an ``error`` stops publishing; a ``warning`` is listed and published. In GX terms
these are the expectation severities ``critical`` and ``warning``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from transforms.conditions import Condition, gx_row_condition_json, subjects
from transforms.errors import SpecError

Severity = Literal["error", "warning"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning")
GX_SEVERITY: Mapping[str, str] = {"error": "critical", "warning": "warning"}

Kind = Literal["text", "num", "lo", "hi", "norm", "ct", "library"]

# What a check's outcome on a record reads, by expectation kind (a large table is validated
# a group of whole subjects at a time: :mod:`transforms.quality.gates`). ROW_WISE: the
# record alone; COLUMN_SET: the table's columns only, the same in every group of its rows;
# UNIQUE: the records with the same key, all of one subject when the key holds the subject.
# Any other kind reads other records: it runs on the whole table.
ROW_WISE: frozenset[str] = frozenset({
    "ExpectColumnValuesToBeInSet", "ExpectColumnValuesToNotBeInSet",
    "ExpectColumnValuesToNotBeNull", "ExpectColumnValuesToBeNull",
    "ExpectColumnValuesToMatchRegex", "ExpectColumnValuesToNotMatchRegex",
    "ExpectColumnValuesToBeBetween", "ExpectColumnValueLengthsToBeBetween",
    "ExpectColumnPairValuesToBeEqual", "ExpectColumnPairValuesAToBeGreaterThanB",
})  # fmt: skip
COLUMN_SET: frozenset[str] = frozenset({"ExpectTableColumnsToMatchSet"})
UNIQUE: frozenset[str] = frozenset(
    {"ExpectColumnValuesToBeUnique", "ExpectCompoundColumnsToBeUnique"}
)
# A record's outcome is whether its value is in a set (engine.narrowed cuts such a set).
IN_SET: frozenset[str] = frozenset(
    {"ExpectColumnValuesToBeInSet", "ExpectColumnValuesToNotBeInSet"}
)
_COLUMN_ARGUMENTS = ("column", "column_A", "column_B")


class SuiteError(SpecError):
    """A suite file (or a spec a suite is generated from) that cannot be used; the message
    names the file and the entry."""


@dataclass(frozen=True)
class Derived:
    """A column added to the validated frame of a raw form, computed once, vectorised.

    Kinds: ``text`` (trimmed, empty is null), ``num`` (a number, else null), ``lo``/``hi``
    (the earliest/latest day a possibly partial date may stand for, else null), ``norm``
    (trimmed, inner blanks collapsed, case-folded), ``ct`` (the ``norm`` value where it is a
    key of the study CT map for the codelist, else the trimmed text: what the mapping's
    ``ct`` algorithm looks up), ``library`` (the derivation of
    :mod:`transforms.quality.library` named by ``column``, read from all the forms, folded
    as ``norm``; named ``<NAME>:derived``). With ``form``, the value comes from that form, joined on
    SUBJID (several rows per subject: the earliest ``lo``, the latest ``hi``, the first
    ``text``).
    """

    name: str
    kind: Kind
    column: str
    form: str | None = None
    fmt: str = "DD MON YYYY"  # raw date format, for lo/hi
    keys: frozenset[str] = frozenset()  # ct: the normalised study CT-map keys

    @staticmethod
    def named(kind: Kind, column: str, form: str | None = None, **kw: Any) -> Derived:
        prefix = f"{form}." if form else ""
        suffix = kw.pop("suffix", kind)
        return Derived(f"{prefix}{column}:{suffix}", kind, column, form, **kw)


@dataclass(frozen=True)
class Check:
    """One expectation and its listing text."""

    rule: str
    severity: Severity
    field: str  # the raw column or SDTM variable named in the listing ("" for the table)
    message: str
    expectation: str  # GX expectation class, e.g. "ExpectColumnValuesToBeInSet"
    kwargs: Mapping[str, Any]  # its arguments; {"$PARAMETER": name} for run-time values
    source: str  # where the check is stated: forms.yaml, an SDTM spec, a suite file
    # the records checked: a condition over columns of the validated frame (a suite's text
    # comparisons read the normalised ``:norm`` columns), turned into a GX row condition
    where: Condition | None = None
    compare: str | None = None  # pair checks: the other column, shown in the message
    derived: tuple[Derived, ...] = ()
    # column-set checks: which of GX's mismatches ("missing", "unexpected") to report
    mismatches: tuple[str, ...] = ("missing", "unexpected")

    @property
    def across_records(self) -> bool:
        """Whether its outcome on a record may depend on other records (of other subjects):
        an expectation kind not known to read the record (or the columns) alone, or one
        that passes on a share of the records (``mostly``)."""
        return self.expectation not in ROW_WISE | COLUMN_SET or "mostly" in self.kwargs

    def within_subject(self, subject: str) -> bool:
        """Whether its outcome on a record depends on records of the same subject only (the
        value of column `subject`): one reading the record (or the columns) alone, or a key
        uniqueness whose key holds `subject` (a duplicate key lies within one subject). Such
        a check can be validated a group of whole subjects at a time."""
        if not self.across_records:
            return True
        return (
            self.expectation in UNIQUE and "mostly" not in self.kwargs and subject in self.arguments
        )

    @property
    def parameters(self) -> dict[str, str]:
        """The run-time values (``{"$PARAMETER": name}``) it takes: argument -> name."""
        return {k: v["$PARAMETER"] for k, v in self.kwargs.items()
                if isinstance(v, Mapping) and "$PARAMETER" in v}  # fmt: skip

    @property
    def arguments(self) -> frozenset[str]:
        """The columns named by its arguments (not its condition's)."""
        named = [self.kwargs[k] for k in _COLUMN_ARGUMENTS if k in self.kwargs]
        named += list(self.kwargs.get("column_list", ()))
        return frozenset(c for c in named if isinstance(c, str))

    @property
    def columns(self) -> frozenset[str]:
        """The columns of the validated frame it reads: its arguments' and its condition's
        (none for a column-set check, which reads the table's column names)."""
        if self.where is None:
            return self.arguments
        return self.arguments | {c for c in subjects(self.where) if isinstance(c, str)}


@dataclass(frozen=True)
class Suite:
    """The checks of one raw form (gate ``raw``) or SDTM dataset (gate ``sdtm``)."""

    study: str
    gate: Literal["raw", "sdtm"]
    target: str  # form OID or dataset name
    checks: tuple[Check, ...]
    notes: str = ""

    @property
    def name(self) -> str:
        return f"{self.study}.{self.gate}.{self.target}"

    @property
    def derived(self) -> tuple[Derived, ...]:
        """Every derived column the checks read, once, in first-use order."""
        seen: dict[str, Derived] = {}
        for check in self.checks:
            for d in check.derived:
                if seen.setdefault(d.name, d) != d:
                    raise SuiteError(f"{self.name}: derived column {d.name} defined twice")
        return tuple(seen.values())

    @property
    def parameters(self) -> frozenset[str]:
        """Names of the run-time values (``$PARAMETER``) the checks need."""
        return frozenset(name for c in self.checks for name in c.parameters.values())

    def to_json(self) -> dict[str, Any]:
        """The suite as GX ExpectationSuite JSON (``type`` in snake case, ``kwargs``,
        ``meta`` with rule, field, message and source, GX ``severity``)."""
        return {
            "name": self.name,
            "meta": {"notes": self.notes} if self.notes else {},
            "expectations": [
                {
                    "type": snake_case(c.expectation),
                    "kwargs": {**c.kwargs, **_row_condition_json(c.where)},
                    "meta": check_meta(c, i),
                    "severity": GX_SEVERITY[c.severity],
                }
                for i, c in enumerate(self.checks)
            ],
        }


def _row_condition_json(where: Condition | None) -> dict[str, Any]:
    """A row condition as GX serialises it (``{"row_condition": ...}``, or nothing)."""
    return {} if where is None else {"row_condition": gx_row_condition_json(where)}


def check_meta(check: Check, index: int) -> dict[str, Any]:
    """What the expectation carries besides its arguments: how to list a failure."""
    return {
        "check": index,
        "rule": check.rule,
        "field": check.field,
        "message": check.message,
        "source": check.source,
    }


def snake_case(name: str) -> str:
    """ExpectColumnValuesToBeInSet -> expect_column_values_to_be_in_set."""
    out = [name[0].lower()]
    for ch in name[1:]:
        out.append(f"_{ch.lower()}" if ch.isupper() else ch)
    return "".join(out)


@dataclass
class CheckList:
    """Checks being collected for one suite: a check stated in several places (two spec
    rules reading the same column the same way) is kept once, with its first source."""

    checks: list[Check] = field(default_factory=list)

    def add(self, check: Check) -> None:
        same = replace(check, source="")
        if all(replace(c, source="") != same for c in self.checks):
            self.checks.append(check)

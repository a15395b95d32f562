"""The suites of a study, generated from its specs at run time, plus the hand-written part.

Raw suites (one per eCRF form). From ``forms.yaml``: the columns (FORM-COLUMNS, and a
warning for unknown ones), required values (REQUIRED), unique keys (KEY), types (TYPE:
integer, decimal, result, time), readable dates (DATE, partial dates such as ``UN JAN 2025``
allowed), no date after the data cut-off (DATE-AFTER-CUTOFF, warning), subjects known to
the demographics form (SUBJECT-NOT-IN-DM) and their site (SITE). From the SDTM mapping specs:
the raw values the mapping can code (CT, RECODE, VISIT: a raw column read by a ``ct``,
``recode`` or ``visit`` rule must hold a value that rule accepts) and each date column's
format. The rule names and severities are those of the extract and mapping stages, so a
gate never contradicts them. What the specs cannot say is written by hand in
``expectations/<STUDY>/raw/<file>.yaml`` (see expectations/README.md).

SDTM suites (one per dataset and SUPP--), all generated from the dataset specs: columns,
Required variables not null, controlled terminology (error, or warning for an extensible
codelist, as the mapping decides), natural-key uniqueness, values at most the variable's
length (XPT v5: 200), ISO 8601 --DTC, subjects known to DM.

Generated at run time rather than committed: the specs are loaded by every run anyway, the
generation takes milliseconds, a generated file could only go stale, and each run's Data
Docs show the exact suites it ran (the manifest pins the specs by checksum).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from transforms import conditions, standards, yamlfile
from transforms.conditions import Condition
from transforms.quality.checks import (
    SEVERITIES,
    Check,
    CheckList,
    Derived,
    Severity,
    Suite,
    SuiteError,
)
from transforms.quality.library import LIBRARY
from transforms.sdtm.algorithms import (
    Case,
    Column,
    ControlledTerm,
    Iso8601,
    Merge,
    Recode,
    Rule,
    Seq,
    Var,
    Visit,
    normalise,
)
from transforms.specs import DatasetSpec, FormSpec, RecordBlock, StudySpec

SUBJECT = "SUBJID"
SITE = "SITEID"
DEFAULT_DATE_FORMAT = "DD MON YYYY"
TYPE_PATTERNS: Mapping[str, tuple[str, str]] = {
    "integer": (r"^[-+]?[0-9]+$", "not a whole number"),
    "decimal": (r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)$", "not a number"),
    "time": (r"^(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?$", "not a time HH:MM[:SS]"),
    # A lab-style result: a number (decimal point), a number behind a comparison (<0.05) or
    # a text result (IgG kappa); never a number with a decimal comma or thousands separator
    # (1,23 / 1,234): ambiguous, and read as text it would leave --STRESN empty in silence.
    "result": (
        r"^(?!\s*(?:[<>]=?|=)?\s*[-+]?[0-9]*,[0-9]+(?:,[0-9]+)*\s*$)",
        "a number written with a comma (decimal comma or thousands separator): write it "
        "with a decimal point and no separator",
    ),
}
# ISO 8601 as SDTM writes it: a complete date with optional time, or a partial date
# (year, year-month, or year and day with the month unknown: 2025---05).
_MONTH, _DAY = r"(?:0[1-9]|1[0-2])", r"(?:0[1-9]|[12][0-9]|3[01])"
_TIME = r"(?:T(?:[01][0-9]|2[0-3])(?::[0-5][0-9](?::[0-5][0-9](?:\.[0-9]+)?)?)?)?"
ISO8601 = rf"^[0-9]{{4}}(?:-{_MONTH}-{_DAY}{_TIME}|-{_MONTH}|---{_DAY})?$"
XPT_MAX_CHARS = 200
_RULE_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*$")
_CHECK_KINDS = (
    "in_set",
    "between",
    "matches",
    "not_null",
    "on_or_after",
    "on_or_before",
    "agrees_with",
)


def expectations_dir() -> Path:
    """The expectations folder: $CDISC_EXPECTATIONS_DIR, else the one beside this package."""
    env = os.environ.get("CDISC_EXPECTATIONS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "expectations"


# --- what the mapping specs say about raw columns ----------------------------------------


@dataclass
class MappingFacts:
    """Per raw (form, column): the date format its iso8601 rules read, and the checks that
    hold exactly the values its ct/recode/visit rules accept."""

    date_formats: dict[tuple[str, str], str] = field(default_factory=dict)
    coded: dict[str, CheckList] = field(default_factory=dict)  # form -> checks
    birth: str | None = None  # the demographics column DM.BRTHDTC is read from

    def date_format(self, form: str, column: str) -> str:
        return self.date_formats.get((form, column), DEFAULT_DATE_FORMAT)


def _column_of(rule: Any, block: RecordBlock | None) -> str | None:
    """The raw column a rule reads as it is (through {var: X} of the same record block)."""
    if isinstance(rule, Column):
        return rule.name
    if isinstance(rule, Var) and block is not None:
        return _column_of(block.rules[rule.name], block)
    return None


def _children(node: Any) -> Iterator[Any]:
    values = [getattr(node, f.name) for f in fields(node)]
    while values:
        value = values.pop(0)
        if isinstance(value, tuple | list):
            values[:0] = list(value)
        elif is_dataclass(value) and not isinstance(value, type):
            yield value


def _ct_check(node: ControlledTerm, form: str, column: str, study: StudySpec, where: str) -> Check:
    code = node.codelist.code
    keys = frozenset(study.ct_map.get(code, {}))
    terms = frozenset(getattr(node.codelist, "terms", {}))
    derived = Derived.named("ct", column, keys=keys, suffix=code)
    return Check(
        rule="CT",
        severity="error",
        field=column,
        message=f"not a term of codelist {code} nor in the study CT map",
        expectation="ExpectColumnValuesToBeInSet",
        kwargs={"column": derived.name, "value_set": sorted(keys | terms)},
        source=where,
        derived=(derived,),
    )


def _recode_check(node: Recode, column: str, where: str) -> Check:
    derived = Derived.named("norm", column)
    return Check(
        rule="RECODE",
        severity="error",
        field=column,
        message="value not in the spec's recode table",
        expectation="ExpectColumnValuesToBeInSet",
        kwargs={"column": derived.name, "value_set": sorted(node.mapping)},
        source=where,
        derived=(derived,),
    )


def _visit_check(node: Visit, column: str, where: str) -> Check:
    derived = Derived.named("norm", column)
    names = [p.replace("(?P<n>", "(?:") for p, _ in node.planned]
    names += [re.escape(u) for u in sorted(node.unscheduled)]
    return Check(
        rule="VISIT",
        severity="error",
        field=column,
        message="not a planned visit of the spec nor an unscheduled one",
        expectation="ExpectColumnValuesToMatchRegex",
        kwargs={"column": derived.name, "regex": f"^(?:{'|'.join(names)})$"},
        source=where,
        derived=(derived,),
    )


def _walk(
    node: Any,
    form: str,
    block: RecordBlock | None,
    conditional: bool,
    where: str,
    study: StudySpec,
    facts: MappingFacts,
) -> None:
    """Collect the facts of one rule tree evaluated over `form`'s rows. A rule inside a
    condition's branch runs on some rows only: its coded set is not checked on all rows."""

    def walk(
        child: Any, form: str = form, blk: RecordBlock | None = block, cond: bool = conditional
    ) -> None:
        _walk(child, form, blk, cond, where, study, facts)

    if isinstance(node, Merge):
        walk(node.value, node.form, None)
        if node.where is not None:
            walk(node.where, node.form, None)
        return
    if isinstance(node, Case):
        for when, then in node.cases:
            walk(when)
            walk(then, cond=True)
        if node.otherwise is not None:
            walk(node.otherwise, cond=True)
        return
    if isinstance(node, Var):
        return  # the variable's own rule is walked as such
    if isinstance(node, Iso8601) and (column := _column_of(node.date, block)):
        known = facts.date_formats.setdefault((form, column), node.fmt)
        if known != node.fmt:
            raise SuiteError(f"{where}: {form}.{column} is read as {known!r} and {node.fmt!r}")
    column = None
    if isinstance(node, ControlledTerm | Recode):
        column = _column_of(node.source, block)
    elif isinstance(node, Visit):
        column = _column_of(node.visit, block)
    if column and not conditional:
        checks = facts.coded.setdefault(form, CheckList())
        if isinstance(node, ControlledTerm):
            checks.add(_ct_check(node, form, column, study, where))
        elif isinstance(node, Recode) and node.default is None and not node.null_default:
            checks.add(_recode_check(node, column, where))
        elif isinstance(node, Visit):
            checks.add(_visit_check(node, column, where))
    for child in _children(node):
        walk(child)


def mapping_facts(study: StudySpec) -> MappingFacts:
    """Walk every rule of every dataset spec of the study."""
    facts = MappingFacts()
    for spec in study.datasets.values():
        for block in spec.blocks:
            if block.source not in study.forms:
                continue  # the study facts or the spec's own rows: not a raw form
            rules: list[tuple[str, Rule]] = [*block.rules.items(), *block.supplemental.items()]
            if block.where is not None:
                _walk(block.where, block.source, block, False, _where(spec), study, facts)
            for name, rule in rules:
                _walk(rule, block.source, block, False, f"{_where(spec)} {name}", study, facts)
    dm = study.datasets.get("DM")
    birth = dm.blocks[0].rules.get("BRTHDTC") if dm else None
    if dm and isinstance(birth, Iso8601):
        facts.birth = _column_of(birth.date, dm.blocks[0])
    return facts


def _where(spec: DatasetSpec) -> str:
    return f"sdtm/{spec.path.name}"


# --- raw suites: what forms.yaml says ------------------------------------------------------


def subject_form(study: StudySpec) -> str:
    """The demographics form: the form DM is mapped from."""
    return study.datasets["DM"].blocks[0].source


def _contract_checks(form: FormSpec, study: StudySpec, facts: MappingFacts) -> Iterator[Check]:
    src = "forms.yaml"
    yield Check(
        "FORM-COLUMNS", "error", "", "column(s) of the form contract missing",
        "ExpectTableColumnsToMatchSet",
        {"column_set": list(form.columns), "exact_match": False}, src, mismatches=("missing",),
    )  # fmt: skip
    for col in form.columns.values():
        if col.required:
            yield Check(
                "REQUIRED", "error", col.name, f"{col.label} is required",
                "ExpectColumnValuesToNotBeNull", {"column": col.name}, src,
            )  # fmt: skip
        if col.type in TYPE_PATTERNS:
            pattern, what = TYPE_PATTERNS[col.type]
            yield Check(
                "TYPE", "error", col.name, f"{col.label}: {what}",
                "ExpectColumnValuesToMatchRegex", {"column": col.name, "regex": pattern}, src,
            )  # fmt: skip
        if col.type == "date":
            fmt = facts.date_format(form.oid, col.name)
            lo = Derived.named("lo", col.name, fmt=fmt)
            yield Check(
                "DATE", "error", col.name,
                f"{col.label}: not a date in format {fmt!r} (UN/UNK for an unknown day or month)",
                "ExpectColumnValuesToNotBeNull", {"column": lo.name}, src,
                where=Condition("not_null", col.name), derived=(lo,),
            )  # fmt: skip
            yield Check(
                "DATE-AFTER-CUTOFF", "warning", col.name, f"{col.label} is after the data cut-off",
                "ExpectColumnValuesToBeBetween",
                {"column": lo.name, "max_value": {"$PARAMETER": "cutoff"}}, src, derived=(lo,),
            )  # fmt: skip
            yield from _birth_check(form, col.name, study, facts)
    keys = "/".join(form.keys)
    kind, kwargs = _unique(form.keys)
    yield Check("KEY", "error", keys, f"duplicate record key {keys}", kind, kwargs, src)
    dm = subject_form(study)
    if form.oid != dm and SUBJECT in form.columns:
        yield Check(
            "SUBJECT-NOT-IN-DM", "error", SUBJECT,
            f"subject is not in {study.forms[dm].label} ({dm})",
            "ExpectColumnValuesToBeInSet",
            {"column": SUBJECT, "value_set": {"$PARAMETER": "subjects"}}, src,
        )  # fmt: skip
        if SITE in form.columns and SITE in study.forms[dm].columns:
            site = Derived.named("text", SITE, form=dm, suffix="site")
            yield Check(
                "SITE", "error", SITE, "site differs from the subject's site in demographics",
                "ExpectColumnPairValuesToBeEqual",
                {"column_A": SITE, "column_B": site.name,
                 "ignore_row_if": "either_value_is_missing"},
                src, compare=site.name, derived=(site,),
            )  # fmt: skip


def _birth_check(
    form: FormSpec, column: str, study: StudySpec, facts: MappingFacts
) -> Iterator[Check]:
    """DATE-BEFORE-BIRTH: a date of the subject (a typing slip such as 1663 for 2023) is on
    or after the birth date DM.BRTHDTC is mapped from; partial dates pass when any day
    they stand for does. None for the birth date itself or a form without SUBJID."""
    dm = subject_form(study)
    if (
        facts.birth is None
        or SUBJECT not in form.columns
        or (form.oid, column) == (dm, facts.birth)
    ):
        return
    mine = Derived.named("hi", column, fmt=facts.date_format(form.oid, column))
    born = _date_bound({"form": dm, "column": facts.birth}, form, study, facts, "lo", "forms.yaml")
    yield Check(
        "DATE-BEFORE-BIRTH", "warning", column,
        f"{form.columns[column].label} is before the subject's birth date",
        "ExpectColumnPairValuesAToBeGreaterThanB",
        {"column_A": mine.name, "column_B": born.name, "or_equal": True,
         "ignore_row_if": "either_value_is_missing"},
        "forms.yaml", compare=born.name, derived=(mine, born),
    )  # fmt: skip


def _unique(keys: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """The expectation that records are unique on `keys` (null counts as a value)."""
    if len(keys) == 1:
        return "ExpectColumnValuesToBeUnique", {"column": keys[0]}
    return "ExpectCompoundColumnsToBeUnique", {"column_list": list(keys), "ignore_row_if": "never"}


def _extra_columns_check(form: FormSpec, derived: Sequence[Derived]) -> Check:
    """Unknown columns are kept and logged by extract: here a warning."""
    expected = ["__ROW", *form.columns, *(d.name for d in derived)]
    return Check(
        "FORM-EXTRA-COLUMNS", "warning", "",
        "column(s) not in the form contract (kept, not mapped)",
        "ExpectTableColumnsToMatchSet", {"column_set": expected}, "forms.yaml",
        mismatches=("unexpected",),
    )  # fmt: skip


# --- raw suites: the hand-written part -----------------------------------------------------


def _fail(where: str, problem: str) -> SuiteError:
    return SuiteError(f"{where}: {problem}")


def _where_clause(
    raw: Any, form: FormSpec, where: str, study: StudySpec | None = None
) -> tuple[Condition, list[Derived]]:
    """A check's ``where`` (:mod:`transforms.conditions`, subjects ``{column: X}`` of the
    form, or ``{form: F, column: X}`` of the subject's record in another form, joined on
    SUBJID; what a GX row condition can state), its text comparisons made on the columns'
    ``:norm`` values with normalised values, as the mapping compares raw text."""

    def column(subject: Mapping[str, Any], at: str) -> str | Derived:
        if "form" not in subject:
            name = conditions.named("column")(subject, at)
            if name not in form.columns:
                raise _fail(at, f"{name!r} is not a column of form {form.oid}")
            return name
        other = study.forms.get(str(subject["form"])) if study is not None else None
        name = subject.get("column")
        if set(subject) != {"form", "column"} or not isinstance(name, str):
            raise _fail(at, f"a column of another form reads {{form: F, column: X}}: {subject}")
        if other is None:
            raise _fail(at, f"unknown form {subject['form']!r}")
        if name not in other.columns:
            raise _fail(at, f"{name!r} is not a column of form {other.oid}")
        if SUBJECT not in other.columns or SUBJECT not in form.columns:
            raise _fail(at, f"forms {form.oid} and {other.oid} need {SUBJECT} to be joined")
        return Derived.named("text", name, form=other.oid)

    try:
        condition = conditions.parse(raw, f"{where}: where", column, conditions.GX_OPS)
    except conditions.ConditionError as exc:
        raise SuiteError(str(exc)) from exc
    derived: list[Derived] = []

    def normalised(test: Condition) -> Condition:
        joined = test.subject if isinstance(test.subject, Derived) else None
        if test.op not in conditions.VALUE_OPS:
            if joined is None:
                return test
            derived.append(joined)
            return replace(test, subject=joined.name)
        if joined is None:
            d = Derived.named("norm", test.subject)
        else:
            d = Derived.named("norm", joined.column, form=joined.form)
        derived.append(d)
        values = normalise(pd.Series([str(v) for v in test.values], dtype="string"))
        return replace(test, subject=d.name, values=tuple(values))

    return conditions.rewrite(condition, normalised), derived


def _date_bound(
    ref: Any, form: FormSpec, study: StudySpec, facts: MappingFacts, kind: str, where: str
) -> Derived:
    if not isinstance(ref, Mapping) or not {"column"} <= set(ref) <= {"column", "form"}:
        raise _fail(where, f"a date to compare with is {{column, form (optional)}}: {ref!r}")
    other = study.forms.get(str(ref.get("form", form.oid)))
    if other is None:
        raise _fail(where, f"unknown form {ref.get('form')!r}")
    column = str(ref["column"])
    if column not in other.columns or other.columns[column].type != "date":
        raise _fail(where, f"{other.oid}.{column} is not a date column")
    fmt = facts.date_format(other.oid, column)
    joined = other.oid if other.oid != form.oid else None
    if joined and SUBJECT not in other.columns:
        raise _fail(where, f"form {other.oid} has no {SUBJECT} to join on")
    return Derived.named(kind, column, form=joined, fmt=fmt)  # type: ignore[arg-type]


def _written_check(
    raw: Mapping[str, Any],
    column: str,
    form: FormSpec,
    study: StudySpec,
    facts: MappingFacts,
    where: str,
    label: str,
) -> Check:
    kinds = [k for k in _CHECK_KINDS if k in raw]
    if len(kinds) != 1:
        raise _fail(where, f"give exactly one of {list(_CHECK_KINDS)}")
    kind, arg = kinds[0], raw[kinds[0]]
    if column not in form.columns:
        raise _fail(where, f"{column!r} is not a column of form {form.oid}")
    severity = raw.get("severity", "error")
    if severity not in SEVERITIES:
        raise _fail(where, f"severity must be one of {list(SEVERITIES)}")
    clause, derived = (
        _where_clause(raw["where"], form, where, study) if "where" in raw else (None, [])
    )
    compare = None
    if kind == "in_set":
        if not isinstance(arg, list) or not arg:
            raise _fail(where, "in_set takes a list of values")
        d = Derived.named("norm", column)
        values = normalise(pd.Series([str(v) for v in arg], dtype="string"))
        expectation = "ExpectColumnValuesToBeInSet"
        kwargs: dict[str, Any] = {"column": d.name, "value_set": sorted(set(values))}
        derived.append(d)
    elif kind == "between":
        if not isinstance(arg, list) or len(arg) != 2 or arg == [None, None]:
            raise _fail(where, "between takes [min, max] (null for an open end)")
        if any(v is not None and not isinstance(v, int | float) for v in arg):
            raise _fail(where, "between takes numbers")
        d = Derived.named("num", column)
        expectation = "ExpectColumnValuesToBeBetween"
        kwargs = {"column": d.name}
        bounds = zip(("min_value", "max_value"), arg, strict=True)
        kwargs |= {k: float(v) for k, v in bounds if v is not None}
        derived.append(d)
    elif kind == "matches":
        try:
            re.compile(str(arg))
        except re.error as exc:
            raise _fail(where, f"matches: not a regular expression: {exc}") from exc
        expectation = "ExpectColumnValuesToMatchRegex"
        kwargs = {"column": column, "regex": f"^(?:{arg})$"}
    elif kind == "agrees_with":  # the value is what a library derivation gives, if any
        if arg not in LIBRARY:
            raise _fail(where, f"agrees_with: one of {sorted(LIBRARY)}, not {arg!r}")
        given = Derived.named("norm", column)
        library = Derived(f"{str(arg).upper()}:derived", "library", str(arg))
        expectation = "ExpectColumnPairValuesToBeEqual"
        kwargs = {"column_A": given.name, "column_B": library.name,
                  "ignore_row_if": "either_value_is_missing"}  # fmt: skip
        compare = library.name
        derived += [given, library]
    elif kind == "not_null":
        if arg is not True:
            raise _fail(where, "not_null takes true")
        expectation, kwargs = "ExpectColumnValuesToNotBeNull", {"column": column}
    else:  # on_or_after / on_or_before: partial dates pass when any day they stand for does
        if form.columns[column].type != "date":
            raise _fail(where, f"{kind}: {column} is not a date column")
        mine = {"column": column}
        if kind == "on_or_after":
            a = _date_bound(mine, form, study, facts, "hi", where)
            b = _date_bound(arg, form, study, facts, "lo", where)
            compare = b.name
        else:
            a = _date_bound(arg, form, study, facts, "hi", where)
            b = _date_bound(mine, form, study, facts, "lo", where)
            compare = a.name
        expectation = "ExpectColumnPairValuesAToBeGreaterThanB"
        kwargs = {"column_A": a.name, "column_B": b.name, "or_equal": True,
                  "ignore_row_if": "either_value_is_missing"}  # fmt: skip
        derived += [a, b]
    return Check(
        rule=str(raw["rule"]),
        severity=severity,
        field=column,
        message=str(raw["message"]),
        expectation=expectation,
        kwargs=kwargs,
        source=label,
        where=clause,
        compare=compare,
        derived=tuple(derived),
    )


def written_checks(
    study: StudySpec, facts: MappingFacts, root: Path | None = None
) -> tuple[dict[str, list[Check]], dict[str, str]]:
    """The hand-written checks per form (and each file's notes) of
    ``<root>/<STUDY>/raw/<file>.yaml``; a file per form is optional."""
    root = root or expectations_dir()
    folder = root / study.id / "raw"
    by_file = {f.file: f for f in study.forms.values()}
    checks: dict[str, list[Check]] = {}
    notes: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        form = by_file.get(path.stem)
        if form is None:
            raise _fail(str(path), f"no form with file stem {path.stem!r} in forms.yaml")
        raw = yamlfile.load(path)
        if not {"form", "checks"} <= set(raw) <= {"form", "checks", "notes"}:
            raise _fail(str(path), "a suite file holds form, checks and optional notes")
        if raw["form"] != form.oid:
            raise _fail(str(path), f"form {raw['form']!r} but the file stem is that of {form.oid}")
        notes[form.oid] = str(raw.get("notes") or "")
        checks[form.oid] = []
        checks_at = yamlfile.Entry(path) / "checks"
        for i, entry in enumerate(yamlfile.sequence(raw["checks"] or [], checks_at)):
            where = str(checks_at / i)
            if not isinstance(entry, Mapping):
                raise _fail(where, "a check is a mapping")
            unknown = set(entry) - {"rule", "severity", "column", "columns", "where", "message",
                                    *_CHECK_KINDS}  # fmt: skip
            if unknown:
                raise _fail(where, f"unknown key(s) {sorted(unknown)}")
            if not _RULE_NAME.match(str(entry.get("rule", ""))) or "message" not in entry:
                raise _fail(where, "give a rule (e.g. AE-BEFORE-CONSENT) and a message")
            where = f"{where} ({entry['rule']})"
            if ("column" in entry) == ("columns" in entry):
                raise _fail(where, "give column or columns")
            columns = [entry["column"]] if "column" in entry else list(entry["columns"])
            for column in columns:
                label = f"{root.name}/{study.id}/raw/{path.name}"
                checks[form.oid].append(
                    _written_check(entry, str(column), form, study, facts, where, label)
                )
    return checks, notes


def raw_suites(study: StudySpec, root: Path | None = None) -> dict[str, Suite]:
    """One suite per raw form: generated from the specs, then the hand-written checks."""
    facts = mapping_facts(study)
    written, notes = written_checks(study, facts, root)
    suites = {}
    for oid, form in study.forms.items():
        checks = CheckList()
        for check in [
            *_contract_checks(form, study, facts),
            *(facts.coded.get(oid, CheckList()).checks),
            *written.get(oid, []),
        ]:
            checks.add(check)
        draft = Suite(study.id, "raw", oid, tuple(checks.checks))
        extra = _extra_columns_check(form, draft.derived)
        suites[oid] = Suite(study.id, "raw", oid, (*draft.checks, extra), notes.get(oid, ""))
    return suites


# --- SDTM suites ---------------------------------------------------------------------------


def _codelist(code: str) -> Any | None:
    try:
        return standards.controlled_terms().codelist(code)
    except KeyError:
        return None


def _variable_checks(
    name: str, core: str, type_: str, codelist: str | None, length: int | None, src: str
) -> Iterator[Check]:
    if core == "Req":
        yield Check(
            "REQUIRED", "error", name, "Required variable is null",
            "ExpectColumnValuesToNotBeNull", {"column": name}, src,
        )  # fmt: skip
    if type_ != "Char":
        return
    cl = _codelist(codelist) if codelist else None
    if cl is not None:
        severity: Severity = "warning" if cl.extensible else "error"
        sponsor = " (extensible: sponsor value)" if cl.extensible else ""
        yield Check(
            "CT", severity, name, f"not a term of codelist {cl.code}{sponsor}",
            "ExpectColumnValuesToBeInSet", {"column": name, "value_set": sorted(cl.terms)}, src,
        )  # fmt: skip
    limit = length or XPT_MAX_CHARS
    yield Check(
        "LENGTH", "error", name, f"longer than {limit} characters",
        "ExpectColumnValueLengthsToBeBetween", {"column": name, "max_value": limit}, src,
    )  # fmt: skip
    if name.endswith("DTC"):
        yield Check(
            "ISO8601", "error", name, "not an ISO 8601 date/time",
            "ExpectColumnValuesToMatchRegex", {"column": name, "regex": ISO8601}, src,
        )  # fmt: skip


def _table_checks(
    dataset: str, columns: Sequence[str], keys: Sequence[str], key_severity: Severity, src: str
) -> Iterator[Check]:
    yield Check(
        "SDTM-COLUMNS", "error", "", "variables differ from the spec",
        "ExpectTableColumnsToMatchSet", {"column_set": list(columns)}, src,
    )  # fmt: skip
    label = "/".join(keys)
    kind, kwargs = _unique(keys)
    yield Check(
        "KEY", key_severity, label, "more than one record with the same natural key", kind,
        kwargs, src,
    )  # fmt: skip
    if dataset != "DM" and "USUBJID" in columns:
        yield Check(
            "SUBJECT-NOT-IN-DM", "error", "USUBJID", "subject is not in DM",
            "ExpectColumnValuesToBeInSet",
            {"column": "USUBJID", "value_set": {"$PARAMETER": "usubjids"}}, src,
        )  # fmt: skip


def _dataset_suite(study: StudySpec, spec: DatasetSpec) -> Suite:
    src = _where(spec)
    seq = any(isinstance(spec.blocks[0].rules[v.name], Seq) for v in spec.variables)
    checks = list(
        _table_checks(spec.name, [v.name for v in spec.output_variables()], spec.keys,
                      "warning" if seq else "error", src)
    )  # fmt: skip
    for v in spec.output_variables():
        checks += _variable_checks(v.name, v.core, v.type, v.codelist, v.length, src)
    return Suite(study.id, "sdtm", spec.name, tuple(checks))


def _supp_suite(study: StudySpec, spec: DatasetSpec) -> Suite:
    from transforms.sdtm.build import SUPP_COLUMNS

    name, src = f"SUPP{spec.name}", f"{_where(spec)} supplemental"
    variables = {v.name: v for v in standards.ig_variables_of(name)}
    columns = [c for c, _ in SUPP_COLUMNS]
    checks = list(
        _table_checks(name, columns, ["USUBJID", "IDVAR", "IDVARVAL", "QNAM"], "error", src)
    )
    checks.append(
        Check("SUPP-RDOMAIN", "error", "RDOMAIN", f"RDOMAIN is not {spec.name}",
              "ExpectColumnValuesToBeInSet", {"column": "RDOMAIN", "value_set": [spec.name]}, src)
    )  # fmt: skip
    checks.append(
        Check("SUPP-QNAM", "error", "QNAM", "QNAM not among the spec's qualifiers",
              "ExpectColumnValuesToBeInSet",
              {"column": "QNAM", "value_set": sorted(q.qnam for q in spec.supplemental)}, src)
    )  # fmt: skip
    for column in columns:
        ig = variables.get(column)
        codelist = "; ".join(ig.codelists) if ig and ig.codelists and column != "RDOMAIN" else None
        checks += _variable_checks(column, ig.core if ig else "Perm", "Char", codelist, None, src)
    return Suite(study.id, "sdtm", name, tuple(checks))


def sdtm_suites(study: StudySpec) -> dict[str, Suite]:
    """One suite per SDTM dataset of the study, and per SUPP-- its specs produce."""
    suites: dict[str, Suite] = {}
    for spec in study.datasets.values():
        suites[spec.name] = _dataset_suite(study, spec)
        if spec.supplemental:
            suites[f"SUPP{spec.name}"] = _supp_suite(study, spec)
    return suites


def suites_for(study: StudySpec, gate: str, root: Path | None = None) -> Mapping[str, Suite]:
    """The suites of a gate, ``raw`` or ``sdtm`` (generated anew: it takes milliseconds)."""
    if gate not in ("raw", "sdtm"):
        raise ValueError(f"unknown gate {gate!r}: raw or sdtm")
    return raw_suites(study, root) if gate == "raw" else sdtm_suites(study)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m transforms.quality.suites STUDY raw|sdtm [NAME]``: print the suites as
    GX ExpectationSuite JSON, to read what a gate will run without running it."""
    import argparse
    import json
    import sys

    from transforms.specs import load_study

    parser = argparse.ArgumentParser(prog="python -m transforms.quality.suites")
    parser.add_argument("study")
    parser.add_argument("gate", choices=("raw", "sdtm"))
    parser.add_argument("name", nargs="?", help="one form or dataset (default: all)")
    args = parser.parse_args(argv)
    suites = suites_for(load_study(args.study), args.gate)
    if args.name and args.name not in suites:
        print(f"no {args.gate} suite {args.name!r}; known: {', '.join(suites)}", file=sys.stderr)
        return 2
    chosen = [suites[args.name]] if args.name else list(suites.values())
    print(json.dumps([s.to_json() for s in chosen], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

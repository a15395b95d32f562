"""Build one SDTM dataset (and its SUPP--) from a spec and the raw forms."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import cast

import pandas as pd

from transforms import standards
from transforms.issues import IssueLog
from transforms.sdtm import trial
from transforms.sdtm.algorithms import Context, Seq, holds
from transforms.specs import ROWS_FORM, DatasetSpec, RecordBlock, StudySpec, VariableSpec
from transforms.studies import REFERENCE_DATASET

SUPP_COLUMNS = (
    ("STUDYID", "Study Identifier"),
    ("RDOMAIN", "Related Domain Abbreviation"),
    ("USUBJID", "Unique Subject Identifier"),
    ("IDVAR", "Identifying Variable"),
    ("IDVARVAL", "Identifying Variable Value"),
    ("QNAM", "Qualifier Variable Name"),
    ("QLABEL", "Qualifier Variable Label"),
    ("QVAL", "Data Value"),
    ("QORIG", "Origin"),
    ("QEVAL", "Evaluator"),
)


@dataclass(frozen=True)
class Built:
    data: pd.DataFrame
    supp: pd.DataFrame | None
    sources: pd.DataFrame  # per output record (same order): FORM and ROW it came from
    source_rows: int


def _typed(values: pd.Series, var: VariableSpec) -> pd.Series:
    if var.type == "Num":
        return pd.to_numeric(values, errors="coerce").astype("float64")
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def _check_terms(ctx: Context, var: VariableSpec, values: pd.Series) -> None:
    """Values outside the codelist: an error for a closed list, a warning if extensible."""
    if var.codelist is None or var.type != "Char":
        return
    codelist = standards.controlled_terms().codelist(var.codelist)
    present = values.dropna().unique()
    outside = {v for v in present if codelist.lookup(str(v)) is None}
    # Listed even when nothing is outside: every group of subjects makes the same checks.
    ctx.report(
        values.isin(outside),
        values,
        "CT",
        f"not a term of codelist {var.codelist}"
        + (" (extensible: sponsor value)" if codelist.extensible else ""),
        severity="warning" if codelist.extensible else "error",
    )


def _evaluate_block(
    spec: DatasetSpec, block: RecordBlock, ctx: Context
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All variables and qualifiers of the records one source form gives."""
    if block.where is not None:
        ctx.frame = ctx.frame[holds(block.where, ctx)]
    if block.distinct:
        # Rows repeating the same values stand for one record; the others stay accounted
        # for through the datasets that map every row of the form (reconciliation checks).
        keys = ctx.frame[list(block.distinct)].apply(lambda c: c.astype("string").str.strip())
        ctx.frame = ctx.frame[~keys.duplicated()]
    derived = ctx.vars = dict(ctx.vars)
    for var in spec.variables:
        ctx.column = var.name
        values = _typed(block.rules[var.name].evaluate(ctx), var)
        _check_terms(ctx, var, values)
        if var.core == "Req" and not isinstance(block.rules[var.name], Seq):
            ctx.report(
                values.isna(), values.astype("string"), "REQUIRED", "Required variable is null"
            )
        derived[var.name] = values
    data = pd.DataFrame({v.name: derived[v.name] for v in spec.output_variables()})
    quals = {}
    for qnam, rule in block.supplemental.items():
        ctx.column = qnam
        value = rule.evaluate(ctx).astype("string").str.strip()
        quals[qnam] = value.mask(value == "")
    data["__FORM"] = ctx.form_files.get(block.source, block.source)
    data["__ROW"] = ctx.frame["__ROW"].astype("int64")
    return data, pd.DataFrame(quals, index=data.index)


def _column_frames(
    datasets: Mapping[str, pd.DataFrame], name: str, columns: list[str]
) -> Iterable[pd.DataFrame]:
    """Some columns of a dataset built before, a frame of rows at a time where the mapping
    can (a run's lazy table reader), else the frame's columns at once."""
    frames = getattr(datasets, "column_frames", None)
    return frames(name, columns) if frames is not None else [datasets[name][columns]]


def _trial_tables(
    spec: DatasetSpec,
    study: StudySpec,
    forms: Mapping[str, pd.DataFrame],
    issues: IssueLog,
    form_files: Mapping[str, str],
    datasets: Mapping[str, pd.DataFrame],
    lineage: Mapping[str, pd.DataFrame],
) -> dict[str, pd.DataFrame]:
    """The trial design tables the spec's blocks read (transforms.sdtm.trial)."""
    used = {b.source for b in spec.blocks} & set(trial.COLUMNS)
    design = study.trial
    tables: dict[str, pd.DataFrame] = {}
    for name in used & set(trial.PLANNED):
        assert design is not None  # the loader refuses the source without a design
        tables[name] = trial.planned_table(design, name)
    if trial.SUBJECT_ELEMENTS in used:
        plan = study.transitions
        assert plan is not None and design is not None
        dm = datasets[REFERENCE_DATASET]
        rows = lineage[REFERENCE_DATASET]["ROW"].to_numpy()
        frame = forms[plan.form].set_index("__ROW", drop=False).loc[rows].reset_index(drop=True)
        dm = dm.reset_index(drop=True)
        ctx = Context(
            frame=frame, form=plan.form, dataset=spec.name, column="SESTDTC", forms=forms,
            vars={c: dm[c] for c in dm.columns}, ct_map=study.ct_map, issues=issues,
            form_files=form_files, datasets={REFERENCE_DATASET: dm},
        )  # fmt: skip
        arms = [a.armcd for a in design.arms]
        tables[trial.SUBJECT_ELEMENTS] = trial.subject_elements(plan, dm, ctx, arms)
    if trial.SUBJECT_VISITS in used:
        assert design is not None
        read = {name: [v.name for v in study.datasets[name].variables] for name in spec.reads}
        tables[trial.SUBJECT_VISITS] = trial.subject_visits(
            design, read, lambda name, columns: _column_frames(datasets, name, columns)
        )
    return tables


def build_dataset(
    spec: DatasetSpec,
    study: StudySpec,
    forms: Mapping[str, pd.DataFrame],
    issues: IssueLog,
    form_files: Mapping[str, str] | None = None,
    datasets: Mapping[str, pd.DataFrame] | None = None,
    lineage: Mapping[str, pd.DataFrame] | None = None,
    start: int = 0,
) -> Built:
    """Evaluate every variable over each source form's rows and stack the records.

    `form_files` names the file each form came from (for listings); `datasets` holds the
    SDTM datasets built before this one (DM, and those the spec reads), for ``{dm: VAR}``
    rules and the subjects' visits; `lineage` DM's (form and row of each record), for the
    subjects' elements. `start`: the records of the dataset mapped before these (earlier
    groups of subjects, :mod:`transforms.sdtm.chunks`), the first record's number (index).
    """
    if spec.rows:
        table = pd.DataFrame(list(spec.rows), dtype="string")
        rows = {ROWS_FORM: table.assign(__ROW=range(1, len(table) + 1))}
        forms = ChainMap(rows, cast(MutableMapping[str, pd.DataFrame], forms))  # read-only use
    if {b.source for b in spec.blocks} & set(trial.COLUMNS):
        tables = _trial_tables(
            spec, study, forms, issues, form_files or study.form_files, datasets or {},
            lineage or {},
        )  # fmt: skip
        forms = ChainMap(tables, cast(MutableMapping[str, pd.DataFrame], forms))
    parts, quals = [], []
    for block in spec.blocks:
        ctx = Context(
            frame=forms[block.source],
            form=block.source,
            dataset=spec.name,
            column="",
            forms=forms,
            vars={},
            ct_map=study.ct_map,
            issues=issues,
            form_files=form_files or study.form_files,
            datasets=datasets or {},
        )
        data, qual = _evaluate_block(spec, block, ctx)
        parts.append(data)
        quals.append(qual)
    stacked = pd.concat(parts, ignore_index=True)
    qualifiers = pd.concat(quals, ignore_index=True)

    # Deterministic order: natural keys, then the source form and row as tie-breakers.
    order = stacked.sort_values([*spec.sort, "__FORM", "__ROW"], kind="stable").index
    numbers = pd.RangeIndex(start, start + len(order))
    stacked, qualifiers = stacked.loc[order].set_axis(numbers), qualifiers.loc[order]
    qualifiers = qualifiers.set_axis(numbers)
    seq: str | None = None
    for var in spec.variables:
        rule = spec.blocks[0].rules[var.name]
        if isinstance(rule, Seq):
            seq = var.name
            stacked[seq] = rule.number(stacked)

    sources = stacked[["__FORM", "__ROW"]].rename(columns={"__FORM": "FORM", "__ROW": "ROW"})
    data = stacked.drop(columns=["__FORM", "__ROW"])
    dup = data.duplicated(list(spec.keys), keep=False)
    issues.add(
        stacked,
        dup,
        severity="error" if seq is None else "warning",
        dataset=spec.name,
        form=stacked["__FORM"],  # each record's own raw file
        column="/".join(spec.keys),
        values=data[spec.keys[-1]].astype("string"),
        rule="KEY",
        message="more than one record with the same natural key",
    )
    supp = _supplemental(spec, data, qualifiers, seq) if spec.supplemental else None
    return Built(data, supp, sources, sum(len(forms[b.source]) for b in spec.blocks))


def study_facts(study: str, data_cutoff: str | None, export_id: str) -> pd.DataFrame:
    """The one-row pseudo-form of study-level facts a spec may read (source _STUDY)."""
    return pd.DataFrame(
        {"__ROW": [1], "STUDYID": [study], "DCUTDTC": [data_cutoff], "EXPORTID": [export_id]}
    ).astype({"STUDYID": "string", "DCUTDTC": "string", "EXPORTID": "string"})


def _supplemental(
    spec: DatasetSpec, data: pd.DataFrame, qualifiers: pd.DataFrame, seq: str | None
) -> pd.DataFrame:
    """SUPP-- records for the non-null qualifier values: subject-level when the dataset has
    no --SEQ (DM), else one per parent record identified by IDVAR=--SEQ."""
    parts = []
    for q in spec.supplemental:
        value = qualifiers[q.qnam] if q.qnam in qualifiers else pd.Series(pd.NA, index=data.index)
        keep = value.notna()
        idvarval = data.loc[keep, seq].astype("int64").astype("string") if seq else pd.NA
        parts.append(
            pd.DataFrame(
                {
                    "STUDYID": data.loc[keep, "STUDYID"],
                    "RDOMAIN": spec.name,
                    "USUBJID": data.loc[keep, "USUBJID"],
                    "IDVAR": seq if seq else pd.NA,
                    "IDVARVAL": idvarval,
                    "QNAM": q.qnam,
                    "QLABEL": q.qlabel,
                    "QVAL": value[keep],
                    "QORIG": q.qorig,
                    "QEVAL": q.qeval,
                }
            )
        )
    supp = pd.concat(parts).astype("string")
    supp["__SEQ"] = pd.to_numeric(supp["IDVARVAL"])
    supp = supp.sort_values(["USUBJID", "__SEQ", "QNAM"], kind="stable")
    return supp.drop(columns="__SEQ").reset_index(drop=True)

"""Build one SDTM dataset (and its SUPP--) from a spec and the raw forms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from transforms.issues import IssueLog
from transforms.sdtm.algorithms import Context
from transforms.specs import DatasetSpec, StudySpec, VariableSpec

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
    from transforms import standards

    codelist = standards.controlled_terms().codelist(var.codelist)
    present = values.dropna().unique()
    outside = {v for v in present if codelist.lookup(str(v)) is None}
    if outside:
        ctx.report(
            values.isin(outside),
            values,
            "CT",
            f"not a term of codelist {var.codelist}"
            + (" (extensible: sponsor value)" if codelist.extensible else ""),
            severity="warning" if codelist.extensible else "error",
        )


def build_dataset(
    spec: DatasetSpec,
    study: StudySpec,
    forms: Mapping[str, pd.DataFrame],
    issues: IssueLog,
    form_files: Mapping[str, str] | None = None,
) -> Built:
    """Evaluate every variable over the driver form's rows; one record per row.

    `form_files` names the file each form came from (for the issue listing)."""
    frame = forms[spec.source]
    ctx = Context(
        frame=frame,
        form=spec.source,
        dataset=spec.name,
        column="",
        forms=forms,
        vars={},
        ct_map=study.ct_map,
        issues=issues,
        form_files=form_files or study.form_files,
    )
    if spec.where is not None:
        frame = frame[spec.where.test(ctx)]
        ctx.frame = frame
    for var in spec.variables:
        ctx.column = var.name
        values = _typed(var.rule.evaluate(ctx), var)
        _check_terms(ctx, var, values)
        if var.core == "Req":
            ctx.report(
                values.isna(), values.astype("string"), "REQUIRED", "Required variable is null"
            )
        ctx.vars[var.name] = values

    data = pd.DataFrame({v.name: ctx.vars[v.name] for v in spec.output_variables()})
    dup = data.duplicated(list(spec.keys), keep=False)
    ctx.column = "/".join(spec.keys)
    ctx.report(dup, data[spec.keys[-1]].astype("string"), "KEY", "duplicate natural key")
    order = data.sort_values(list(spec.keys), kind="stable").index
    supp = _supplemental(spec, ctx, data) if spec.supplemental else None
    return Built(data.loc[order].reset_index(drop=True), supp, len(frame))


def _supplemental(spec: DatasetSpec, ctx: Context, data: pd.DataFrame) -> pd.DataFrame:
    """SUPP-- records for the non-null qualifier values (subject-level: IDVAR empty)."""
    if spec.name != "DM":
        raise NotImplementedError("record-level SUPP-- (IDVAR/IDVARVAL) arrives with EX/AE")
    parts = []
    for q in spec.supplemental:
        ctx.column = q.qnam
        value = q.rule.evaluate(ctx).astype("string").str.strip()
        value = value.mask(value == "")
        keep = value.notna()
        parts.append(
            pd.DataFrame(
                {
                    "STUDYID": data.loc[keep, "STUDYID"],
                    "RDOMAIN": spec.name,
                    "USUBJID": data.loc[keep, "USUBJID"],
                    "IDVAR": pd.NA,
                    "IDVARVAL": pd.NA,
                    "QNAM": q.qnam,
                    "QLABEL": q.qlabel,
                    "QVAL": value[keep],
                    "QORIG": q.qorig,
                    "QEVAL": q.qeval,
                }
            )
        )
    supp = pd.concat(parts, ignore_index=True).astype("string")
    return supp.sort_values(["USUBJID", "QNAM"], kind="stable").reset_index(drop=True)

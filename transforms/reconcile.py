"""Nothing lost: every raw record is mapped to a dataset or listed with the reason why not,
and every raw field is mapped to an SDTM variable or declared not submitted with a reason."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from transforms.sdtm.algorithms import CONDITION, KEY, VALUE

if TYPE_CHECKING:
    from transforms.specs import FieldUse

FIELD_COLUMNS = ["form", "file", "field", "status", "targets", "used_in", "reason"]
MAPPED, NOT_SUBMITTED, UNACCOUNTED = "mapped", "not_submitted", "unaccounted"


def reconcile(
    raw: Iterable[tuple[str, pd.DataFrame]],
    form_files: Mapping[str, str],
    sources: pd.DataFrame,
    not_mapped: Mapping[str, str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Count, per raw form, the records in, mapped per dataset, and not mapped with a reason.

    `raw` gives each form's id and rows (``__ROW``, and ``SUBJID`` if it has one), a form at
    a time; `sources` the (DATASET, FORM, ROW) every output record came from; `not_mapped`
    the study's reason for records of a form that feed derivations only (or await a
    dataset). Returns the summary and the unaccounted records.
    """
    datasets = sorted(sources["DATASET"].unique())
    summary, lost = [], []
    for oid, frame in raw:
        file = form_files[oid]
        used = sources[sources["FORM"] == file]
        mapped = frame["__ROW"].isin(used["ROW"])
        row: dict[str, object] = {"form": file, "records_in": len(frame)}
        for name in datasets:
            row[f"mapped_{name}"] = int(used.loc[used["DATASET"] == name, "ROW"].nunique())
        reason = not_mapped.get(oid)
        rest = int((~mapped).sum())
        row["not_mapped"] = rest if reason else 0
        row["reason"] = reason if reason and rest else ""
        row["unaccounted"] = 0 if reason else rest
        summary.append(row)
        if not reason and rest:
            hit = frame.loc[~mapped]
            lost.append(
                pd.DataFrame(
                    {"form": file, "row": hit["__ROW"], "subject": hit.get("SUBJID", pd.NA)}
                )
            )
    columns = ["form", "row", "subject"]
    unaccounted = pd.concat(lost, ignore_index=True) if lost else pd.DataFrame(columns=columns)
    return pd.DataFrame(summary), unaccounted


def _joined(uses: pd.DataFrame, label: pd.Series) -> pd.Series:
    """Per (form, field), its uses' labels joined in the order given, each once."""
    labelled = uses.assign(label=label).drop_duplicates(["form", "field", "label"])
    return labelled.groupby(["form", "field"], sort=False)["label"].agg("; ".join)


def reconcile_fields(
    columns: Mapping[str, Sequence[str]],
    form_files: Mapping[str, str],
    declared: Mapping[str, Collection[str]],
    uses: Iterable[FieldUse],
    not_submitted: Mapping[str, Mapping[str, str]],
) -> pd.DataFrame:
    """One row per raw field of the export, in export order: ``mapped`` (its value reaches
    the `targets`, or it is the key they are looked up by: ``DM.ARMCD (key)``),
    ``not_submitted`` (declared in study.yaml with its `reason`), or ``unaccounted`` (the
    reason says what to do). `used_in` names what the field only decides: a variable of
    whose rule it is a condition, or a dataset whose records it selects.

    `columns` holds each form's columns as exported, `declared` those forms.yaml names;
    `uses` every read of the specs (:meth:`transforms.specs.StudySpec.field_uses`)."""
    read = pd.DataFrame(
        [(u.form, u.field, u.target, u.how) for u in uses],
        columns=["form", "field", "target", "how"],
    ).sort_values(["form", "field", "target"])
    maps = read[read["how"] != CONDITION]
    maps = maps.sort_values("how", key=lambda how: how != VALUE, kind="stable")
    maps = maps.drop_duplicates(["form", "field", "target"])  # a value read wins over a key
    targets = _joined(maps, maps["target"] + maps["how"].map({VALUE: "", KEY: " (key)"}))
    decides = read[read["how"] == CONDITION]
    report = pd.DataFrame(
        [(oid, form_files[oid], name) for oid, names in columns.items() for name in names],
        columns=["form", "file", "field"],
    )
    at = pd.MultiIndex.from_frame(report[["form", "field"]])
    report["targets"] = targets.reindex(at).to_numpy()
    report["used_in"] = _joined(decides, decides["target"]).reindex(at).to_numpy()
    reasons = {(f, c): why for f, fields in not_submitted.items() for c, why in fields.items()}
    report["reason"] = [reasons.get(key) for key in at]
    known = pd.Series([name in declared[oid] for oid, name in at], index=report.index)
    report["status"] = UNACCOUNTED
    report.loc[report["reason"].notna(), "status"] = NOT_SUBMITTED
    report.loc[report["targets"].notna(), "status"] = MAPPED
    lost = report["status"] == UNACCOUNTED
    report.loc[lost, "reason"] = "read by no rule: map it, or declare it not submitted"
    report.loc[lost & report["used_in"].notna(), "reason"] = (
        "read only as a condition, its value reaches no variable: map it, or declare it "
        "not submitted"
    )
    report.loc[lost & ~known, "reason"] = (
        "not in forms.yaml: add it there, then map it or declare it not submitted"
    )
    return report[FIELD_COLUMNS]

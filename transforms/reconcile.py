"""Nothing lost: every raw record is mapped to a dataset or listed with the reason why not,
and every raw field is mapped to an SDTM variable or declared not submitted with a reason."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from transforms.sdtm.algorithms import CONDITION, KEY, VALUE

if TYPE_CHECKING:
    from transforms.specs import FieldUse

FIELD_COLUMNS = ["form", "file", "field", "status", "targets", "used_in", "reason"]
MAPPED, NOT_SUBMITTED, UNACCOUNTED = "mapped", "not_submitted", "unaccounted"


class MappedRows:
    """Which raw rows of each form the records of each dataset came from: a flag per row
    number (``__ROW``: a line or record number of the raw file, so a flag array as long as
    the file), filled a piece of lineage at a time. A few bytes per raw row, whatever the
    number of records: the lineage is never held whole."""

    def __init__(self) -> None:
        self._flags: dict[tuple[str, str], np.ndarray] = {}
        self._datasets: set[str] = set()

    def add(self, dataset: str, form: str | None = None, rows: np.ndarray | None = None) -> None:
        """Records of `dataset` came from these `rows` of raw file `form` (none: it is a
        dataset of the run all the same, mapping no raw row: trial design...)."""
        self._datasets.add(dataset)
        if form is None or rows is None or not len(rows):
            return
        flags = self._flags.get((dataset, form), np.zeros(0, dtype=bool))
        if len(flags) <= (top := int(rows.max())):  # grown by half at least: a batch at a
            size = max(top + 1, len(flags) * 3 // 2)  # time, LB's rows would copy it each time
            flags = np.concatenate([flags, np.zeros(size - len(flags), dtype=bool)])
            self._flags[(dataset, form)] = flags
        flags[rows] = True

    @property
    def datasets(self) -> list[str]:
        return sorted(self._datasets)

    def of(self, dataset: str, form: str) -> np.ndarray | None:
        """The flags of `dataset`'s rows of raw file `form` (None: it maps none)."""
        return self._flags.get((dataset, form))


def reconcile(
    raw: Iterable[tuple[str, np.ndarray]],
    form_files: Mapping[str, str],
    mapped: MappedRows,
    not_mapped: Mapping[str, str],
    subjects: Callable[[str], pd.Series],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Count, per raw form, the records in, mapped per dataset, and not mapped with a reason.

    `raw` gives each form's id and row numbers (``__ROW``), a form at a time; `mapped` the
    raw rows every dataset's records came from; `not_mapped` the study's reason for records
    of a form that feed derivations only (or await a dataset); `subjects` a form's SUBJID
    column (asked only for a form with records lost). Returns the summary and the
    unaccounted records.
    """
    datasets = mapped.datasets
    summary, lost = [], []
    for oid, rows in raw:
        file = form_files[oid]
        reached = np.zeros(len(rows), dtype=bool)
        row: dict[str, object] = {"form": file, "records_in": len(rows)}
        for name in datasets:
            flags = mapped.of(name, file)
            row[f"mapped_{name}"] = int(flags.sum()) if flags is not None else 0
            if flags is not None:
                inside = rows < len(flags)
                reached[inside] |= flags[rows[inside]]
        reason = not_mapped.get(oid)
        rest = int((~reached).sum())
        row["not_mapped"] = rest if reason else 0
        row["reason"] = reason if reason and rest else ""
        row["unaccounted"] = 0 if reason else rest
        summary.append(row)
        if not reason and rest:
            hit = np.flatnonzero(~reached)
            subject = subjects(oid)
            lost.append(
                pd.DataFrame(
                    {"form": file, "row": rows[hit],
                     "subject": subject.iloc[hit].to_numpy() if len(subject) else pd.NA}
                )
            )  # fmt: skip
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

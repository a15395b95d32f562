"""Nothing lost: every raw record is mapped to a dataset or listed with the reason why not."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd


def reconcile(
    raw: Mapping[str, pd.DataFrame],
    form_files: Mapping[str, str],
    sources: pd.DataFrame,
    not_mapped: Mapping[str, str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Count, per raw form, the records in, mapped per dataset, and not mapped with a reason.

    `raw` holds each form's rows (with ``__ROW``); `sources` the (DATASET, FORM, ROW) every
    output record came from; `not_mapped` the study's reason for records of a form that feed
    derivations only (or await a dataset). Returns the summary and the unaccounted records.
    """
    datasets = sorted(sources["DATASET"].unique())
    summary, lost = [], []
    for oid, frame in raw.items():
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

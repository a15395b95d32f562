"""What changed since the last published run: records added, removed and changed, per
dataset, matched by natural keys (the data manager's morning question)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

COLUMNS = ["dataset", "change", "key", "columns"]


def compare(
    dataset: str,
    before: pd.DataFrame | None,
    after: pd.DataFrame,
    keys: Sequence[str],
    ignore: Sequence[str] = (),
) -> pd.DataFrame:
    """One row per added, removed or changed record; `ignore` names columns (such as --SEQ)
    whose renumbering alone is not a change. Records sharing a key are matched in order."""
    if before is None:
        before = after.iloc[0:0]
    keys = list(keys)
    left = before.assign(__N=before.groupby(keys, dropna=False).cumcount())
    right = after.assign(__N=after.groupby(keys, dropna=False).cumcount())
    both = left.merge(right, on=[*keys, "__N"], how="outer", suffixes=("__old", ""), indicator=True)
    texts = both[keys].astype("string").fillna("")
    label = pd.Series("", index=both.index, dtype="string")
    for i, k in enumerate(keys):
        label = label + ("; " if i else "") + f"{k}=" + texts[k]
    changed_cols = pd.Series("", index=both.index, dtype="string")
    for c in (c for c in after.columns if c not in keys and c not in ignore):
        old, new = both[f"{c}__old"].astype("string"), both[c].astype("string")
        differs = (old != new).fillna(True) & ~(old.isna() & new.isna())
        changed_cols = changed_cols.mask(differs, changed_cols + ", " + c)
    changed_cols = changed_cols.str.removeprefix(", ")
    kind = both["_merge"].map({"left_only": "removed", "right_only": "added", "both": "changed"})
    out = pd.DataFrame(
        {"dataset": dataset, "change": kind, "key": label, "columns": changed_cols}, columns=COLUMNS
    )
    keep = (kind != "changed") | (out["columns"] != "")
    out.loc[kind != "changed", "columns"] = ""
    return out[keep].reset_index(drop=True)

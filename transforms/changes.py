"""What changed since the last published run: records added, removed and changed, per
dataset, matched by natural keys (the data manager's morning question).

Datasets are read from their Parquet files a column at a time: the keys first to match the
records, then each other column to compare the matched pairs, so memory stays near one
column of the largest domain however large the study."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

COLUMNS = ["dataset", "change", "key", "columns"]


def _column(path: Path, name: str, rows: np.ndarray) -> pd.Series:
    """Column `name` of the Parquet file at the given row positions (all null if absent)."""
    if name not in pq.read_schema(path).names:
        return pd.Series(pd.NA, index=range(len(rows)), dtype="string")
    return pd.read_parquet(path, columns=[name])[name].take(rows).reset_index(drop=True)


def _differs(old: pd.Series, new: pd.Series) -> np.ndarray:
    """Where the values differ; two missing values are equal, text is compared as written."""
    if old.dtype != new.dtype:
        old, new = old.astype("string"), new.astype("string")
    same = (old == new).fillna(False) | (old.isna() & new.isna())
    return ~same.to_numpy(dtype=bool)


def compare(
    dataset: str,
    before: Path | None,
    after: Path,
    keys: Sequence[str],
    ignore: Sequence[str] = (),
) -> pd.DataFrame:
    """One row per added, removed or changed record between two Parquet files; `ignore`
    names columns (such as --SEQ) whose renumbering alone is not a change. Records sharing a
    key are matched in order."""
    keys = list(keys)
    right = pd.read_parquet(after, columns=keys)
    left = pd.read_parquet(before, columns=keys) if before is not None else right.iloc[0:0]
    left = left.assign(__N=left.groupby(keys, dropna=False).cumcount(), __OLD=range(len(left)))
    right = right.assign(__N=right.groupby(keys, dropna=False).cumcount(), __NEW=range(len(right)))
    both = left.merge(right, on=[*keys, "__N"], how="outer", indicator=True)
    kind = both["_merge"].map({"left_only": "removed", "right_only": "added", "both": "changed"})
    matched = (kind == "changed").to_numpy()
    # Each matched record points at its pattern of changed columns: a few distinct texts.
    texts, pattern = [""], np.zeros(len(both), dtype=np.int32)
    names = [c for c in pq.read_schema(after).names if c not in keys and c not in ignore]
    if before is not None and matched.any() and names:
        old_rows = both["__OLD"].to_numpy()[matched].astype(np.int64)
        new_rows = both["__NEW"].to_numpy()[matched].astype(np.int64)
        flags = np.column_stack(
            [_differs(_column(before, c, old_rows), _column(after, c, new_rows)) for c in names]
        )
        differ = flags.any(axis=1)  # most nights: a handful of the matched records
        patterns, which = np.unique(flags[differ], axis=0, return_inverse=True)
        texts += [", ".join(n for n, hit in zip(names, p, strict=True) if hit) for p in patterns]
        pattern[np.flatnonzero(matched)[differ]] = which.ravel() + 1
    keep = ~matched | np.array([t != "" for t in texts])[pattern]
    kept = both.loc[keep, keys].astype("string").fillna("")
    text = pa.large_string()  # pandas' text columns in Arrow
    label = pc.binary_join_element_wise(
        *(
            pc.binary_join_element_wise(
                pa.scalar(f"{k}=", text), pa.array(kept[k], text), pa.scalar("", text)
            )
            for k in keys
        ),
        pa.scalar("; ", text),
    )
    changed = pa.DictionaryArray.from_arrays(pattern[keep], pa.array(texts, text)).cast(text)
    out = pd.DataFrame(
        {
            "dataset": dataset,
            "change": kind[keep],
            "key": pd.array(label, dtype="string"),
            "columns": pd.array(changed, dtype="string"),
        },
        columns=COLUMNS,
    )
    return out.reset_index(drop=True)

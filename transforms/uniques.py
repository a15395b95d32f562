"""Records told apart by the values of some of their columns: a code per record, equal
where the records hold the same values (every kind of null alike), so that work that
depends on those values only is done once per distinct combination
(:func:`transforms.sdtm.dates.by_unique` does it for one column)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd


def row_codes(frame: pd.DataFrame, columns: Iterable[str],
              factorised: dict[str, np.ndarray] | None = None) -> np.ndarray:  # fmt: skip
    """A code per record of `frame` (0, 1, ... in order of first appearance is not
    promised), equal where the records hold the same values in `columns`; `factorised`,
    if given, keeps each column's own codes for the next call."""
    factorised = {} if factorised is None else factorised
    codes = np.zeros(len(frame), dtype=np.int64)
    for column in sorted(set(columns)):
        if column not in factorised:
            factorised[column] = pd.factorize(frame[column], use_na_sentinel=True)[0]
        values = factorised[column].astype(np.int64) + 1  # null: 0
        width = int(values.max(initial=0)) + 1
        codes = pd.factorize(codes * width + values)[0].astype(np.int64)  # < rows * width
    return codes


def first_rows(codes: np.ndarray) -> np.ndarray:
    """The position of the first record of each code, in the records' order."""
    return np.flatnonzero(~pd.Series(codes).duplicated().to_numpy())


def by_unique_rows(frame: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """The code of each record of `frame` by all its columns, and the distinct records
    (indexed 0, 1, ...: code k is record k)."""
    codes = row_codes(frame, frame.columns)
    firsts = first_rows(codes)
    order = np.empty(int(codes.max(initial=-1)) + 1, dtype=np.int64)
    order[codes[firsts]] = np.arange(len(firsts))
    return order[codes], frame.take(firsts).reset_index(drop=True)

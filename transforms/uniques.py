"""Records told apart by the values of some of their columns: a code per record, equal
where the records hold the same values (every kind of null alike), so that work that
depends on those values only is done once per distinct combination
(:func:`transforms.sdtm.dates.by_unique` does it for one column)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

KnownCodes = dict[tuple[str, ...], np.ndarray]
"""Codes of sets of columns (sorted names) of one frame, made by :func:`row_codes`."""


def row_codes(frame: pd.DataFrame, columns: Iterable[str],
              known: KnownCodes | None = None) -> np.ndarray:  # fmt: skip
    """A code per record of `frame`, equal where the records hold the same values in
    `columns` (the codes' order means nothing); `known`, if given, keeps the codes of each
    set of columns coded on the same frame for the next call (read them, never change them)."""
    known = {} if known is None else known
    key = tuple(sorted(set(columns)))
    if key not in known:
        if len(key) == 1:
            known[key] = pd.factorize(frame[key[0]], use_na_sentinel=True)[0] + 1  # null: 0
        else:
            codes = np.zeros(len(frame), dtype=np.int64)
            for column in key:
                values = row_codes(frame, [column], known)
                width = int(values.max(initial=0)) + 1
                codes = pd.factorize(codes * width + values)[0]  # < rows * width
            known[key] = codes
    return known[key]


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

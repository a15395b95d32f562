"""What changed since the last published run: records added, removed and changed, per
dataset, matched by natural keys, and each changed cell with its old and new value (the
data manager's morning question).

Datasets are read from their Parquet files a column at a time: the keys first to match the
records, then each other column to compare the matched pairs, so memory stays near one
column of the largest domain however large the study."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from transforms.files import replaced, write_text

COLUMNS = ["dataset", "change", "key", "columns"]
CELL_COLUMNS = ["dataset", "key", "variable", "old", "new"]


class _Records:
    """One side of a comparison, read a column at a time: a dataset's Parquet file, or its
    records at `positions` (a group of its subjects': from the row groups that hold them)."""

    def __init__(self, path: Path, positions: np.ndarray | None = None) -> None:
        self._path, self._positions = path, positions
        self.names = pq.read_schema(path).names

    def read(self, columns: list[str]) -> pd.DataFrame:
        if self._positions is None:
            return pd.read_parquet(self._path, columns=columns)
        from transforms.jobs.kit import TableReader

        records = TableReader({"records": self._path}, "compared dataset")
        return records.read_positions("records", self._positions, columns).reset_index(drop=True)

    def column(self, name: str, rows: np.ndarray) -> pd.Series:
        """Column `name` at the given row positions (all null if absent)."""
        if name not in self.names:
            return pd.Series(pd.NA, index=range(len(rows)), dtype="string")
        return self.read([name])[name].take(rows).reset_index(drop=True)


def _differs(old: pd.Series, new: pd.Series) -> np.ndarray:
    """Where the values differ; two missing values are equal, text is compared as written."""
    if old.dtype != new.dtype:
        old, new = old.astype("string"), new.astype("string")
    same = (old == new).fillna(False) | (old.isna() & new.isna())
    return ~same.to_numpy(dtype=bool)


@dataclass(frozen=True)
class Changes:
    """What changed in one dataset: one row per record added, removed or changed
    (:data:`COLUMNS`), and one per changed cell of a changed record (:data:`CELL_COLUMNS`)."""

    records: pd.DataFrame
    cells: pd.DataFrame


def _text(values: pd.Series) -> pd.Series:
    """Values as a person reads them in a listing: text, a missing value empty."""
    return values.astype("string").fillna("").reset_index(drop=True)


def compare(
    dataset: str,
    before: Path | None,
    after: Path,
    keys: Sequence[str],
    ignore: Sequence[str] = (),
) -> Changes:
    """The records added, removed or changed between two Parquet files, and each changed
    cell with its old and new value as text (a missing value that became an empty text, or
    back, changes the record but shows no cell); `ignore` names columns (such as --SEQ)
    whose renumbering alone is not a change. Records sharing a key are matched in order."""
    old = _Records(before) if before is not None else None
    return _compare(dataset, old, _Records(after), list(keys), ignore)


SUBJECT = "USUBJID"


def _subjects(path: Path) -> pd.Series:
    """The USUBJID of each record of a Parquet file, as categories (a code a record)."""
    table = pq.read_table(path, columns=[SUBJECT], read_dictionary=[SUBJECT])
    return table.column(SUBJECT).to_pandas()


def _one_value(paths: list[Path], columns: list[str]) -> bool:
    """Whether each column holds one value, never missing, in all the files together (read
    a row group at a time: STUDYID of a large LB is millions of values)."""
    for column in columns:
        seen: set[object] = set()
        for path in paths:
            file = pq.ParquetFile(path)
            for group in range(file.num_row_groups):
                values = file.read_row_group(group, columns=[column]).column(column)
                if values.null_count or (
                    pa.types.is_floating(values.type) and pc.any(pc.is_nan(values)).as_py()
                ):
                    return False
                seen.update(pc.unique(values).to_pylist())
                if len(seen) > 1:
                    return False
    return True


def compare_groups(
    dataset: str,
    before: Path | None,
    after: Path,
    keys: Sequence[str],
    ignore: Sequence[str] = (),
    rows: int | None = None,
) -> Iterator[Changes]:
    """:func:`compare`, a group of whole subjects of about `rows` records (default
    ``frame_rows()``) at a time: the changes of one comparison of the whole files, in
    parts. The records of a subject (its USUBJID, a key) match only its own; the report
    lists the records in key order, which is USUBJID order when the keys before USUBJID
    (STUDYID) hold one value: the groups follow in USUBJID order, the records of no
    USUBJID (a missing key sorts last) last. A dataset of no USUBJID among its keys, or
    whose keys before it vary, is compared whole."""
    from transforms.jobs.kit import frame_rows
    from transforms.sdtm.chunks import GroupRows, cut_sizes

    keys, size = list(keys), rows or frame_rows()
    paths = [after] if before is None else [before, after]
    if SUBJECT not in keys or not _one_value(paths, keys[: keys.index(SUBJECT)]):
        yield compare(dataset, before, after, keys, ignore)
        return
    subjects = [_subjects(p) for p in paths]
    counts = [s.value_counts() for s in subjects]  # by category: as text, sorted as keys
    sizes = pd.concat([c.set_axis(c.index.astype(object)) for c in counts])
    sizes = sizes[sizes > 0].groupby(level=0).sum().sort_index()
    missing = sum(int(s.isna().sum()) for s in subjects)
    if sizes.sum() + missing <= size:
        yield compare(dataset, before, after, keys, ignore)
        return
    numbers = cut_sizes(sizes, size)
    last = int(numbers.max()) + 1  # the group of the records of no USUBJID
    # Each record's group: its category's (a missing USUBJID, code -1, the last one's).
    groups = [
        np.append(numbers.reindex(s.cat.categories).fillna(-1).to_numpy(int), last)[
            s.cat.codes.to_numpy()
        ]
        for s in subjects
    ]
    by_group = GroupRows({str(p): g for p, g in zip(paths, groups, strict=True)})
    for number in range(last + (missing > 0)):  # a group's records: a slice, not a scan
        sides = [_Records(path, by_group.positions(str(path), number)) for path in paths]
        old = sides[0] if before is not None else None
        yield _compare(dataset, old, sides[-1], keys, ignore)


def _compare(
    dataset: str,
    before: _Records | None,
    after: _Records,
    keys: list[str],
    ignore: Sequence[str],
) -> Changes:
    """:func:`compare` of the records of two files (whole, or a group of subjects')."""
    right = after.read(keys)
    left = before.read(keys) if before is not None else right.iloc[0:0]
    left = left.assign(__N=left.groupby(keys, dropna=False).cumcount(), __OLD=range(len(left)))
    right = right.assign(__N=right.groupby(keys, dropna=False).cumcount(), __NEW=range(len(right)))
    both = left.merge(right, on=[*keys, "__N"], how="outer", indicator=True)
    kind = both["_merge"].map({"left_only": "removed", "right_only": "added", "both": "changed"})
    matched = (kind == "changed").to_numpy()
    # Each matched record points at its pattern of changed columns: a few distinct texts.
    texts, pattern = [""], np.zeros(len(both), dtype=np.int32)
    names = [c for c in after.names if c not in keys and c not in ignore]
    cells: list[tuple[int, str, np.ndarray, pd.Series, pd.Series]] = []
    if before is not None and matched.any() and names:
        old_rows = both["__OLD"].to_numpy()[matched].astype(np.int64)
        new_rows = both["__NEW"].to_numpy()[matched].astype(np.int64)
        hits = []
        for i, c in enumerate(names):  # one column of each file at a time
            old, new = before.column(c, old_rows), after.column(c, new_rows)
            hit = _differs(old, new)
            hits.append(hit)
            if hit.any():  # most nights: a handful of the matched records
                at = np.flatnonzero(hit)
                was, now = _text(old.take(at)), _text(new.take(at))
                shown = (was != now).to_numpy(dtype=bool)  # missing and empty read the same
                cells.append((i, c, at[shown], was[shown], now[shown]))
        flags = np.column_stack(hits)
        differ = flags.any(axis=1)
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
    records = pd.DataFrame(
        {
            "dataset": dataset,
            "change": kind[keep],
            "key": pd.array(label, dtype="string"),
            "columns": pd.array(changed, dtype="string"),
        },
        columns=COLUMNS,
    ).reset_index(drop=True)
    return Changes(records, _cells(dataset, cells, records["key"], np.flatnonzero(matched), keep))


def _cells(
    dataset: str,
    found: list[tuple[int, str, np.ndarray, pd.Series, pd.Series]],
    labels: pd.Series,
    matched: np.ndarray,
    keep: np.ndarray,
) -> pd.DataFrame:
    """The changed cells, record by record in the records' order, columns in file order.
    `found`: per changed column its position, name, the matched records (positions among
    `matched`, the rows of the outer join) that differ there, and their old and new values;
    `labels`: the key text of each kept row of the join."""
    if not found:
        return pd.DataFrame(columns=CELL_COLUMNS, dtype="string")
    at_label = np.cumsum(keep) - 1  # a kept row of the join -> its row in `labels`
    record = np.concatenate([at_label[matched[at]] for _, _, at, _, _ in found])
    column = np.concatenate([np.full(len(at), i) for i, _, at, _, _ in found])
    order = np.lexsort((column, record))
    out = pd.DataFrame(
        {
            "dataset": dataset,
            "key": labels.to_numpy()[record],
            "variable": np.concatenate(
                [np.full(len(at), c, dtype=object) for _, c, at, _, _ in found]
            ),
            "old": pd.concat([old for *_, old, _ in found], ignore_index=True),
            "new": pd.concat([new for *_, new in found], ignore_index=True),
        },
        columns=CELL_COLUMNS,
    )
    return out.iloc[order].reset_index(drop=True).astype("string")


HTML_MAX_CELLS = 10_000  # the page shows the first ones; the CSV holds them all
_TEXT = pa.string()


def _table(frame: pd.DataFrame, columns: Sequence[str]) -> pa.Table:
    return pa.table({c: pa.array(frame[c].astype("string"), _TEXT) for c in columns})


def _read(path: Path, columns: Sequence[str]) -> Iterator[pa.Table]:
    """A report written by :func:`write_report`, every column text, empty cells empty: a
    block of lines at a time."""
    convert = pa_csv.ConvertOptions(column_types=dict.fromkeys(columns, _TEXT),
                                    strings_can_be_null=False)  # fmt: skip
    with pa_csv.open_csv(path, convert_options=convert) as reader:
        for batch in reader:
            yield pa.Table.from_batches([batch]).select(list(columns))


class _Listing:
    """A report CSV written a table at a time (pyarrow's writer: a first publication lists
    every record, a million lines or more), into a new file renamed into place when done:
    a report hard-linked from another run is replaced, never written through. It keeps its
    first `shown` rows, for the page. A context: the file is in place when the block ends
    without error; otherwise nothing is left behind (:func:`transforms.files.replaced`)."""

    def __init__(self, path: Path, columns: Sequence[str], shown: int = 0) -> None:
        self.path, self.rows, self._shown = path, 0, shown
        self._schema = pa.schema([(c, _TEXT) for c in columns])
        self._open = ExitStack()
        self.first: list[pa.Table] = []

    def __enter__(self) -> _Listing:
        tmp = self._open.enter_context(replaced(self.path))
        self._writer = pa_csv.CSVWriter(tmp, self._schema)
        self._open.callback(self._writer.close)  # closed before the rename
        return self

    def __exit__(self, *exc: object) -> None:
        self._open.__exit__(*exc)  # type: ignore[arg-type]

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table)
        if self.rows < self._shown:
            self.first.append(table.slice(0, self._shown - self.rows))
        self.rows += table.num_rows


def write_report(
    reports: Path,
    parts: Iterable[Changes],
    against: str | None,
    study: str,
    run: str,
    before: Path | None = None,
) -> dict[str, Any]:
    """``changes.csv`` (records), ``changes_cells.csv`` and its page ``changes_cells.html``
    (cells) into `reports`; `before`: a reports folder whose changes come first (the ADaM
    run lists its SDTM run's, then its own). `parts` are written as they come (one
    dataset's changes held at a time). Returns the manifest's per-dataset counts of `parts`
    and the run compared against."""
    from transforms import pages

    records = _Listing(reports / "changes.csv", COLUMNS)
    cells = _Listing(reports / "changes_cells.csv", CELL_COLUMNS, HTML_MAX_CELLS)
    counts: Counter[tuple[str, str]] = Counter()
    with records, cells:
        if before is not None:
            for table in _read(before / "changes.csv", COLUMNS):
                records.write(table)
            for table in _read(before / "changes_cells.csv", CELL_COLUMNS):
                cells.write(table)
        for part in parts:
            records.write(_table(part.records, COLUMNS))
            cells.write(_table(part.cells, CELL_COLUMNS))
            counts.update(zip(part.records["dataset"], part.records["change"], strict=True))
    empty = pa.schema([(c, _TEXT) for c in CELL_COLUMNS]).empty_table()
    shown = pa.concat_tables([empty, *cells.first]).to_pandas()
    note = "The first publication: no earlier values to compare with."
    if against:
        note = (f"{cells.rows} changed value(s) since run {against}; the CSV "
                "changes_cells.csv holds them all, changes.csv the records added and "
                "removed.")  # fmt: skip
    if cells.rows > HTML_MAX_CELLS:
        note += f" This page shows the first {HTML_MAX_CELLS}."
    page = pages.render("quality.html", title="Changed values", study=study, run=run, note=note,
                        columns=CELL_COLUMNS, rows=pages.cells(shown, CELL_COLUMNS))  # fmt: skip
    write_text(reports / "changes_cells.html", page)
    # Per dataset, every kind of change any dataset has (0 where it has none), as the
    # table of counts of all the records would give them.
    kinds = sorted({change for _, change in counts})
    datasets = sorted({dataset for dataset, _ in counts})
    return {
        "against": against,
        "datasets": {ds: {k: counts[ds, k] for k in kinds} for ds in datasets},
    }

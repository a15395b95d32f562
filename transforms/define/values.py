"""The values of a written dataset, read a column (or two) at a time.

The XPT header gives the variables, their types and the widths they were written with. The
values come from ``<name>.parquet`` beside ``<name>.xpt``, the table the XPT was written
from, read with pyarrow one or two columns at a time and reduced there to distinct values
(with how many records hold each): memory stays bounded by a column however many records
the dataset has. Every value is given as the XPT holds it, so the Define-XML is the same
as one built from the XPT itself. A folder of XPT files alone (a copied submission) is read
from the XPT, whole.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pyreadstat

from transforms.define.manifest import v5_records

log = logging.getLogger("cdisc.define")

SAS_EPOCH = datetime(1960, 1, 1)
"""Day 0 of a SAS date: an ADaM date column, a timestamp in the Parquet, is this day count
in the XPT."""


class DatasetValues:
    """The variables of one XPT file and the values written to it. Raises pyreadstat's
    errors for a file that is not SAS XPT."""

    def __init__(self, path: Path) -> None:
        _, info = pyreadstat.read_xport(path, metadataonly=True)
        self.columns: list[str] = list(info.column_names)
        storage = {name: int(info.variable_storage_width[name]) for name in self.columns}
        self.widths = {
            name: width
            for name, width in storage.items()
            if info.readstat_variable_types[name] == "string"
        }
        """The storage width of each Char variable."""
        parquet = path.with_suffix(".parquet")
        self._file = pq.ParquetFile(parquet) if parquet.is_file() else None
        self._table: pa.Table | None = None
        if self._file is not None:
            records = self._file.metadata.num_rows
            if not set(self.columns) <= set(self._file.schema_arrow.names) or records != (
                v5_records(path, list(storage.values()))
            ):
                log.warning("%s: columns or records unlike %s's; reading the XPT", parquet, path)
                self._file = None
        if self._file is None:
            data, _ = pyreadstat.read_xport(path, disable_datetime_conversion=True)
            self._table = pa.Table.from_pandas(data, preserve_index=False)
            records = self._table.num_rows
        self.records: int = records

    def _as_xpt(self, name: str, values: pa.ChunkedArray) -> pa.ChunkedArray:
        """Values of one column as the XPT holds them: Char as text without trailing blanks,
        "" when missing; Num as float64 (null when missing, 0.0 for -0.0), a date as its SAS
        day count."""
        if name in self.widths:
            return pc.utf8_rtrim(pc.fill_null(values.cast(pa.large_string()), ""), characters=" ")
        if pa.types.is_timestamp(values.type):
            values = pc.days_between(pa.scalar(SAS_EPOCH, values.type), values)
        return pc.add(values.cast(pa.float64()), 0.0)  # -0.0 + 0.0 is 0.0, as the XPT has it

    def _parts(self, names: list[str]) -> Iterator[pa.Table]:
        """The columns as the XPT holds them, a Parquet row group at a time (the stages write
        row groups of a bounded number of rows); at least one table, maybe empty."""
        if self._file is None:
            assert self._table is not None
            yield pa.table({n: self._as_xpt(n, self._table.column(n)) for n in names})
            return
        for group in range(max(self._file.num_row_groups, 1)):
            part = (
                self._file.read_row_group(group, columns=names)
                if self._file.num_row_groups
                else self._file.schema_arrow.empty_table().select(names)
            )
            yield pa.table({n: self._as_xpt(n, part.column(n)) for n in names})

    def distinct(self, name: str) -> pd.Series:
        """The column's distinct values (in the order of their first record): Char as str,
        Num as float64 with NaN when missing."""
        parts = [pc.unique(part.column(0)) for part in self._parts([name])]
        return pc.unique(pa.chunked_array(parts)).to_pandas().rename(name)

    def counts(self, *names: str) -> pd.DataFrame:
        """The distinct combinations of the columns' values, with the number of records
        holding each (``n``); Char values as str, Num as float64 with NaN when missing."""
        keys = list(names)
        parts = pa.concat_tables(
            part.group_by(keys, use_threads=False).aggregate([([], "count_all")])
            for part in self._parts(keys)
        )
        counted = parts.group_by(keys, use_threads=False).aggregate([("count_all", "sum")])
        return counted.select([*keys, "count_all_sum"]).rename_columns([*keys, "n"]).to_pandas()

    def first(self, key: str, other: str) -> pd.DataFrame:
        """Each distinct value of ``key`` with the value of ``other`` in the first record
        holding it."""
        first = pc.ScalarAggregateOptions(skip_nulls=False)

        def firsts(table: pa.Table, column: str) -> pa.Table:
            found = table.group_by(key, use_threads=False).aggregate([(column, "first", first)])
            return found.select([key, f"{column}_first"]).rename_columns([key, other])

        parts = pa.concat_tables(firsts(part, other) for part in self._parts([key, other]))
        return firsts(parts, other).to_pandas()

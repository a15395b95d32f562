"""The run kit every stage uses: the stage runner (timing, progress line, failure record),
memory release between stages, the lazy table reader and the output writer."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from transforms.errors import RECORDED, PipelineError, UserError
from transforms.extract.exports import sha256_file
from transforms.specs import StudySpec
from transforms.store import RunFolder, store_fault

if TYPE_CHECKING:
    from transforms.datasetjson import DataType

log = logging.getLogger("cdisc")
summary_log = logging.getLogger("cdisc.summary")  # the gates' one-screen summaries


@dataclass
class Stage:
    name: str
    run: RunFolder | None = None  # where a failure is recorded (set once the run exists)
    rows_in: int = 0
    rows_out: int = 0
    unit: str = "records"  # what rows_in counts, for the progress line ("expectations")
    out: str = "out"  # and rows_out ("passed")


def _libc_malloc_trim() -> Callable[[int], int] | None:
    libc = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(libc), "malloc_trim", None) if libc else None


_MALLOC_TRIM = _libc_malloc_trim()


def release_memory() -> None:
    """Give back to the OS what earlier stages freed: the C and Arrow allocators keep freed
    pages for reuse, so one process running the stages in turn (``cdisc run``) would
    otherwise hold the largest stage's peak for the rest of the night.

    What survives the collection is alive at a stage boundary (modules, the study's specs,
    the run folder): it is frozen (``gc.freeze``), so the next stage's collection looks only
    at what was made since. A full collection walks every object of the imported libraries
    (pandas, Great Expectations: about 300,000), some 60 ms each time, 52 times a night.
    :func:`thaw` hands the frozen objects back to the collector when a job ends."""
    gc.collect()
    gc.freeze()
    pa.default_memory_pool().release_unused()
    if _MALLOC_TRIM is not None:  # glibc
        _MALLOC_TRIM(0)


def thaw() -> None:
    """Undo :func:`release_memory`'s freezing: what was alive then and is garbage now
    (inside a cycle) can be collected again. Called when a job ends, so a process that runs
    several jobs (the tests, the benchmark) keeps nothing of an earlier one."""
    gc.unfreeze()


@contextmanager
def stage(name: str, run: RunFolder | None = None) -> Iterator[Stage]:
    """Time a stage and log its progress line. A stage of a run that fails records why in
    the run's ``reports/failure.json`` (stage, error type and message) before re-raising."""
    release_memory()
    s = Stage(name, run)
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        yield s
    except Exception as exc:
        fault = store_fault(exc) if isinstance(exc, OSError) else None
        if s.run is not None and s.run.reports.is_dir():
            shown = fault or exc
            failure = {"stage": name, "error": type(shown).__name__, "message": str(shown),
                       "at": datetime.now(UTC).isoformat()}  # fmt: skip
            try:
                s.run.failure.write_text(json.dumps(failure, indent=2) + "\n", encoding="utf-8")
                (fault or exc).add_note(f"{RECORDED} {s.run.failure}")
            except OSError as unwritten:  # the store's own fault: the night's error says it
                log.error("%s: failure not recorded: %s", s.run.failure, unwritten)
        if fault is not None:
            raise fault from exc
        raise
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    # The record carries the numbers too (``record.cdisc_stage``), for the benchmark's handler.
    numbers = {"name": s.name, "rows_in": s.rows_in, "rows_out": s.rows_out, "wall": wall,
               "cpu": cpu}  # fmt: skip
    log.info(
        "%-12s %-12s in %8d  %-6s %8d  %7.2f s wall  %7.2f s cpu",
        s.name,
        s.unit,
        s.rows_in,
        s.out,
        s.rows_out,
        wall,
        cpu,
        extra={"cdisc_stage": numbers},
    )


class TableReader(Mapping[str, pd.DataFrame]):
    """Tables of a run folder by name, each read from its Parquet file on first use, once:
    a stage reads only what its spec uses. `given` holds tables already in memory."""

    def __init__(
        self,
        paths: Mapping[str, Path],
        kind: str,
        given: Mapping[str, pd.DataFrame] | None = None,
    ) -> None:
        self._paths = dict(paths)
        self._kind = kind  # what the tables are, for the error message: "SDTM", "raw form"
        self._read = dict(given or {})  # the given tables and those read so far
        self._names = list(dict.fromkeys([*self._read, *self._paths]))

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._read:
            if name not in self._paths:
                raise PipelineError(f"needs {self._kind} {name}, which the run does not hold")
            self._read[name] = pd.read_parquet(self._paths[name])
        return self._read[name]

    def __contains__(self, name: object) -> bool:
        return name in self._read or name in self._paths

    def read_columns(self, name: str, columns: list[str]) -> pd.DataFrame:
        """Some columns of a table: from memory if read already, else only those from its
        file (not kept: a stage that wants a few columns of LB does not hold LB)."""
        if name in self._read or name not in self._paths:
            return self[name][columns]
        return pd.read_parquet(self._paths[name], columns=columns)

    def column_frames(self, name: str, columns: list[str]) -> Iterator[pd.DataFrame]:
        """Some columns of a table, a frame of `frame_rows()` rows at a time: from memory
        if read already (one frame), else from its file (:func:`parquet_frames`)."""
        if name in self._read or name not in self._paths:
            return iter([self[name][columns]])
        return iter(parquet_frames(self._paths[name], columns=columns)())

    def columns(self, name: str) -> list[str]:
        """The names of a table's columns (from its file's schema: nothing read)."""
        if name in self._read or name not in self._paths:
            return list(self[name].columns)
        return list(pq.ParquetFile(self._paths[name]).schema_arrow.names)

    def read_rows(
        self, name: str, keep: np.ndarray, columns: list[str] | None = None
    ) -> pd.DataFrame:
        """The rows of a table where `keep` (one flag per row) holds, indexed by their
        positions in it, with its `columns` (None: all) (:meth:`read_positions`)."""
        if name in self._read or name not in self._paths:
            rows = self[name][keep]
            return rows if columns is None else rows[columns]
        return self.read_positions(name, np.flatnonzero(keep), columns)

    def read_positions(
        self, name: str, positions: np.ndarray, columns: list[str] | None = None
    ) -> pd.DataFrame:
        """The rows of a table at `positions` (ascending), indexed by them, with its
        `columns` (None: all): from memory if read already, else from the row groups of its
        file that hold them (not kept: a group of subjects' rows of LB, not LB). The time
        is that of those row groups, not of the table: a subject's rows lie together."""
        if name in self._read or name not in self._paths:
            rows = self[name].iloc[positions]
            return rows if columns is None else rows[columns]
        source = pq.ParquetFile(self._paths[name])
        schema = _selected(source.schema_arrow, columns)
        sizes = [source.metadata.row_group(i).num_rows for i in range(source.num_row_groups)]
        starts = np.cumsum([0, *sizes])
        cuts = np.searchsorted(positions, starts)  # the positions in each row group
        batches = []
        for group in np.flatnonzero(np.diff(cuts)):
            held = source.read_row_group(int(group), columns=columns)
            taken = positions[cuts[group] : cuts[group + 1]] - starts[group]
            batches.extend(held.take(pa.array(taken)).to_batches())
        rows = pa.Table.from_batches(batches, schema=schema).to_pandas()
        return rows.set_axis(pd.Index(positions))

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


# An output column: name, label, Char|Num, length (None: longest value), format, data type.
Column = tuple[str, str, Literal["Char", "Num"], int | None, str | None, str]

Frames = Callable[[], Iterable[pd.DataFrame]]
"""A table's rows as frames in order, each call a new pass (the writers' `Frames`)."""

FRAME_ROWS_ENV = "CDISC_FRAME_ROWS"
FRAME_ROWS = 262_144
"""Rows of a Parquet table read at a time by the stages that stream it (the XPT and
Dataset-JSON writers): what they hold of a large dataset. `CDISC_FRAME_ROWS` sets it."""


def frame_rows() -> int:
    """The rows per frame: `CDISC_FRAME_ROWS` (a positive whole number) or `FRAME_ROWS`."""
    text = os.environ.get(FRAME_ROWS_ENV, "").strip()
    if not text:
        return FRAME_ROWS
    if not text.isdigit() or int(text) < 1:
        raise UserError(f"{FRAME_ROWS_ENV}={text!r}: give a whole number of rows, at least 1")
    return int(text)


def _selected(schema: pa.Schema, columns: list[str] | None) -> pa.Schema:
    """A table's schema, or that of its `columns` in their order (None: all)."""
    if columns is None:
        return schema
    return pa.schema([schema.field(c) for c in columns], metadata=schema.metadata)


def parquet_frames(path: Path, rows: int | None = None, columns: list[str] | None = None) -> Frames:
    """The Parquet table `path` (its `columns`; None: all) as frames of `rows` rows
    (default `frame_rows()`), read a batch at a time: the same columns, dtypes and values
    as ``pd.read_parquet`` of it, cut into pieces (an empty table is one empty frame)."""
    size = rows or frame_rows()

    def frames() -> Iterator[pd.DataFrame]:
        source = pq.ParquetFile(path)
        schema = _selected(source.schema_arrow, columns)
        empty = True
        for batch in source.iter_batches(batch_size=size, columns=columns):
            empty = False
            yield pa.Table.from_batches([batch], schema=schema).to_pandas()
        if empty:
            yield schema.empty_table().to_pandas()

    return frames


ROW_GROUP_ROWS = FRAME_ROWS
"""Rows per row group of the Parquet a stage writes: the raw snapshot (so that a group of
subjects' rows is read from the row groups that hold them, :meth:`TableReader.read_rows`)
and the SDTM written a frame at a time (:class:`ParquetAppender`): fixed, so a file does not
depend on the frames' sizes."""


class ParquetAppender:
    """A Parquet table written frame after frame (a group of subjects' records at a time),
    in row groups of `ROW_GROUP_ROWS` rows whatever the frames' sizes: the same file as
    ``pd.DataFrame.to_parquet(index=False)`` of the frames concatenated, for a table of up
    to that many rows (one row group), and of the same rows and types beyond. It holds less
    than a row group besides the frame given."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._pending: pa.Table | None = None

    def append(self, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._pending is None:
            self._pending = table
        elif len(table):
            if not len(self._pending) and self._writer is None:  # types of the first records
                self._pending = table
            else:
                schema = self._pending.schema
                self._pending = pa.concat_tables([self._pending, table.cast(schema)])
        self.rows += len(table)
        while self._pending is not None and len(self._pending) >= ROW_GROUP_ROWS:
            self._write(self._pending.slice(0, ROW_GROUP_ROWS))
            self._pending = self._pending.slice(ROW_GROUP_ROWS)

    def _write(self, table: pa.Table) -> None:
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, table.schema, compression="snappy")
        self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)

    def close(self) -> None:
        """Write what is left (an empty table if no record came: its columns)."""
        if self._pending is not None and (len(self._pending) or self._writer is None):
            self._write(self._pending)
        if self._writer is not None:
            self._writer.close()


def _json_types(frames: Frames, columns: list[Column]) -> list[DataType]:
    """Each column's Dataset-JSON dataType from its Define data type: text is a string,
    except the ISO 8601 text of a --DTC, a date or datetime even when partial ("1928");
    one pass over the frames."""
    from transforms.datasetjson import kinds_data_type, text_kinds

    dtc = [n for n, _, _, _, _, dtype in columns if dtype == "text" and n.endswith("DTC")]
    shared: dict[str, frozenset[str] | None] = dict.fromkeys(dtc)
    for frame in frames() if dtc else ():
        for n in dtc:
            kinds, before = text_kinds(frame[n]), shared[n]
            shared[n] = kinds if before is None else before if kinds is None else before & kinds
    return [
        kinds_data_type(shared[n]) if n in shared else "string" if dtype == "text" else dtype  # type: ignore[misc]
        for n, _, _, _, _, dtype in columns
    ]


def write_outputs(
    data: pd.DataFrame | Frames,
    folder: Path,
    name: str,
    label: str,
    columns: list[Column],
    created: datetime,
) -> list[str]:
    """One dataset, a frame or frames given frame after frame (one held at a time), as
    verified XPT v5 and, beside it, Dataset-JSON v1.1 with the lengths actually written;
    columns are (name, label, Char|Num, length, format, data type)."""
    from transforms.datasetjson import JsonColumn, write_dataset_json
    from transforms.xpt import XptColumn, write_xport

    frames = (lambda: (data,)) if isinstance(data, pd.DataFrame) else data

    xpt = folder / f"{name.lower()}.xpt"
    result = write_xport(
        frames, xpt, dataset=name, label=label, created=created,
        columns=[XptColumn(n, lab, t, length, fmt) for n, lab, t, length, fmt, _ in columns],
    )  # fmt: skip
    json_columns = [
        JsonColumn(
            item_oid=f"IT.{name}.{n}",
            name=n,
            label=lab,
            data_type=data_type,
            length=result.lengths[n] if t == "Char" else None,
            # A numeric (ADaM) date is a SAS day count: ISO text in JSON, typed back.
            display_format=fmt if t == "Num" and dtype == "date" else None,
            target_data_type="integer" if t == "Num" and dtype == "date" else None,
        )
        for (n, lab, t, _, fmt, dtype), data_type in zip(
            columns, _json_types(frames, columns), strict=True
        )
    ]
    out = folder / f"{name.lower()}.json"
    write_dataset_json(
        frames, out, name=name, label=label, columns=json_columns, item_group_oid=f"IG.{name}",
        created=created,
    )  # fmt: skip
    return [xpt.name, out.name]


def spec_digests(study: StudySpec, pattern: str) -> dict[str, str]:
    """SHA-256 of the study's spec files matching `pattern` (``**/*.yaml``: all of them),
    by path from the specs folder: what a publication was made with."""
    return {
        str(p.relative_to(study.path.parent)): sha256_file(p)
        for p in sorted(study.path.glob(pattern))
    }

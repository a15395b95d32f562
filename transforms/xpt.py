"""SAS Transport (XPORT) version 5 writer: the file format FDA requires for SDTM and ADaM.

Layout (SAS technical note TS-140): 80-byte header records (library, member, descriptor),
one 140-byte NAMESTR per variable, the OBS header, then the observations packed back to back
and padded with blanks to a multiple of 80 bytes. Numbers are big-endian IBM 370 hexadecimal
floats; text is fixed-width, blank-padded ASCII.

`write_xport` checks everything before writing (every offending cell of every rule is
reported in one `XptError`), encodes the observations with numpy and writes them `CHUNK_ROWS`
rows at a time, reads the file back, compares it with the input, and only then moves it onto
the target path. The same input always gives the same bytes.

Read-back: a file of up to `VERIFY_ROWS` rows is read whole by pyreadstat (an independent
reader). A larger one is read back `CHUNK_ROWS` rows at a time and every cell decoded by numpy
(IBM words back to doubles exactly, text cells trimmed) and compared, as are its header
and padding bytes; pyreadstat then reads its header and a sample of its records (first,
evenly spaced and last rows, copied byte for byte from the file into a small XPT file), so
the independent reader still checks the layout. Reading every row with
pyreadstat costs three times the write itself. The tests compare our bytes with pyreadstat's
own writer's for the same table.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyreadstat

from transforms.errors import UserError
from transforms.files import replaced

MAX_NAME = 8
MAX_LABEL = 40
MAX_CHAR = 200
MAX_VARIABLES = 9999
SHOWN = 10
"""How many offending rows an error message quotes (all of them are counted)."""
VERIFY_ROWS = 20_000
"""Files with more rows are decoded whole by numpy and sampled by pyreadstat (see above)."""
CHUNK_ROWS = 16_384
"""Rows encoded into (and decoded out of) the record block at a time: the slice of the block
stays in the CPU cache while every variable's cells are copied in or out."""

RECORD = 80
NAMESTR_LENGTH = 140
SAS_VERSION = "9.4"
OS_NAME = "PYTHON"

_NAME_RE = re.compile(r"[A-Z][A-Z0-9_]*")
_FORMAT_RE = re.compile(
    r"(?P<name>\$|\$?[A-Z_](?:[A-Z0-9_]*[A-Z_])?)?(?P<width>\d+)?\.(?P<decimals>\d+)?"
)
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_NAMESTR = struct.Struct(">hhhh8s40s8shhh2s8shhi52s")
_MAX_EXACT_INT = 2**53
_NUMERIC_KINDS = ("integer", "floating", "mixed-integer-float", "decimal")
_IBM_MISSING = 0x2E << 56  # SAS missing ".": the byte "." followed by seven zero bytes
_SIGN = 1 << 63
_MANTISSA = (1 << 52) - 1
_IMPLICIT_ONE = 1 << 52
_IBM_RANGE = "magnitude outside the IBM float range [16**-65, 16**63) (about 5.4e-79 to 7.2e75)"


@dataclass(frozen=True)
class XptColumn:
    """One variable of the dataset, in output order."""

    name: str
    label: str
    type: Literal["Char", "Num"]
    length: int | None = None
    format: str | None = None


@dataclass(frozen=True)
class XptResult:
    """What was written: storage length per variable and the file's size and sha256."""

    path: Path
    rows: int
    lengths: dict[str, int]
    bytes: int
    sha256: str


@dataclass(frozen=True)
class XptIssue:
    """One broken rule: the variable (None: the dataset itself), the rule, all offending
    1-based rows, and the values of the first `SHOWN` of them as displayed."""

    variable: str | None
    rule: str
    rows: tuple[int, ...] = ()
    values: tuple[str, ...] = ()

    def render(self) -> str:
        where = f"variable {self.variable}" if self.variable else "dataset"
        text = f"{where}: {self.rule}"
        if not self.rows:
            return text
        quoted = ", ".join(
            f"row {row}: {value}"
            for row, value in zip(self.rows[: len(self.values)], self.values, strict=True)
        )
        more = len(self.rows) - len(self.values)
        tail = f", ... and {more} more" if more else ""
        return f"{text} -- {len(self.rows)} row(s): {quoted}{tail}"


class XptError(UserError, ValueError):
    """The dataset cannot be written as XPT v5; `issues` lists every broken rule."""

    def __init__(self, target: str, issues: Sequence[XptIssue]) -> None:
        self.target = target
        self.issues = tuple(issues)
        lines = [f"{target}: {len(self.issues)} problem(s), nothing written"]
        lines += [f"  - {issue.render()}" for issue in self.issues]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class _Prepared:
    """A checked column: its storage length and the values the file must give back
    (Char: trimmed text with nulls as ""; Num: float64 with NaN for missing)."""

    spec: XptColumn
    length: int
    values: pa.LargeStringArray | np.ndarray


Frames = Callable[[], Iterable[pd.DataFrame]]
"""A dataset's rows as frames in order (subject chunks, Parquet row groups), each call a new
pass over them from the first: the writer checks every frame before it writes (a Char
variable's length is its longest value in any frame), then encodes them in turn."""


def write_xport(
    data: pd.DataFrame | Frames,
    path: Path,
    *,
    dataset: str,
    label: str,
    columns: Sequence[XptColumn],
    created: datetime,
) -> XptResult:
    """Write `data` as the XPT v5 file `path` (named `<dataset lowercase>.xpt`): a frame, or
    frames given frame after frame (the same bytes as their concatenation, holding one
    frame at a time).

    `created` fills the created/modified stamps, so the same input gives the same bytes.
    Raises XptError, writing nothing, if a rule is broken or the read-back differs. Two
    passes over frames: every frame is checked (errors name rows of the whole dataset) and
    the Char lengths found; then each is encoded, written and its cells decoded back.
    """
    frames = _as_frames(data)
    path = Path(path)
    target = f"{path.name} (dataset {dataset})"
    checked = _check_frames(frames, path, dataset, label, columns)
    if checked.issues:
        raise XptError(target, checked.issues)
    layout = [_Prepared(spec, checked.lengths[spec.name], _NO_VALUES) for spec in columns]
    header = _header(dataset, label, created, layout)
    rows = checked.rows
    size = len(header) + rows * sum(column.length for column in layout)
    digest = hashlib.sha256()
    written = 0
    with replaced(path) as tmp:
        # Written a block at a time, never whole in memory. The sha256 (in a thread: it
        # releases the GIL) keeps up with the encoding, the fsync runs while the file is
        # read back; it is moved into place only once all three have finished.
        with tmp.open("xb") as fh, ThreadPoolExecutor(max_workers=1) as pool:

            def put(part: bytes | memoryview) -> None:
                nonlocal written
                fh.write(part)
                pool.submit(digest.update, part)
                written += len(part)

            put(header)
            back = _ReadBack(tmp, header, layout, rows)
            start = 0
            for frame in frames():
                prepared = checked.reuse(frame) or _prepared_frame(frame, layout, target, start)
                for block in _observation_blocks(prepared, len(frame)):
                    put(block)
                fh.flush()
                back.add(prepared, start, len(frame))
                start += len(frame)
            if start != rows:
                rule = f"frames gave {start} rows on writing, {rows} when checked"
                raise XptError(target, [XptIssue(None, rule)])
            put(b" " * (-size % RECORD))
            fh.flush()
            synced = pool.submit(os.fsync, fh.fileno())
            mismatches = back.issues(dataset, label)
            synced.result()
        if mismatches:
            raise XptError(target, mismatches)
    return XptResult(
        path=path,
        rows=rows,
        lengths={column.spec.name: column.length for column in layout},
        bytes=written,
        sha256=digest.hexdigest(),
    )


_NO_VALUES = np.empty(0)


def _as_frames(data: pd.DataFrame | Frames) -> Frames:
    return (lambda: (data,)) if isinstance(data, pd.DataFrame) else data


@dataclass
class _Checked:
    """What the checking pass learnt: rows, storage lengths, every broken rule, and the
    prepared columns of the only frame when there was one (not prepared twice)."""

    rows: int
    lengths: dict[str, int]
    issues: list[XptIssue]
    only: tuple[pd.DataFrame, list[_Prepared]] | None

    def reuse(self, frame: pd.DataFrame) -> list[_Prepared] | None:
        if self.only is None or self.only[0] is not frame:
            return None
        return [
            _Prepared(column.spec, self.lengths[column.spec.name], column.values)
            for column in self.only[1]
        ]


_RULE_ORDER = (
    "Char value must be text",
    "character value must be printable",
    "character value has leading",
    f"character value longer than {MAX_CHAR} bytes",
    "character value longer than the variable's",
    "Num value must be a number",
    "integer beyond 2**53",
    "infinite value",
    _IBM_RANGE,
)
"""The order `_prepare` checks a column's rules in: a whole frame's issues come in this
order, so the issues of several frames are put back into it."""


def _rule_rank(rule: str) -> int:
    return next((n for n, start in enumerate(_RULE_ORDER) if rule.startswith(start)), 0)


def _check_frames(
    frames: Frames, path: Path, dataset: str, label: str, columns: Sequence[XptColumn]
) -> _Checked:
    """Check every frame against every rule; the issues of a rule in several frames are
    one issue naming the rows of the whole dataset, in the order a single frame gives."""
    issues: list[XptIssue] = []
    found: dict[tuple[int, str], XptIssue] = {}
    lengths = {spec.name: spec.length or (8 if spec.type == "Num" else 1) for spec in columns}
    rows = filled = 0
    names: list[object] | None = None
    only: tuple[pd.DataFrame, list[_Prepared]] | None = None
    for number, frame in enumerate(frames()):
        if names is None:
            names = list(frame.columns)
            issues = _check_metadata(frame, path, dataset, label, columns)
        elif list(frame.columns) != names:
            raise ValueError(f"{path.name}: frame {number + 1} has columns other than frame 1's")
        only = None
        prepared: list[_Prepared] = []
        for position, spec in enumerate(columns):
            if spec.type not in ("Char", "Num") or spec.name not in frame.columns:
                continue
            if isinstance(frame[spec.name], pd.DataFrame):  # duplicated column, reported
                continue
            column, broken = _prepare(spec, frame[spec.name])
            for issue in broken:
                _add_issue(found, position, issue, rows)
            if column is not None:
                prepared.append(column)
                lengths[spec.name] = max(lengths[spec.name], column.length)
        if prepared and all(column.spec.type == "Char" for column in prepared):
            last = _last_filled(prepared)
            filled = rows + last if last else filled
        rows += len(frame)
        only = (frame, prepared) if number == 0 else None
    if names is None:
        raise ValueError(f"{path.name}: no frame given (an empty dataset is an empty frame)")
    ordered = sorted(found.items(), key=lambda item: (item[0][0], _rule_rank(item[0][1])))
    issues += [issue for _, issue in ordered]
    if not issues and all(spec.type == "Char" for spec in columns) and filled < rows:
        rule = "trailing rows are blank in every variable; XPT readers drop them as padding"
        blank = tuple(range(filled + 1, rows + 1))
        issues.append(XptIssue(None, rule, blank, ("all blank",) * min(SHOWN, len(blank))))
    return _Checked(rows, lengths, issues, None if issues else only)


def _add_issue(
    found: dict[tuple[int, str], XptIssue], position: int, issue: XptIssue, before: int
) -> None:
    """Add a frame's issue (rows counted from `before`) to those of the frames before."""
    rows = tuple(row + before for row in issue.rows)
    seen = found.get((position, issue.rule))
    if seen is not None:
        rows, values = seen.rows + rows, (seen.values + issue.values)[:SHOWN]
    else:
        values = issue.values
    found[(position, issue.rule)] = XptIssue(issue.variable, issue.rule, rows, values)


def _prepared_frame(
    frame: pd.DataFrame, layout: list[_Prepared], target: str, start: int
) -> list[_Prepared]:
    """A checked frame's columns prepared again for writing, at the lengths of the whole."""
    prepared = []
    for column in layout:
        again, broken = _prepare(column.spec, frame[column.spec.name])
        if again is None:  # the frames changed between the passes
            moved = [XptIssue(i.variable, i.rule, tuple(r + start for r in i.rows), i.values)
                     for i in broken]  # fmt: skip
            raise XptError(target, moved)
        prepared.append(_Prepared(column.spec, column.length, again.values))
    return prepared


# --- checks ---------------------------------------------------------------------------------


def _name_problem(kind: str, name: str) -> str | None:
    if len(name) > MAX_NAME or not _NAME_RE.fullmatch(name):
        return f"{kind} {name!r} must be 1-{MAX_NAME} characters matching ^[A-Z][A-Z0-9_]*$"
    return None


def _label_problem(kind: str, text: str) -> str | None:
    if not _printable(text):
        return f"{kind} {text!r} must be printable ASCII (0x20-0x7E)"
    if len(text) > MAX_LABEL:
        return f"{kind} {text!r} is {len(text)} bytes, more than {MAX_LABEL}"
    return None


def _printable(text: str) -> bool:
    return all(" " <= char <= "~" for char in text)


def _parse_format(fmt: str | None) -> tuple[str, int, int]:
    """SAS format -> (name, width, decimals) as NAMESTR stores them; None -> ("", 0, 0)."""
    if fmt is None:
        return "", 0, 0
    match = _FORMAT_RE.fullmatch(fmt)
    if match is None or not (match["name"] or match["width"]):
        raise ValueError(f"format {fmt!r} is not a SAS format such as DATE9., 8.2 or E8601DA.")
    return match["name"] or "", int(match["width"] or 0), int(match["decimals"] or 0)


def _format_problem(spec: XptColumn) -> str | None:
    try:
        name, width, decimals = _parse_format(spec.format)
    except ValueError as exc:
        return str(exc)
    if len(name) > MAX_NAME:
        return f"format name {name!r} is longer than {MAX_NAME} characters"
    if max(width, decimals) > 32767:
        return f"format {spec.format!r} has a width or decimals above 32767"
    if spec.format is not None and (spec.type == "Char") != name.startswith("$"):
        return f"format {spec.format!r} does not suit a {spec.type} variable"
    return None


def _length_problem(spec: XptColumn) -> str | None:
    if spec.type == "Num" and spec.length not in (None, 8):
        return f"Num length must be 8 (or None), got {spec.length}"
    if spec.type == "Char" and spec.length is not None and not 1 <= spec.length <= MAX_CHAR:
        return f"Char length must be 1-{MAX_CHAR}, got {spec.length}"
    return None


def _check_metadata(
    df: pd.DataFrame, path: Path, dataset: str, label: str, columns: Sequence[XptColumn]
) -> list[XptIssue]:
    """Dataset name, file name, labels, variable attributes and the frame's column set."""
    problems: list[tuple[str | None, str | None]] = [
        (None, _name_problem("dataset name", dataset)),
        (None, _label_problem("dataset label", label)),
    ]
    expected = f"{dataset.lower()}.xpt"
    if path.name != expected:
        problems.append((None, f"file name must be {expected!r}, got {path.name!r}"))
    if not 1 <= len(columns) <= MAX_VARIABLES:
        problems.append((None, f"needs 1-{MAX_VARIABLES} columns, got {len(columns)}"))
    names = [spec.name for spec in columns]
    for spec in columns:
        if spec.type not in ("Char", "Num"):
            problems.append((spec.name, f"type must be 'Char' or 'Num', got {spec.type!r}"))
            continue
        problems += [
            (spec.name, _name_problem("name", spec.name)),
            (spec.name, _label_problem("label", spec.label)),
            (spec.name, _length_problem(spec)),
            (spec.name, _format_problem(spec)),
        ]
    duplicated = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicated:
        problems.append((None, f"variables listed more than once: {', '.join(duplicated)}"))
    present = [str(name) for name in df.columns]
    twice = sorted(name for name, count in Counter(present).items() if count > 1)
    if twice:
        problems.append((None, f"frame has duplicate columns: {', '.join(twice)}"))
    missing = [name for name in names if name not in present]
    if missing:
        problems.append((None, f"frame lacks columns: {', '.join(missing)}"))
    extra = [name for name in present if name not in names]
    if extra:
        problems.append((None, f"frame has columns not in the spec: {', '.join(extra)}"))
    return [XptIssue(variable, rule) for variable, rule in problems if rule is not None]


def _show(value: object) -> str:
    """A value as quoted in messages (repr, numpy/Arrow scalars unwrapped, cut at 60)."""
    if isinstance(value, np.generic):
        value = value.item()
    elif isinstance(value, pa.Scalar):
        value = value.as_py()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _cells(variable: str, rule: str, series: pd.Series, rows: np.ndarray) -> XptIssue:
    """An issue for the 0-based positions `rows` of `series`, quoting the first few values."""
    shown = tuple(_show(series.iloc[int(row)]) for row in rows[:SHOWN])
    return XptIssue(variable, rule, tuple((np.asarray(rows) + 1).tolist()), shown)


def _prepare(spec: XptColumn, series: pd.Series) -> tuple[_Prepared | None, list[XptIssue]]:
    """Check one column against every value rule; prepared only if none is broken."""
    if spec.type == "Char":
        return _prepare_char(spec, series)
    return _prepare_num(spec, series)


def _offsets_and_bytes(values: pa.LargeStringArray) -> tuple[np.ndarray, np.ndarray]:
    """Zero-copy views of a large_string array: offsets rebased to 0, and its UTF-8 bytes."""
    _, offset_buffer, data_buffer = values.buffers()
    offsets = np.frombuffer(
        offset_buffer, dtype=np.int64, count=len(values) + 1, offset=values.offset * 8
    )
    data = np.empty(0, np.uint8) if data_buffer is None else np.frombuffer(data_buffer, np.uint8)
    data = data[offsets[0] : offsets[-1]]
    return (offsets - offsets[0] if offsets[0] else offsets), data


def _as_text(spec: XptColumn, series: pd.Series) -> tuple[pa.LargeStringArray, list[XptIssue]]:
    """Char values as Arrow text with nulls as "" and trailing blanks dropped; values that
    are not text are reported and blanked so the other rules still see every text value.
    A string column (Arrow-backed in pandas 3) is taken as is, copied only to fill nulls or
    to trim."""
    issues = []
    if isinstance(series.dtype, pd.StringDtype):
        values = pa.array(series, type=pa.large_string(), from_pandas=True)
    else:
        nulls = series.isna().to_numpy(dtype=bool, copy=True)
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)
        is_object = pd.api.types.is_object_dtype(series.dtype)
        if not is_object and not nulls.all():
            rule = f"Char value must be text, column has dtype {series.dtype}"
            issues.append(_cells(spec.name, rule, series, np.flatnonzero(~nulls)))
            nulls[:] = True
        elif is_object and pd.api.types.infer_dtype(series, skipna=True) not in ("string", "empty"):
            text = np.array([isinstance(value, str) for value in series.to_numpy()], dtype=bool)
            others = np.flatnonzero(~text & ~nulls)
            if others.size:
                issues.append(_cells(spec.name, "Char value must be text", series, others))
                series = series.where(text, None)
                nulls |= ~text
        if nulls.all():
            values = pa.repeat(pa.scalar("", pa.large_string()), len(series))
        else:
            values = pa.array(series, type=pa.large_string(), from_pandas=True)
    if isinstance(values, pa.ChunkedArray):
        values = values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()
    values = values.cast(pa.large_string())
    if values.null_count:
        values = pc.fill_null(values, "")
    offsets, data = _offsets_and_bytes(values)
    if data.size and ((data[offsets[1:] - 1] == 0x20) & (offsets[1:] > offsets[:-1])).any():
        values = pc.utf8_rtrim(values, characters=" ")
    return values, issues


def _prepare_char(spec: XptColumn, series: pd.Series) -> tuple[_Prepared | None, list[XptIssue]]:
    values, issues = _as_text(spec, series)
    offsets, data = _offsets_and_bytes(values)
    lengths = np.diff(offsets)
    if data.size and (data.min() < 0x20 or data.max() > 0x7E):
        bad_bytes = np.flatnonzero((data < 0x20) | (data > 0x7E))
        rows = np.unique(np.searchsorted(offsets, bad_bytes, side="right") - 1)
        rule = "character value must be printable ASCII (0x20-0x7E), no other characters"
        issues.append(_cells(spec.name, rule, series, rows))
    first = np.take(data, offsets[:-1], mode="clip") if data.size else np.zeros(0, np.uint8)
    leading = np.flatnonzero((first == 0x20) & (lengths > 0)) if data.size else first
    if leading.size:
        issues.append(_cells(spec.name, "character value has leading spaces", series, leading))
    too_long = np.flatnonzero(lengths > MAX_CHAR)
    if too_long.size:
        rule = f"character value longer than {MAX_CHAR} bytes"
        issues.append(_cells(spec.name, rule, series, too_long))
    if spec.length is not None:
        over = np.flatnonzero((lengths > spec.length) & (lengths <= MAX_CHAR))
        if over.size:
            rule = f"character value longer than the variable's fixed length {spec.length}"
            issues.append(_cells(spec.name, rule, series, over))
    if issues:
        return None, issues
    length = spec.length or max(1, int(lengths.max(initial=0)))
    return _Prepared(spec, length, values), []


def _as_numbers(spec: XptColumn, series: pd.Series) -> tuple[np.ndarray, list[XptIssue]]:
    """Num values as float64 with NaN for missing; values that are not numbers are reported
    and set missing so the other rules still see every number."""
    dtype = series.dtype
    nulls = series.isna().to_numpy(dtype=bool)
    if nulls.all():
        return np.full(len(series), np.nan), []
    if pd.api.types.is_object_dtype(dtype):
        issues = []
        if pd.api.types.infer_dtype(series, skipna=True) not in _NUMERIC_KINDS:
            numbers = np.array([_is_number(value) for value in series.to_numpy()], dtype=bool)
            others = np.flatnonzero(~numbers & ~nulls)
            if others.size:
                rule = "Num value must be a number"
                issues.append(_cells(spec.name, rule, series, others))
                series = series.where(numbers, None)
        values = pd.to_numeric(series).to_numpy(dtype=np.float64, na_value=np.nan)
    elif pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        rule = f"Num value must be a number, column has dtype {dtype}"
        if pd.api.types.is_datetime64_any_dtype(dtype):
            rule += " (convert dates to SAS day counts from 1960-01-01 first)"
        return np.full(len(series), np.nan), [
            _cells(spec.name, rule, series, np.flatnonzero(~nulls))
        ]
    else:
        issues = []
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    inexact = [
        row
        for row in np.flatnonzero(np.abs(values) >= _MAX_EXACT_INT)
        if isinstance(source := series.iloc[row], int | np.integer)
        and (np.isinf(values[row]) or int(values[row]) != int(source))
    ]
    if inexact:
        rule = "integer beyond 2**53 changes when stored as a SAS (double) number"
        issues.append(_cells(spec.name, rule, series, np.array(inexact)))
    return values, issues


def _is_number(value: object) -> bool:
    """A real number (bool excluded): what a Num variable may hold."""
    numeric = int | float | Decimal | np.integer | np.floating
    return isinstance(value, numeric) and not isinstance(value, bool | np.bool_)


def _prepare_num(spec: XptColumn, series: pd.Series) -> tuple[_Prepared | None, list[XptIssue]]:
    values, issues = _as_numbers(spec, series)
    infinite = np.flatnonzero(np.isinf(values))
    if infinite.size:
        issues.append(_cells(spec.name, "infinite value", series, infinite))
    outside = np.flatnonzero(np.isfinite(values) & ~ibm_representable(values))
    if outside.size:
        issues.append(_cells(spec.name, _IBM_RANGE, series, outside))
    return (None, issues) if issues else (_Prepared(spec, 8, values), [])


def _last_filled(prepared: list[_Prepared]) -> int:
    """The 1-based number of the last row with a value in some variable (0: none). Readers
    take blank rows at the end of an all-Char dataset for record padding."""
    filled = np.zeros(len(prepared[0].values), dtype=bool)
    for column in prepared:
        filled |= np.diff(_offsets_and_bytes(column.values)[0]) > 0
    return int(np.flatnonzero(filled)[-1]) + 1 if filled.any() else 0


# --- encoding -------------------------------------------------------------------------------


def _unbiased_exponent(values: np.ndarray) -> np.ndarray:
    """Binary exponent k of each float64 (value = 1.f * 2**k for normal numbers)."""
    return ((values.view(np.uint64) >> 52) & 0x7FF).astype(np.int64) - 1023


def ibm_representable(values: np.ndarray) -> np.ndarray:
    """True where a float64 can be written: NaN (missing), zero, or a finite magnitude in
    the IBM range."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    exponent = (_unbiased_exponent(values) >> 2) + 65
    in_range = np.isfinite(values) & (exponent >= 0) & (exponent <= 127)
    return np.isnan(values) | (values == 0) | in_range


def ieee_to_ibm(values: np.ndarray) -> np.ndarray:
    """float64 -> IBM 370 double-precision words (big-endian uint64), NaN -> SAS missing.

    With value = 1.f * 2**k, the IBM word is sign | (k // 4 + 65) << 56 | (1.f << k % 4):
    the 53-bit significand moves 0-3 bits left into the 56-bit fraction, so the conversion
    is lossless. Raises ValueError for infinities and magnitudes outside the IBM range.
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    if not ibm_representable(values).all():
        raise ValueError(f"infinite value or {_IBM_RANGE}")
    bits = values.view(np.uint64)
    unbiased = _unbiased_exponent(values)
    exponent = ((unbiased >> 2) + 65).astype(np.uint64)
    fraction = ((bits & _MANTISSA) | _IMPLICIT_ONE) << (unbiased & 3).astype(np.uint64)
    words = (bits & _SIGN) | (exponent << 56) | fraction
    words[values == 0] = 0
    words[np.isnan(values)] = _IBM_MISSING
    return words.astype(">u8")


def _padded(text: str, width: int) -> bytes:
    return text.ljust(width).encode("ascii")


def _stamp(moment: datetime) -> str:
    """SAS header date-time, ddMMMyy:hh:mm:ss (English month names, locale-free)."""
    month = _MONTHS[moment.month - 1]
    return f"{moment.day:02d}{month}{moment.year % 100:02d}:{moment:%H:%M:%S}"


def _header_record(name: str, numbers: str = "0" * 30) -> bytes:
    return f"HEADER RECORD*******{name:<8}HEADER RECORD!!!!!!!{numbers}  ".encode("ascii")


def _header(dataset: str, label: str, created: datetime, prepared: list[_Prepared]) -> bytes:
    """Library, member and descriptor headers, NAMESTR records and the OBS header."""
    stamp = _stamp(created)
    origin = f"{SAS_VERSION:<8}{OS_NAME:<8}{'':<24}{stamp}"
    records = [
        _header_record("LIBRARY"),
        f"{'SAS':<8}{'SAS':<8}{'SASLIB':<8}{origin}".encode("ascii"),
        f"{stamp}{'':<64}".encode("ascii"),
        _header_record("MEMBER", f"{160:020d}{NAMESTR_LENGTH:010d}"),
        _header_record("DSCRPTR"),
        f"{'SAS':<8}{dataset:<8}{'SASDATA':<8}{origin}".encode("ascii"),
        f"{stamp}{'':<16}{label:<40}{'':<8}".encode("ascii"),
        _header_record("NAMESTR", f"000000{len(prepared):04d}{0:020d}"),
    ]
    namestrs = b"".join(
        _namestr(number, column, position) for number, column, position in _layout(prepared)
    )
    namestrs += b" " * (-len(namestrs) % RECORD)
    return b"".join(records) + namestrs + _header_record("OBS")


def _layout(prepared: list[_Prepared]) -> list[tuple[int, _Prepared, int]]:
    """(1-based variable number, column, byte position in the observation)."""
    positions = np.cumsum([0] + [column.length for column in prepared])
    return [
        (number, column, int(positions[number - 1])) for number, column in enumerate(prepared, 1)
    ]


def _namestr(number: int, column: _Prepared, position: int) -> bytes:
    spec = column.spec
    name, width, decimals = _parse_format(spec.format)
    return _NAMESTR.pack(
        1 if spec.type == "Num" else 2,
        0,
        column.length,
        number,
        _padded(spec.name, 8),
        _padded(spec.label, 40),
        _padded(name, 8),
        width,
        decimals,
        0,
        b"\0\0",
        _padded("", 8),
        0,
        0,
        position,
        b"\0" * 52,
    )


def _record_dtype(prepared: list[_Prepared]) -> np.dtype:
    """One observation as a numpy record: each variable an opaque V<length> field at its byte
    position, so a variable's cells in the block are one strided 1-D view."""
    layout = _layout(prepared)
    return np.dtype(
        {
            "names": [f"v{number}" for number, _, _ in layout],
            "formats": [f"V{column.length}" for _, column, _ in layout],
            "offsets": [position for _, _, position in layout],
            "itemsize": sum(column.length for column in prepared),
        }
    )


def _fields(block: np.ndarray, prepared: list[_Prepared]) -> list[np.ndarray]:
    """Per variable, the view of its cells in `block` (a C-contiguous (rows, row length) byte
    matrix): one V<length> item per row."""
    records = block.reshape(-1).view(_record_dtype(prepared))
    return [records[f"v{number}"] for number in range(1, len(prepared) + 1)]


def _encoded(column: _Prepared, start: int, stop: int) -> np.ndarray:
    """The cells of rows start:stop of `column` back to back, one V<length> item per row: IBM
    words, or ASCII text padded with blanks (values are checked printable ASCII by now)."""
    if column.spec.type == "Num":
        return ieee_to_ibm(column.values[start:stop]).view("V8")
    values = _text_values(column).slice(start, stop - start)
    data = _offsets_and_bytes(values)[1]
    if data.size != (stop - start) * column.length:  # some value is shorter than the cell
        padded = pc.ascii_rpad(values, width=column.length, padding=" ")
        data = _offsets_and_bytes(padded)[1]
    return data.view(f"V{column.length}")


def _observation_blocks(prepared: list[_Prepared], rows: int) -> Iterator[memoryview]:
    """The observations `CHUNK_ROWS` rows at a time, each block a (rows, row length) byte
    matrix's bytes (the caller pads the file with blanks to a whole number of 80-byte
    records)."""
    width = sum(column.length for column in prepared)
    for start in range(0, rows, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, rows)
        block = np.empty((stop - start, width), dtype=np.uint8)
        for field, column in zip(_fields(block, prepared), prepared, strict=True):
            field[:] = _encoded(column, start, stop)
        yield block.reshape(-1).data


# --- read-back ------------------------------------------------------------------------------


def _readstat_format(fmt: str | None) -> str | None:
    """The format string pyreadstat reports for a NAMESTR written from `fmt`."""
    name, width, decimals = _parse_format(fmt)
    if decimals:
        return f"{name}{width}.{decimals}"
    return f"{name}{width}" if width else name or None


class _ReadBack:
    """The read-back of a file being written, frame by frame. A file of up to
    `VERIFY_ROWS` rows is read whole by pyreadstat at the end (its frames' values are kept:
    a small file). A larger one: each frame's records are decoded by numpy as soon as they
    are written, the header and padding bytes checked at the end, and pyreadstat reads a
    copy of the sampled records (their input values kept as the frames pass)."""

    def __init__(self, tmp: Path, header: bytes, layout: list[_Prepared], rows: int) -> None:
        self.tmp, self.header, self.layout, self.rows = tmp, header, layout, rows
        self.width = sum(column.length for column in layout)
        self.small = rows <= VERIFY_ROWS
        self.sample = _NONE if self.small else _sample_rows(rows)
        self.kept: list[list[pa.LargeStringArray | np.ndarray]] = [[] for _ in layout]
        self.records: list[np.ndarray] = []
        self.found: list[tuple[list[np.ndarray], list[str]]] = [([], []) for _ in layout]

    def add(self, prepared: list[_Prepared], start: int, count: int) -> None:
        """Rows start:start + count, `prepared`, were written (and flushed)."""
        if self.small:
            for kept, column in zip(self.kept, prepared, strict=True):
                kept.append(column.values)
            return
        sampled = self.sample[(self.sample >= start) & (self.sample < start + count)] - start
        for kept, column in zip(self.kept, prepared, strict=True):
            if isinstance(column.values, np.ndarray):
                kept.append(column.values[sampled])
            else:
                kept.append(column.values.take(pa.array(sampled)))
        with self.tmp.open("rb") as fh:
            fh.seek(len(self.header) + start * self.width)
            for first in range(0, count, CHUNK_ROWS):
                size = min(CHUNK_ROWS, count - first)
                block = np.fromfile(fh, dtype=np.uint8, count=size * self.width)
                block = block.reshape(-1, self.width)
                _collect_differing(prepared, block, first, start, self.found)
                part = sampled[(sampled >= first) & (sampled < first + size)] - first
                self.records.append(block[part])

    def _values(self) -> list[_Prepared]:
        """The kept values (every row of a small file, the sampled rows of a large one)."""
        return [
            _Prepared(column.spec, column.length, _joined(column, parts))
            for column, parts in zip(self.layout, self.kept, strict=True)
        ]

    def issues(self, dataset: str, label: str) -> list[XptIssue]:
        """Every difference between the file written and its input."""
        if self.small:
            return _verify(self.tmp, dataset, label, self._values(), self.rows)
        size = len(self.header) + self.rows * self.width
        expected_size = size + (-size % RECORD)
        actual_size = self.tmp.stat().st_size
        if actual_size != expected_size:
            return [XptIssue(None, f"file is {actual_size} bytes, expected {expected_size}")]
        issues = []
        with self.tmp.open("rb") as fh:
            if fh.read(len(self.header)) != self.header:
                issues.append(XptIssue(None, "header records read back differ from those written"))
            fh.seek(size)
            if (np.frombuffer(fh.read(), dtype=np.uint8) != ord(" ")).any():
                issues.append(XptIssue(None, "padding after the last observation is not blank"))
        issues += _decode_issues(self.layout, self.found)
        records = np.concatenate(self.records).reshape(-1)
        copy = self.tmp.with_name(f"{self.tmp.name}.sample")
        try:
            with copy.open("xb") as fh:
                fh.write(self.header)
                fh.write(records.data)
                fh.write(b" " * (-records.size % RECORD))
            issues += _verify(copy, dataset, label, self._values(), self.sample.size, self.sample)
        finally:
            copy.unlink(missing_ok=True)
        return issues


def _joined(
    column: _Prepared, parts: list[pa.LargeStringArray | np.ndarray]
) -> pa.LargeStringArray | np.ndarray:
    """A column's values from its frames' parts, end to end."""
    if len(parts) == 1:
        return parts[0]
    if column.spec.type == "Num":
        return np.concatenate(parts) if parts else np.empty(0)
    if not parts:
        return pa.array([], type=pa.large_string())
    return cast(pa.LargeStringArray, pa.concat_arrays(parts))


def _sample_rows(rows: int) -> np.ndarray:
    """Row positions pyreadstat reads back from a large file: the first and last 5% of
    `VERIFY_ROWS` and evenly spaced ones in between, `VERIFY_ROWS` in all (the last row stays
    last, so a blank final record is never taken for padding)."""
    edge = min(VERIFY_ROWS // 20, rows)
    middle = np.linspace(edge, rows - edge - 1, max(0, VERIFY_ROWS - 2 * edge)).astype(np.int64)
    ends = np.r_[np.arange(edge), np.arange(rows - edge, rows)]
    return np.unique(np.r_[ends, middle[middle >= edge]])


def ibm_to_ieee(words: np.ndarray) -> np.ndarray:
    """IBM 370 double words (uint64) -> float64, SAS missing ('.' and '.A'-'.Z', '._') -> NaN.

    Exact for every word `ieee_to_ibm` writes (at most 53 significant bits): the fraction is
    converted to float64 and scaled by a power of two, 16**(exponent - 64) / 2**56.
    """
    words = np.asarray(words, dtype=np.uint64)
    # 2**(4 * (exponent - 64) - 56) built from its bits: always a normal float64 (2**-312 to
    # 2**196), so the product below is exact whenever the fraction converts exactly.
    scale = ((((words >> 56) & 0x7F) << 2) + (1023 - 256 - 56)) << 52
    fraction = (words & ((1 << 56) - 1)).astype(np.float64)
    values = fraction * scale.view(np.float64)
    bits = values.view(np.uint64)
    bits |= words & _SIGN
    missing = (fraction == 0) & (words >> 56 != 0) & (words >> 56 != 0x80)
    values[missing] = np.nan
    return values


def _collect_differing(
    prepared: list[_Prepared],
    block: np.ndarray,
    first: int,
    start: int,
    found: list[tuple[list[np.ndarray], list[str]]],
) -> None:
    """Decode every cell of `block` (rows first:first + len(block) of the frame `prepared`,
    whose first row is row `start` of the file) and add to `found`, per variable, the file
    rows whose decoded value differs from its input value (and the first values shown)."""
    for field, column, (rows, shown) in zip(_fields(block, prepared), prepared, found, strict=True):
        differ = _differing(column, np.ascontiguousarray(field), first)
        if differ.size:
            rows.append(differ + first + start)
            shown += [
                _show(column.values[int(row) + first]) for row in differ[: SHOWN - len(shown)]
            ]


def _decode_issues(
    layout: list[_Prepared], found: list[tuple[list[np.ndarray], list[str]]]
) -> list[XptIssue]:
    issues = []
    for column, (parts, shown) in zip(layout, found, strict=True):
        if parts:
            rows = np.concatenate(parts)
            rule = "decoded value differs from the value written"
            issues.append(
                XptIssue(column.spec.name, rule, tuple((rows + 1).tolist()), tuple(shown))
            )
    return issues


def _differing(column: _Prepared, cells: np.ndarray, start: int) -> np.ndarray:
    """Positions in `cells` (rows start:start + len(cells) of `column`, contiguous V<length>
    items as read back) whose decoded value differs from the input: IBM words back to
    doubles compared exactly (NaN: missing), text cells with trailing blanks trimmed compared
    byte for byte."""
    count = len(cells)
    if column.spec.type == "Num":
        want = column.values[start : start + count]
        words = cells.view(">u8").astype(np.uint64)
        got = ibm_to_ieee(words)
        # a fraction with more than 53 significant bits rounds in float64: never written by
        # ieee_to_ibm, so such a word is a difference even if it rounds to the input value
        fraction = words & ((1 << 56) - 1)
        inexact = fraction.astype(np.float64).astype(np.uint64) != fraction
        return np.flatnonzero(inexact | ~((want == got) | (np.isnan(want) & np.isnan(got))))
    raw = cells.view(np.uint8).reshape(count, column.length)
    want = _text_values(column).slice(start, count)
    data = _offsets_and_bytes(want)[1]
    if data.size == raw.size:  # every value fills its cell (no trailing blank): cell == value
        differ = raw != data.reshape(raw.shape)
        return np.flatnonzero(differ.any(axis=1)) if differ.any() else _NONE
    unprintable: np.ndarray = np.zeros(count, dtype=bool)
    if raw.size and (raw.min() < 0x20 or raw.max() > 0x7E):  # cannot equal any input value
        unprintable = np.any((raw < 0x20) | (raw > 0x7E), axis=1)
        raw[unprintable] = ord(" ")  # so the rest is valid ASCII text for Arrow
    offsets = np.arange(0, (count + 1) * column.length, column.length, dtype=np.int64)
    text = pa.Array.from_buffers(
        pa.large_string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(raw)]
    )
    same = pc.equal(pc.ascii_rtrim(text, characters=" "), want)
    if same.true_count == count and not unprintable.any():
        return _NONE
    return np.flatnonzero(~same.to_numpy(zero_copy_only=False) | unprintable)


_NONE = np.empty(0, dtype=np.int64)


def _text_values(column: _Prepared) -> pa.LargeStringArray:
    return cast(pa.LargeStringArray, column.values)


def _verify(
    tmp: Path,
    dataset: str,
    label: str,
    prepared: list[_Prepared],
    rows: int,
    sample: np.ndarray | None = None,
) -> list[XptIssue]:
    """Read the written file with pyreadstat and list every difference from the input
    (`sample`: the file holds only these rows of the input, in order, and `prepared` their
    values)."""
    try:
        back, meta = pyreadstat.read_xport(
            str(tmp), disable_datetime_conversion=True, output_format="dict"
        )
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, UnicodeDecodeError) as exc:
        return [XptIssue(None, f"read-back by pyreadstat failed: {exc}")]
    problems: list[tuple[str | None, str, object, object]] = [
        (None, "dataset name", meta.table_name, dataset),
        (None, "dataset label", meta.file_label or "", label),
        (None, "row count", len(next(iter(back.values()), [])), rows),
        (None, "variables", list(meta.column_names), [c.spec.name for c in prepared]),
    ]
    issues = []
    if list(meta.column_names) == [column.spec.name for column in prepared]:
        labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
        for column in prepared:
            name = column.spec.name
            kind = "double" if column.spec.type == "Num" else "string"
            problems += [
                (name, "label", labels[name] or "", column.spec.label),
                (name, "type", meta.readstat_variable_types[name], kind),
                (name, "length", meta.variable_storage_width[name], column.length),
                (
                    name,
                    "format",
                    meta.original_variable_types[name],
                    _readstat_format(column.spec.format),
                ),
            ]
            if len(back[name]) == rows:
                issues += _compare_values(column, back[name], sample)
    mismatched = [
        XptIssue(variable, f"read-back {what} is {got!r}, expected {want!r}")
        for variable, what, got, want in problems
        if got != want
    ]
    return mismatched + issues


def _texts(values: list[object]) -> pa.LargeStringArray:
    """pyreadstat's text values as Arrow text, missing as "". A list of strings without NUL
    characters goes through one joined string (much faster than converting each string)."""
    try:
        joined = pa.array(["\0".join(values)], type=pa.large_string())  # type: ignore[arg-type]
    except TypeError:  # not all strings
        joined = None
    if joined is not None:
        parts = pc.split_pattern(joined, "\0").flatten()
        if len(parts) == len(values):  # no value held a NUL itself
            return parts
    return pc.fill_null(pa.array(values, type=pa.large_string(), from_pandas=True), "")


def _compare_values(
    column: _Prepared, back: list[object], sample: np.ndarray | None = None
) -> list[XptIssue]:
    """Rows whose read-back value differs: text after trailing-blank trim, numbers exactly
    (`sample`: the input rows that were read back, whose values `column` holds)."""
    want: pa.LargeStringArray | np.ndarray
    got: pa.LargeStringArray | np.ndarray
    if column.spec.type == "Num":
        want = np.asarray(column.values, dtype=np.float64)
        got = np.asarray(back, dtype=np.float64)
        same = (want == got) | (np.isnan(want) & np.isnan(got))
    else:
        want = column.values
        got = _texts(back)
        same = pc.equal(want, got).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(~same)
    if not rows.size:
        return []
    shown = tuple(f"{_show(want[row])} read back as {_show(got[row])}" for row in rows[:SHOWN])
    numbers = rows if sample is None else sample[rows]
    rule = "read-back value differs from the value written"
    return [XptIssue(column.spec.name, rule, tuple((numbers + 1).tolist()), shown)]

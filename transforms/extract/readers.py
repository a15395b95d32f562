"""Read one raw eCRF form file (CSV, CDISC ODM 1.3.2 XML, SAS7BDAT or SAS XPT) as text.

Every format gives the same frame: a first column ``__ROW`` (int64, where the record sits
in the source file), then the file's columns in file order, names upper-cased, every value
of pandas ``string`` dtype with its raw spelling kept (no stripping, no case change) and
empty values as ``<NA>``. ``__ROW`` is:

- CSV: the line on which the record starts, the header being line 1, so the first data row
  is 2 (a quoted value holding a line break moves the following records down a line).
  Blank lines (and records whose every field is empty) are skipped but still counted.
- ODM: the 1-based position of the ItemGroupData in the document.
- SAS7BDAT / XPT: the 1-based observation number.

SAS numbers become their shortest exact text (2.0 -> "2", 0.1 -> "0.1"); numbers with a SAS
date, datetime or time format become ISO 8601 text ("2018-05-06", "2018-05-06T10:10:10",
"10:10:10"); special missing values (.A-.Z, ._) become <NA> like the plain missing value.

A file that breaks a rule raises :class:`RawFileError` naming the file, the line or record
and column where known, and the rule. Only regular files are read (a FIFO or device would
block or never end: RAW-FILE), and a file larger than ``CDISC_MAX_FORM_BYTES`` (default
1 GiB; reading a file whole takes a few times its size in memory) is refused unread
(RAW-SIZE). :func:`read_form_frames` reads a CSV file a block at a time instead (extract),
refusing it only above a limit set by ``CDISC_MAX_FORM_BYTES`` (none by default).
A CSV field (a header name too) longer than :data:`MAX_FIELD_CHARS` is refused
(RAW-FIELD-SIZE): such a "form" is an HTML error page or another file, not an eCRF form.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Final, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyreadstat

from transforms.extract.frames import (
    ROW,
    TEXT,
    RawFileError,
    column_names,
    make_frame,
    max_form_bytes,
    streamed_form_bytes,
)
from transforms.extract.odm import read_odm_form
from transforms.extract.regular import STREAMED_FORM_FILE, open_regular_file, read_regular

__all__ = [
    "FORM_SUFFIXES",
    "ROW",
    "TEXT",
    "RawFileError",
    "max_form_bytes",
    "read_form",
    "read_form_frames",
]

log = logging.getLogger("cdisc.extract")

FORM_SUFFIXES = (".csv", ".xml", ".sas7bdat", ".xpt")
"""File suffixes :func:`read_form` understands (compared case-insensitively)."""

_BOM = b"\xef\xbb\xbf"
NO_LAST_BREAK = "%s: no line break after the last record; was the file cut short?"

MAX_FIELD_CHARS = 131_072
"""Longest CSV field read (characters; Python's csv module default): a longer one is no
eCRF value (an XPT text holds 200 bytes) but a web page or a file of another kind."""


def read_form(path: Path, study_oid: str | None = None) -> pd.DataFrame:
    """Read one raw form file into text columns, dispatching on its suffix. Only a regular
    file is read (a FIFO or device is refused at once) and only up to the size limit; an
    ODM file must hold the clinical data of `study_oid` (if given)."""
    limit = max_form_bytes()
    with open_regular_file(path, limit):
        pass  # refused here if not a regular file or over the limit, before any reader
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, read_regular(path, limit))
    if suffix == ".xml":
        return next(iter(read_odm_form(path, limit, study_oid).frames.values()))
    if suffix in (".sas7bdat", ".xpt"):
        return _read_sas(path)
    raise RawFileError(
        path, f"unsupported file type {path.suffix!r}; expected one of {FORM_SUFFIXES}", "RAW-TYPE"
    )


# --- CSV -------------------------------------------------------------------------------


def read_form_frames(path: Path, rows: int, study_oid: str | None = None) -> Iterator[pd.DataFrame]:
    """The records of one raw form file as frames of at most `rows` records, in file order
    (at least one frame, empty if the file holds no record), each indexed by its records'
    positions in the form: the frames concatenated are :func:`read_form` of the file.

    A CSV file is parsed a block at a time, never held whole (:func:`_csv_frames`); the
    other formats are read whole, as one frame."""
    if path.suffix.lower() != ".csv":
        yield read_form(path, study_oid)
        return
    with open_regular_file(path, streamed_form_bytes(), STREAMED_FORM_FILE):
        pass  # refused at once if not a regular file or over a limit set
    yield from _csv_frames(path, rows)


class _Unsure(Exception):
    """The block-wise CSV reader met what only a reading of the whole file can name."""


CSV_BLOCK_BYTES = 16 << 20
"""Bytes of a CSV file parsed at a time: far more than any record (a field is at most
MAX_FIELD_CHARS), so a record never straddles more than two blocks."""


def _parse_options() -> pacsv.ParseOptions:
    """How a form CSV is parsed: comma-delimited, double-quoted, line breaks in values."""
    return pacsv.ParseOptions(
        delimiter=",",
        quote_char='"',
        double_quote=True,
        escape_char=False,
        newlines_in_values=True,
        ignore_empty_lines=False,
    )


def _convert_options(header: list[str]) -> pacsv.ConvertOptions:
    """Every column text, an empty value (quoted or not) missing."""
    return pacsv.ConvertOptions(
        column_types=dict.fromkeys(header, pa.string()),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        null_values=[""],
    )


class _Scanned(io.RawIOBase):
    """A file read through, its bytes checked on the way (the whole-file reader's checks of
    the bytes themselves): valid UTF-8, the number of quote characters, the last byte."""

    def __init__(self, handle: io.RawIOBase) -> None:
        super().__init__()
        self.handle, self.quotes, self.last, self.utf8 = handle, 0, b"", True
        self._decoder = codecs.getincrementaldecoder("utf-8")()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.handle.read(len(buffer)) or b""
        buffer[: len(data)] = data
        if data:
            self.quotes += data.count(b'"')
            self.last = data[-1:]
            self._check(data, final=False)
        return len(data)

    def _check(self, data: bytes, final: bool) -> None:
        if self.utf8:
            try:
                self._decoder.decode(data, final)
            except UnicodeDecodeError:
                self.utf8 = False

    def finish(self) -> bool:
        """Whether the bytes read pass: all UTF-8, an even number of quote characters."""
        self._check(b"", final=True)
        return self.utf8 and not self.quotes % 2


def _csv_header(path: Path, limit: int | None) -> list[str]:
    """The header line's names (the csv module's reading, as the whole-file reader's)."""
    with open_regular_file(path, limit, STREAMED_FORM_FILE) as handle:
        text = io.TextIOWrapper(io.BufferedReader(handle), encoding="utf-8-sig", newline="")
        return next(csv.reader(text), [])


def _csv_frames(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    """A CSV form a block at a time (:func:`read_form_frames`). A file the block-wise reading
    finds fault with, or cannot vouch for, is read whole (:func:`_read_csv`) for the error
    that reading names (the first in the file, as ever); should that reading find none
    where the block-wise one stopped, the block-wise fault is the error (RAW-CSV)."""
    limit = streamed_form_bytes()
    try:
        header = _csv_header(path, limit)
        if not header or (len(header) == 1 and any(d in header[0] for d in ";\t|")):
            raise _Unsure("no header, or one column")
        names = column_names(path, header, line=1)
        with open_regular_file(path, limit, STREAMED_FORM_FILE) as handle:
            scanned = _Scanned(handle)
            yield from _csv_blocks(path, scanned, header, names, rows)
            if not scanned.finish():
                raise _Unsure("not UTF-8, or an odd number of quotes")
            if scanned.last not in (b"", b"\n"):
                log.warning(NO_LAST_BREAK, path)
    except _Unsure:  # read whole (within the limit of a whole reading) to name the error
        _read_csv(path, read_regular(path, max_form_bytes()))
    except (RawFileError, pa.ArrowInvalid, UnicodeDecodeError, csv.Error) as exc:
        _read_csv(path, read_regular(path, max_form_bytes()))
        raise RawFileError(path, str(exc), "RAW-CSV") from exc


def _csv_blocks(
    path: Path, source: _Scanned, header: list[str], names: list[str], rows: int
) -> Iterator[pd.DataFrame]:
    """The records of a CSV file read through `source`, as frames of at most `rows`."""
    reader = pacsv.open_csv(
        source,
        read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
        parse_options=_parse_options(),
        convert_options=_convert_options(header),
    )
    if reader.schema.names != header:
        raise _Unsure("the header parsed otherwise")
    line = 2 + sum(name.count("\n") for name in header)  # where the next record starts
    at = 0  # the next record's position in the form
    pending: list[pa.RecordBatch] = []
    held, emitted, batches = 0, False, iter(reader)
    while True:
        batch = next(batches, None)
        if batch is not None:
            pending.append(batch)
            held += batch.num_rows
        if not source.utf8:
            raise _Unsure("not UTF-8")
        while held >= rows or (batch is None and (held or not emitted)):
            table = pa.Table.from_batches(pending, schema=reader.schema)
            rest = table.slice(rows)
            pending, held = rest.to_batches(), rest.num_rows
            frame, line = _csv_frame(table.slice(0, rows), names, header, line)
            frame.index = pd.RangeIndex(at, at + len(frame))
            at += len(frame)
            _refuse_long_values(path, frame, names)
            emitted = True
            yield frame
        if batch is None:
            return


def _read_csv(path: Path, data: bytes) -> pd.DataFrame:
    """Comma-delimited, double-quoted, UTF-8 (BOM allowed) CSV with a header line."""
    body = data[len(_BOM) :] if data.startswith(_BOM) else data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RawFileError(
            path,
            f"byte 0x{body[exc.start]:02X} is not UTF-8 (the file must be UTF-8 encoded)",
            "RAW-ENCODING",
            line=body.count(b"\n", 0, exc.start) + 1,
            column=_column_at(body, exc.start),
        ) from exc
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error as exc:  # a field over the csv module's limit (MAX_FIELD_CHARS)
        raise _long_field(path, text) or RawFileError(
            path, f"the header line cannot be read ({exc})", "RAW-HEADER", line=1
        ) from exc
    if not header:
        raise RawFileError(path, "empty file: no header line", "RAW-EMPTY", line=1)
    if len(header) == 1:
        for delimiter in (";", "\t", "|"):
            if delimiter in header[0]:
                raise RawFileError(
                    path,
                    f"the header is one column holding {delimiter!r}: the file looks "
                    f"{delimiter!r}-delimited, but forms must be comma-delimited",
                    "RAW-DELIMITER",
                    line=1,
                )
    names = column_names(path, header, line=1)
    try:
        table = pacsv.read_csv(
            pa.BufferReader(body),
            parse_options=_parse_options(),
            convert_options=_convert_options(header),
        )
    except pa.ArrowInvalid as exc:
        raise _locate_csv_error(path, text, header) or RawFileError(
            path, str(exc), "RAW-CSV"
        ) from exc
    # An odd number of quote characters means a quoted value was never closed (a file cut
    # inside a value) or a quote is misplaced; pyarrow accepts both silently.
    if body.count(b'"') % 2 and (error := _locate_csv_error(path, text, header)):
        raise error
    if table.column_names != header:
        raise RawFileError(path, "the header could not be read; check its quoting", "RAW-HEADER")
    if body and not body.endswith(b"\n"):
        log.warning(NO_LAST_BREAK, path)
    frame, _ = _csv_frame(table, names, header, 2 + sum(name.count("\n") for name in header))
    _refuse_long_values(path, frame, names)
    return frame


def _field_size(path: Path, size: int, line: int, column: str) -> RawFileError:
    return RawFileError(
        path,
        f"a field of {size} characters, over the limit of {MAX_FIELD_CHARS}: not an eCRF "
        "form (an HTML error page or a file of another kind?)",
        "RAW-FIELD-SIZE",
        line=line,
        column=column,
    )


_CSV_TOKEN = re.compile(r'"(?:[^"]+|"")*"?|[^,\n"]+|[,\n"]')


def _long_field(path: Path, text: str) -> RawFileError | None:
    """The first field longer than MAX_FIELD_CHARS: the line its record starts on and its
    column (the header's name, else its position). Error path only: a walk field by field."""
    try:
        names = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error:  # the header itself holds the long field
        names = []
    line, start, position, length = 1, 1, 1, 0
    for token in _CSV_TOKEN.finditer(text):
        piece = token.group()
        if piece == ",":
            position, length = position + 1, 0
        elif piece == "\n":
            line, position, length = line + 1, 1, 0
            start = line
        else:
            length += len(piece)
            line += piece.count("\n")
            if length > MAX_FIELD_CHARS:
                column = names[position - 1] if position <= len(names) else f"#{position}"
                return _field_size(path, length, start, column.upper())
    return None


def _refuse_long_values(path: Path, frame: pd.DataFrame, names: list[str]) -> None:
    """Refuse a value longer than MAX_FIELD_CHARS, naming its line and column."""
    for name in names:
        lengths = frame[name].str.len()
        over = (lengths > MAX_FIELD_CHARS).fillna(False).to_numpy()
        if over.any():
            at = int(np.argmax(over))
            raise _field_size(path, int(lengths.iloc[at]), int(frame[ROW].iloc[at]), name)


def _column_at(body: bytes, offset: int) -> str | None:
    """The header name of the field holding byte `offset` (quotes within one line only)."""
    start = body.rfind(b"\n", 0, offset) + 1
    header = next(csv.reader([body.split(b"\n", 1)[0].decode("utf-8", "replace")]), [])
    fields = next(csv.reader([body[start:offset].decode("utf-8", "replace")]), [""])
    position = len(fields) - 1
    return header[position].upper() if start and position < len(header) else None


def _csv_frame(
    table: pa.Table, names: list[str], header: list[str], line: int
) -> tuple[pd.DataFrame, int]:
    """Number the records by start line (the first starting on `line`) and drop blank
    ones; and the line the next record starts on."""
    breaks = np.zeros(table.num_rows, dtype=np.int64)
    for column in table.columns:
        breaks += pc.fill_null(pc.count_substring(column, "\n"), 0).to_numpy().astype(np.int64)
    starts = line + np.arange(table.num_rows, dtype=np.int64) + np.cumsum(breaks) - breaks
    frame = table.rename_columns(names).to_pandas(
        types_mapper={pa.string(): TEXT, pa.large_string(): TEXT}.get
    )
    frame.insert(0, ROW, starts)
    blank = frame[names].isna().all(axis=1)
    return frame.loc[~blank].reset_index(drop=True), line + table.num_rows + int(breaks.sum())


def _locate_csv_error(path: Path, text: str, header: list[str]) -> RawFileError | None:
    """Find the first record with the wrong field count or bad quoting (error path only);
    a short record names the first column it lacks, a long one the last column it has."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start, width = 1, len(header)
    try:
        for fields in reader:
            if fields and len(fields) != width:
                return RawFileError(
                    path,
                    f"{len(fields)} field(s) where the header has {width} "
                    "(a record cut short, or an unquoted comma)",
                    "RAW-FIELDS",
                    line=start,
                    column=header[min(len(fields), width - 1)].upper(),
                )
            start = reader.line_num + 1
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            return _long_field(path, text)
        return RawFileError(
            path,
            f"bad quoting in the record starting on this line ({exc}): quote a whole value, "
            "double the quotes inside it and close it (an unclosed quote: file cut short?)",
            "RAW-QUOTE",
            line=start,
        )
    return None


# --- SAS7BDAT / XPT --------------------------------------------------------------------

_SEPARATED = ("DDMMYY", "MMDDYY", "YYMMDD", "MMYY", "YYMM", "YYQ")
DATE_FORMATS = frozenset(
    {
        "DATE", "DAY", "DOWNAME", "JULDAY", "JULIAN", "MINGUO", "MONNAME", "MONTH", "MONYY",
        "NENGO", "NLDATE", "QTR", "WEEKDATE", "WEEKDATX", "WEEKDAY", "WORDDATE", "WORDDATX",
        "YEAR", "YYMON", "E8601DA", "B8601DA", "IS8601DA", "EURDFDD", "EURDFDE", "EURDFMY",
    }
    | {base + sep for base in _SEPARATED for sep in ("", "B", "C", "D", "N", "P", "S")}
)  # fmt: skip
DATETIME_FORMATS = frozenset(
    {
        "DATETIME", "DATEAMPM", "DTDATE", "DTMONYY", "DTWKDATX", "DTYEAR", "DTYYQC",
        "MDYAMPM", "NLDATM", "E8601DT", "B8601DT", "IS8601DT", "E8601DN", "B8601DN",
        "E8601DZ", "B8601DZ",
    }
)  # fmt: skip
TIME_FORMATS = frozenset(
    {
        "TIME", "TIMEAMPM", "TOD", "HHMM", "HOUR", "MMSS", "NLTIME", "E8601TM", "B8601TM",
        "IS8601TM", "E8601LZ", "B8601LZ",
    }
)  # fmt: skip
FORMAT_WIDTH = re.compile(r"\d*(\.\d*)?$")
_SAS_EPOCH_DAY = np.datetime64("1960-01-01", "D")
_SAS_EPOCH_MS = np.datetime64("1960-01-01T00:00:00", "ms")
ISO_SAS_DAYS: Final = (
    int((np.datetime64("0001-01-01", "D") - _SAS_EPOCH_DAY).astype(np.int64)),
    int((np.datetime64("10000-01-01", "D") - _SAS_EPOCH_DAY).astype(np.int64)),
)
"""SAS day counts of 0001-01-01 and 10000-01-01: the years a 4-digit ISO 8601 date can hold."""
SECONDS_A_DAY: Final = 86_400


def _read_sas(path: Path) -> pd.DataFrame:
    """A SAS7BDAT or XPT file (via pyreadstat); numbers and dates become text."""
    xpt = path.suffix.lower() == ".xpt"
    if xpt and path.stat().st_size % 80:
        raise RawFileError(
            path,
            f"{path.stat().st_size} bytes is not a whole number of 80-byte records: "
            "the transport file is cut short or damaged",
            "RAW-SAS",
        )
    reader = pyreadstat.read_xport if xpt else pyreadstat.read_sas7bdat
    try:
        raw, meta = reader(path, disable_datetime_conversion=True)
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError) as exc:
        raise RawFileError(path, f"unreadable SAS file: {exc}", "RAW-SAS") from exc
    names = column_names(path, list(raw.columns))
    columns = []
    for name in raw.columns:
        if meta.readstat_variable_types[name] == "string":
            text = raw[name].astype(TEXT)
            columns.append(text.mask(text == ""))
        else:
            fmt = meta.original_variable_types.get(name)
            columns.append(sas_number_text(raw[name].to_numpy(dtype=np.float64), fmt))
    return make_frame(names, columns, np.arange(1, len(raw) + 1))


def _time_unit(ms: np.ndarray) -> Literal["s", "ms"]:
    """Whole seconds unless some value has a fraction of a second."""
    return "ms" if (ms % 1000).any() else "s"


def sas_seconds_unit(values: np.ndarray) -> Literal["s", "ms"]:
    """The unit `sas_number_text` gives the SAS second counts `values` (NaN for missing)
    as datetimes or times: whole seconds unless some value has a fraction of a second."""
    return _time_unit(np.round(np.where(np.isnan(values), 0.0, values) * 1000).astype(np.int64))


def sas_number_text(
    values: np.ndarray, fmt: str | None, *, unit: Literal["s", "ms"] | None = None
) -> pd.Series:
    """Render SAS numbers as text: ISO 8601 under a date/datetime/time format. Datetimes and
    times are in `unit`, by default whole seconds unless some value has a fraction of one
    (give `unit`, from `sas_seconds_unit` of all values, to render a part alike)."""
    base = FORMAT_WIDTH.sub("", (fmt or "").upper(), count=1)
    missing = np.isnan(values)
    # A count outside years 0001-9999 (a time beyond int64 milliseconds) is no ISO 8601
    # value: it stays the number it is, which the raw gate then lists as not a date.
    scale = SECONDS_A_DAY if base in DATETIME_FORMATS else 1
    low, high = float(ISO_SAS_DAYS[0] * scale), float(ISO_SAS_DAYS[1] * scale)
    if base in TIME_FORMATS:
        low, high = -(2.0**53) / 1000, 2.0**53 / 1000
    outside = ~missing & ((values < low) | (values >= high))
    if base in DATE_FORMATS | DATETIME_FORMATS | TIME_FORMATS and outside.any():
        inside = sas_number_text(np.where(outside, np.nan, values), fmt, unit=unit)
        return inside.mask(outside, sas_number_text(values, None))
    v = np.where(missing, 0.0, values)
    if base in DATE_FORMATS:
        days = np.floor(v).astype(np.int64).astype("timedelta64[D]")
        text = pd.Series(np.datetime_as_string(_SAS_EPOCH_DAY + days, unit="D"), dtype=TEXT)
    elif base in DATETIME_FORMATS:
        ms = np.round(v * 1000).astype(np.int64)
        unit = unit or _time_unit(ms)
        stamps = _SAS_EPOCH_MS + ms.astype("timedelta64[ms]")
        text = pd.Series(np.datetime_as_string(stamps, unit=unit), dtype=TEXT)
    elif base in TIME_FORMATS:
        ms = np.round(v * 1000).astype(np.int64)
        unit = unit or _time_unit(ms)
        hours = pd.Series(ms // 3_600_000).astype(str).str.zfill(2).astype(TEXT)
        within = np.datetime64(0, "ms") + (ms % 3_600_000).astype("timedelta64[ms]")
        minutes = pd.Series(np.datetime_as_string(within, unit=unit), dtype=TEXT).str.slice(14)
        text = hours + ":" + minutes
    else:
        integral = (v == np.trunc(v)) & (np.abs(v) < 2**53)
        ints = np.where(integral, v, 0.0).astype(np.int64).astype(str)
        shortest = pc.cast(pa.array(v), pa.string()).to_numpy(zero_copy_only=False)
        text = pd.Series(np.where(integral, ints, shortest), dtype=TEXT)
    return text.mask(missing)

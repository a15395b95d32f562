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
and column where known, and the rule. A file larger than ``CDISC_MAX_FORM_BYTES`` (default
1 GiB; reading takes a few times the file's size in memory) is refused unread (RAW-SIZE).
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Final, Literal
from xml.etree.ElementTree import Element, ParseError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyreadstat
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from transforms.errors import UserError

log = logging.getLogger("cdisc.extract")

ROW = "__ROW"
"""Name of the source-position column that opens every frame read."""

FORM_SUFFIXES = (".csv", ".xml", ".sas7bdat", ".xpt")
"""File suffixes :func:`read_form` understands (compared case-insensitively)."""

TEXT = pd.StringDtype()
"""The dtype of every value column: pandas ``string`` with ``<NA>`` for missing."""

_BOM = b"\xef\xbb\xbf"
_ODM = "{http://www.cdisc.org/ns/odm/v1.3}"

MAX_FORM_BYTES = 1 << 30
"""Default size limit of one form file (``CDISC_MAX_FORM_BYTES`` overrides it)."""


class RawFileError(UserError, ValueError):
    """A raw form file breaks a reading rule; the message names file, place and rule."""

    def __init__(
        self,
        path: Path,
        problem: str,
        rule: str,
        *,
        line: int | None = None,
        record: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path, self.rule, self.line, self.record, self.column = (
            path,
            rule,
            line,
            record,
            column,
        )
        where = "".join(
            [
                f", line {line}" if line is not None else "",
                f", record {record}" if record is not None else "",
                f", column {column}" if column is not None else "",
            ]
        )
        super().__init__(f"{path}{where}: {problem} (rule {rule})")


def max_form_bytes() -> int:
    """The form size limit: ``CDISC_MAX_FORM_BYTES`` (bytes) if set, else 1 GiB."""
    setting = os.environ.get("CDISC_MAX_FORM_BYTES", "").strip()
    if not setting:
        return MAX_FORM_BYTES
    if not setting.isdigit() or int(setting) < 1:
        raise ValueError(f"CDISC_MAX_FORM_BYTES={setting!r}: expected a number of bytes")
    return int(setting)


def read_form(path: Path) -> pd.DataFrame:
    """Read one raw form file into text columns, dispatching on its suffix."""
    size, limit = path.stat().st_size, max_form_bytes()
    if size > limit:
        raise RawFileError(
            path,
            f"{size} bytes, over the limit of {limit} bytes per form file "
            "(CDISC_MAX_FORM_BYTES raises it; memory needed is a few times the size)",
            "RAW-SIZE",
        )
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".xml":
        return _read_odm(path)
    if suffix in (".sas7bdat", ".xpt"):
        return _read_sas(path)
    raise RawFileError(
        path, f"unsupported file type {path.suffix!r}; expected one of {FORM_SUFFIXES}", "RAW-TYPE"
    )


def _column_names(path: Path, raw: Sequence[str], line: int | None = None) -> list[str]:
    """Upper-case the column names; refuse empty, reserved and duplicate names."""
    seen: dict[str, str] = {}
    for position, original in enumerate(raw, start=1):
        name = original.upper()
        if not name:
            raise RawFileError(path, f"column {position} has no name", "RAW-HEADER", line=line)
        if name == ROW:
            raise RawFileError(path, f"column name {ROW} is reserved", "RAW-HEADER", line=line)
        if name in seen:
            raise RawFileError(
                path,
                f"duplicate column name {original!r} (same as {seen[name]!r} once upper-cased)",
                "RAW-HEADER",
                line=line,
                column=name,
            )
        seen[name] = original
    return list(seen)


def _frame(names: list[str], columns: Sequence[pd.Series], rows: np.ndarray) -> pd.DataFrame:
    """Assemble ``__ROW`` and the text columns into one frame."""
    frame = pd.DataFrame(
        {name: col.reset_index(drop=True) for name, col in zip(names, columns, strict=True)}
    )
    frame.insert(0, ROW, np.asarray(rows, dtype=np.int64))
    return frame


# --- CSV -------------------------------------------------------------------------------


def _read_csv(path: Path) -> pd.DataFrame:
    """Comma-delimited, double-quoted, UTF-8 (BOM allowed) CSV with a header line."""
    data = path.read_bytes()
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
    header = next(csv.reader(io.StringIO(text, newline="")), [])
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
    names = _column_names(path, header, line=1)
    try:
        table = pacsv.read_csv(
            pa.BufferReader(body),
            parse_options=pacsv.ParseOptions(
                delimiter=",",
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
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
        log.warning("%s: no line break after the last record; was the file cut short?", path)
    return _csv_frame(table, names, header)


def _column_at(body: bytes, offset: int) -> str | None:
    """The header name of the field holding byte `offset` (quotes within one line only)."""
    start = body.rfind(b"\n", 0, offset) + 1
    header = next(csv.reader([body.split(b"\n", 1)[0].decode("utf-8", "replace")]), [])
    fields = next(csv.reader([body[start:offset].decode("utf-8", "replace")]), [""])
    position = len(fields) - 1
    return header[position].upper() if start and position < len(header) else None


def _csv_frame(table: pa.Table, names: list[str], header: list[str]) -> pd.DataFrame:
    """Number the records by start line and drop blank ones."""
    breaks = np.zeros(table.num_rows, dtype=np.int64)
    for column in table.columns:
        breaks += pc.fill_null(pc.count_substring(column, "\n"), 0).to_numpy().astype(np.int64)
    first = 2 + sum(name.count("\n") for name in header)
    starts = first + np.arange(table.num_rows, dtype=np.int64) + np.cumsum(breaks) - breaks
    frame = table.rename_columns(names).to_pandas(
        types_mapper={pa.string(): TEXT, pa.large_string(): TEXT}.get
    )
    frame.insert(0, ROW, starts)
    blank = frame[names].isna().all(axis=1)
    return frame.loc[~blank].reset_index(drop=True)


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
        return RawFileError(
            path,
            f"bad quoting in the record starting on this line ({exc}): quote a whole value, "
            "double the quotes inside it and close it (an unclosed quote: file cut short?)",
            "RAW-QUOTE",
            line=start,
        )
    return None


# --- CDISC ODM 1.3 ---------------------------------------------------------------------


def _read_odm(path: Path) -> pd.DataFrame:
    """One row per ItemGroupData; DTDs and entities are refused (no XXE, no expansion)."""
    try:
        with path.open("rb") as source:
            return _parse_odm(path, source)
    except DefusedXmlException as exc:
        raise RawFileError(
            path,
            f"forbidden XML construct {exc!r}: ODM files must not declare a DTD or entities",
            "RAW-XML",
        ) from exc
    except ParseError as exc:
        raise RawFileError(
            path, f"not well-formed XML: {exc}", "RAW-XML", line=exc.position[0]
        ) from exc


class _OdmForm:
    """The one ItemGroupDef of an ODM form file and the rows read so far."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.item_names: dict[str, str] = {}
        self.group: str | None = None
        self.refs: list[str] = []
        self.names: list[str] = []
        self.slots: dict[str, int] | None = None
        self.rows: list[list[str | None]] = []

    def define_item(self, elem: Element) -> None:
        oid, name = elem.get("OID"), elem.get("Name")
        if not oid or not name:
            raise RawFileError(self.path, "an ItemDef lacks its OID or Name", "RAW-ODM")
        self.item_names[oid] = name

    def define_group(self, elem: Element) -> None:
        if self.group is not None:
            raise RawFileError(
                self.path,
                f"second ItemGroupDef {elem.get('OID')!r}: one form (item group) per file",
                "RAW-ODM",
            )
        self.group = elem.get("OID") or ""
        self.refs = [ref.get("ItemOID") or "" for ref in elem.iter(_ODM + "ItemRef")]

    def resolve(self) -> dict[str, int]:
        """ItemOID -> column position in ItemRef order; checks the metadata on first use."""
        if self.slots is None:
            if self.group is None:
                raise RawFileError(self.path, "no ItemGroupDef before the clinical data", "RAW-ODM")
            undefined = [oid for oid in self.refs if oid not in self.item_names]
            if undefined:
                raise RawFileError(
                    self.path, f"ItemRef(s) {undefined} have no ItemDef in the metadata", "RAW-ODM"
                )
            self.names = _column_names(self.path, [self.item_names[oid] for oid in self.refs])
            self.slots = {oid: i for i, oid in enumerate(self.refs)}
        return self.slots

    def add_row(self, elem: Element, subject: str | None) -> None:
        """Append one ItemGroupData as a row; absent items stay missing."""
        slots = self.resolve()
        record = len(self.rows) + 1
        if elem.get("ItemGroupOID") != self.group:
            raise RawFileError(
                self.path,
                f"ItemGroupData of {elem.get('ItemGroupOID')!r} (SubjectKey {subject}); "
                f"this file defines {self.group!r}",
                "RAW-ODM",
                record=record,
            )
        row: list[str | None] = [None] * len(slots)
        seen: set[int] = set()
        for item in elem:
            if item.tag != _ODM + "ItemData":
                if item.tag.startswith(_ODM + "ItemData"):
                    raise RawFileError(
                        self.path,
                        f"typed {item.tag.removeprefix(_ODM)} is not supported; use ItemData",
                        "RAW-ODM",
                        record=record,
                    )
                continue
            oid = item.get("ItemOID") or ""
            slot = slots.get(oid)
            if slot is None:
                why = (
                    f"not an item of ItemGroupDef {self.group!r}"
                    if oid in self.item_names
                    else "not defined in the metadata"
                )
                raise RawFileError(
                    self.path,
                    f"ItemData {oid!r} (SubjectKey {subject}) is {why}",
                    "RAW-ODM",
                    record=record,
                    column=oid,
                )
            if slot in seen:
                raise RawFileError(
                    self.path,
                    f"ItemData {oid!r} given twice (SubjectKey {subject})",
                    "RAW-ODM",
                    record=record,
                    column=oid,
                )
            seen.add(slot)
            row[slot] = item.get("Value") or None
        self.rows.append(row)


def _parse_odm(path: Path, source: io.BufferedReader) -> pd.DataFrame:
    """Stream the ODM document: metadata first, then one row per ItemGroupData."""
    events = iterparse(source, events=("start", "end"), forbid_dtd=True)
    _, root = next(events)
    if root.tag != _ODM + "ODM":
        raise RawFileError(
            path, f"root element {root.tag!r} is not a CDISC ODM 1.3 <ODM>", "RAW-ODM"
        )
    form = _OdmForm(path)
    subject: str | None = None
    for event, elem in events:
        tag = elem.tag
        if event == "start":
            if tag == _ODM + "SubjectData":
                subject = elem.get("SubjectKey")
        elif tag == _ODM + "ItemDef":
            form.define_item(elem)
        elif tag == _ODM + "ItemGroupDef":
            form.define_group(elem)
        elif tag == _ODM + "ItemGroupData":
            form.add_row(elem, subject)
            elem.clear()
        elif tag == _ODM + "SubjectData":
            elem.clear()
    slots = form.resolve()
    values = list(zip(*form.rows, strict=True)) if form.rows else [()] * len(slots)
    columns = [pd.Series(list(v), dtype=TEXT) for v in values]
    return _frame(form.names, columns, np.arange(1, len(form.rows) + 1))


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
    names = _column_names(path, list(raw.columns))
    columns = []
    for name in raw.columns:
        if meta.readstat_variable_types[name] == "string":
            text = raw[name].astype(TEXT)
            columns.append(text.mask(text == ""))
        else:
            fmt = meta.original_variable_types.get(name)
            columns.append(sas_number_text(raw[name].to_numpy(dtype=np.float64), fmt))
    return _frame(names, columns, np.arange(1, len(raw) + 1))


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

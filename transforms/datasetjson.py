"""CDISC Dataset-JSON v1.1 writer, and a converter from any SAS XPT file to Dataset-JSON.

One dataset per UTF-8 file, top-level attributes and column attributes in the order of the
specification, ``rows`` as arrays in column order. Missing values are ``null``: a blank
character value is missing (SAS has no empty string distinct from missing), so no cell is
ever ``""``. Integers are JSON integers, floats JSON numbers (shortest exact text), and
date/datetime/time columns ISO 8601 strings; ADaM numeric dates, datetimes and times (SAS
day or second counts) carry ``targetDataType`` "integer" (or "decimal" when some value has a
fraction) so that the receiver turns them back into numbers. Non-ASCII text is kept.

The output is deterministic: the caller supplies ``created``, nothing is sorted, and the
same input gives the same bytes, one row per line. The file is streamed: every column is
checked whole first, then the rows are encoded and written a chunk at a time, each column
of a chunk turned into JSON text at once (pyarrow / numpy), so memory stays bounded by the
chunk whatever the size of the dataset; the text is exactly what ``json`` writes for the
same values (``float`` repr, ``ensure_ascii=False``), whatever the chunk size.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, Literal, get_args

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyreadstat

from transforms import __version__
from transforms.errors import UserError
from transforms.extract.readers import (
    DATE_FORMATS,
    DATETIME_FORMATS,
    FORMAT_WIDTH,
    ISO_SAS_DAYS,
    SECONDS_A_DAY,
    TIME_FORMATS,
    sas_number_text,
    sas_seconds_unit,
)
from transforms.files import replaced

DATASET_JSON_VERSION: Final = "1.1.0"
SCHEMA_PATH: Final = Path(__file__).parent / "schemas" / "dataset-json-1.1" / "dataset.schema.json"
"""The official Dataset-JSON v1.1 JSON schema (a copy; see its README)."""

DataType = Literal[
    "string", "integer", "decimal", "float", "double", "boolean", "datetime", "date", "time", "URI"
]
TargetDataType = Literal["integer", "decimal"]

_TIMING: Final[tuple[Literal["date", "datetime", "time"], ...]] = ("date", "datetime", "time")
_NUMBERS: Final = ("integer", "float", "double")
_ISO_FORMAT: Final = {"date": "E8601DA", "datetime": "E8601DT", "time": "E8601TM"}
"""The SAS format that renders a day (date) or second (datetime, time) count as ISO 8601."""
_ISO_TEXT: Final = {
    "date": r"\d{4}-\d{2}-\d{2}",
    "datetime": r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?",
    "time": r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?",
}
"""Complete ISO 8601 values a character column must hold throughout to be typed date/time."""
_ISO_REDUCED: Final[dict[Literal["date", "datetime"], str]] = {
    "date": r"\d{4}(-\d{2}(-\d{2})?)?",
    "datetime": r"\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?)?)?",
}
"""ISO 8601 values of reduced precision ("1928", "2014-03", "2014-03-02T10"), as SDTM --DTC
variables hold them when a part is unknown: a --DTC column of them is still a date (every
value a date) or a datetime (some value has a time), as CDISC's pilot files type BRTHDTC."""
_EXACT_INT: Final = 2.0**53
_PIPELINE: Final = ("cdisc-pipeline", __version__)
CHUNK_ROWS: Final = 65_536
"""Rows encoded and written at a time."""
_ESCAPED: Final = ("\\", '"', *map(chr, range(0x20)))
"""What ``json`` escapes in a string with ``ensure_ascii=False``; the backslash first."""
_POSITIONAL: Final = (1e-4, 1e16)
"""Magnitudes Python's float repr writes without an exponent."""
_PLAIN_NUMBER: Final = r"^-?[0-9]+(\.[0-9]+)?$"

Encoder = Callable[[pd.Series], pa.Array]
"""Turns a chunk of one column into its JSON text, one string per value, "null" if missing."""


class DatasetJsonError(UserError, ValueError):
    """The input file cannot be converted: missing, unreadable or not a SAS XPT file."""


@dataclass(frozen=True)
class JsonColumn:
    """One column's metadata; the attributes of ``columns[]`` in the Dataset-JSON file."""

    item_oid: str
    name: str
    label: str
    data_type: DataType
    length: int | None = None
    display_format: str | None = None
    key_sequence: int | None = None
    target_data_type: TargetDataType | None = None

    def to_json(self) -> dict[str, object]:
        """The column object, attributes in specification order, absent ones left out."""
        attributes: dict[str, object | None] = {
            "itemOID": self.item_oid,
            "name": self.name,
            "label": self.label,
            "dataType": self.data_type,
            "targetDataType": self.target_data_type,
            "length": self.length,
            "displayFormat": self.display_format,
            "keySequence": self.key_sequence,
        }
        return {key: value for key, value in attributes.items() if value is not None}


Frames = Callable[[], Iterable[pd.DataFrame]]
"""A dataset's rows as frames in order (subject chunks, Parquet row groups), each call a new
pass over them from the first."""


def write_dataset_json(
    data: pd.DataFrame | Frames,
    path: Path,
    *,
    name: str,
    label: str,
    columns: Sequence[JsonColumn],
    item_group_oid: str,
    study_oid: str | None = None,
    metadata_version_oid: str | None = None,
    metadata_ref: str | None = None,
    created: datetime,
    db_last_modified: datetime | None = None,
    originator: str = "cdisc-pipeline",
    source_system: tuple[str, str] | None = _PIPELINE,
    chunk_rows: int = CHUNK_ROWS,
) -> Path:
    """Write `data` as the Dataset-JSON v1.1 file `path`, columns (all of its) as listed:
    a frame, or frames given frame after frame (the same bytes as their concatenation,
    holding one frame at a time; every frame is checked first, the record count and a
    datetime column's unit are those of all frames, then each is encoded and written).

    Values by dataType: string/URI/decimal as text; integer, float, double from numbers
    (integer ones must be whole); boolean; date/datetime/time as ISO 8601 text, or, with
    `target_data_type`, from SAS day (date) or second (datetime, time) counts.
    `source_system` is (name, version). Raises ValueError (writing nothing) on a value or
    metadata that does not fit. Rows are encoded `chunk_rows` at a time (the bytes do not
    depend on it). The file is written beside `path`, synced, and renamed into place.
    """
    frames = (lambda: (data,)) if isinstance(data, pd.DataFrame) else data
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    if db_last_modified is not None and db_last_modified > created:
        raise ValueError(f"db_last_modified {db_last_modified} is after created {created}")
    # Every value is checked before anything is written; the encoders then take chunks.
    checked = _check_frames(frames, columns)
    header: dict[str, object | None] = {
        "datasetJSONCreationDateTime": created.isoformat(),
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "dbLastModifiedDateTime": None
        if db_last_modified is None
        else db_last_modified.isoformat(),
        "originator": originator,
        "sourceSystem": None
        if source_system is None
        else {"name": source_system[0], "version": source_system[1]},
        "studyOID": study_oid,
        "metaDataVersionOID": metadata_version_oid,
        "metaDataRef": metadata_ref,
        "itemGroupOID": item_group_oid,
        "records": checked.records,
        "name": name,
        "label": label,
    }
    encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
    head = "".join(
        [
            encode({key: value for key, value in header.items() if value is not None})[:-1],
            ',"columns":[\n',
            ",\n".join(encode(column.to_json()) for column in columns),
            '\n],"rows":[\n' if checked.records else '\n],"rows":[',
        ]
    )
    path = Path(path)
    with replaced(path) as tmp, tmp.open("xb") as fh:
        fh.write(head.encode("utf-8"))
        first = True
        for frame in frames():
            encoders = checked.encoders(frame, columns)
            for start in range(0, len(frame) if columns else 0, chunk_rows):
                if not first:
                    fh.write(b",\n")
                first = False
                stop = start + chunk_rows
                fh.write(_rows_text(frame, columns, encoders, start, stop))
        fh.write(b"\n]}\n" if checked.records else b"]}\n")
        fh.flush()
        os.fsync(fh.fileno())
    return path


@dataclass
class _Checked:
    """What the checking pass learnt: the records, each datetime/time column's unit over
    all frames, and the encoders of the only frame when there was one."""

    records: int
    units: list[Literal["s", "ms"] | None]
    only: tuple[pd.DataFrame, list[Encoder]] | None

    def encoders(self, frame: pd.DataFrame, columns: Sequence[JsonColumn]) -> list[Encoder]:
        if self.only is not None and self.only[0] is frame:
            return self.only[1]
        return [
            _encoder(frame[column.name], column, unit)
            for column, unit in zip(columns, self.units, strict=True)
        ]


def _check_frames(frames: Frames, columns: Sequence[JsonColumn]) -> _Checked:
    """Check every value of every frame (ValueError on the first that does not fit)."""
    records = 0
    units: list[Literal["s", "ms"] | None] = [None] * len(columns)
    only: tuple[pd.DataFrame, list[Encoder]] | None = None
    seen = False
    for frame in frames():
        only = None
        _check_columns(frame, columns)
        encoders = [_encoder(frame[column.name], column) for column in columns]
        for number, column in enumerate(columns):
            unit = _seconds_unit(frame[column.name], column)
            units[number] = "ms" if "ms" in (unit, units[number]) else unit or units[number]
        only = (frame, encoders) if not seen else None
        seen = True
        records += len(frame)
    if not seen:
        raise ValueError("no frame given (an empty dataset is an empty frame)")
    return _Checked(records, units, only)


def xpt_to_dataset_json(
    xpt: Path, out: Path, *, created: datetime | None = None, encoding: str | None = None
) -> Path:
    """Convert the SAS XPT file `xpt` (v5 or v8) to the Dataset-JSON file `out`.

    Names, labels, lengths and formats come from the XPT metadata: character -> "string"
    with the storage length (or date/datetime/time when every value is a complete ISO 8601
    one); numeric under a SAS date/datetime/time format -> date/datetime/time with
    targetDataType and displayFormat; other numeric -> "integer" when every value is whole
    and the format has no decimals, else "float". OIDs are ``IG.<NAME>`` and
    ``IT.<NAME>.<VAR>``. `created` defaults to the XPT header's creation time, so the same
    file always gives the same bytes. `encoding` is the XPT text encoding (default UTF-8).
    Raises DatasetJsonError if the file cannot be read.
    """
    xpt = Path(xpt)
    if not xpt.is_file():
        raise DatasetJsonError(f"{xpt}: no such file")
    try:
        df, meta = pyreadstat.read_xport(xpt, disable_datetime_conversion=True, encoding=encoding)
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError) as exc:
        raise DatasetJsonError(f"{xpt}: not a readable SAS XPT file ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise DatasetJsonError(
            f"{xpt}: text is not {encoding or 'UTF-8'} ({exc}); give its encoding, e.g. latin1"
        ) from exc
    name = str(meta.table_name).upper()
    columns = [
        _xpt_column(
            df[var],
            item_oid=f"IT.{name}.{var}",
            label=meta.column_names_to_labels.get(var) or "",
            length=meta.variable_storage_width[var]
            if meta.readstat_variable_types[var] == "string"
            else None,
            sas_format=meta.original_variable_types.get(var),
        )
        for var in meta.column_names
    ]
    created = created or meta.creation_time
    if created is None:
        raise DatasetJsonError(f"{xpt}: the XPT header has no creation time; give `created`")
    modified = meta.modification_time
    # XPT header times are local times without a zone: comparable with a naive `created` only
    keep_modified = modified is not None and created.tzinfo is None and modified <= created
    return write_dataset_json(
        df,
        out,
        name=name,
        label=meta.file_label or "",
        columns=columns,
        item_group_oid=f"IG.{name}",
        created=created,
        db_last_modified=modified if keep_modified else None,
    )


# --- XPT metadata -> column metadata --------------------------------------------------------


def _xpt_column(
    values: pd.Series, *, item_oid: str, label: str, length: int | None, sas_format: str | None
) -> JsonColumn:
    """The column of one XPT variable: character when it has a `length`, else numeric."""
    name = str(values.name)
    if length is not None:
        return JsonColumn(item_oid, name, label, text_data_type(values), length=length)
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    present_numbers = numbers[~np.isnan(numbers)]
    whole = bool(np.all(present_numbers == np.trunc(present_numbers)))
    fmt = (sas_format or "").upper()
    display = None if not sas_format else sas_format + ("" if "." in sas_format else ".")
    kind = _format_kind(FORMAT_WIDTH.sub("", fmt, count=1))
    if kind is not None and _iso_problem(kind, present_numbers) is None:
        target: TargetDataType = "integer" if whole else "decimal"
        return JsonColumn(
            item_oid, name, label, kind, display_format=display, target_data_type=target
        )
    _, dot, decimals = fmt.rpartition(".")
    has_decimals = bool(dot) and decimals.isdigit() and int(decimals) > 0
    if whole and not has_decimals and np.all(np.abs(present_numbers) < _EXACT_INT):
        return JsonColumn(item_oid, name, label, "integer")
    return JsonColumn(item_oid, name, label, "float", display_format=display)


def text_data_type(values: pd.Series) -> Literal["string", "date", "datetime", "time"]:
    """The Dataset-JSON dataType of a character column: date, datetime or time when every
    present value is a complete ISO 8601 one of that kind; in a --DTC column (named so)
    reduced precision counts too ("1928" is a date, "2014-03-02T10" a datetime); else
    string."""
    return kinds_data_type(text_kinds(values))


_TEXT_KINDS: Final = (
    *((kind, kind, _ISO_TEXT[kind]) for kind in _TIMING),
    *((f"reduced {kind}", kind, pattern) for kind, pattern in _ISO_REDUCED.items()),
)
"""(kind, its dataType, the pattern its values match), the dataType's order of preference."""


def text_kinds(values: pd.Series) -> frozenset[str] | None:
    """The kinds of ISO 8601 text (`_TEXT_KINDS`; the reduced ones in a --DTC column only)
    that every present value of a character column is; None when no value is present. The
    kinds of a column in frames are the kinds all its frames share."""
    text = values.astype("string")
    present = text[text.notna() & (text != "")]
    if not len(present):
        return None
    dtc = str(values.name).endswith("DTC")
    return frozenset(
        kind
        for kind, _, pattern in _TEXT_KINDS
        if (dtc or kind in _TIMING) and present.str.fullmatch(pattern).all()
    )


def kinds_data_type(
    kinds: frozenset[str] | None,
) -> Literal["string", "date", "datetime", "time"]:
    """The dataType of a character column whose present values are all of `kinds`."""
    preferred = (data_type for kind, data_type, _ in _TEXT_KINDS if kind in (kinds or ()))
    return next(preferred, "string")


def _format_kind(base: str) -> Literal["date", "datetime", "time"] | None:
    """date / datetime / time when the SAS format (name without width) renders one."""
    if base in DATE_FORMATS:
        return "date"
    if base in DATETIME_FORMATS:
        return "datetime"
    if base in TIME_FORMATS:
        return "time"
    return None


def _iso_problem(kind: str, counts: np.ndarray) -> str | None:
    """Why SAS day/second `counts` (no NaN) cannot all be ISO 8601 `kind` values, or None."""
    if kind == "time":
        low, high, unit = 0, SECONDS_A_DAY, "seconds (00:00:00 to 23:59:59)"
    else:
        scale = 1 if kind == "date" else SECONDS_A_DAY
        low, high = ISO_SAS_DAYS[0] * scale, ISO_SAS_DAYS[1] * scale
        unit = "days" if kind == "date" else "seconds"
        unit += " since 1960-01-01 (years 0001 to 9999)"
    outside = counts[(counts < low) | (counts >= high)]
    return f"{outside[0]!r} is outside {low} to {high} {unit}" if outside.size else None


# --- values -> JSON cells -------------------------------------------------------------------


def _check_columns(df: pd.DataFrame, columns: Sequence[JsonColumn]) -> None:
    """Every frame column described once, every described column present, metadata valid."""
    names = [column.name for column in columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    missing = [n for n in names if n not in df.columns]
    extra = [str(n) for n in df.columns if n not in names]
    problems = [
        f"{label}: {', '.join(found)}"
        for label, found in (
            ("columns described twice", duplicated),
            ("columns not in the frame", missing),
            ("frame columns not described", extra),
        )
        if found
    ]
    if df.columns.has_duplicates:
        problems.append("the frame has duplicated column names")
    for column in columns:
        if column.data_type not in get_args(DataType):
            problems.append(f"{column.name}: unknown dataType {column.data_type!r}")
        if column.target_data_type not in (None, *get_args(TargetDataType)):
            problems.append(f"{column.name}: unknown targetDataType {column.target_data_type!r}")
        for attribute in ("length", "key_sequence"):
            value = getattr(column, attribute)
            if value is not None and value < 1:
                problems.append(f"{column.name}: {attribute} must be at least 1, got {value}")
    if problems:
        raise ValueError("; ".join(problems))


def _rows_text(
    df: pd.DataFrame, columns: Sequence[JsonColumn], encoders: list[Encoder], start: int, stop: int
) -> memoryview:
    """Rows `start` to `stop` as UTF-8 JSON arrays, one a line: ``[v,v,...],\n[...]``."""
    cells = [
        encoder(df[column.name].iloc[start:stop]).cast(pa.large_string())
        for column, encoder in zip(columns, encoders, strict=True)
    ]
    body = cells[0] if len(cells) == 1 else pc.binary_join_element_wise(*cells, _large(","))
    lines = pc.binary_join_element_wise(_large("["), body, _large("],\n"), _large(""))
    return _utf8(lines)[:-2].data  # without the last row's ",\n"


def _large(text: str) -> pa.Scalar:
    """`text` as an Arrow large_string scalar (the type every encoded column is cast to)."""
    return pa.scalar(text, pa.large_string())


def _encoder(
    series: pd.Series, column: JsonColumn, unit: Literal["s", "ms"] | None = None
) -> Encoder:
    """The column's encoder, once every value of it has been checked (ValueError if one
    does not fit its dataType); `unit`: a datetime or time column's, from all its frames
    (by default from these values)."""
    if column.data_type in _TIMING:
        return _timing_encoder(series, column, unit)
    if column.data_type in _NUMBERS:
        return _number_encoder(series, column)
    if column.data_type == "boolean":
        series.astype("boolean")
        return _boolean_json
    return _text_json


def _boolean_json(series: pd.Series) -> pa.Array:
    """true / false / null."""
    flags = _arrow(series.astype("boolean"))
    return pc.if_else(flags, "true", "false").fill_null("null")


def _text_json(series: pd.Series) -> pa.Array:
    """Text values as JSON strings, escaped as ``json`` escapes them (UTF-8 kept); missing
    and blank ("") values become null."""
    text = _arrow(series.astype("string")).cast(pa.large_string())
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.large_string()), text)
    utf8 = _utf8(text)  # a byte below 0x80 is that ASCII character: no false matches
    control = bool((utf8 < 0x20).any())
    if control or bool(((utf8 == ord('"')) | (utf8 == ord("\\"))).any()):
        for char in _ESCAPED if control else _ESCAPED[:2]:
            text = pc.replace_substring(text, char, json.dumps(char)[1:-1])
    return pc.binary_join_element_wise(_large('"'), text, _large('"'), _large("")).fill_null("null")


def _utf8(text: pa.Array) -> np.ndarray:
    """The bytes of a large_string array's values, end to end (a view, not a copy)."""
    offsets, data = text.buffers()[1:3]
    if data is None or not len(text):
        return np.zeros(0, dtype=np.uint8)
    bounds = np.frombuffer(offsets, dtype=np.int64)[[text.offset, text.offset + len(text)]]
    return np.frombuffer(data, dtype=np.uint8)[bounds[0] : bounds[1]]


def _arrow(values: pd.Series) -> pa.Array:
    """The series' values as one Arrow array (nulls for missing)."""
    array = pa.array(values.array)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _numbers(series: pd.Series, column: JsonColumn) -> np.ndarray:
    """The column as float64 (NaN for missing); only numeric dtypes, no infinities."""
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        raise ValueError(f"{column.name}: {column.data_type} values must be numbers")
    numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(numbers).any():
        raise ValueError(f"{column.name}: infinite values cannot be written to JSON")
    return numbers


def _number_encoder(series: pd.Series, column: JsonColumn) -> Encoder:
    """integer -> JSON integers (values must be whole), float/double -> Python's float repr."""
    if column.data_type == "integer" and pd.api.types.is_integer_dtype(series):
        return _integer_json
    numbers = _numbers(series, column)
    if column.data_type == "integer":
        present = numbers[~series.isna().to_numpy()]
        if not np.all((present == np.trunc(present)) & (np.abs(present) < 2.0**63)):
            raise ValueError(f"{column.name}: integer column has non-whole values")
        return _whole_float_json
    return _float_json


def _integer_json(series: pd.Series) -> pa.Array:
    """An integer-typed column's values."""
    values = series.to_numpy(dtype=np.int64, na_value=0)
    return _with_nulls(pc.cast(pa.array(values), pa.string()), series)


def _whole_float_json(series: pd.Series) -> pa.Array:
    """Whole float values (checked) as integers."""
    missing = series.isna().to_numpy()
    numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
    values = np.where(missing, 0, numbers).astype(np.int64)
    return _with_nulls(pc.cast(pa.array(values), pa.string()), series)


def _float_json(series: pd.Series) -> pa.Array:
    """Float values exactly as Python's repr writes them (``1.0``, ``-0.0``, ``1e-05``,
    ``1e+16``). Both Arrow and repr write the shortest digits that read back as the value,
    so Arrow's text is repr's wherever both write it without an exponent (".0" added to a
    whole number); the other values (zeros, exponents) take numpy's repr of the value."""
    numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
    text = pc.cast(pa.array(numbers), pa.string())
    magnitude = np.abs(numbers)
    plain = pc.match_substring_regex(text, _PLAIN_NUMBER).to_numpy(zero_copy_only=False)
    plain &= (magnitude >= _POSITIONAL[0]) & (magnitude < _POSITIONAL[1])
    whole = plain & ~pc.match_substring(text, ".").to_numpy(zero_copy_only=False)
    if whole.any():
        text = pc.if_else(pa.array(whole), pc.binary_join_element_wise(text, ".0", ""), text)
    other = ~plain & ~np.isnan(numbers)
    if other.any():
        text = pc.replace_with_mask(text, pa.array(other), pa.array(numbers[other].astype(str)))
    return _with_nulls(text, series)


def _with_nulls(text: pa.Array, series: pd.Series) -> pa.Array:
    """`text` with "null" where the series is missing."""
    missing = series.isna().to_numpy()
    return pc.if_else(pa.array(missing), "null", text) if missing.any() else text


def _seconds_unit(series: pd.Series, column: JsonColumn) -> Literal["s", "ms"] | None:
    """The unit of a (checked) datetime or time column of SAS second counts, else None."""
    if column.data_type == "date" or column.data_type not in _TIMING:
        return None
    if not pd.api.types.is_numeric_dtype(series):
        return None
    return sas_seconds_unit(series.to_numpy(dtype=np.float64, na_value=np.nan))


def _timing_encoder(
    series: pd.Series, column: JsonColumn, unit: Literal["s", "ms"] | None = None
) -> Encoder:
    """ISO 8601 text as given, or SAS day/second counts (with targetDataType) made ISO."""
    if pd.api.types.is_datetime64_any_dtype(series):
        raise ValueError(
            f"{column.name}: pass {column.data_type} values as ISO 8601 text or SAS counts"
        )
    if not pd.api.types.is_numeric_dtype(series):
        return _text_json
    if column.target_data_type is None:
        raise ValueError(
            f"{column.name}: numeric {column.data_type} values (SAS counts) need a "
            "target_data_type (integer, or decimal for fractions)"
        )
    numbers = _numbers(series, column)
    present = numbers[~np.isnan(numbers)]
    problem = _iso_problem(column.data_type, present)
    if problem:
        raise ValueError(f"{column.name}: {problem}")
    if column.target_data_type == "integer" and not np.all(present == np.trunc(present)):
        raise ValueError(f"{column.name}: targetDataType integer but some counts have fractions")
    fmt = _ISO_FORMAT[column.data_type]
    # whole seconds unless some value of the column (not only of a chunk) has a fraction
    unit = unit or _seconds_unit(series, column)

    def encode(chunk: pd.Series) -> pa.Array:
        counts = chunk.to_numpy(dtype=np.float64, na_value=np.nan)
        return _text_json(sas_number_text(counts, fmt, unit=unit))

    return encode

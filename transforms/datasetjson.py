"""CDISC Dataset-JSON v1.1 writer, and a converter from any SAS XPT file to Dataset-JSON.

One dataset per UTF-8 file, top-level attributes and column attributes in the order of the
specification, ``rows`` as arrays in column order. Missing values are ``null``: a blank
character value is missing (SAS has no empty string distinct from missing), so no cell is
ever ``""``. Integers are JSON integers, floats JSON numbers (shortest exact text), and
date/datetime/time columns ISO 8601 strings; ADaM numeric dates, datetimes and times (SAS
day or second counts) carry ``targetDataType`` "integer" (or "decimal" when some value has a
fraction) so that the receiver turns them back into numbers. Non-ASCII text is kept.

The output is deterministic: the caller supplies ``created``, nothing is sorted, and the
same input gives the same bytes. Each column is converted at once (numpy / pyarrow), then
every row is encoded by the C JSON encoder, one row per line.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, Literal, get_args

import numpy as np
import pandas as pd
import pyreadstat

from transforms import __version__
from transforms.extract.readers import (
    DATE_FORMATS,
    DATETIME_FORMATS,
    FORMAT_WIDTH,
    TIME_FORMATS,
    sas_number_text,
)

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
_SAS_EPOCH: Final = np.datetime64("1960-01-01", "D")
_ISO_DAYS: Final = (
    int((np.datetime64("0001-01-01", "D") - _SAS_EPOCH).astype(np.int64)),
    int((np.datetime64("10000-01-01", "D") - _SAS_EPOCH).astype(np.int64)),
)
"""SAS day counts of 0001-01-01 and 10000-01-01: the years a 4-digit ISO 8601 date can hold."""
_SECONDS_A_DAY: Final = 86_400
_ISO_TEXT: Final = {
    "date": r"\d{4}-\d{2}-\d{2}",
    "datetime": r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?",
    "time": r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?",
}
"""Complete ISO 8601 values a character column must hold throughout to be typed date/time."""
_EXACT_INT: Final = 2.0**53
_PIPELINE: Final = ("cdisc-pipeline", __version__)


class DatasetJsonError(ValueError):
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


def write_dataset_json(
    df: pd.DataFrame,
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
) -> Path:
    """Write `df` as the Dataset-JSON v1.1 file `path`, columns (all of df's) as listed.

    Values by dataType: string/URI/decimal as text; integer, float, double from numbers
    (integer ones must be whole); boolean; date/datetime/time as ISO 8601 text, or, with
    `target_data_type`, from SAS day (date) or second (datetime, time) counts.
    `source_system` is (name, version). Raises ValueError (writing nothing) on a value or
    metadata that does not fit. The file is replaced atomically.
    """
    _check_columns(df, columns)
    if db_last_modified is not None and db_last_modified > created:
        raise ValueError(f"db_last_modified {db_last_modified} is after created {created}")
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
        "records": len(df),
        "name": name,
        "label": label,
    }
    cells = [_cells(df[column.name], column) for column in columns]
    encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
    head = encode({key: value for key, value in header.items() if value is not None})
    text = "".join(
        [
            head[:-1],
            ',"columns":[\n',
            ",\n".join(encode(column.to_json()) for column in columns),
            '\n],"rows":[\n' if len(df) else '\n],"rows":[',
            ",\n".join(map(encode, zip(*cells, strict=True))),
            "\n]}\n" if len(df) else "]}\n",
        ]
    )
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        tmp.write_bytes(text.encode("utf-8"))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


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
        text = values.astype("string")
        present = text[text.notna() & (text != "")]
        kinds = [k for k in _TIMING if len(present) and present.str.fullmatch(_ISO_TEXT[k]).all()]
        return JsonColumn(item_oid, name, label, kinds[0] if kinds else "string", length=length)
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
        low, high, unit = 0, _SECONDS_A_DAY, "seconds (00:00:00 to 23:59:59)"
    else:
        scale = 1 if kind == "date" else _SECONDS_A_DAY
        low, high = _ISO_DAYS[0] * scale, _ISO_DAYS[1] * scale
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


def _cells(series: pd.Series, column: JsonColumn) -> list[object]:
    """The column's values as JSON-ready Python objects (None for missing)."""
    if column.data_type in _TIMING:
        return _timing_cells(series, column)
    if column.data_type in _NUMBERS:
        return _number_cells(series, column)
    if column.data_type == "boolean":
        flags = series.astype("boolean")
        return flags.astype(object).where(flags.notna(), None).tolist()
    return _text_cells(series)


def _text_cells(series: pd.Series) -> list[object]:
    """Text values; missing and blank ("") values become None."""
    text = series.astype("string")
    return text.astype(object).where(text.notna() & (text != ""), None).tolist()


def _numbers(series: pd.Series, column: JsonColumn) -> np.ndarray:
    """The column as float64 (NaN for missing); only numeric dtypes, no infinities."""
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        raise ValueError(f"{column.name}: {column.data_type} values must be numbers")
    numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(numbers).any():
        raise ValueError(f"{column.name}: infinite values cannot be written to JSON")
    return numbers


def _number_cells(series: pd.Series, column: JsonColumn) -> list[object]:
    """integer -> Python int (values must be whole), float/double -> Python float."""
    missing = series.isna().to_numpy()
    if column.data_type == "integer" and pd.api.types.is_integer_dtype(series):
        values = series.to_numpy(dtype=np.int64, na_value=0).tolist()
    else:
        numbers = _numbers(series, column)
        if column.data_type == "integer":
            present = numbers[~missing]
            if not np.all((present == np.trunc(present)) & (np.abs(present) < 2.0**63)):
                raise ValueError(f"{column.name}: integer column has non-whole values")
            values = np.where(missing, 0, numbers).astype(np.int64).tolist()
        else:
            values = numbers.tolist()
    cells = np.array(values, dtype=object)
    cells[missing] = None
    return cells.tolist()


def _timing_cells(series: pd.Series, column: JsonColumn) -> list[object]:
    """ISO 8601 text as given, or SAS day/second counts (with targetDataType) made ISO."""
    if pd.api.types.is_datetime64_any_dtype(series):
        raise ValueError(
            f"{column.name}: pass {column.data_type} values as ISO 8601 text or SAS counts"
        )
    if not pd.api.types.is_numeric_dtype(series):
        return _text_cells(series)
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
    return _text_cells(sas_number_text(numbers, _ISO_FORMAT[column.data_type]))

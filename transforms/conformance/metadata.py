"""Checks of what a regulator's SAS XPT v5 reader sees: names, labels, lengths, characters,
and the agreement of define.xml with the dataset files."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms.conformance.findings import Dataset, Findings, XptMeta
from transforms.conformance.load import READ_ERRORS, read_define

NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
DATASET_NAME = re.compile(r"^[A-Z][A-Z0-9]{0,7}$")
MAX_LABEL = 40
MAX_CHAR = 200
NUMERIC_TYPES = frozenset({"integer", "float"})


def _unfit_for_xpt(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Per value: longer than an XPT v5 column holds (in UTF-8 bytes); holding a character
    outside printable ASCII (a byte outside 32-126). False for a missing value."""
    array = pa.array(text)
    long = pc.greater(pc.binary_length(array), MAX_CHAR)
    odd = pc.invert(pc.ascii_is_printable(array))
    return _mask(long, text.index), _mask(odd, text.index)


def _mask(flags: pa.ChunkedArray | pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(np.array(pc.fill_null(flags, False), dtype=bool), index=index)


def check_dataset(ds: Dataset, findings: Findings, ig_label: Callable[[str], str | None]) -> None:
    """Dataset name and file name, label, variable names and labels, column widths (its
    values: :func:`check_values`). ``ig_label`` gives the IG label of a variable of this
    dataset, or None."""
    sdtm = ds.standard == "SDTM"
    name_rule, label_rule, ig_rule = (
        ("CORE-000182", "CORE-000019", "SD0063") if sdtm else ("AD0013", "AD0016", "AD0018")
    )
    if not DATASET_NAME.match(ds.name):
        findings.one("PIPE-002", ds.name, None, "dataset name is not 1-8 of A-Z, 0-9", ds.name)
    for path in ds.files:
        if path.stem != ds.name.lower():
            findings.one(
                "PIPE-002",
                ds.name,
                None,
                f"file {path.name} is not named {ds.name.lower()}{path.suffix}",
                path.name,
            )
    meta = ds.xpt
    if meta is not None:
        if meta.name != ds.name:
            findings.one(
                "PIPE-002",
                ds.name,
                None,
                f"the XPT member is {meta.name!r}, the file says {ds.name}",
                meta.name,
            )
        if not meta.label or len(meta.label.encode()) > MAX_LABEL:
            findings.one(
                "PIPE-003",
                ds.name,
                None,
                f"dataset label is empty or {len(meta.label.encode())} bytes",
                meta.label,
            )
    for col in ds.columns:
        if not NAME.match(col):
            findings.one(
                name_rule,
                ds.name,
                col,
                "variable names are 1-8 of A-Z, 0-9, _ starting with a letter",
                col,
            )
        if meta is None:
            continue
        label = meta.labels.get(col, "")
        if len(label.encode()) > MAX_LABEL:
            findings.one(
                label_rule,
                ds.name,
                col,
                f"label is {len(label.encode())} bytes (at most {MAX_LABEL})",
                label,
            )
        expected = ig_label(col)
        if expected is not None and label != expected:
            findings.one(ig_rule, ds.name, col, f"label {label!r}; the IG says {expected!r}", label)
        width = meta.widths.get(col, 0)
        if col in meta.char and width > MAX_CHAR:
            findings.one(
                "PIPE-001",
                ds.name,
                col,
                f"XPT column width is {width} bytes (at most {MAX_CHAR})",
                width,
            )


def check_values(ds: Dataset, findings: Findings) -> None:
    """Text values (of one frame of a dataset) an XPT v5 column holds: at most 200 bytes,
    printable ASCII."""
    for col in ds.variables:
        values = ds[col]
        if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
            continue
        text = values.astype("string")
        if not text.notna().any():
            continue
        long, odd = _unfit_for_xpt(text)
        findings.rows(
            "PIPE-001", ds, long, col, f"value longer than {MAX_CHAR} bytes: XPT v5 cannot hold it"
        )
        findings.rows(
            "SD1029", ds, odd, col, "value holds a character outside printable ASCII (32-126)"
        )


def check_define(
    folder: Path, metas: Mapping[str, XptMeta], findings: Findings, label: str
) -> None:
    """define.xml of one folder (sdtm/ or adam/) against the XPT files beside it."""
    path = folder / "define.xml"
    if not metas:
        return
    if not path.exists():
        findings.one(
            "PIPE-010", label, None, f"{folder.name}/define.xml is missing: define checks not made"
        )
        return
    try:
        groups = read_define(path)
    except READ_ERRORS as exc:
        findings.one("PIPE-010", label, None, f"{path.name} cannot be read: {exc}")
        return
    for name, described in groups.items():
        href = described.href or f"{name.lower()}.xpt"
        if name not in metas and not (folder / href).exists():
            findings.one(
                "SD0061",
                name,
                None,
                f"define.xml describes {name} ({href}) but there is no such file",
                href,
            )
    for name, meta in metas.items():
        group = groups.get(name)
        if group is None:
            findings.one("SD1063", name, None, f"{name.lower()}.xpt is not in define.xml")
            continue
        if group.label != meta.label:
            findings.one(
                "SD1325",
                name,
                None,
                f"define.xml says {group.label!r}, the XPT {meta.label!r}",
                meta.label,
            )
        items = {i.name: i for i in group.items}
        for var in [i.name for i in group.items if i.name not in meta.columns]:
            findings.one("SD0054", name, var, "in define.xml but not in the XPT file")
        for col in meta.columns:
            item = items.get(col)
            if item is None:
                findings.one("SD0060", name, col, "in the XPT file but not in define.xml")
                continue
            xpt_label = meta.labels.get(col, "")
            if item.label != xpt_label:
                findings.one(
                    "SD1324",
                    name,
                    col,
                    f"define.xml label {item.label!r}, XPT label {xpt_label!r}",
                    xpt_label,
                )
            numeric = item.data_type in NUMERIC_TYPES
            if numeric == (col in meta.char):
                kind = "Char" if col in meta.char else "Num"
                findings.one(
                    "SD0059",
                    name,
                    col,
                    f"define.xml DataType {item.data_type} for a {kind} variable",
                    item.data_type,
                )
            width = meta.widths.get(col)
            if item.data_type == "text" and col in meta.char and item.length != width:
                findings.one(
                    "PIPE-004",
                    name,
                    col,
                    f"define.xml Length {item.length}, XPT width {width}",
                    item.length,
                )

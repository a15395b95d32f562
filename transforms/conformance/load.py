"""Reading a run folder for the checks: datasets, XPT metadata and define.xml.

Rows come from the Parquet file the pipeline wrote (typed, nulls kept), read whole or, for a
large dataset, a column at a time as the checks ask for them; where a dataset has no Parquet
file, from its XPT. Names, labels and widths come from the XPT header, the file a regulator
receives. A file that cannot be read is reported (PIPE-010), not raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
from lxml import etree

from transforms.conformance.findings import Dataset, Findings, XptMeta
from transforms.define.xml import NS

READ_ERRORS = (
    OSError,
    ValueError,
    pyreadstat.ReadstatError,
    pyreadstat.PyreadstatError,
    etree.XMLSyntaxError,
)


def xpt_meta(path: Path) -> XptMeta:
    """The XPT header: member name, label, variables with labels, widths and types."""
    _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
    columns = list(meta.column_names)
    labels = dict(zip(columns, meta.column_labels or [None] * len(columns), strict=True))
    return XptMeta(
        name=str(meta.table_name or "").upper(),
        label=str(meta.file_label or ""),
        columns=columns,
        labels={k: str(v or "") for k, v in labels.items()},
        widths={k: int(v) for k, v in meta.variable_storage_width.items()},
        char={k for k, v in meta.readstat_variable_types.items() if v == "string"},
    )


def read_xpt_rows(path: Path) -> pd.DataFrame:
    data, _ = pyreadstat.read_xport(str(path))
    for col in data.columns:
        if pd.api.types.is_string_dtype(data[col]) or data[col].dtype == object:
            text = data[col].astype("string")
            # XPT has no null text: a blank value is a missing one.
            data[col] = text.mask(text.str.strip() == "")
    return data


# A dataset of at most this many values (rows x columns) is read whole; of a larger one (LB
# of a large study) a check reads the columns it needs, one at a time.
HOLD_CELLS = 5_000_000

# The columns, row count, reader of one column and the columns read whole (see Dataset).
Rows = tuple[list[str], int, Callable[[str], pd.Series], dict[str, pd.Series]]


def _parquet_rows(path: Path) -> Rows:
    """A file that is not Parquet raises here; of a large one, damaged past its footer, the
    check that reads the damaged column raises."""
    length = len(pd.read_parquet(path, columns=[]))
    columns = list(pq.read_schema(path).empty_table().to_pandas().columns)
    held: dict[str, pd.Series] = {}
    if length * len(columns) <= HOLD_CELLS:
        data = pd.read_parquet(path).reset_index(drop=True)
        held = {c: data[c] for c in columns}
    return columns, length, partial(_read_column, path), held


def _read_column(path: Path, column: str) -> pd.Series:
    return pd.read_parquet(path, columns=[column])[column].reset_index(drop=True)


def _xpt_rows(path: Path) -> Rows:
    data = read_xpt_rows(path)
    return list(data.columns), len(data), data.__getitem__, {}


def datasets(folder: Path, standard: str, findings: Findings) -> Iterator[Dataset]:
    """The datasets of one folder (sdtm/ or adam/), one at a time: DM and ADSL first, the
    SUPP-- datasets after their parents."""
    if not folder.is_dir():
        return
    stems = sorted(
        {p.stem.lower() for p in folder.glob("*.parquet")}
        | {p.stem.lower() for p in folder.glob("*.xpt")}
    )
    stems.sort(key=lambda s: (s not in ("dm", "adsl"), s.startswith("supp"), s))
    for stem in stems:
        parquet, xpt = folder / f"{stem}.parquet", folder / f"{stem}.xpt"
        files = [p for p in (parquet, xpt) if p.exists()]
        name = stem.upper()
        meta = None
        if xpt.exists():
            try:
                meta = xpt_meta(xpt)
            except READ_ERRORS as exc:
                findings.one("PIPE-010", name, None, f"{xpt.name} cannot be read: {exc}")
        rows = None
        for path in files:  # the Parquet file; if it cannot be read, the XPT
            if path.suffix == ".xpt" and meta is None:
                continue
            try:
                rows = _parquet_rows(path) if path == parquet else _xpt_rows(path)
                break
            except READ_ERRORS as exc:
                findings.one("PIPE-010", name, None, f"{path.name} cannot be read: {exc}")
        if rows is not None:
            yield Dataset(name, standard, *rows, meta, files)


# --- define.xml --------------------------------------------------------------------------


@dataclass
class DefineItem:
    name: str
    label: str
    data_type: str
    length: int | None


@dataclass
class DefineGroup:
    name: str
    label: str
    href: str | None
    items: list[DefineItem] = field(default_factory=list)


def read_define(path: Path) -> dict[str, DefineGroup]:
    """The datasets define.xml describes, by name, with their variables in order."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    root = etree.parse(str(path), parser).getroot()
    mdv = "/odm:ODM/odm:Study/odm:MetaDataVersion"

    def text(element: etree._Element) -> str:
        return str(element.xpath("string(odm:Description/odm:TranslatedText)", namespaces=NS))

    items = {}
    for item in root.xpath(f"{mdv}/odm:ItemDef", namespaces=NS):
        length = item.get("Length")
        items[item.get("OID")] = DefineItem(
            name=str(item.get("Name")),
            label=text(item),
            data_type=str(item.get("DataType")),
            length=int(length) if length and length.isdigit() else None,
        )
    groups = {}
    for group in root.xpath(f"{mdv}/odm:ItemGroupDef", namespaces=NS):
        hrefs = group.xpath("def:leaf/@xlink:href", namespaces=NS)
        refs = sorted(
            group.xpath("odm:ItemRef", namespaces=NS),
            key=lambda r: int(r.get("OrderNumber") or 0),
        )
        name = str(group.get("Name")).upper()
        groups[name] = DefineGroup(
            name=name,
            label=text(group),
            href=str(hrefs[0]) if hrefs else None,
            items=[items[r.get("ItemOID")] for r in refs if r.get("ItemOID") in items],
        )
    return groups

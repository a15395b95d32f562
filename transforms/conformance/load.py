"""Reading a run folder for the checks: datasets, XPT metadata and define.xml.

Rows come from the Parquet file the pipeline wrote (typed, nulls kept), read whole or, for a
large dataset, a group of whole subjects at a time (and a column at a time by the checks of
the study as a whole); where a dataset has no Parquet file, from its XPT. Names, labels and
widths come from the XPT header, the file a regulator receives. A file that cannot be read
is reported (PIPE-010), not raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
from lxml import etree

from transforms.conformance.findings import Dataset, Findings, XptMeta
from transforms.define.xml import NS
from transforms.jobs.kit import TableReader, frame_rows
from transforms.sdtm.chunks import GroupRows, group_of, subject_groups

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


# A dataset of at most this many values (rows x columns), and at most a frame of rows
# (transforms.jobs.kit.frame_rows), is read whole; a larger one (LB of a large study) a
# group of whole subjects at a time, and a column at a time by what looks at it whole.
HOLD_CELLS = 5_000_000

# The columns, row count, reader of one column, the columns read whole (see Dataset) and
# the reader of its frames (None: read whole).
Rows = tuple[
    list[str],
    int,
    Callable[[str], pd.Series],
    dict[str, pd.Series],
    Callable[[Dataset, list[str] | None], Iterator[Dataset]] | None,
]


def _parquet_rows(path: Path) -> Rows:
    """A file that is not Parquet raises here; of a large one, damaged past its footer, the
    check that reads the damaged column raises."""
    length = len(pd.read_parquet(path, columns=[]))
    columns = list(pq.read_schema(path).empty_table().to_pandas().columns)
    if length * len(columns) <= HOLD_CELLS and length <= frame_rows():
        data = pd.read_parquet(path).reset_index(drop=True)
        return columns, length, partial(_read_column, path), {c: data[c] for c in columns}, None
    return columns, length, partial(_read_column, path), {}, partial(_frames, path)


def _read_column(path: Path, column: str) -> pd.Series:
    return pd.read_parquet(path, columns=[column])[column].reset_index(drop=True)


def _subjects(path: Path) -> Iterator[pd.Series]:
    """The USUBJID of each row of a Parquet table, a frame of rows at a time."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=frame_rows(), columns=["USUBJID"]):
        yield batch.column(0).to_pandas().astype("string")


def _frames(path: Path, ds: Dataset, columns: list[str] | None) -> Iterator[Dataset]:
    """The frames of a large dataset (:meth:`Dataset.frames`): groups of whole subjects in
    USUBJID order (transforms.sdtm.chunks), each read from the row groups that hold its
    rows."""
    numbers = subject_groups(_subjects(path), frame_rows()) if "USUBJID" in ds.variables else None
    if numbers is None:  # one frame: the dataset, read a column at a time
        yield ds
        return
    group = np.concatenate([group_of(numbers, s).astype("int32") for s in _subjects(path)])
    table, by_group = TableReader({ds.name: path}, ds.standard), GroupRows({ds.name: group})
    for number in range(int(numbers.max()) + 1):
        rows = table.read_positions(ds.name, by_group.positions(ds.name, number), columns)
        held, index = {c: rows[c] for c in rows.columns}, rows.index
        del rows
        yield replace(ds, read=held.__getitem__, held=held, rows=index, split=None)
        held.clear()  # the caller is done with the frame: its rows go before the next come


def _xpt_rows(path: Path) -> Rows:
    data = read_xpt_rows(path)
    return list(data.columns), len(data), data.__getitem__, {}, None


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
            columns, length, read, held, split = rows
            yield Dataset(name, standard, columns, length, read, held, meta, files, split=split)


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

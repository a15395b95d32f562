"""Findings: one row per offending record (or per dataset/variable for metadata rules).

Each check hands :class:`Findings` a boolean mask over a dataset (vectorised: one call per
rule and variable, never one per row); the row's subject, --SEQ and 1-based row number are
taken from the dataset, so every finding says where to look.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms import listing as layout
from transforms.conformance.rules import RULES, SEVERITIES

COLUMNS = [
    "rule_id",
    "severity",
    "dataset",
    "variable",
    "USUBJID",
    "SEQ",
    "row",
    "value",
    "message",
]


# The conformance columns as the listing (transforms.listing) names them.
_AS_LISTED = {"rule_id": "rule", "USUBJID": "subject", "SEQ": "seq"}


def as_listing(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings (:data:`COLUMNS`) in the listing layout, with each rule's reference."""
    out = findings.rename(columns=_AS_LISTED)
    out["reference"] = out["rule"].map({r.id: r.source for r in RULES.values()})
    return layout.conform(out, layout.CONFORMANCE)


def from_listing(listed: pd.DataFrame) -> pd.DataFrame:
    """A conformance listing read back (:func:`transforms.listing.read_csv`) as findings."""
    back = {v: k for k, v in _AS_LISTED.items()}
    return listed.rename(columns=back).reindex(columns=COLUMNS)


@dataclass
class XptMeta:
    """What an XPT file says about itself (read without its rows)."""

    name: str  # member (dataset) name
    label: str
    columns: list[str]
    labels: dict[str, str]
    widths: dict[str, int]
    char: set[str]  # the character columns


@dataclass(eq=False)
class Dataset:
    """One dataset of the run: its rows (from Parquet, else the XPT) and XPT metadata. A
    large dataset is never held whole: its rows are checked a frame (a group of whole
    subjects) at a time (:meth:`frames`), and what looks at the dataset as a whole reads a
    column at a time."""

    name: str  # upper case: AE, SUPPAE, ADSL
    standard: str  # SDTM | ADaM
    variables: list[str]  # the columns of its rows
    length: int  # number of rows; row number = position + 1
    read: Callable[[str], pd.Series]  # one column of the rows (indexed by position)
    # The columns in memory: all of a small dataset; of a large one USUBJID and --SEQ, which
    # most checks and every finding need, once read.
    held: dict[str, pd.Series] = field(repr=False)
    xpt: XptMeta | None
    files: list[Path]
    # Of one frame of a large dataset: the positions of its rows in the dataset (None: all
    # the rows), which index its columns.
    rows: pd.Index | None = field(default=None, repr=False)
    # The frames of a large dataset (None: the dataset is its one frame).
    split: Callable[[Dataset, list[str] | None], Iterator[Dataset]] | None = field(
        default=None, repr=False
    )

    def __getitem__(self, column: str) -> pd.Series:
        """One column of the rows."""
        values = self.held.get(column)
        if values is None:
            values = self.read(column)
            if column in ("USUBJID", self.seq_var):
                self.held[column] = values
        return values

    def frames(self, columns: list[str] | None = None) -> Iterator[Dataset]:
        """The rows a frame at a time, each a Dataset of its rows (indexed by their positions
        in this one) with its `columns` (None: all): groups of whole subjects of about
        ``frame_rows()`` rows for a large dataset with subjects, else the dataset itself. A
        check of records against other records of their subject (keys holding USUBJID)
        gives the same findings per frame."""
        return self.split(self, columns) if self.split is not None else iter((self,))

    def release(self) -> None:
        """Let go of the columns in memory once the dataset's own checks are made: the
        checks of the study as a whole read the few they need from the file again."""
        self.held = {}

    def frame(self, columns: list[str]) -> pd.DataFrame:
        """Some columns of the rows."""
        return pd.DataFrame({c: self[c] for c in columns}, index=self.index)

    @property
    def index(self) -> pd.Index:
        return self.rows if self.rows is not None else pd.RangeIndex(self.length)

    @property
    def seq_var(self) -> str | None:
        """The --SEQ (SDTM) or ASEQ (ADaM) variable, when the dataset has one."""
        names = [f"{self.name}SEQ", f"{self.name[:2]}SEQ"]
        if self.standard == "ADaM":  # ASEQ, else the SDTM --SEQ it copies (ADAE: AESEQ)
            names = ["ASEQ", f"{self.name[2:4]}SEQ"]
        for name in names:
            if name in self.variables:
                return name
        return None

    @property
    def columns(self) -> list[str]:
        return self.xpt.columns if self.xpt is not None else self.variables


def isin(values: pd.Series, allowed: pd.Series | list[str]) -> pd.Series:
    """``values.isin(allowed)`` for text. (pandas converts ``allowed`` one element at a time,
    which costs more than the test itself when it is a codelist or a list of subjects.)"""
    text = pa.array(values.astype("string"))
    found = pc.is_in(text, value_set=pa.array(pd.Series(allowed, dtype="string")))
    return pd.Series(np.array(found, dtype=bool), index=values.index)


def _number_text(numbers: pd.Series) -> pd.Series:
    whole = numbers.notna() & (numbers % 1 == 0) & (numbers.abs() < 1e15)
    return numbers.where(whole).astype("Int64").astype("string").fillna(numbers.astype("string"))


def as_text(values: pd.Series) -> pd.Series:
    """Values as text for the listing: whole numbers without ".0", missing as NA."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        # Numbers repeat over the rows: each distinct one written once.
        codes, uniques = pd.factorize(pd.to_numeric(values, errors="coerce").astype("float64"))
        written = _number_text(pd.Series(uniques, dtype="float64")).array
        return pd.Series(written.take(codes, allow_fill=True), index=values.index)
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").astype("string")
    return values.astype("string")


@dataclass
class Findings:
    """Collects findings as small frames; :meth:`frame` stacks them in one table."""

    _parts: list[pd.DataFrame] = field(default_factory=list)

    def rows(
        self,
        rule_id: str,
        ds: Dataset,
        mask: pd.Series,
        variable: str,
        message: str | pd.Series,
        values: pd.Series | None = None,
    ) -> int:
        """One finding per row of ``ds`` where ``mask`` holds; returns how many."""
        # The rows' positions in the dataset (a frame's rows are indexed by theirs).
        hit = pd.Index(mask.index.to_numpy()[mask.fillna(False).to_numpy(dtype=bool)])
        if hit.empty:
            return 0
        if values is None:
            values = ds[variable] if variable in ds.variables else pd.Series(pd.NA, hit)
        seq = ds.seq_var
        frame = pd.DataFrame(
            {
                "rule_id": rule_id,
                "severity": RULES[rule_id].severity,
                "dataset": ds.name,
                "variable": variable,
                "USUBJID": (
                    ds["USUBJID"].loc[hit].astype("string") if "USUBJID" in ds.variables else pd.NA
                ),
                "SEQ": as_text(ds[seq].loc[hit]) if seq else pd.NA,
                "row": pd.Series(hit + 1, index=hit, dtype="Int64"),
                "value": as_text(values.loc[hit]),
                "message": message.loc[hit] if isinstance(message, pd.Series) else message,
            },
            index=hit,
            columns=COLUMNS,
        )
        self._parts.append(frame)
        return len(frame)

    def one(
        self,
        rule_id: str,
        dataset: str,
        variable: str | None,
        message: str,
        value: object = None,
    ) -> None:
        """A finding about a dataset or variable as a whole (no particular record)."""
        self._parts.append(
            pd.DataFrame(
                [
                    {
                        "rule_id": rule_id,
                        "severity": RULES[rule_id].severity,
                        "dataset": dataset,
                        "variable": variable,
                        "USUBJID": None,
                        "SEQ": None,
                        "row": None,
                        "value": None if value is None else str(value),
                        "message": message,
                    }
                ],
                columns=COLUMNS,
            )
        )

    def take_over(self, listing: Path) -> None:
        """The findings of an earlier check's CSV (same data, already checked), but for
        those about the study as a whole (dataset "-"), which every check makes itself."""
        frame = from_listing(layout.read_csv(listing))
        self._parts.append(frame.loc[frame["dataset"] != "-"])

    def frame(self) -> pd.DataFrame:
        """All findings, most severe first, then by rule, dataset and row."""
        empty = pd.DataFrame({c: pd.Series(dtype="string") for c in COLUMNS})
        parts = [p for p in self._parts if len(p)]
        out = pd.concat([empty, *parts], ignore_index=True) if parts else empty
        for col in COLUMNS:
            out[col] = out[col].astype("Int64" if col == "row" else "string")
        rank = out["severity"].map({s: i for i, s in enumerate(SEVERITIES)}).astype("int64")
        order = (
            out.assign(_rank=rank)
            .sort_values(["_rank", "rule_id", "dataset", "row", "variable"], kind="stable")
            .index
        )
        return out.loc[order].reset_index(drop=True)

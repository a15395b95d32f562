"""Findings: one row per offending record (or per dataset/variable for metadata rules).

Each check hands :class:`Findings` a boolean mask over a dataset (vectorised: one call per
rule and variable, never one per row); the row's subject, --SEQ and 1-based row number are
taken from the dataset, so every finding says where to look.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

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


@dataclass
class XptMeta:
    """What an XPT file says about itself (read without its rows)."""

    name: str  # member (dataset) name
    label: str
    columns: list[str]
    labels: dict[str, str]
    widths: dict[str, int]
    char: set[str]  # the character columns


@dataclass
class Dataset:
    """One dataset of the run: its rows (from Parquet, else the XPT) and XPT metadata."""

    name: str  # upper case: AE, SUPPAE, ADSL
    standard: str  # SDTM | ADaM
    data: pd.DataFrame  # RangeIndex: row number = index + 1
    xpt: XptMeta | None
    files: list[Path]

    @property
    def seq_var(self) -> str | None:
        """The --SEQ (SDTM) or ASEQ (ADaM) variable, when the dataset has one."""
        names = [f"{self.name}SEQ", f"{self.name[:2]}SEQ"]
        if self.standard == "ADaM":  # ASEQ, else the SDTM --SEQ it copies (ADAE: AESEQ)
            names = ["ASEQ", f"{self.name[2:4]}SEQ"]
        for name in names:
            if name in self.data.columns:
                return name
        return None

    @property
    def columns(self) -> list[str]:
        return self.xpt.columns if self.xpt is not None else list(self.data.columns)


def as_text(values: pd.Series) -> pd.Series:
    """Values as text for the listing: whole numbers without ".0", missing as NA."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        whole = numbers.notna() & (numbers % 1 == 0) & (numbers.abs() < 1e15)
        text = numbers.astype("string")
        text[whole] = numbers[whole].astype("int64").astype("string")
        return text.where(numbers.notna(), pd.NA)
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
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return 0
        data = ds.data
        hit = data.index[mask.to_numpy()]
        if values is None:
            values = data[variable] if variable in data.columns else pd.Series(pd.NA, data.index)
        seq = ds.seq_var
        frame = pd.DataFrame(
            {
                "rule_id": rule_id,
                "severity": RULES[rule_id].severity,
                "dataset": ds.name,
                "variable": variable,
                "USUBJID": (
                    data.loc[hit, "USUBJID"].astype("string") if "USUBJID" in data else pd.NA
                ),
                "SEQ": as_text(data.loc[hit, seq]) if seq else pd.NA,
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
        frame = pd.read_csv(listing, dtype="string", keep_default_na=False, na_values=[""])
        frame["row"] = pd.to_numeric(frame["row"]).astype("Int64")
        self._parts.append(frame.loc[frame["dataset"] != "-"].reindex(columns=COLUMNS))

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

"""One finding record and one CSV layout for every listing a data manager reads.

The mapping issue listings (``issues_<dataset>.csv``, ``issues_raw.csv``), the quality
gates' listings (``quality_raw.csv``, ``quality_sdtm.csv``) and the conformance listing
(``conformance.csv``) each hold rows of :class:`Finding`: the same columns in the same
order, written by :func:`write_csv` with the same quoting. Each source keeps its own way of
finding things (vectorised frames); it hands its rows here as a frame in this layout
(:func:`conform`), or as records (:func:`frame`).

A column a source has nothing for stays empty: ``site`` and ``suite`` are the quality
gates' (the site of the subject, the expectation suite), ``seq`` is conformance's (--SEQ or
ASEQ of the dataset record), ``reference`` is where the rule comes from (the spec file of a
quality check, the published rule a conformance rule implements).
"""

from __future__ import annotations

import csv
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Final

import pandas as pd

from transforms.files import write_text

# Where a finding comes from (the ``source`` column).
MAPPING: Final = "mapping"  # mapping raw data to SDTM (transforms.issues)
RAW_GATE: Final = "raw-gate"  # the quality gate on the raw snapshot
SDTM_GATE: Final = "sdtm-gate"  # the quality gate on the mapped SDTM
CONFORMANCE: Final = "conformance"  # the conformance report on the written datasets
XPT: Final = "xpt"  # the SAS transport writer's refusal, traced to the raw records
SOURCES: Final = (MAPPING, RAW_GATE, SDTM_GATE, CONFORMANCE, XPT)


@dataclass(frozen=True)
class Finding:
    """One problem found in one record (or in a dataset or variable as a whole)."""

    source: str  # one of SOURCES
    severity: str  # as the source grades it: error/warning, or Reject/Error/Warning/Notice
    rule: str  # the rule's ID: KEY, CT, LB-RANGE, SD0002, ...
    dataset: str | None = None  # SDTM/ADaM dataset, raw form OID, or RAW (the raw snapshot)
    file: str | None = None  # the file the record was read from (raw file, sdtm/ae.parquet)
    row: int | None = None  # its line in the raw file, or record number in the dataset
    seq: str | None = None  # the dataset record's --SEQ / ASEQ
    subject: str | None = None  # SUBJID or USUBJID
    site: str | None = None
    variable: str | None = None  # the raw column(s) or dataset variable; A/B for a key
    value: str | None = None  # as read (raw spelling kept); a|b for a key
    message: str = ""
    suite: str | None = None  # the quality gate's expectation suite
    reference: str | None = None  # where the rule is from: spec file, published rule


COLUMNS: Final[list[str]] = [f.name for f in fields(Finding)]
_INTEGER: Final = frozenset({"row"})


def empty() -> pd.DataFrame:
    """A listing without rows (the columns and their types)."""
    return conform(pd.DataFrame(columns=COLUMNS))


def conform(frame: pd.DataFrame, source: str | None = None) -> pd.DataFrame:
    """``frame`` in the listing layout: its columns of the layout in order (those it lacks
    empty), ``row`` as Int64 and the rest as text; ``source`` fills that column if given."""
    out = frame.reindex(columns=COLUMNS).reset_index(drop=True)
    if source is not None:
        if source not in SOURCES:
            raise ValueError(f"unknown finding source {source!r}; one of {SOURCES}")
        out["source"] = source
    for column in COLUMNS:
        if column in _INTEGER:
            out[column] = pd.to_numeric(out[column]).astype("Int64")
        else:
            out[column] = out[column].astype("string")
    return out


def frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """Findings as a listing frame, in their order."""
    rows = [asdict(f) for f in findings]
    return conform(pd.DataFrame(rows, columns=COLUMNS)) if rows else empty()


def records(listing: pd.DataFrame) -> list[Finding]:
    """The rows of a listing frame as findings (missing cells as None)."""
    out = conform(listing).astype(object).where(lambda f: f.notna(), None)
    return [Finding(**_typed(r)) for r in out.to_dict("records")]


def _typed(row: Mapping[Hashable, Any]) -> dict[str, Any]:
    fixed = {str(k): v for k, v in row.items()}
    if fixed["row"] is not None:
        fixed["row"] = int(fixed["row"])
    if fixed["message"] is None:
        fixed["message"] = ""
    return fixed


def to_csv(listing: pd.DataFrame) -> str:
    """The CSV text of a listing: header of COLUMNS, minimal quoting, LF line ends,
    missing cells empty."""
    return conform(listing).to_csv(index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")


def write_csv(listing: pd.DataFrame, path: Path) -> None:
    """Write the listing; the file is written anew and renamed into place, so a report
    hard-linked from an earlier run (the ADaM run links the SDTM run's) is replaced,
    never written through."""
    write_text(path, to_csv(listing))


def read_csv(path: Path) -> pd.DataFrame:
    """A listing written by :func:`write_csv`, back in the layout (empty cells missing)."""
    read = pd.read_csv(path, dtype="string", keep_default_na=False, na_values=[""])
    if list(read.columns) != COLUMNS:
        raise ValueError(f"{path}: not a findings listing (columns {list(read.columns)})")
    return conform(read)

"""reports/findings.xlsx: the conformance and quality findings as one Excel workbook, laid
out as a Pinnacle 21 Community report is (the workbook a reviewer is used to).

Four sheets, each with its header row frozen and an autofilter over its columns:

- **Dataset Summary**: per dataset its records and the findings by severity;
- **Issue Summary**: per source, dataset, rule and severity how many findings, with the
  rule's message;
- **Details**: every finding (the rows of the listings: conformance.csv, quality_raw.csv,
  quality_sdtm.csv), up to what a sheet holds;
- **Rules**: every conformance rule checked (with its published source) and every quality
  rule that found something, with its count.

The workbook is written with XlsxWriter, whose files are reproducible: the document
properties carry the given ``created`` time and the ZIP entries a fixed one, so the same
findings give the same bytes. Text is written as text (never turned into a formula or a
link), numbers as numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import pandas as pd
import xlsxwriter

from transforms import listing as layout
from transforms.conformance.report import rule_summary
from transforms.conformance.rules import RULES, SEVERITIES
from transforms.files import replaced

MAX_ROWS: Final = 1_048_575
"""Data rows an Excel sheet holds below its header."""
DETAILS: Final = [
    ("dataset", "Dataset"),
    ("rule", "Rule"),
    ("severity", "Severity"),
    ("row", "Record"),
    ("subject", "Subject"),
    ("seq", "Seq"),
    ("variable", "Variables"),
    ("value", "Values"),
    ("message", "Message"),
    ("source", "Source"),
    ("site", "Site"),
    ("suite", "Suite"),
    ("file", "File"),
    ("reference", "Reference"),
]
"""The Details columns: listing column, heading (P21's order: dataset, rule, record first)."""
_SEVERITY: Final = {s.lower(): s for s in SEVERITIES}
"""A severity as the summaries count it: the quality gates' error/warning are Error/Warning."""


def _severity(values: pd.Series) -> pd.Series:
    return values.fillna("").str.lower().map(_SEVERITY).fillna(values.fillna(""))


def dataset_summary(findings: pd.DataFrame, records: Mapping[str, int]) -> pd.DataFrame:
    """Per dataset (those checked, then any other a finding names): records and findings
    by severity, and their total."""
    severity = _severity(findings["severity"])
    counts = (
        pd.crosstab(findings["dataset"].fillna("-"), severity) if len(findings) else pd.DataFrame()
    )
    names = list(records) + sorted(set(counts.index) - set(records))
    table = pd.DataFrame({"Dataset": names})
    table["Records"] = [records.get(n) for n in names]
    for level in SEVERITIES:
        column = counts[level] if level in counts.columns else pd.Series(dtype="int64")
        table[level] = [int(column.get(n, 0)) for n in names]
    table["Total"] = table[list(SEVERITIES)].sum(axis=1)
    return table


def issue_summary(findings: pd.DataFrame) -> pd.DataFrame:
    """Per source, dataset, rule and severity: the first finding's message and the count,
    sorted by severity, then source, dataset and rule."""
    columns = ["Source", "Dataset", "Rule", "Severity", "Message", "Found"]
    if not len(findings):
        return pd.DataFrame(columns=columns)
    keyed = findings.assign(
        severity=_severity(findings["severity"]), dataset=findings["dataset"].fillna("-")
    )
    keys = ["source", "dataset", "rule", "severity"]
    grouped = keyed.groupby(keys, sort=False, dropna=False)
    table = (
        grouped["message"].first().to_frame("Message").join(grouped.size().rename("Found"))
    ).reset_index()
    # a conformance rule's message is the rule's; a quality check's, its first finding's
    described = table["rule"].map({r.id: r.description for r in RULES.values()})
    table["Message"] = described.where(table["source"] == layout.CONFORMANCE, table["Message"])
    rank = table["severity"].map({s: i for i, s in enumerate(SEVERITIES)}).fillna(len(SEVERITIES))
    table = table.assign(_rank=rank).sort_values(["_rank", *keys[:3]], kind="stable")
    table = table.rename(columns={k: k.capitalize() for k in keys})
    return table[columns].reset_index(drop=True)


def rules_table(conformance: pd.DataFrame, quality: pd.DataFrame) -> pd.DataFrame:
    """Every conformance rule (found or not) and every quality rule that found something."""
    rules = rule_summary(conformance).rename(
        columns={
            "rule_id": "Rule", "severity": "Severity", "description": "Description",
            "source": "Reference", "count": "Found",
        }
    )  # fmt: skip
    rules.insert(1, "Source", layout.CONFORMANCE)
    if len(quality):
        grouped = quality.groupby(["source", "rule", "severity"], sort=True, dropna=False)
        found = (
            grouped.agg(Description=("message", "first"), Reference=("reference", "first"))
            .join(grouped.size().rename("Found"))
            .reset_index()
            .rename(columns={"source": "Source", "rule": "Rule", "severity": "Severity"})
        )
        found["Severity"] = _severity(found["Severity"])
        rules = pd.concat([rules, found], ignore_index=True)
    return rules[["Rule", "Source", "Severity", "Description", "Reference", "Found"]]


def _sheet(
    book: xlsxwriter.Workbook,
    name: str,
    table: pd.DataFrame,
    widths: Sequence[int],
    header: Any,
) -> None:
    """One sheet: the header row frozen, an autofilter over the table, text as text."""
    sheet = book.add_worksheet(name)
    sheet.write_row(0, 0, list(table.columns), header)
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    for r, row in enumerate(table.itertuples(index=False, name=None), start=1):
        for c, value in enumerate(row):
            if value is None or value is pd.NA or (isinstance(value, float) and value != value):
                continue
            if isinstance(value, int | float) and not isinstance(value, bool):
                sheet.write_number(r, c, value)
            else:
                sheet.write_string(r, c, str(value))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(table), 1), len(table.columns) - 1)


def _details(findings: pd.DataFrame) -> pd.DataFrame:
    shown = findings.head(MAX_ROWS)
    table = pd.DataFrame({heading: shown[column] for column, heading in DETAILS}).astype(object)
    table["Record"] = [None if pd.isna(v) else int(v) for v in shown["row"]]
    return table.where(table.notna(), None)


def write_workbook(
    path: Path,
    conformance: pd.DataFrame,
    quality: pd.DataFrame,
    records: Mapping[str, int],
    *,
    created: datetime,
    title: str,
) -> Path:
    """Write the workbook of the conformance findings (listing layout,
    :func:`transforms.conformance.findings.as_listing`) and the quality gates' listings;
    ``records``: the rows of each dataset checked. Written beside `path` and renamed into
    place. Returns `path`."""
    every = pd.concat([conformance, quality], ignore_index=True) if len(quality) else conformance
    path = Path(path)
    with replaced(path) as tmp:
        book = xlsxwriter.Workbook(
            str(tmp),
            {
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "constant_memory": True,
            },
        )
        book.set_properties(
            {"title": title, "author": "cdisc-pipeline", "company": "", "created": created}
        )
        header = book.add_format({"bold": True, "bg_color": "#E8EDF2", "border": 1})
        _sheet(book, "Dataset Summary", dataset_summary(every, records), [14, 10, 8, 8, 9, 8, 8],
               header)  # fmt: skip
        _sheet(book, "Issue Summary", issue_summary(every), [12, 12, 14, 10, 80, 8], header)
        _sheet(book, "Details", _details(every),
               [10, 12, 9, 8, 16, 6, 14, 24, 80, 12, 8, 22, 22, 30], header)  # fmt: skip
        _sheet(book, "Rules", rules_table(_as_findings(conformance), quality),
               [14, 12, 9, 80, 40, 8], header)  # fmt: skip
        book.close()
    return path


def _as_findings(listed: pd.DataFrame) -> pd.DataFrame:
    """The conformance listing with the column :func:`rule_summary` counts by."""
    return listed.rename(columns={"rule": "rule_id"})

"""What a gate tells people: the listing (CSV and filterable HTML) and a one-screen summary.

One listing row per failing record and check, in the one layout of
:mod:`transforms.listing` (source ``raw-gate`` or ``sdtm-gate``): severity, subject, site,
dataset (the form OID or dataset name), file, row (the line in the raw file, or the record
number in the SDTM dataset), variable (the field), value (as read, raw spelling kept), rule,
message, suite and reference (the spec file the check is from). A check that fails as a
whole (missing columns) gives one row without subject and row. Errors come first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from transforms import listing as layout
from transforms import pages
from transforms.files import write_text
from transforms.quality.checks import Suite
from transforms.quality.engine import Outcome, SuiteRun

# The columns the HTML page shows (the CSV has all of transforms.listing.COLUMNS).
SHOWN = [
    "severity", "subject", "site", "dataset", "file", "row", "variable", "value", "rule",
    "message", "suite", "reference",
]  # fmt: skip
HTML_MAX_ROWS = 10_000
SOURCES = {"raw": layout.RAW_GATE, "sdtm": layout.SDTM_GATE}


@dataclass(frozen=True)
class Source:
    """Where a suite's rows come from, for the listing (all indexed like the frame)."""

    form: str  # form OID or dataset name
    file: str  # the file the rows were read from
    values: pd.DataFrame  # as read (raw spelling)
    checked: pd.DataFrame  # as validated (derived columns, for compared values)
    row: pd.Series  # row number shown: raw line (__ROW) or SDTM record number
    subject: pd.Series
    site: pd.Series


def _compared(outcome: Outcome, source: Source, at: np.ndarray) -> pd.Series:
    """The message, with the value a date was compared with where there is one."""
    check = outcome.check
    message = pd.Series(check.message, index=range(len(at)), dtype="string")
    if check.compare is None or check.compare not in source.checked:
        return message
    other = source.checked[check.compare].iloc[at].reset_index(drop=True)
    shown = (
        other.dt.strftime("%Y-%m-%d") if pd.api.types.is_datetime64_any_dtype(other) else other
    ).astype("string")
    label = check.compare.rsplit(":", 1)[0]
    return message.where(shown.isna(), message + " (" + label + " " + shown + ")")


def _value(field: str, values: pd.DataFrame, at: np.ndarray) -> pd.Series:
    """The value(s) of the field at those rows as read; key fields A/B show ``a|b``."""
    parts = [values[c].iloc[at].astype("string").reset_index(drop=True)
             for c in field.split("/") if c in values.columns]  # fmt: skip
    if not parts:
        return pd.Series(pd.NA, index=range(len(at)), dtype="string")
    out = parts[0].fillna("")
    for part in parts[1:]:
        out = out + "|" + part.fillna("")
    return out if len(parts) > 1 else parts[0]


def findings(suite: Suite, index: int, outcome: Outcome, source: Source) -> pd.DataFrame:
    """The listing rows of check `index` of the suite that failed (`outcome`: its failing
    positions in the source's rows; none: the check fails as a whole, one row)."""
    check = outcome.check
    base = {
        "source": SOURCES[suite.gate], "severity": check.severity, "dataset": source.form,
        "file": source.file, "variable": check.field, "rule": check.rule,
        "suite": suite.name, "reference": check.source, "check": index,
    }  # fmt: skip
    at = outcome.positions
    if not len(at):  # the check fails as a whole
        message = f"{check.message}: {outcome.details}" if outcome.details else check.message
        return pd.DataFrame([{**base, "value": outcome.details or pd.NA, "message": message}])
    return pd.DataFrame(
        {
            **base,
            "subject": source.subject.iloc[at].to_numpy(),
            "site": source.site.iloc[at].to_numpy(),
            "row": source.row.iloc[at].to_numpy(),
            "value": _value(check.field, source.values, at).to_numpy(),
            "message": _compared(outcome, source, at).to_numpy(),
        }
    )


def listing(found: Sequence[pd.DataFrame], suites: Sequence[str]) -> pd.DataFrame:
    """The findings (:func:`findings`) of the suites named, in any order, as the listing:
    errors first, then in suite, row and check order."""
    if not found:
        return layout.empty()
    every = pd.concat(found, ignore_index=True)
    order = {name: i for i, name in enumerate(suites)}
    keys = pd.DataFrame({"s": every["severity"].ne("error"), "f": every["suite"].map(order),
                         "r": every["row"], "c": every["check"]})  # fmt: skip
    index = keys.sort_values(["s", "f", "r", "c"], kind="stable", na_position="first").index
    return layout.conform(every.loc[index])


def write_listing(frame: pd.DataFrame, csv: Path, html: Path, title: str, study: str,
                  run: str) -> None:  # fmt: skip
    """The listing as CSV (every row) and as a filterable HTML page (the first rows)."""
    layout.write_csv(frame, csv)
    shown = frame.head(HTML_MAX_ROWS)
    note = f"{len(frame)} finding(s); the CSV {csv.name} holds them all."
    if len(frame) > HTML_MAX_ROWS:
        note += f" This page shows the first {HTML_MAX_ROWS}."
    page = pages.render("quality.html", title=title, study=study, run=run, note=note,
                        columns=SHOWN, rows=pages.cells(shown, SHOWN))  # fmt: skip
    write_text(html, page)


@dataclass(frozen=True)
class Counts:
    suites: int
    expectations: int
    passed: int
    failed: int
    errors: int  # failed error-severity expectations
    warnings: int  # failed warning-severity expectations
    failing_rows: int  # rows failing at least one expectation


def _counts(runs: Sequence[SuiteRun]) -> Counts:
    failed = [o for r in runs for o in r.outcomes if not o.success]
    rows = 0
    for r in runs:
        failing = [o.positions for o in r.outcomes if not o.success]
        rows += len(np.unique(np.concatenate(failing))) if failing else 0
    return Counts(
        suites=len(runs),
        expectations=sum(len(r.outcomes) for r in runs),
        passed=sum(o.success for r in runs for o in r.outcomes),
        failed=len(failed),
        errors=sum(o.check.severity == "error" for o in failed),
        warnings=sum(o.check.severity == "warning" for o in failed),
        failing_rows=rows,
    )


def summarise(
    runs: Sequence[SuiteRun], title: str, listing_csv: Path, docs: Path, seconds: float
) -> tuple[Counts, str]:
    """Counts and a one-screen text summary: a line per suite, the total, the failed checks."""
    total = _counts(runs)
    verdict = "FAILED" if total.errors else "PASSED"
    width = max([len(r.suite.name) for r in runs] + [5])
    head = f"{'suite':<{width}}  expectations  passed  failed  errors  warnings  failing rows"
    lines = [
        title,
        f"{verdict}: {total.errors} error and {total.warnings} warning expectation(s) failed "
        f"({seconds:.1f} s)",
        head,
    ]

    def line(name: str, c: Counts) -> str:
        return (f"{name:<{width}}  {c.expectations:>12}  {c.passed:>6}  {c.failed:>6}  "
                f"{c.errors:>6}  {c.warnings:>8}  {c.failing_rows:>12}")  # fmt: skip

    lines += [line(r.suite.name, _counts([r])) for r in runs]
    lines.append(line("total", total))
    failed = [(r, o) for r in runs for o in r.outcomes if not o.success]
    failed.sort(key=lambda ro: ro[1].check.severity != "error")
    if failed:
        lines.append("failed:")
    for run, o in failed[:12]:
        rows = f"{len(o.positions)} row(s)" if len(o.positions) else "table"
        text = (f"  {o.check.severity:<7} {run.suite.target:<6} {o.check.rule:<20} "
                f"{o.check.field[:12]:<12} {rows:>12}  {o.check.message}")  # fmt: skip
        lines.append(text if len(text) <= 100 else text[:97] + "...")
    if len(failed) > 12:
        lines.append(f"  ... and {len(failed) - 12} more failed expectation(s)")
    lines.append(f"listing: {listing_csv} (and .html)")
    lines.append(f"data docs: {docs / 'index.html'}")
    return total, "\n".join(lines)

"""The conformance listing (CSV) and a self-contained HTML page a reviewer can read."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping
from html import escape
from pathlib import Path

import pandas as pd

from transforms.conformance.rules import BLOCKING, RULES, SEVERITIES

HTML_ROWS_PER_RULE = 200  # the HTML lists this many findings per rule; the CSV lists all


def rule_summary(findings: pd.DataFrame) -> pd.DataFrame:
    """One row per rule checked: ID, severity, description, source and findings count."""
    counts = findings["rule_id"].value_counts()
    table = pd.DataFrame(
        [
            {
                "rule_id": r.id,
                "severity": r.severity,
                "description": r.description,
                "source": r.source,
                "count": int(counts.get(r.id, 0)),
            }
            for r in RULES.values()
        ]
    )
    rank = table["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
    return (
        table.assign(_found=table["count"] == 0, _rank=rank)
        .sort_values(["_found", "_rank", "rule_id"])
        .drop(columns=["_found", "_rank"])
        .reset_index(drop=True)
    )


def _write_atomic(path: Path, text: str) -> None:
    """Write a new file and rename it into place: a report hard-linked from an earlier
    run (the ADaM run links the SDTM run's reports) is replaced, never rewritten."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        Path(tmp).chmod(0o644)  # mkstemp makes it private; a report is for reading
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv(findings: pd.DataFrame, path: Path) -> None:
    _write_atomic(path, findings.to_csv(index=False))


def _cell(value: object) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return escape(str(value))


def _table(frame: pd.DataFrame, columns: list[str], row_class: pd.Series | None = None) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for i, record in enumerate(frame[columns].itertuples(index=False)):
        css = f' class="{row_class.iloc[i]}"' if row_class is not None else ""
        body.append(f"<tr{css}>" + "".join(f"<td>{_cell(v)}</td>" for v in record) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#eee;position:sticky;top:0}
tr.Reject td,tr.Error td{background:#fde2e1}tr.Warning td{background:#fff4d6}
tr.none td{color:#888}
.verdict{font-weight:bold;padding:.4em .8em;display:inline-block}
.pass{background:#dff3e0}.fail{background:#fde2e1}
"""


def write_html(
    findings: pd.DataFrame,
    path: Path,
    *,
    title: str,
    counts: Mapping[str, int],
    datasets: Mapping[str, int],
) -> None:
    """The report page: verdict, counts by severity, the rules (all, with counts) and the
    findings by rule (escaped; at most HTML_ROWS_PER_RULE per rule, the CSV has all)."""
    summary = rule_summary(findings)
    blocking = sum(counts.get(s, 0) for s in BLOCKING)
    verdict = (
        f'<p class="verdict fail">{blocking} finding(s) of a blocking severity '
        f"({', '.join(sorted(BLOCKING))}): not fit to publish</p>"
        if blocking
        else '<p class="verdict pass">No finding of a blocking severity '
        f"({', '.join(sorted(BLOCKING))})</p>"
    )
    severity_table = _table(
        pd.DataFrame(
            {"severity": list(SEVERITIES), "findings": [counts.get(s, 0) for s in SEVERITIES]}
        ),
        ["severity", "findings"],
    )
    data_table = _table(
        pd.DataFrame({"dataset": list(datasets), "records": list(datasets.values())}),
        ["dataset", "records"],
    )
    row_class = summary["severity"].where(summary["count"] > 0, "none")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        verdict,
        "<h2>Findings by severity</h2>",
        severity_table,
        "<h2>Datasets checked</h2>",
        data_table,
        "<h2>Rules</h2>",
        "<p>Every rule checked; rules with findings first. IDs are those of the published "
        "rule implemented (see source); PIPE- IDs are this project's own.</p>",
        _table(summary, ["rule_id", "severity", "description", "source", "count"], row_class),
        "<h2>Findings</h2>",
    ]
    if findings.empty:
        parts.append("<p>None.</p>")
    for rule_id, rows in findings.groupby("rule_id", sort=False):
        rule = RULES[str(rule_id)]
        shown = rows.head(HTML_ROWS_PER_RULE)
        more = len(rows) - len(shown)
        parts.append(
            f'<h3 id="{escape(rule.id)}">{escape(rule.id)} ({escape(rule.severity)}): '
            f"{escape(rule.description)} &mdash; {len(rows)}</h3>"
        )
        columns = ["dataset", "variable", "USUBJID", "SEQ", "row", "value", "message"]
        parts.append(_table(shown, columns))
        if more:
            parts.append(f"<p>{more} more in conformance.csv.</p>")
    parts.append("</body></html>")
    _write_atomic(path, "\n".join(parts) + "\n")

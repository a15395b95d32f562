"""The conformance listing (CSV) and a self-contained HTML page a reviewer can read."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from transforms import listing as layout
from transforms import pages
from transforms.conformance.findings import as_listing
from transforms.conformance.rules import BLOCKING, RULES, SEVERITIES
from transforms.files import write_text

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


def write_csv(findings: pd.DataFrame, path: Path) -> None:
    """The listing, in the one layout of transforms.listing (source ``conformance``)."""
    layout.write_csv(as_listing(findings), path)


# The columns of the findings tables on the page (the rule is each table's heading).
SHOWN = ["severity", "dataset", "variable", "subject", "seq", "row", "value", "message"]


def write_html(
    findings: pd.DataFrame,
    path: Path,
    *,
    title: str,
    counts: Mapping[str, int],
    datasets: Mapping[str, int],
    study: str = "",
    run: str = "",
) -> None:
    """The report page: verdict, counts by severity, the rules (all, with counts) and the
    findings by rule (escaped; at most HTML_ROWS_PER_RULE per rule, the CSV has all)."""
    summary = rule_summary(findings)
    listed = as_listing(findings)
    groups = []
    for rule_id, rows in listed.groupby("rule", sort=False):
        rule = RULES[str(rule_id)]
        shown = rows.head(HTML_ROWS_PER_RULE)
        groups.append(
            {
                "rule": rule.id, "severity": rule.severity, "description": rule.description,
                "count": len(rows), "more": len(rows) - len(shown),
                "rows": pages.cells(shown, SHOWN),
            }
        )  # fmt: skip
    page = pages.render(
        "conformance.html",
        title=title,
        study=study,
        run=run,
        blocking=sum(counts.get(s, 0) for s in BLOCKING),
        blocking_names=", ".join(sorted(BLOCKING)),
        severities=[[s, counts.get(s, 0)] for s in SEVERITIES],
        datasets=[[name, n] for name, n in datasets.items()],
        rules=pages.cells(summary, ["rule_id", "severity", "description", "source", "count"]),
        rule_classes=("sev-" + summary["severity"].str.lower())
        .where(summary["count"] > 0, "none")
        .tolist(),
        columns=SHOWN,
        groups=groups,
        csv_name=path.with_suffix(".csv").name,
    )
    write_text(path, page)

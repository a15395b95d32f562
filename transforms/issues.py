"""Data issues found while mapping: listed, never dropped in silence.

Every algorithm that cannot map a raw value records an issue naming the form, the source
row, the column, the rule broken and the value; the listing is written to the run's
reports and error-severity issues stop publishing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

COLUMNS = ["severity", "dataset", "form", "row", "subject", "column", "value", "rule", "message"]


@dataclass
class IssueLog:
    """Collects issues as small frames (vectorised: one call per rule, not per row)."""

    _parts: list[pd.DataFrame] = field(default_factory=list)

    def add(
        self,
        frame: pd.DataFrame,
        mask: pd.Series,
        *,
        severity: str,
        dataset: str,
        form: str,
        column: str,
        values: pd.Series,
        rule: str,
        message: str,
    ) -> None:
        """Record one issue per row of `frame` where `mask` holds."""
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        hit = frame.loc[mask]
        self._parts.append(
            pd.DataFrame(
                {
                    "severity": severity,
                    "dataset": dataset,
                    "form": form,
                    "row": hit["__ROW"].astype("int64") if "__ROW" in hit else pd.NA,
                    "subject": hit.get("SUBJID", hit.get("USUBJID", pd.NA)),
                    "column": column,
                    "value": values.loc[mask].astype("string"),
                    "rule": rule,
                    "message": message,
                },
                columns=COLUMNS,
            )
        )

    def frame(self) -> pd.DataFrame:
        if not self._parts:
            return pd.DataFrame({c: pd.Series(dtype="string") for c in COLUMNS})
        return pd.concat(self._parts, ignore_index=True)

    def errors(self) -> pd.DataFrame:
        df = self.frame()
        return df[df["severity"] == "error"]

    def write_csv(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.frame().to_csv(path, index=False)


def describe(issues: pd.DataFrame, limit: int = 10) -> str:
    """One line per issue (first `limit`): form, row, column, rule, value and message."""
    lines = [
        f"{str(r['severity']).upper()} {r['dataset']}: form {r['form']} row {r['row']} "
        f"column {r['column']} [{r['rule']}] value {r['value']!r}: {r['message']}"
        for r in issues.head(limit).to_dict("records")
    ]
    if len(issues) > limit:
        lines.append(f"... and {len(issues) - limit} more (see the issues listing)")
    return "\n".join(lines)

"""Data issues found while mapping: listed, never dropped in silence.

Every algorithm that cannot map a raw value records an issue naming the form, the source
row, the column, the rule broken and the value; the listing is written to the run's
reports (in the one layout of :mod:`transforms.listing`, source ``mapping``) and
error-severity issues stop publishing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from transforms import listing

# An issue as the mapping records it (IssueLog.add's words, and the keys of the records
# IssueLog.from_records takes): ``form`` is the raw file, ``column`` the raw column. The
# listing names them ``file`` and ``variable`` (transforms.listing.COLUMNS).
COLUMNS = ["severity", "dataset", "form", "row", "subject", "column", "value", "rule", "message"]
_AS_LISTED = {"form": "file", "column": "variable"}


@dataclass
class IssueLog:
    """Collects issues as small frames (vectorised: one call per rule, not per row), in the
    listing layout; ``source`` is the listing's (mapping, or xpt for the XPT writer's)."""

    _parts: list[pd.DataFrame] = field(default_factory=list)
    source: str = listing.MAPPING

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, object]], *, source: str = listing.MAPPING
    ) -> IssueLog:
        """A log of issues given as records with the keys of :data:`COLUMNS`."""
        log = cls(source=source)
        log._parts.append(pd.DataFrame(list(records), columns=COLUMNS).rename(columns=_AS_LISTED))
        return log

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
                    "file": form,
                    "row": hit["__ROW"].astype("int64") if "__ROW" in hit else pd.NA,
                    "subject": hit.get("SUBJID", hit.get("USUBJID", pd.NA)),
                    "variable": column,
                    "value": values.loc[mask].astype("string"),
                    "rule": rule,
                    "message": message,
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        """Every issue recorded, in the listing layout (transforms.listing.COLUMNS)."""
        parts = [listing.conform(p, self.source) for p in self._parts if len(p)]
        return pd.concat(parts, ignore_index=True) if parts else listing.empty()

    def errors(self) -> pd.DataFrame:
        df = self.frame()
        return df[df["severity"] == "error"]

    def write_csv(self, path: Path) -> None:
        listing.write_csv(self.frame(), path)


def describe(issues: pd.DataFrame, limit: int = 10) -> str:
    """One line per issue (first `limit`): form, row, column, rule, value and message."""
    lines = [
        f"{str(r['severity']).upper()} {r['dataset']}: form {r['file']} row {r['row']} "
        f"column {r['variable']} [{r['rule']}] value {r['value']!r}: {r['message']}"
        for r in issues.head(limit).to_dict("records")
    ]
    if len(issues) > limit:
        lines.append(f"... and {len(issues) - limit} more (see the issues listing)")
    return "\n".join(lines)

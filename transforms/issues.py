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
from transforms.errors import PipelineError

# An issue as the mapping records it (IssueLog.add's words, and the keys of the records
# IssueLog.from_records takes): ``form`` is the raw file, ``column`` the raw column. The
# listing names them ``file`` and ``variable`` (transforms.listing.COLUMNS).
COLUMNS = ["severity", "dataset", "form", "row", "subject", "column", "value", "rule", "message"]
_AS_LISTED = {"form": "file", "column": "variable"}


@dataclass
class IssueLog:
    """Collects issues as small frames (vectorised: one call per rule, not per row), in the
    listing layout; ``source`` is the listing's (mapping, or xpt for the XPT writer's).

    Each call of :meth:`add` is counted, those that find nothing too, and each frame keeps
    the positions of its rows in the frame checked (its index): the logs of a dataset mapped
    a group of subjects at a time are put back in the order of one mapping of them all
    (:meth:`merged`)."""

    _parts: list[pd.DataFrame] = field(default_factory=list)
    source: str = listing.MAPPING
    _calls: list[tuple[str, str]] = field(default_factory=list)  # (variable, rule) per call
    _call_of: list[int] = field(default_factory=list)  # the call each part came from

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, object]], *, source: str = listing.MAPPING
    ) -> IssueLog:
        """A log of issues given as records with the keys of :data:`COLUMNS`."""
        log = cls(source=source)
        log._append("", "", pd.DataFrame(list(records), columns=COLUMNS).rename(columns=_AS_LISTED))
        return log

    def _append(self, column: str, rule: str, part: pd.DataFrame | None) -> None:
        self._calls.append((column, rule))
        if part is not None:
            self._parts.append(part)
            self._call_of.append(len(self._calls) - 1)

    @classmethod
    def merged(cls, logs: list[IssueLog]) -> IssueLog:
        """The logs of one dataset mapped a group of subjects at a time, as the log of one
        mapping of them all: per check (the same calls in the same order in every group),
        its rows in the order of the frame checked (the positions each frame's index keeps:
        a raw form's rows, or the dataset's records numbered across the groups)."""
        if len(logs) == 1:
            return logs[0]
        calls = logs[0]._calls
        for other in logs[1:]:
            if other._calls != calls:  # a check skipped where a group had nothing to check
                raise PipelineError(
                    f"the mapping made other checks for one group of subjects than for another "
                    f"({len(calls)} and {len(other._calls)}): the groups cannot be merged"
                )
        out = cls(source=logs[0].source, _calls=list(calls))
        for call in range(len(calls)):
            parts = [p for log in logs for c, p in zip(log._call_of, log._parts, strict=True)
                     if c == call]  # fmt: skip
            if parts:
                out._parts.append(pd.concat(parts).sort_index(kind="stable"))
                out._call_of.append(call)
        return out

    @classmethod
    def chained(cls, logs: list[IssueLog]) -> IssueLog:
        """The logs one after another, as one log: each log's issues, in turn."""
        out = cls(source=logs[0].source if logs else listing.MAPPING)
        for log in logs:
            out._call_of += [len(out._calls) + c for c in log._call_of]
            out._calls += log._calls
            out._parts += log._parts
        return out

    def add(
        self,
        frame: pd.DataFrame,
        mask: pd.Series,
        *,
        severity: str,
        dataset: str,
        form: str | pd.Series,
        column: str,
        values: pd.Series,
        rule: str,
        message: str,
    ) -> None:
        """Record one issue per row of `frame` where `mask` holds (`form`: the raw file, or
        each row's)."""
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            self._append(column, rule, None)
            return
        hit = frame.loc[mask]
        self._append(
            column,
            rule,
            pd.DataFrame(
                {
                    "severity": severity,
                    "dataset": dataset,
                    "file": form.loc[mask] if isinstance(form, pd.Series) else form,
                    "row": hit["__ROW"].astype("int64") if "__ROW" in hit else pd.NA,
                    "subject": hit.get("SUBJID", hit.get("USUBJID", pd.NA)),
                    "variable": column,
                    "value": values.loc[mask].astype("string"),
                    "rule": rule,
                    "message": message,
                }
            ),
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

"""Small frames and a runner shared by the algorithm tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from transforms.issues import IssueLog
from transforms.sdtm.algorithms import Codelist, Context, Design, Scope, parse_rule


@dataclass
class FakeCodelist:
    code: str
    terms: set[str]
    extensible: bool = False

    def lookup(self, value: str) -> object | None:
        return value if value in self.terms else None


SEX = FakeCodelist("C66731", {"F", "M", "U", "INTERSEX"})

DM = pd.DataFrame(
    {
        "__ROW": [2, 3, 4],
        "SUBJID": ["1001", "1002", "1003"],
        "SEX": ["Male", " female ", "Mle"],
        "BRTHDAT": ["05 JAN 1960", "UN JUN 1955", "31 APR 1950"],
        "COUNTRY": ["China", "CHN", "Narnia"],
        "AGE": ["64", "70", "sixty"],
    },
    dtype="string",
).astype({"__ROW": "int64"})
EX = pd.DataFrame(
    {
        "__ROW": [2, 3, 4, 5],
        "SUBJID": ["1001", "1001", "1002", "1002"],
        "EXSTDAT": ["01 FEB 2024", "01 MAR 2024", "10 FEB 2024", "10 FEB 2024"],
    },
    dtype="string",
).astype({"__ROW": "int64"})
FORMS = {"DM": frozenset(DM.columns), "EX": frozenset(EX.columns)}


def text(*values: str | None) -> pd.Series:
    """A text variable over the rows of DM (one value per row)."""
    return pd.Series(list(values), dtype="string")


@dataclass
class Env:
    """Runs rules over DM (or another `frame`), with derived `vars` and built `datasets`."""

    vars: dict[str, pd.Series] = field(default_factory=dict)
    issues: IssueLog = field(default_factory=IssueLog)
    ct_map: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: {"C66731": {"male": "M", "female": "F"}}
    )
    datasets: dict[str, pd.DataFrame] = field(default_factory=dict)
    frame: pd.DataFrame = field(default_factory=lambda: DM)
    design: Design | None = None  # the study design the rules may take defaults from

    def scope(self, codelist: Codelist | None = None) -> Scope:
        forms = {**FORMS, "DM": frozenset(self.frame.columns)}
        return Scope(
            "dm.yaml: DM.X",
            "DM",
            forms["DM"],
            forms,
            frozenset(self.vars),
            codelist,
            with_dm=bool(self.datasets),
            design=self.design,
        )

    def run(self, rule: Mapping[str, Any], codelist: Codelist | None = None) -> pd.Series:
        parsed = parse_rule(rule, self.scope(codelist))
        forms = {"DM": self.frame, "EX": EX}
        ctx = Context(
            self.frame, "DM", "DM", "X", forms, self.vars, self.ct_map, self.issues,
            datasets=self.datasets,
        )  # fmt: skip
        return parsed.evaluate(ctx)

    def listed(self, *columns: str) -> list[list[object]]:
        """The issue listing's `columns`, one list per issue."""
        return self.issues.frame()[list(columns)].values.tolist()


def values(series: pd.Series) -> list[object]:
    return [None if pd.isna(v) else v for v in series]

"""The mapping vocabulary, one algorithm at a time, on small frames."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pytest

from transforms.issues import IssueLog
from transforms.sdtm.algorithms import Context, Scope, SpecError, parse_rule


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


@dataclass
class Env:
    vars: dict[str, pd.Series] = field(default_factory=dict)
    issues: IssueLog = field(default_factory=IssueLog)
    ct_map: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: {"C66731": {"male": "M", "female": "F"}}
    )

    def scope(self, codelist: FakeCodelist | None = None) -> Scope:
        return Scope("dm.yaml: DM.X", "DM", FORMS["DM"], FORMS, frozenset(self.vars), codelist)

    def run(self, rule: Mapping[str, Any], codelist: FakeCodelist | None = None) -> pd.Series:
        parsed = parse_rule(rule, self.scope(codelist))
        ctx = Context(
            DM, "DM", "DM", "X", {"DM": DM, "EX": EX}, self.vars, self.ct_map, self.issues
        )
        return parsed.evaluate(ctx)


def values(series: pd.Series) -> list[object]:
    return [None if pd.isna(v) else v for v in series]


def test_ct_maps_raw_spelling_and_lists_unknown_terms() -> None:
    env = Env()
    out = env.run({"algorithm": "ct", "source": {"column": "SEX"}}, SEX)
    assert values(out) == ["M", "F", None]
    listing = env.issues.frame()
    assert listing[["row", "subject", "value", "rule"]].values.tolist() == [
        [4, "1003", "Mle", "CT"]
    ]
    assert "C66731" in str(listing.loc[0, "message"])


def test_iso8601_lists_impossible_dates_with_their_row() -> None:
    env = Env()
    out = env.run({"algorithm": "iso8601", "date": {"column": "BRTHDAT"}})
    assert values(out) == ["1960-01-05", "1955-06", None]
    assert env.issues.frame()["row"].tolist() == [4]


def test_number_lists_text() -> None:
    env = Env()
    assert values(env.run({"algorithm": "number", "source": {"column": "AGE"}})) == [64, 70, None]
    assert env.issues.frame()["value"].tolist() == ["sixty"]


def test_merge_min_max_and_only() -> None:
    env = Env()
    first = {"algorithm": "merge", "form": "EX", "pick": "min",
             "value": {"algorithm": "iso8601", "date": {"column": "EXSTDAT"}}}  # fmt: skip
    assert values(env.run(first)) == ["2024-02-01", "2024-02-10", None]
    last = {**first, "pick": "max"}
    assert values(env.run(last)) == ["2024-03-01", "2024-02-10", None]
    only = {**first, "pick": "only"}
    assert values(env.run(only)) == [None, None, None]
    listing = env.issues.frame()
    assert sorted(listing["row"].tolist()) == [2, 3, 4, 5]
    assert set(listing["rule"]) == {"MERGE"}


def test_merge_where_filters_the_other_form() -> None:
    env = Env()
    rule = {"algorithm": "merge", "form": "EX", "pick": "max", "value": {"column": "EXSTDAT"},
            "where": {"column": "EXSTDAT", "ne": "01 MAR 2024"}}  # fmt: skip
    assert values(env.run(rule)) == ["01 FEB 2024", "10 FEB 2024", None]


def test_condition_first_matching_case_wins() -> None:
    env = Env()
    rule = {
        "algorithm": "condition",
        "cases": [
            {"when": {"column": "SUBJID", "eq": "1001"}, "then": {"value": "A"}},
            {
                "when": {"any": [{"column": "SUBJID", "in": ["1001", "1002"]}]},
                "then": {"value": "B"},
            },
        ],
    }
    assert values(env.run(rule)) == ["A", "B", None]
    assert values(env.run({**rule, "else": {"column": "SUBJID"}})) == ["A", "B", "1003"]


def test_concat_coalesce_extreme_recode_country() -> None:
    env = Env()
    env.vars["D1"] = pd.Series(["2024-01-01", None, None], dtype="string")
    env.vars["D2"] = pd.Series(["2023-12-31", "2024-05-05", None], dtype="string")
    assert values(env.run({"algorithm": "concat", "sep": "-", "parts": [
        {"value": "S"}, {"column": "SUBJID"}, {"var": "D1"}]})) == ["S-1001-2024-01-01", None, None]  # fmt: skip
    assert values(env.run({"algorithm": "coalesce", "of": [{"var": "D1"}, {"var": "D2"}]})) == [
        "2024-01-01", "2024-05-05", None]  # fmt: skip
    assert values(env.run({"algorithm": "extreme", "pick": "max", "of": [{"var": "D1"}, {"var": "D2"}]})) == [
        "2024-01-01", "2024-05-05", None]  # fmt: skip
    recoded = env.run(
        {"algorithm": "recode", "source": {"column": "SEX"}, "map": {"MALE": "1", "Female": "2"}}
    )
    assert values(recoded) == ["1", "2", None]
    assert env.issues.frame()["rule"].tolist() == ["RECODE"]
    assert values(env.run({"algorithm": "country_iso3", "source": {"column": "COUNTRY"}})) == [
        "CHN", "CHN", None]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"algorithm": "nope"}, "unknown algorithm 'nope'"),
        ({"column": "NOPE"}, "unknown raw column 'NOPE' in form DM"),
        ({"var": "LATER"}, "variable 'LATER' is not derived before this one"),
        ({"algorithm": "merge", "form": "XX", "value": {"column": "A"}}, "unknown form 'XX'"),
        ({"algorithm": "merge", "form": "EX", "value": {"column": "SEX"}}, "unknown raw column 'SEX' in form EX"),
        ({"algorithm": "iso8601", "date": {"column": "BRTHDAT"}, "fmt": "x"}, "unknown argument(s) ['fmt']"),
        ({"algorithm": "iso8601"}, "missing argument(s) ['date']"),
        ({"algorithm": "iso8601", "date": {"column": "BRTHDAT"}, "format": "MM/DD"}, "unknown format"),
        ({"value": "MALE"}, "not in codelist C66731"),
        ({"algorithm": "recode", "source": {"column": "SEX"}, "map": {"a": "X"}}, "not in codelist C66731"),
        ({"algorithm": "condition", "cases": [{"when": {"column": "SEX"}, "then": {"value": "M"}}]},
         "condition needs exactly one of"),
    ],
)  # fmt: skip
def test_spec_errors_name_the_entry(rule: Mapping[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_rule(rule, Env().scope(SEX))
    assert str(err.value).startswith("dm.yaml: DM.X: ")
    assert message in str(err.value)


def test_visit_numbers_planned_and_unscheduled() -> None:
    frame = pd.DataFrame(
        {
            "__ROW": [2, 3, 4, 5, 6, 7, 8, 9],
            "SUBJID": ["1", "1", "1", "1", "2", "1", "1", "1"],
            "VISIT": ["Screening", "Cycle 1 Day 1", "Unscheduled", "unscheduled ",
                      "Cycle 12 Day 1", "Cycle 2 Day 1", "Week 3", "Unscheduled"],
            "D": ["2024-01-01", "2024-01-10", "2024-01-15", "2024-01-15", "2024-05-01",
                  "2024-02-07", "2024-03-01", "2024-01-20"],
        },
        dtype="string",
    ).astype({"__ROW": "int64"})  # fmt: skip
    columns = frozenset(frame.columns)
    scope = Scope("x", "F", columns, {"F": columns}, frozenset())
    spec = {"algorithm": "visit", "visit": {"column": "VISIT"}, "date": {"column": "D"},
            "planned": {"Screening": 0, "Cycle {n} Day 1": "{n}"}, "unscheduled": ["Unscheduled"]}  # fmt: skip
    out = {}
    issues = IssueLog()
    for output in ("number", "label"):
        rule = parse_rule({**spec, "output": output}, scope)
        ctx = Context(frame, "F", "X", "VISIT", {"F": frame}, {}, {}, issues)
        out[output] = values(rule.evaluate(ctx))
    # Unscheduled visits after Cycle 1: one number per distinct date, in date order.
    assert out["number"] == [0.0, 1.0, 1.01, 1.01, 12.0, 2.0, None, 1.02]
    assert out["label"] == ["SCREENING", "CYCLE 1 DAY 1", "UNSCHEDULED 1.01", "UNSCHEDULED 1.01",
                            "CYCLE 12 DAY 1", "CYCLE 2 DAY 1", None, "UNSCHEDULED 1.02"]  # fmt: skip
    assert issues.frame()["value"].tolist() == ["Week 3", "Week 3"]

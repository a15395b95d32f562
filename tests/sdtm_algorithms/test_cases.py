"""Conditions and the condition algorithm."""

from __future__ import annotations

import pandas as pd

from tests.sdtm_algorithms.frames import Env, text, values
from transforms.sdtm.algorithms.base import MaskedVars


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


def test_condition_branches_list_problems_of_their_own_rows_only() -> None:
    env = Env()
    rule = {
        "algorithm": "condition",
        "cases": [{"when": {"column": "AGE", "ne": "sixty"}, "then": {"algorithm": "number",
                                                                     "source": {"column": "AGE"}}}],
        "else": {"value": "unknown"},
    }  # fmt: skip
    assert values(env.run(rule)) == [64.0, 70.0, "unknown"]
    assert env.issues.frame().empty


def test_condition_dates_partial_dates_qualify_when_any_day_may() -> None:
    env = Env(vars={"D": text("2024-03", "2024-02-28", None), "REF": text(*["2024-03-15"] * 3)})
    after = {"algorithm": "condition", "else": {"value": "N"},
             "cases": [{"when": {"var": "D", "on_or_after": {"var": "REF"}}, "then": {"value": "Y"}}]}  # fmt: skip
    assert values(env.run(after)) == ["Y", "N", "N"]
    before = {"algorithm": "condition", "else": {"value": "N"},
              "cases": [{"when": {"all": [{"var": "D", "not_null": True},
                                          {"not": {"var": "D", "on_or_after": {"var": "REF"}}}]},
                         "then": {"value": "Y"}}]}  # fmt: skip
    assert values(env.run(before)) == ["N", "Y", "N"]


def test_condition_branch_reads_earlier_variables_on_its_own_rows() -> None:
    env = Env(vars={"A": text("x", "y", "z"), "B": text("1", "2", "3")})
    rule = {"algorithm": "condition",
            "cases": [{"when": {"var": "A", "ne": "y"},
                       "then": {"algorithm": "condition", "else": {"var": "B"},
                                "cases": [{"when": {"var": "A", "eq": "z"}, "then": {"var": "A"}}]}}]}  # fmt: skip
    assert values(env.run(rule)) == ["1", None, "z"]


def test_masked_variables_are_taken_when_read() -> None:
    read: list[str] = []

    class Recorded(dict[str, pd.Series]):
        def __getitem__(self, name: str) -> pd.Series:
            read.append(name)
            return super().__getitem__(name)

    of = Recorded(A=text("x", "y", "z"), B=text("1", "2", "3"))
    masked = MaskedVars(of, pd.Series([True, False, True]))
    assert list(masked) == ["A", "B"] and len(masked) == 2 and read == []
    assert values(masked["B"]) == ["1", "3"] and list(masked["B"].index) == [0, 2]
    assert masked["B"] is masked["B"] and read == ["B"]  # taken once, A never
    inner = MaskedVars(masked, pd.Series([False, True], index=[0, 2]))
    assert values(inner["A"]) == ["z"]

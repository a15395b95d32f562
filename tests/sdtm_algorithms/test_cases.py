"""Conditions and the condition algorithm."""

from __future__ import annotations

from tests.sdtm_algorithms.frames import Env, text, values


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

"""The one condition language: its parser, each operator, each backend."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from transforms import conditions
from transforms.conditions import Condition, ConditionError
from transforms.errors import SpecError

VAR = conditions.named("var")
FRAME = pd.DataFrame(
    {
        "C": pd.Series([" a", "b ", None, "A"], dtype="string"),
        "N": [1.0, 2.0, 3.0, None],
        "D": pd.Series(["2024-03", "2024-02-28", "2024-03-15T10:00", None], dtype="string"),
        "R": pd.Series(["2024-03-15"] * 4, dtype="string"),
    }
)


def holds(raw: dict[str, Any]) -> list[bool]:
    return conditions.frame_mask(conditions.parse(raw, "spec.yaml: X", VAR), FRAME).tolist()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"var": "C", "eq": "a"}, [True, False, False, False]),  # trimmed, case kept
        ({"var": "C", "ne": "a"}, [False, True, False, True]),  # a missing value: no
        ({"var": "C", "in": ["a", "b"]}, [True, True, False, False]),
        ({"var": "C", "not_in": ["a"]}, [False, True, False, True]),
        ({"var": "C", "is_null": True}, [False, False, True, False]),
        ({"var": "N", "not_null": True}, [True, True, True, False]),
        ({"var": "N", "eq": 2}, [False, True, False, False]),
        ({"var": "N", "not_in": [1, 3]}, [False, True, False, False]),
        ({"var": "D", "on_or_after": {"var": "R"}}, [True, False, True, False]),
        ({"var": "D", "on_or_before": {"var": "R"}}, [True, True, True, False]),
        ({"all": [{"var": "C", "not_null": True}, {"var": "N", "in": [2, 3]}]},
         [False, True, False, False]),
        ({"any": [{"var": "C", "eq": "a"}, {"var": "N", "eq": 3}]}, [True, False, True, False]),
        ({"not": {"var": "C", "eq": "a"}}, [False, True, True, True]),
        ({"var": "N", "gt": 1}, [False, True, True, False]),  # missing: no
        ({"var": "N", "ge": 2}, [False, True, True, False]),
        ({"var": "N", "lt": 2.5}, [True, True, False, False]),
        ({"var": "N", "le": 1}, [True, False, False, False]),
        ({"var": "C", "gt": 0}, [False, False, False, False]),  # text that is no number
    ],
)  # fmt: skip
def test_each_operator_on_a_frame(raw: dict[str, Any], expected: list[bool]) -> None:
    assert holds(raw) == expected


def test_a_number_compares_as_text_with_a_text_subject() -> None:
    frame = pd.DataFrame({"V": pd.Series(["1", "01", "2"], dtype="string")})
    cond = conditions.parse({"var": "V", "eq": 1}, "x", VAR)
    assert conditions.frame_mask(cond, frame).tolist() == [True, False, False]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "spec.yaml: X: a condition is a non-empty mapping, not []"),
        ({"all": [{"var": "C", "eq": "a"}], "var": "C"}, "spec.yaml: X: 'all' stands alone"),
        ({"any": []}, "spec.yaml: X: 'any' takes a non-empty list"),
        ({"var": "C"}, "spec.yaml: X: a condition needs exactly one of ['eq', 'ne'"),
        ({"var": "C", "eq": "a", "ne": "b"}, "a condition needs exactly one of"),
        ({"var": "C", "not_null": "yes"}, "spec.yaml: X: write not_null: true"),
        ({"var": "C", "in": "a"}, "spec.yaml: X: in takes a non-empty list of values"),
        ({"var": "C", "eq": True}, "spec.yaml: X: value True must be text or a number"),
        ({"var": "C", "on_or_after": "2024"}, "on_or_after takes a date to compare with"),
        ({"var": "N", "gt": "0"}, "spec.yaml: X: gt takes a number, not '0'"),
        ({"column": "C", "eq": "a"}, "spec.yaml: X: a condition here reads {var: <name>, <op>: ...}"),
        ({"all": [{"var": "C", "eq": "a"}, {"not": {"var": "C", "eq": None}}]},
         "spec.yaml: X.all[1].not: value None must be"),
    ],
)  # fmt: skip
def test_parse_errors_name_the_entry(raw: Any, message: str) -> None:
    with pytest.raises(ConditionError) as err:
        conditions.parse(raw, "spec.yaml: X", VAR)
    assert message in str(err.value)
    assert isinstance(err.value, SpecError)


def test_a_user_may_allow_fewer_operators() -> None:
    with pytest.raises(ConditionError, match="'not' is not available here"):
        conditions.parse({"not": {"var": "C", "eq": "a"}}, "x", VAR, conditions.GX_OPS)
    with pytest.raises(ConditionError, match=r"exactly one of \['eq', 'ne', 'in', 'not_in', "
                       r"'is_null', 'not_null'\]"):  # fmt: skip
        conditions.parse({"var": "D", "on_or_after": {"var": "R"}}, "x", VAR, conditions.GX_OPS)


def test_evaluation_errors_name_the_entry() -> None:
    with pytest.raises(ConditionError, match=r"^x.any\[1\]: unknown variable 'Z'$"):
        holds_in = conditions.parse({"any": [{"var": "C", "eq": "a"}, {"var": "Z", "eq": "a"}]},
                                    "x", VAR)  # fmt: skip
        conditions.frame_mask(holds_in, FRAME)
    with pytest.raises(
        ConditionError, match=r"x: N is numeric; compare it with numbers, not \['2'\]"
    ):
        conditions.frame_mask(conditions.parse({"var": "N", "eq": "2"}, "x", VAR), FRAME)


def test_subjects_leaves_and_rewrite() -> None:
    cond = conditions.parse(
        {"all": [{"var": "C", "eq": "a"}, {"not": {"var": "D", "on_or_before": {"var": "R"}}}]},
        "x",
        VAR,
    )
    assert conditions.subjects(cond) == {"C", "D", "R"}
    assert [leaf.op for leaf in conditions.leaves(cond)] == ["eq", "on_or_before"]
    upper = conditions.rewrite(cond, lambda t: Condition(t.op, t.subject.lower(), t.values))
    assert conditions.subjects(upper) == {"c", "d"}


def test_a_number_comparison_reads_numbers_in_text_and_is_described() -> None:
    frame = pd.DataFrame({"V": pd.Series(["0", "2.5", "x", None], dtype="string")})
    cond = conditions.parse({"var": "V", "gt": 0}, "x", VAR)
    assert conditions.frame_mask(cond, frame).tolist() == [False, True, False, False]
    assert conditions.describe(cond, str) == "V > 0"
    assert (
        conditions.describe(conditions.parse({"var": "V", "le": 1.5}, "x", VAR), str) == "V <= 1.5"
    )


def test_describe_in_words() -> None:
    cond = conditions.parse(
        {"all": [{"var": "C", "in": ["b", "a"]}, {"any": [{"var": "N", "is_null": True},
                                                           {"not": {"var": "N", "eq": 2.0}}]},
                 {"var": "D", "on_or_after": {"var": "R"}}, {"var": "C", "ne": "x"}]},
        "x",
        VAR,
    )  # fmt: skip
    assert conditions.describe(cond, lambda s: f"AE.{s}") == (
        '(AE.C in ("a", "b") and (AE.N is missing or not AE.N = "2") and '
        'AE.D on or after AE.R and AE.C <> "x")'
    )
    # Values written as the caller wants them: the endpoint report's method text, unquoted.
    assert conditions.describe(cond, str, str) == (
        "(C in (a, b) and (N is missing or not N = 2.0) and D on or after R and C <> x)"
    )


GX_CASE = {"all": [{"var": "A", "eq": "x"}, {"any": [{"var": "B", "in": ["p", "q"]},
                                                    {"var": "C", "is_null": True}]}]}  # fmt: skip


def test_gx_row_condition_json() -> None:
    cond = conditions.parse(GX_CASE, "x", VAR, conditions.GX_OPS)
    assert conditions.gx_row_condition_json(cond) == {
        "type": "and",
        "conditions": [
            {"type": "comparison", "column": {"name": "A"}, "operator": "==", "parameter": "x"},
            {
                "type": "or",
                "conditions": [
                    {"type": "comparison", "column": {"name": "B"}, "operator": "IN",
                     "parameter": ["p", "q"]},
                    {"type": "nullity", "column": {"name": "C"}, "is_null": True},
                ],
            },
        ],
    }  # fmt: skip
    ne = conditions.parse({"var": "A", "ne": "x"}, "x", VAR, conditions.GX_OPS)
    assert conditions.gx_row_condition_json(ne) == {
        "type": "and",
        "conditions": [
            {"type": "comparison", "column": {"name": "A"}, "operator": "!=", "parameter": "x"},
            {"type": "nullity", "column": {"name": "A"}, "is_null": False},
        ],
    }


@pytest.mark.parametrize(
    "raw",
    [GX_CASE, {"var": "A", "ne": "x"}, {"var": "A", "not_in": ["x", "y"]},
     {"var": "A", "not_null": True}],
)  # fmt: skip
def test_gx_row_condition_object_is_what_the_json_says(raw: dict[str, Any]) -> None:
    cond = conditions.parse(raw, "x", VAR, conditions.GX_OPS)
    assert conditions.gx_row_condition(cond).dict() == conditions.gx_row_condition_json(cond)


def test_gx_row_condition_refuses_what_gx_cannot_state() -> None:
    cond = conditions.parse({"var": "D", "on_or_after": {"var": "R"}}, "x", VAR)
    with pytest.raises(ValueError, match="on_or_after has no GX row condition"):
        conditions.gx_row_condition_json(cond)

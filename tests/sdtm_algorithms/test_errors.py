"""Spec errors name the file and entry, the algorithm and the argument."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from tests.sdtm_algorithms.frames import SEX, Env
from transforms.sdtm.algorithms import SpecError, parse_rule


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"algorithm": "nope"}, "unknown algorithm 'nope'"),
        ({"nope": 1}, "a rule needs 'algorithm' (or column/dm/value/var)"),
        ("SEX", "a rule must be a mapping, not 'SEX'"),
        ({"column": "NOPE"}, "unknown raw column 'NOPE' in form DM"),
        ({"column": "SEX", "trim": True}, "column: unknown argument(s) ['trim']; allowed ['column', 'upper']"),
        ({"var": "LATER"}, "variable 'LATER' is not derived before this one"),
        ({"algorithm": "merge", "form": "XX", "value": {"column": "A"}}, "unknown form 'XX'"),
        ({"algorithm": "merge", "form": "EX", "value": {"column": "SEX"}}, "unknown raw column 'SEX' in form EX"),
        ({"algorithm": "merge", "form": "EX", "value": {"column": "EXSTDAT"}, "pick": "first"},
         "merge: pick must be only, min or max"),
        ({"algorithm": "iso8601", "date": {"column": "BRTHDAT"}, "fmt": "x"},
         "iso8601: unknown argument(s) ['fmt']; allowed ['date', 'format', 'time']"),
        ({"algorithm": "iso8601"}, "iso8601: missing argument(s) ['date']"),
        ({"algorithm": "iso8601", "date": {"column": "BRTHDAT"}, "format": "MM/DD"}, "unknown format"),
        ({"value": "MALE"}, "not in codelist C66731"),
        ({"value": "M", "upper": True}, "hardcode: unknown argument(s) ['upper']; allowed ['sponsor', 'value']"),
        ({"algorithm": "recode", "source": {"column": "SEX"}, "map": {"a": "X"}}, "not in codelist C66731"),
        ({"algorithm": "extreme", "pick": "last", "of": []}, "extreme: pick must be min or max"),
        ({"algorithm": "date_add", "date": {"column": "BRTHDAT"}, "days": 1.5},
         "date_add: days must be a whole number"),
        ({"algorithm": "visit", "visit": {"column": "SEX"}, "date": {"column": "SEX"}, "planned": {},
          "output": "code"}, "visit: output must be number, label or day"),
        ({"algorithm": "aggregate", "dataset": "AE", "value": "X", "func": "min"},
         "aggregate: only DM is built before other datasets"),
        ({"algorithm": "epoch", "date": {"column": "BRTHDAT"}, "epochs": [{"name": "M"}]},
         "epoch: each epoch is {name, start, after}"),
        ({"algorithm": "condition", "cases": [{"when": {"column": "SEX"}, "then": {"value": "M"}}]},
         "condition needs exactly one of"),
        ({"algorithm": "condition", "cases": [{"when": {"column": "SEX", "eq": "M"}}]},
         "condition: each case has exactly 'when' and 'then'"),
    ],
)  # fmt: skip
def test_spec_errors_name_the_entry(rule: Mapping[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_rule(rule, Env().scope(SEX))
    assert str(err.value).startswith("dm.yaml: DM.X: ")
    assert message in str(err.value)

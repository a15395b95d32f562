"""Visits and epochs."""

from __future__ import annotations

import pandas as pd

from tests.sdtm_algorithms.frames import Env, text, values
from transforms.issues import IssueLog
from transforms.sdtm.algorithms import Context, Scope, parse_rule


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


def test_visit_decimal_placeholder() -> None:
    env = Env(vars={"V": text("Unscheduled 4.1", "unscheduled 7", "Unscheduled x")})
    rule = {"algorithm": "visit", "visit": {"var": "V"}, "date": {"var": "V"},
            "planned": {"Unscheduled {x}": "{x}"}, "output": "number"}  # fmt: skip
    assert values(env.run(rule)) == [4.1, 7.0, None]


EPOCHS = [
    {"name": "SCREENING", "start": {"var": "SCR"}},
    {"name": "TREATMENT", "start": {"var": "TRT"}},
    {"name": "FOLLOW-UP", "start": {"var": "LAST"}, "after": True},
]


def test_epoch_of_complete_dates_follow_up_the_day_after() -> None:
    env = Env(vars={"D": text("2024-01-05", "2024-02-10", "2024-02-11"),
                    "SCR": text(*["2024-01-01"] * 3), "TRT": text(*["2024-01-10"] * 3),
                    "LAST": text(*["2024-02-10"] * 3)})  # fmt: skip
    out = env.run({"algorithm": "epoch", "date": {"var": "D"}, "epochs": EPOCHS})
    assert values(out) == ["SCREENING", "TREATMENT", "FOLLOW-UP"]


def test_epoch_is_never_imputed() -> None:
    env = Env(vars={"D": text("2023-12-31", "2024-01", "2024-02-11T08:00"),
                    "SCR": text(*["2024-01-01"] * 3), "TRT": text("2024-01-10", "2024-01-10", None),
                    "LAST": text(*["2024-02-10"] * 3)})  # fmt: skip
    # Before the first start; a partial date; a missing boundary does not block later ones.
    out = env.run({"algorithm": "epoch", "date": {"var": "D"}, "epochs": EPOCHS})
    assert values(out) == [None, None, "FOLLOW-UP"]

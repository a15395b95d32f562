"""Visits and epochs."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd
import pytest

from tests.sdtm_algorithms.frames import Env, FakeCodelist, text, values
from transforms.issues import IssueLog
from transforms.sdtm.algorithms import Context, Design, Scope, SpecError, parse_rule


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


EPOCHS: list[dict[str, Any]] = [
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
    # Before the first start; a partial date whose month spans screening (from 1 January)
    # and treatment (from 10 January); a missing boundary does not block later ones.
    out = env.run({"algorithm": "epoch", "date": {"var": "D"}, "epochs": EPOCHS})
    assert values(out) == [None, None, "FOLLOW-UP"]


def test_epoch_of_a_partial_date_whose_whole_period_lies_in_one_epoch() -> None:
    # Screening from 1 JAN 2024, treatment from 10 JAN, follow-up from 11 FEB (day after
    # the last dose, 10 FEB): March 2024 is all follow-up; February spans treatment and
    # follow-up; 2024 (and a day in an unknown month of 2024) spans all three; 2025 is all
    # follow-up; December 2023 is before screening; a time on a complete date is ignored.
    dates = ["2024-03", "2024-02", "2024", "2024---15", "2025", "2023-12", "2024-01-05T10:00"]
    n = len(dates)
    rows = pd.DataFrame({"__ROW": range(2, n + 2), "SUBJID": ["1"] * n}).astype(
        {"SUBJID": "string"}
    )
    env = Env(frame=rows, vars={"D": text(*dates), "SCR": text(*["2024-01-01"] * n),
              "TRT": text(*["2024-01-10"] * n), "LAST": text(*["2024-02-10"] * n)})  # fmt: skip
    out = env.run({"algorithm": "epoch", "date": {"var": "D"}, "epochs": EPOCHS})
    assert values(out) == ["FOLLOW-UP", None, None, None, "FOLLOW-UP", None, "SCREENING"]
    # Follow-up not begun (no last dose yet): all of February and March are treatment.
    env.vars["LAST"] = text(*[None] * n)
    out = env.run({"algorithm": "epoch", "date": {"var": "D"}, "epochs": EPOCHS})
    assert values(out) == ["TREATMENT", "TREATMENT", None, None, "TREATMENT", None, "SCREENING"]


DESIGN = Design(
    "study.yaml: design",
    epochs=tuple(EPOCHS),
    planned={"Screening": 0, "Cycle {n} Day 1": "{n}", "Week 2": 2.5},
    unscheduled=("Unscheduled",),
)


def test_epoch_takes_the_design_epochs_when_the_rule_gives_none() -> None:
    dates = {"D": text("2024-01-05", "2024-02-10", "2024-02-11"),
             "SCR": text(*["2024-01-01"] * 3), "TRT": text(*["2024-01-10"] * 3),
             "LAST": text(*["2024-02-10"] * 3)}  # fmt: skip
    env = Env(vars=dates, design=DESIGN)
    assert values(env.run({"algorithm": "epoch", "date": {"var": "D"}})) == [
        "SCREENING", "TREATMENT", "FOLLOW-UP"
    ]  # fmt: skip
    # A rule's own epochs win over the design's.
    own = [{"name": "TREATMENT", "start": {"var": "SCR"}}]
    out = env.run({"algorithm": "epoch", "date": {"var": "D"}, "epochs": own})
    assert values(out) == ["TREATMENT"] * 3


def test_epoch_without_design_or_epochs_names_the_entry() -> None:
    env = Env(vars={"D": text("2024-01-05", None, None)})
    with pytest.raises(SpecError, match=r"^dm.yaml: DM.X: epoch: no epochs: give epochs, or "
                       r"declare design.epochs in study.yaml$"):  # fmt: skip
        env.run({"algorithm": "epoch", "date": {"var": "D"}})


def test_epoch_design_start_errors_name_design_and_variable() -> None:
    design = Design("study.yaml: design", epochs=({"name": "SCREENING", "start": {"var": "NOPE"}},))
    env = Env(vars={"D": text("2024-01-05", None, None)}, design=design)
    with pytest.raises(SpecError) as err:
        env.run({"algorithm": "epoch", "date": {"var": "D"}})
    assert str(err.value).startswith("study.yaml: design.epochs (for dm.yaml: DM.X): ")
    assert "NOPE" in str(err.value)
    # An epoch name outside the target's codelist is refused the same way.
    epoch = FakeCodelist("C99079", {"TREATMENT"})
    named = Design("study.yaml: design", epochs=({"name": "SCREENING", "start": {"var": "D"}},))
    with pytest.raises(SpecError, match=r"design.epochs .*'SCREENING' is not in codelist C99079"):
        Env(vars={"D": text("2024-01-05", None, None)}, design=named).run(
            {"algorithm": "epoch", "date": {"var": "D"}}, epoch
        )


VISITS = text("Screening", "Cycle 3 Day 1", "Week 9")


def test_visit_takes_the_design_planned_visits_and_lists_others() -> None:
    env = Env(vars={"V": VISITS}, design=DESIGN)
    rule = {"algorithm": "visit", "visit": {"var": "V"}, "date": {"var": "V"}}
    assert values(env.run({**rule, "output": "number"})) == [0.0, 3.0, None]
    assert values(env.run({**rule, "output": "label"})) == ["SCREENING", "CYCLE 3 DAY 1", None]
    # Week 9 is not a planned visit of the design: listed, as with a rule's own map.
    assert [v for (v,) in env.listed("value")] == ["Week 9", "Week 9"]


def test_visit_day_is_the_planned_study_day_of_the_visit_number() -> None:
    design = replace(DESIGN, days={0.0: -14, 3.0: 57})
    env = Env(vars={"V": text("Screening", "Cycle 3 Day 1", "Cycle 4 Day 1", "Unscheduled"),
                    "D": text("2024-01-01", "2024-03-01", "2024-03-29", "2024-03-05")},
              design=design)  # fmt: skip
    rule = {"algorithm": "visit", "visit": {"var": "V"}, "date": {"var": "D"}}
    # cycle 4 has no planned day in the design; an unscheduled visit (3.01) never has one
    assert values(env.run({**rule, "output": "day"})) == [-14.0, 57.0, None, None]
    assert values(env.run({**rule, "output": "day", "days": {4: 85}})) == [None, None, 85.0, None]
    with pytest.raises(SpecError, match=r"visit: days must map visit numbers to whole study"):
        env.run({**rule, "output": "day", "days": {4: "day 85"}})


def test_visit_design_subset_and_own_map_override() -> None:
    env = Env(vars={"V": VISITS}, design=DESIGN)
    rule = {"algorithm": "visit", "visit": {"var": "V"}, "date": {"var": "V"}, "output": "number"}
    # planned: [names] picks visits of the design, with the design's numbers.
    assert values(env.run({**rule, "planned": ["Screening"]})) == [0.0, None, None]
    own = env.run({**rule, "planned": {"Week {n}": "{n}"}})
    assert values(own) == [None, None, 9.0]
    with pytest.raises(SpecError, match=r"\['Day 1'\] are not planned visits of the study design"):
        env.run({**rule, "planned": ["Screening", "Day 1"]})


def test_visit_without_design_or_planned_names_the_entry() -> None:
    env = Env(vars={"V": VISITS})
    rule = {"algorithm": "visit", "visit": {"var": "V"}, "date": {"var": "V"}, "output": "number"}
    with pytest.raises(SpecError, match=r"^dm.yaml: DM.X: visit: no planned visits"):
        env.run(rule)


def test_visit_unscheduled_defaults_to_the_design() -> None:
    frame = pd.DataFrame(
        {"__ROW": [2, 3], "SUBJID": ["1", "1"], "VISIT": ["Cycle 1 Day 1", "Unscheduled"],
         "D": ["2024-01-10", "2024-01-15"]},
        dtype="string",
    ).astype({"__ROW": "int64"})  # fmt: skip
    env = Env(frame=frame, design=DESIGN)
    rule = {"algorithm": "visit", "visit": {"column": "VISIT"}, "date": {"column": "D"}}
    assert values(env.run({**rule, "output": "number"})) == [1.0, 1.01]
    assert values(env.run({**rule, "output": "label"})) == ["CYCLE 1 DAY 1", "UNSCHEDULED 1.01"]


def test_epoch_over_the_whole_year_range() -> None:
    """No nanosecond-timestamp limits (1677-2262): a year typed 1663 or 3025 gets the epoch
    its date lies in, a partial date as well (3025-02: follow-up; 1663: screening)."""
    scr, trt, last = text(*["1600-01-01"] * 3), text(*["2024-01-10"] * 3), text(*["2025-01-31"] * 3)
    for dates, epochs in (
        (("1663-05-11", "3025-02-26", "3025-02"), ["SCREENING", "FOLLOW-UP", "FOLLOW-UP"]),
        (("1663", "0001-01-01", "9999-12-31"), ["SCREENING", None, "FOLLOW-UP"]),
    ):
        env = Env(vars={"D": text(*dates), "SCR": scr, "TRT": trt, "LAST": last})
        out = env.run({"algorithm": "epoch", "date": {"var": "D"}, "epochs": EPOCHS})
        assert values(out) == epochs

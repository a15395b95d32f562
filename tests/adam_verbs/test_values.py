"""assign, code, groups, number."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.adam_verbs.frames import ADSL, AE, described, run, values
from transforms.errors import SpecError


def test_assign_takes_the_first_case_that_holds_else_the_default() -> None:
    steps = """
    - {verb: records, from: {dataset: ADSL}}
    - verb: assign
      var: GRP
      cases:
        - {when: {var: ARM, eq: A}, then: ARM-A}
        - {when: {var: AGE, not_null: true}, then: {var: ARM}}
      else: NONE
    """
    out = run(steps, adam={"ADSL": ADSL})
    assert values(out, "GRP") == ["B", "ARM-A", "NONE"]
    assert described(steps)["GRP"].startswith('"ARM-A" when ARM')


def test_assign_refuses_an_unknown_variable_in_a_condition() -> None:
    with pytest.raises(
        SpecError,
        match=r"test.yaml: ADXX.X: derivations\[1\] assign: cases\[0\].when: unknown variable 'NOPE'$",
    ):
        run(
            "[{verb: records, from: {dataset: ADSL}}, "
            "{verb: assign, var: X, cases: [{when: {var: NOPE, eq: A}, then: B}]}]",
            adam={"ADSL": ADSL},
        )


def test_code_gives_the_position_in_the_list() -> None:
    steps = "[{verb: records, from: {dataset: ADSL}}, {verb: code, var: ARMN, from: ARM, values: [A, B]}]"
    out = run(steps, adam={"ADSL": ADSL})
    assert values(out, "ARMN") == [2.0, 1.0, None]
    assert described(steps)["ARMN"] == "ARM: 1 A, 2 B"


def test_groups_labels_and_numbers_ranges() -> None:
    steps = (
        "[{verb: records, from: {dataset: ADSL}}, {verb: groups, var: AGEGR1, code: AGEGR1N,"
        " from: AGE, groups: [{label: '<65', max: 64}, {label: '>=65', min: 65}]}]"
    )
    out = run(steps, adam={"ADSL": ADSL})
    assert values(out, "AGEGR1") == ["<65", ">=65", None]
    assert values(out, "AGEGR1N") == [1.0, 2.0, None]
    assert described(steps) == {
        "AGEGR1": "AGE <= 64: <65; AGE >= 65: >=65",
        "AGEGR1N": "1 for <65, 2 for >=65",
    }


def test_number_reads_numbers_and_leaves_other_text_null() -> None:
    out = run(
        "[{verb: records, from: {dataset: AE}}, {verb: number, var: ATOXGRN, from: AETOXGR}]",
        sdtm={"AE": AE},
    )
    assert values(out, "ATOXGRN") == [1.0, 3.0, 2.0, None]


def test_number_rounds_to_digits_halves_away_from_zero() -> None:
    vs = pd.DataFrame({"USUBJID": ["1", "2", "3", "4", "5"],
                       "VSSTRESN": [147.32, 147.35, -2.25, 2.5, None]})  # fmt: skip
    steps = "[{verb: records, from: {dataset: VS}}, {verb: number, var: %s, from: VSSTRESN%s}]"
    out = run(steps % ("HEIGHTBL", ", digits: 1"), sdtm={"VS": vs})
    assert values(out, "HEIGHTBL") == [147.3, 147.4, -2.3, 2.5, None]
    out = run(steps % ("WHOLE", ", digits: 0"), sdtm={"VS": vs})
    assert values(out, "WHOLE") == [147.0, 147.0, -2.0, 3.0, None]
    with pytest.raises(SpecError, match=r"number: digits: must be a whole number from 0 to 10"):
        run(steps % ("X", ", digits: 11"), sdtm={"VS": vs})
    with pytest.raises(SpecError, match=r"number: digits: expected a whole number"):
        run(steps % ("X", ", digits: 1.5"), sdtm={"VS": vs})


def test_compute_states_arithmetic_of_variables_and_numbers() -> None:
    vs = pd.DataFrame({"USUBJID": ["1", "2", "3"], "WT": [54.43, None, 80.0],
                       "HT": [147.32, 160.0, 0.0]})  # fmt: skip
    steps = """
    - {verb: records, from: {dataset: VS}}
    - {verb: compute, var: BMI, expr: "WT / (HT / 100) ** 2"}
    - {verb: compute, var: NEG, expr: "-HT + 2 * 3 - 1"}
    """
    out = run(steps, sdtm={"VS": vs})
    assert values(out, "BMI")[0] == pytest.approx(54.43 / 1.4732**2)
    assert values(out, "BMI")[1:] == [None, None]  # a null; a division by zero
    assert values(out, "NEG") == [-142.32, -155.0, 5.0]
    assert described(steps)["BMI"] == "WT / (HT / 100) ** 2"


@pytest.mark.parametrize(
    ("expr", "message"),
    [("WT +", "not an arithmetic expression"), ("WT.x * 2", "only variables, numbers"),
     ("abs(WT)", "only variables, numbers"), ("wt_lower_long1 * 2", "is not a variable name"),
     ("'a' * 2", "only variables, numbers"), ("NOPE * 2", "unknown variable")],
)  # fmt: skip
def test_compute_refuses_what_is_not_arithmetic(expr: str, message: str) -> None:
    vs = pd.DataFrame({"USUBJID": ["1"], "WT": [1.0]})
    steps = f'[{{verb: records, from: {{dataset: VS}}}}, {{verb: compute, var: X, expr: "{expr}"}}]'
    with pytest.raises(SpecError, match=message):
        run(steps, sdtm={"VS": vs})

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

"""flag_extreme, trtemfl."""

from __future__ import annotations

from tests.adam_verbs.frames import ADSL, AE, described, run, values

STEPS = """
- {verb: records, from: {dataset: AE}}
- {verb: merge_vars, from: {dataset: ADSL}, vars: [TRTSDT, TRTEDT]}
- {verb: date, var: ASTDT, dtc: AESTDTC, impute: first}
- {verb: number, var: ATOXGRN, from: AETOXGR}
"""


def test_flag_extreme_marks_the_first_record_per_group_among_those_selected() -> None:
    steps = (
        STEPS
        + "- {verb: flag_extreme, var: AOCCFL, by: [USUBJID], order: [ASTDT, AESEQ], where: {var: AESEQ, ne: 3}}\n"
    )
    out = run(steps, sdtm={"AE": AE}, adam={"ADSL": ADSL})
    # subject 1 without AESEQ 3: 2025-01-01 (AESEQ 2) before 2025-01-05 (AESEQ 1)
    assert values(out, "AOCCFL") == [None, "Y", None, "Y"]
    assert described(steps)["AOCCFL"].startswith(
        "Y on the first record per USUBJID by ASTDT, AESEQ"
    )


def test_flag_extreme_worst_grade_sorts_descending() -> None:
    steps = (
        STEPS
        + "- {verb: flag_extreme, var: WGRFL, by: [USUBJID], order: [ATOXGRN desc, ASTDT], where: {var: ATOXGRN, not_null: true}}\n"
    )
    out = run(steps, sdtm={"AE": AE}, adam={"ADSL": ADSL})
    assert values(out, "WGRFL") == [None, "Y", None, None]  # grade 3; subject 2 has no grade


def test_trtemfl_from_first_dose_to_the_window_after_the_last() -> None:
    steps = STEPS + "- {verb: trtemfl, var: TRTEMFL, start: ASTDT, end_window: 30}\n"
    ae = AE.assign(AESTDTC=["2025-01-03", "2025-03-31", "2025-01-02", "2025-03-23"])
    out = run(steps, sdtm={"AE": ae}, adam={"ADSL": ADSL})
    # 1: first dose 01-03, last 03-01 (+30 = 03-31): on the first dose day Y, 03-31 Y, the
    # day before N; 2: last dose 02-20 + 30 = 03-22: 03-23 is out.
    assert values(out, "TRTEMFL") == ["Y", "Y", None, None]
    assert described(steps)["TRTEMFL"] == "Y when TRTSDT <= ASTDT <= TRTEDT + 30 days"

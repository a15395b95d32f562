"""ctcae.grade: the verb on hand-made bounds, and POMMAINT's CTCAE v5.0 grade table (ADLB
spec) at and around every boundary of the CTCAE v5.0 criteria.

CTCAE v5.0 (NCI, 27 Nov 2017), as /work/shared/standards/SUBMISSION.md tabulates it:
neutrophil count decreased <LLN-1.5 / <1.5-1.0 / <1.0-0.5 / <0.5 x10^9/L; platelet count
decreased <LLN-75 / <75-50 / <50-25 / <25 x10^9/L; anemia <LLN-100 / <100-80 / <80 g/L
(grade 4: life-threatening, no laboratory bound); creatinine increased >ULN-1.5xULN /
>1.5-3.0xULN / >3.0xbaseline or >3.0-6.0xULN / >6.0xULN. A grade's upper value belongs to
it ("<LLN-1.5": 1.5 is grade 1, just below 1.5 grade 2).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
import yaml

from tests.adam_verbs.frames import described, run, values
from tests.conftest import ROOT
from transforms.adam.vocabulary import Inputs, parse_steps
from transforms.adam.vocabulary import Where as At
from transforms.errors import SpecError

ADLB = ROOT / "sdtm_specs" / "POMMAINT" / "adam" / "adlb.yaml"

# (PARAMCD, AVAL, ANRLO, ANRHI, BASE) -> the CTCAE v5.0 grade, by hand from the table.
CASES: list[tuple[str, float | None, float | None, float | None, float | None, float | None]] = [
    # Neutrophils, LLN 2.0 x10^9/L
    ("NEUT", 2.0, 2.0, 7.0, None, 0), ("NEUT", 1.99, 2.0, 7.0, None, 1),
    ("NEUT", 1.5, 2.0, 7.0, None, 1), ("NEUT", 1.49, 2.0, 7.0, None, 2),
    ("NEUT", 1.0, 2.0, 7.0, None, 2), ("NEUT", 0.99, 2.0, 7.0, None, 3),
    ("NEUT", 0.5, 2.0, 7.0, None, 3), ("NEUT", 0.49, 2.0, 7.0, None, 4),
    ("NEUT", 1.4, None, None, None, 2),   # no LLN: grade 2 is still told
    ("NEUT", 1.7, None, None, None, None),  # no LLN: 0 or 1 cannot be told
    ("NEUT", None, 2.0, 7.0, None, None),
    # Platelets, LLN 150 x10^9/L
    ("PLAT", 150, 150, 400, None, 0), ("PLAT", 149, 150, 400, None, 1),
    ("PLAT", 75, 150, 400, None, 1), ("PLAT", 74.9, 150, 400, None, 2),
    ("PLAT", 50, 150, 400, None, 2), ("PLAT", 49.9, 150, 400, None, 3),
    ("PLAT", 25, 150, 400, None, 3), ("PLAT", 24.9, 150, 400, None, 4),
    # Haemoglobin, LLN 120 g/L; no grade 4 from the value
    ("HGB", 120, 120, 160, None, 0), ("HGB", 119, 120, 160, None, 1),
    ("HGB", 100, 120, 160, None, 1), ("HGB", 99, 120, 160, None, 2),
    ("HGB", 80, 120, 160, None, 2), ("HGB", 79, 120, 160, None, 3),
    ("HGB", 20, 120, 160, None, 3),
    # Creatinine, ULN 100 umol/L, baseline 60 (3 x baseline = 180 lies inside grade 2)
    ("CREAT", 100, 50, 100, 60, 0), ("CREAT", 100.1, 50, 100, 60, 1),
    ("CREAT", 150, 50, 100, 60, 1), ("CREAT", 150.1, 50, 100, 60, 2),
    ("CREAT", 180, 50, 100, 60, 2), ("CREAT", 180.1, 50, 100, 60, 3),  # > 3 x baseline
    ("CREAT", 300, 50, 100, None, 2), ("CREAT", 300.1, 50, 100, None, 3),
    ("CREAT", 600, 50, 100, None, 3), ("CREAT", 600.1, 50, 100, None, 4),
    ("CREAT", 120, 50, 100, None, 1),  # no baseline: the ULN bounds alone
    ("CREAT", 90, 50, None, 60, None),  # no ULN: unknown
]  # fmt: skip


def _spec_steps(code: str) -> Any:
    """The ADLB spec's ctcae.grade step whose grade variable is `code`."""
    raw = yaml.safe_load(ADLB.read_text(encoding="utf-8"))["derivations"]
    (step,) = [s for s in raw if s.get("verb") == "ctcae.grade" and s["code"] == code]
    return parse_steps([step], At(str(ADLB), "ADLB"))


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[4]}")
def test_ctcae_grade_of_the_adlb_spec_at_each_ctcae_v5_boundary(case: tuple[Any, ...]) -> None:
    paramcd, aval, lo, hi, baseline, expected = case
    frame = pd.DataFrame(
        {"PARAMCD": [paramcd], "AVAL": [aval], "ANRLO": [lo], "ANRHI": [hi], "BASE": [baseline]},
        dtype="object",
    ).astype({"AVAL": "float64", "ANRLO": "float64", "ANRHI": "float64", "BASE": "float64"})
    direction = "ATOXGRHN" if paramcd == "CREAT" else "ATOXGRLN"
    out = _spec_steps(direction)[0].run(frame, Inputs(sdtm={}, adam={}))
    grade = out[direction].iloc[0]
    assert (None if pd.isna(grade) else grade) == expected
    text = out[direction[:-1]].iloc[0]  # ATOXGRL / ATOXGRH
    assert (None if pd.isna(text) else text) == (None if expected is None else str(expected))


def test_ctcae_grade_term_and_other_parameters() -> None:
    steps = """
- {verb: records, from: {dataset: LAB}}
- verb: ctcae.grade
  var: GR
  code: GRN
  term: DSC
  criteria:
    NEUT:
      term: Neutrophil count decreased
      grades: [{grade: 2, lt: 1.5}, {grade: 1, lt: {var: ANRLO}}]
"""
    lab = pd.DataFrame({"PARAMCD": ["NEUT", "ALB"], "AVAL": [1.2, 1.0], "ANRLO": [2.0, 35.0]})
    out = run(steps, sdtm={"LAB": lab})
    assert values(out, "GR") == ["2", None] and values(out, "DSC") == [
        "Neutrophil count decreased", None,
    ]  # fmt: skip
    assert described(steps)["GR"].startswith(
        "CTCAE v5.0: NEUT (Neutrophil count decreased): 2 if AVAL < 1.5; 1 if AVAL < ANRLO; else 0"
    )


@pytest.mark.parametrize(
    ("grades", "message"),
    [
        ("[{grade: 1, lt: 2}, {grade: 2, lt: 1}]", "highest down"),
        ("[{grade: 2, lt: 1}, {grade: 1, gt: 2}]", "one direction"),
        ("[{grade: 7, lt: 1}]", "not a CTCAE grade"),
        ("[{grade: 2, lt: 1, optional: true}]", "only a bound on a reference"),
        ("[{grade: 2, lt: {var: ANRLO, times: 0}}]", "positive number"),
    ],
)
def test_ctcae_grade_refuses_a_malformed_table(grades: str, message: str) -> None:
    steps = f"""
- verb: ctcae.grade
  var: GR
  code: GRN
  term: DSC
  criteria: {{NEUT: {{term: T, grades: {grades}}}}}
"""
    with pytest.raises(SpecError, match=message):
        run(steps)

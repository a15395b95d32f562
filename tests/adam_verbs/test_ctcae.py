"""ctcae.grade: the verb on hand-made bounds, and POMMAINT's CTCAE v5.0 grade table (ADLB
spec) against the NCI's CTCAE v5.0 grade cells, restated in tests/fixtures/ctcae_v5/
lab_grades.yaml (the source is cited there): the spec's bounds are the fixture's, and the
spec grades a value just below, at and just above every limit of every grade (the
ULN-, LLN- and baseline-relative ones with the references given or missing) as the
fixture's cells, read here independently, grade it. A cell's lower end belongs to it
("<LLN - 1.5": 1.5 is grade 1, just below 1.5 grade 2).
"""

from __future__ import annotations

from collections.abc import Iterator
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
FIXTURE = ROOT / "tests" / "fixtures" / "ctcae_v5" / "lab_grades.yaml"
TABLE = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
TERMS = {t["paramcd"]: t for t in TABLE["terms"]}
# The fixture's references and the ADLB variables holding them.
REFERENCE = {"LLN": "ANRLO", "ULN": "ANRHI", "BASELINE": "BASE"}
# Normal ranges and baselines the boundaries are probed with (creatinine: a baseline whose
# 1.5 and 3 multiples fall inside the ULN grades, one below the ULN, one above it, none).
PROBES: dict[str, list[dict[str, float | None]]] = {
    "NEUT": [{"LLN": 2.0, "ULN": 7.0, "BASELINE": None}],
    "PLAT": [{"LLN": 150.0, "ULN": 400.0, "BASELINE": None}],
    "HGB": [{"LLN": 120.0, "ULN": 160.0, "BASELINE": None}],
    "CREAT": [{"LLN": 50.0, "ULN": 100.0, "BASELINE": base} for base in (80.0, 60.0, 150.0, None)],
}


def _limit(bound: Any, refs: dict[str, float | None]) -> float | None:
    if isinstance(bound, dict):
        ref = refs[bound["of"]]
        return None if ref is None else ref * bound["times"]
    return float(bound)


def _fixture_grade(paramcd: str, value: float, refs: dict[str, float | None]) -> int:
    """The CTCAE v5.0 grade of `value` as the fixture's cells read: the highest grade
    with an alternative the value is strictly beyond (a limit whose reference is missing
    does not apply); none: 0."""
    grade = 0
    for number, cell in TERMS[paramcd]["grades"].items():
        for alternative in cell["bounds"]:
            ((side, bound),) = alternative.items()
            limit = _limit(bound, refs)
            if limit is not None and (value < limit if side == "below" else value > limit):
                grade = max(grade, int(number))
    return grade


def _boundaries() -> Iterator[tuple[str, float, dict[str, float | None]]]:
    for paramcd, probes in PROBES.items():
        for refs in probes:
            for cell in TERMS[paramcd]["grades"].values():
                for alternative in cell["bounds"]:
                    (bound,) = alternative.values()
                    limit = _limit(bound, refs)
                    if limit is not None:
                        for value in (limit * 0.999, limit, limit * 1.001):
                            yield paramcd, value, refs


def _grade_step(code: str) -> Any:
    """The ADLB spec's ctcae.grade step whose grade variable is `code`."""
    raw = yaml.safe_load(ADLB.read_text(encoding="utf-8"))["derivations"]
    (step,) = [s for s in raw if s.get("verb") == "ctcae.grade" and s["code"] == code]
    (parsed,) = parse_steps([step], At(str(ADLB), "ADLB"))
    return parsed


def _code(paramcd: str) -> str:
    return "ATOXGRHN" if paramcd == "CREAT" else "ATOXGRLN"


def _spec_grade(paramcd: str, value: float | None, refs: dict[str, float | None]) -> Any:
    columns = {"PARAMCD": [paramcd], "AVAL": [value]}
    columns |= {var: [refs.get(name)] for name, var in REFERENCE.items()}
    frame = pd.DataFrame(columns, dtype="object")
    frame = frame.astype({"AVAL": "float64", "ANRLO": "float64", "ANRHI": "float64"})
    frame = frame.astype({"BASE": "float64"})
    code = _code(paramcd)
    out = _grade_step(code).run(frame, Inputs(sdtm={}, adam={}))
    grade, text = out[code].iloc[0], out[code[:-1]].iloc[0]  # ATOXGRLN / ATOXGRL
    assert (None if pd.isna(grade) else str(int(grade))) == (None if pd.isna(text) else text)
    return None if pd.isna(grade) else int(grade)


@pytest.mark.parametrize("paramcd", sorted(TERMS))
def test_the_adlb_spec_grades_by_the_ctcae_v5_cells_of_the_fixture(paramcd: str) -> None:
    (criteria,) = [c for c in _grade_step(_code(paramcd)).criteria if c.paramcd == paramcd]
    assert criteria.term == TERMS[paramcd]["term"]
    side = {"lt": "below", "gt": "above"}
    name = {var: ref for ref, var in REFERENCE.items()}
    spec = {
        (b.grade, side[b.op], b.number if b.ref is None else (b.times, name[b.ref]))
        for b in criteria.bounds
    }
    fixture = set()
    for number, cell in TERMS[paramcd]["grades"].items():
        for alternative in cell["bounds"]:
            ((where, bound),) = alternative.items()
            limit = float(bound) if not isinstance(bound, dict) else (bound["times"], bound["of"])
            fixture.add((int(number), where, limit))
    assert spec == fixture
    # a baseline-relative bound counts only where the subject has a baseline
    assert all(b.optional == (b.ref == "BASE") for b in criteria.bounds)


@pytest.mark.parametrize(
    "case",
    list(_boundaries()),
    ids=lambda c: f"{c[0]}-{c[1]:g}-base{c[2]['BASELINE']}" if isinstance(c, tuple) else "",
)
def test_ctcae_grade_of_the_adlb_spec_at_every_ctcae_v5_boundary(
    case: tuple[str, float, dict[str, float | None]],
) -> None:
    paramcd, value, refs = case
    assert _spec_grade(paramcd, value, refs) == _fixture_grade(paramcd, value, refs)


# By hand from the CTCAE v5.0 cells: the boundaries' own grades (the fixture's reading
# checked once more without it), and what a missing value or reference leaves unknown.
HAND: list[tuple[str, float | None, dict[str, float | None], int | None]] = [
    ("NEUT", 1.5, {"LLN": 2.0}, 1), ("NEUT", 1.49, {"LLN": 2.0}, 2),
    ("NEUT", 0.5, {"LLN": 2.0}, 3), ("NEUT", 0.49, {"LLN": 2.0}, 4),
    ("PLAT", 75, {"LLN": 150}, 1), ("PLAT", 24.9, {"LLN": 150}, 4),
    ("HGB", 80, {"LLN": 120}, 2), ("HGB", 20, {"LLN": 120}, 3),  # no grade 4 from a value
    ("NEUT", 1.4, {}, 2),  # no LLN: grade 2 is still told
    ("NEUT", 1.7, {}, None),  # no LLN: 0 or 1 cannot be told
    ("NEUT", None, {"LLN": 2.0}, None),
    # creatinine, ULN 100: 120.1 is > 1.5 x a baseline of 80 (grade 2) though < 1.5 x ULN
    ("CREAT", 120.1, {"ULN": 100, "BASELINE": 80}, 2),
    ("CREAT", 120.1, {"ULN": 100}, 1),  # no baseline: the ULN bounds alone
    ("CREAT", 240.1, {"ULN": 100, "BASELINE": 80}, 3),  # > 3 x baseline
    ("CREAT", 250, {"BASELINE": 80}, 3),  # no ULN: 3 x baseline is still crossed
    ("CREAT", 90, {"BASELINE": 60}, None),  # no ULN, 1.5 x baseline not crossed: unknown
    ("CREAT", 600.1, {"ULN": 100, "BASELINE": 80}, 4),
]  # fmt: skip


@pytest.mark.parametrize("case", HAND, ids=lambda c: f"{c[0]}-{c[1]}-{sorted(c[2])}")
def test_ctcae_grade_of_the_adlb_spec_by_hand(case: tuple[Any, ...]) -> None:
    paramcd, value, refs, expected = case
    assert _spec_grade(paramcd, value, refs) == expected


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

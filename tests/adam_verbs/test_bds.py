"""base, nadir, param_computed, parameters: hand-made BDS records."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.adam_verbs.frames import dates, described, run, values
from transforms.adam.spec import load_adam_spec
from transforms.errors import SpecError

# Subject 1: M-protein at screening, day 1 (baseline) and three later samples; subject 2:
# one pre-dose sample, then a tie of two samples on the same day.
LAB = pd.DataFrame(
    {
        "USUBJID": ["1", "1", "1", "1", "1", "2", "2", "2"],
        "PARAMCD": ["MP"] * 8,
        "ADT": dates(
            "2025-01-01",
            "2025-01-10",
            "2025-02-07",
            "2025-03-07",
            "2025-04-04",
            "2025-01-05",
            "2025-02-01",
            "2025-02-01",
        ),
        "AVISITN": [0.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 2.5],
        "AVAL": [30.0, 28.0, 20.0, None, 26.0, 10.0, 12.0, 9.0],
        "ABLFL": [None, "Y", None, None, None, "Y", None, None],
        "POST": [0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0],
    }
)


def test_base_spreads_the_baseline_value_over_the_group() -> None:
    steps = "- {verb: records, from: {dataset: LAB}}\n- {verb: base, var: BASE}\n"
    out = run(steps, sdtm={"LAB": LAB})
    assert values(out, "BASE") == [28.0] * 5 + [10.0] * 3
    assert described(steps)["BASE"] == 'AVAL of the record per USUBJID, PARAMCD where ABLFL = "Y"'


def test_base_refuses_two_baseline_records_in_a_group() -> None:
    lab = LAB.assign(ABLFL=pd.Series(["Y", "Y", None, None, None, "Y", None, None]))
    with pytest.raises(SpecError, match=r"more than one record per \['USUBJID', 'PARAMCD'\]"):
        run(
            "- {verb: records, from: {dataset: LAB}}\n- {verb: base, var: BASE}\n",
            sdtm={"LAB": lab},
        )


def test_nadir_is_the_lowest_earlier_value_from_baseline_on() -> None:
    steps = """
- {verb: records, from: {dataset: LAB}}
- verb: nadir
  var: NADIR
  order: [ADT, AVISITN]
  among: {any: [{var: ABLFL, eq: "Y"}, {var: POST, eq: 1}]}
  where: {var: POST, eq: 1}
"""
    out = run(steps, sdtm={"LAB": LAB})
    # 1: screening (30) is not counted; 02-07 sees the baseline 28; 03-07 sees 20; 04-04
    # sees 20 (03-07 has no value). 2: the two samples of 02-01 both see only the baseline.
    assert values(out, "NADIR") == [None, None, 28.0, 20.0, 20.0, None, 10.0, 10.0]
    assert described(steps)["NADIR"].startswith(
        "Lowest AVAL of the earlier records (by ADT, AVISITN) of the same USUBJID, PARAMCD"
    )


def test_nadir_max_mode_gives_the_highest_so_far() -> None:
    steps = "- {verb: records, from: {dataset: LAB}}\n- {verb: nadir, var: PEAK, order: [ADT], mode: max}\n"
    out = run(steps, sdtm={"LAB": LAB})
    assert values(out, "PEAK") == [None, 30.0, 30.0, 30.0, 30.0, None, 10.0, 10.0]


FLC = pd.DataFrame(
    {
        "USUBJID": ["1", "1", "1", "1", "2", "2"],
        "PARAMCD": ["KAPPA", "LAMBDA", "KAPPA", "LAMBDA", "KAPPA", "LAMBDA"],
        "AVAL": [65.3, 10.3, 8.0, 12.0, 9.0, 150.0],
        "ADT": dates("2025-01-01", "2025-01-01", "2025-02-01", "2025-02-01", "2025-01-03", None),
        "SIGN": [1.0, 1.0, 1.0, 1.0, -1.0, -1.0],
        "SITE": ["A", "B", "C", "D", "E", "F"],
    }
)


def test_param_computed_makes_a_record_per_time_point_with_every_parameter() -> None:
    steps = """
- {verb: records, from: {dataset: FLC}}
- verb: param_computed
  paramcd: DFLC
  param: dFLC
  parameters: [KAPPA, LAMBDA]
  expr: SIGN * (KAPPA - LAMBDA)
  by: [USUBJID, ADT, SIGN]
  keep: [SITE]
"""
    out = run(steps, sdtm={"FLC": FLC})
    made = out[out["PARAMCD"] == "DFLC"]
    # 1: 65.3 - 10.3 = 55 and 8 - 12 = -4 (the involved chain below the other); 2: the
    # lambda sample has another date (none): no record. SITE from the kappa record.
    assert values(made, "AVAL") == [pytest.approx(55.0), pytest.approx(-4.0)]
    assert values(made, "SITE") == ["A", "C"]
    assert values(made, "PARAM") == ["dFLC", "dFLC"]
    assert described(steps)["AVAL"].startswith("DFLC: SIGN * (KAPPA - LAMBDA) per USUBJID")


def test_param_computed_refuses_an_expression_of_unknown_names() -> None:
    steps = """
- verb: param_computed
  paramcd: DFLC
  param: dFLC
  parameters: [KAPPA, LAMBDA]
  expr: KAPPA - GAMMA
  by: [USUBJID, ADT]
"""
    with pytest.raises(SpecError, match=r"expr: \['GAMMA'\] are neither parameters nor by"):
        run(steps)


def test_parameters_turns_variables_into_records_and_drops_nulls() -> None:
    subjects = pd.DataFrame(
        {"USUBJID": ["1", "2"], "CUMDOSE": [168.0, 42.0], "TTFRED": [None, 30.0], "X": [1, 2]}
    )
    steps = """
- {verb: records, from: {dataset: S}}
- verb: parameters
  keep: [USUBJID]
  parameters:
    - {paramcd: CUMDOSE, param: Cumulative Dose (mg), from: CUMDOSE}
    - {paramcd: TTFRED, param: Time to First Reduction (days), from: TTFRED}
"""
    out = run(steps, sdtm={"S": subjects})
    assert out.to_dict("list") == {
        "USUBJID": ["1", "2", "2"],
        "PARAMCD": ["CUMDOSE", "CUMDOSE", "TTFRED"],
        "PARAM": ["Cumulative Dose (mg)", "Cumulative Dose (mg)", "Time to First Reduction (days)"],
        "AVAL": [168.0, 42.0, 30.0],
    }
    assert described(steps)["AVAL"] == "CUMDOSE: CUMDOSE; TTFRED: TTFRED"


def test_parameters_method_says_how_each_value_was_derived(tmp_path: Path) -> None:
    """The loader gives `parameters` what the steps before it derived: AVAL's method names
    each parameter's derivation, a source's filter included."""
    spec = tmp_path / "adxx.yaml"
    spec.write_text(
        """
dataset: ADXX
label: Test
structure: BDS
keys: [USUBJID, PARAMCD]
derivations:
  - {verb: records, from: {dataset: S}}
  - verb: merge_summary
    var: NDOSED
    function: count
    from: {dataset: EX, derive: [{verb: filter, where: {var: EXDOSE, gt: 0}}]}
  - {verb: compute, var: HALF, expr: NDOSED / 2}
  - verb: parameters
    keep: [USUBJID]
    parameters:
      - {paramcd: NDOSED, param: Doses, from: NDOSED}
      - {paramcd: HALF, param: Half, from: HALF}
variables:
  - {name: USUBJID, origin: Predecessor, source: SUBJ.USUBJID}
  - {name: PARAMCD, origin: Derived}
  - {name: AVAL, origin: Derived}
""",
        encoding="utf-8",
    )
    (aval,) = [v.method for v in load_adam_spec(spec).variables if v.name == "AVAL"]
    assert aval == (
        "NDOSED: NDOSED (Number of records of EX, kept where EXDOSE > 0, by USUBJID); "
        "HALF: HALF (NDOSED / 2)"
    )

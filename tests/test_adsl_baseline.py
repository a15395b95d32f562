"""POMMAINT's ADSL declaration (sdtm_specs/POMMAINT/adam/adsl.yaml): the steps of the
cytogenetic risk, creatinine clearance, evaluable populations and death grouping run on
constructed SDTM records, whatever the sample holds. Expected values by hand."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
import yaml

from tests.conftest import ROOT
from transforms import yamlfile
from transforms.adam.verbs.base import Inputs, Where, parse_steps
from transforms.adam.vocabulary import build

SPEC = ROOT / "sdtm_specs" / "POMMAINT" / "adam" / "adsl.yaml"


def _steps(*made: str) -> list[dict[str, Any]]:
    """The spec's steps that make these variables (in spec order)."""

    def makes(step: dict[str, Any]) -> set[str]:
        named = step.get("vars")
        return {step["var"]} if "var" in step else set(named if isinstance(named, dict) else ())

    chosen = [s for s in yamlfile.load(SPEC)["derivations"] if makes(s) & set(made)]
    assert set().union(*map(makes, chosen)) == set(made)
    return chosen


def _run(steps: list[dict[str, Any]], dm: pd.DataFrame, **sdtm: pd.DataFrame) -> pd.DataFrame:
    raw = [{"verb": "records", "from": {"dataset": "DM"}}, *steps]
    parsed = parse_steps(yaml.safe_load(yaml.safe_dump(raw)), Where(str(SPEC), "ADSL"))
    return build(parsed, Inputs(sdtm={"DM": dm, **sdtm}, adam={})).set_index("USUBJID")


def test_cytogenetic_risk_counts_the_protocols_high_risk_abnormalities() -> None:
    dm = pd.DataFrame({"USUBJID": ["HR2", "HR1", "SR", "NONE", "NOTDONE"]})
    gf = pd.DataFrame(
        [
            ("HR2", "del(17)(p13)", "DETECTED"),
            ("HR2", "t(4;14)(p16;q32)", "DETECTED"),
            ("HR1", "+1q21", "DETECTED"),
            ("HR1", "t(11;14)(q13;q32)", "NOT DETECTED"),
            ("SR", "t(14;16)(q32;q23)", "NOT DETECTED"),
            ("SR", "17p13.1", "NOT DETECTED"),
            # a detected abnormality outside the protocol's list is not high risk
            ("SR", "t(6;14)(p21;q32)", "DETECTED"),
            ("NOTDONE", "17p13.1", None),
        ],
        columns=["USUBJID", "GFGENLOC", "GFSTRESC"],
    )
    out = _run(_steps("HRCYTN", "NCYTO", "CYTORISK", "CYTORSKN"), dm, GF=gf)
    assert out["HRCYTN"].to_dict() == {"HR2": 2, "HR1": 1, "SR": 0, "NONE": 0, "NOTDONE": 0}
    risk = out["CYTORISK"].astype(object).where(out["CYTORISK"].notna(), None).to_dict()
    assert risk == {
        "HR2": "High risk",
        "HR1": "High risk",
        "SR": "Standard risk",
        "NONE": None,  # no panel
        "NOTDONE": None,  # a panel without any result
    }
    assert out.loc["SR", "CYTORSKN"] == 1 and out.loc["HR1", "CYTORSKN"] == 2


@pytest.mark.parametrize(
    ("sex", "age", "weight", "creat", "expected"),
    [
        # (140 - 60) x 70 / (72 x 88.4 / 88.4) = 77.78 mL/min (creatinine 1 mg/dL)
        ("M", 60, 70.0, 88.4, 77.8),
        # female: x 0.85 -> 66.11
        ("F", 60, 70.0, 88.4, 66.1),
        # (140 - 75) x 55 x 0.85 / (72 x 132.6 / 88.4 = 108) = 28.14
        ("F", 75, 55.0, 132.6, 28.1),
    ],
)
def test_cockcroft_gault(sex: str, age: int, weight: float, creat: float, expected: float) -> None:
    dm = pd.DataFrame({"USUBJID": ["S"], "SEX": [sex], "AGE": [float(age)]})
    vs = pd.DataFrame(
        {"USUBJID": ["S", "S"], "VSTESTCD": ["WEIGHT", "WEIGHT"], "VSLOBXFL": ["Y", None],
         "VSSTRESN": [weight, 99.0]}
    )  # fmt: skip
    lb = pd.DataFrame(
        {"USUBJID": ["S"], "LBTESTCD": ["CREAT"], "LBLOBXFL": ["Y"], "LBSTRESN": [creat]}
    )
    out = _run(_steps("WEIGHTBL", "CREATBL", "CGSEX", "CRCLBL"), dm, VS=vs, LB=lb)
    assert out.loc["S", "CRCLBL"] == expected


def test_evaluable_populations() -> None:
    dm = pd.DataFrame(
        {
            "USUBJID": ["EVAL", "MRD", "NE", "BASE", "SCRF"],
            "ITTFL": ["Y", "Y", "Y", "Y", "N"],
            "TRTSDT": pd.to_datetime(pd.Series(["2025-01-01"] * 4 + [None])),
        }
    )
    rs = pd.DataFrame(
        [
            ("EVAL", "OVRLRESP", 29, "VGPR"),
            ("MRD", "OVRLRESP", 29, "CR"),
            ("MRD", "MRDIND", 200, "NEGATIVE"),
            ("NE", "OVRLRESP", 29, "NE"),  # no response assessable
            ("NE", "MRDIND", 200, "NEGATIVE"),
            ("BASE", "OVRLRESP", 1, "CR"),  # the first-dose day is baseline
            ("BASE", "MRDIND", -5, "NEGATIVE"),
            ("SCRF", "OVRLRESP", 29, "PR"),
        ],
        columns=["USUBJID", "RSTESTCD", "RSDY", "RSSTRESC"],
    )
    out = _run(_steps("NRSPPB", "NMRDPB", "EFFFL", "MRDEVFL"), dm, RS=rs)
    assert out["EFFFL"].to_dict() == {"EVAL": "Y", "MRD": "Y", "NE": "N", "BASE": "N", "SCRF": "N"}
    assert out["MRDEVFL"].to_dict() == {"EVAL": "N", "MRD": "Y", "NE": "N", "BASE": "N",
                                        "SCRF": "N"}  # fmt: skip


def test_cause_of_death_groups_and_days() -> None:
    dm = pd.DataFrame(
        {
            "USUBJID": ["PD", "AE", "OTHER", "UNKNOWN", "ALIVE"],
            "DTHFL": ["Y", "Y", "Y", "Y", None],
            "DTHCAUS": ["PROGRESSIVE DISEASE", "PNEUMONIA", "ACCIDENT", None, None],
            "TRTSDT": pd.to_datetime(["2025-01-01"] * 5),
            "TRTEDT": pd.to_datetime(["2025-03-01"] * 5),
            "DTHDT": pd.to_datetime(
                pd.Series(["2025-03-11", "2025-03-01", "2025-06-01", None, None])
            ),
        }
    )
    ae = pd.DataFrame({"USUBJID": ["AE", "OTHER"], "AESDTH": ["Y", "N"]})
    steps = _steps("NFATALAE", "DTHCGR1", "DTHADY", "LDDTHELD")
    out = _run(steps, dm, AE=ae)
    group = out["DTHCGR1"].astype(object).where(out["DTHCGR1"].notna(), None).to_dict()
    assert group == {"PD": "DISEASE PROGRESSION", "AE": "ADVERSE EVENT", "OTHER": "OTHER",
                     "UNKNOWN": "UNKNOWN", "ALIVE": None}  # fmt: skip
    # 11 MAR 2025: day 70 from 1 JAN; 10 days after the last dose (1 MAR); death on the
    # last dose day: 0 elapsed days.
    assert (out.loc["PD", "DTHADY"], out.loc["PD", "LDDTHELD"]) == (70.0, 10.0)
    assert out.loc["AE", "LDDTHELD"] == 0.0

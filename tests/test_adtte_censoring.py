"""POMMAINT's ADTTE declaration (sdtm_specs/POMMAINT/adam/adtte.yaml) on constructed
subjects, one per censoring rule, with admiral's derive_param_tte semantics: the earliest
event wins; without one, the latest censoring; an event beats any censoring; sources
sharing a date go to the one listed first (event_source / censor_source order); each
censoring source sets its own CNSR, EVNTDESC and CNSDTDSC (set_values_to). The expected
values are derived by hand from the dates below, not by running the builder."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from tests.conftest import ROOT
from transforms import yamlfile
from transforms.adam.tte import build_tte

SPEC = ROOT / "sdtm_specs" / "POMMAINT" / "adam" / "adtte.yaml"
TRTSDT = "2025-01-01"


def _tte_step() -> dict[str, Any]:
    (step,) = [s for s in yamlfile.load(SPEC)["derivations"] if s["verb"] == "tte"]
    return {k: v for k, v in step.items() if k != "verb"}


def _day(text: str | None) -> pd.Timestamp | None:
    return pd.Timestamp(text) if text else None


# subject: (NACTDT, LSTALVDT); ADRS records: (subject, PARAMCD, ADT, AVALC, ANL01FL, ANL02FL)
SUBJECTS = {
    "EVENT": (None, "2025-09-01"),  # progression in the window, no new therapy
    "ONGOING": (None, "2025-09-01"),  # no progression or death
    "NOASSESS": (None, "2025-02-01"),  # no adequate post-baseline assessment
    "MISSED": (None, "2025-09-01"),  # progression 120 days after the last assessment
    "NACTPD": ("2025-05-01", "2025-09-01"),  # progression after new therapy (in window)
    "NACTONLY": ("2025-05-01", "2025-09-01"),  # new therapy, no progression
    "MISSNACT": ("2025-10-01", "2025-12-01"),  # missed-window progression, then therapy
    "DEATH": (None, "2025-04-01"),  # death in the window
    "TIE": (None, "2025-05-01"),  # progression and death on the same day
    "NONRESP": (None, "2025-09-01"),  # never a confirmed response
}
ADRS = [
    ("EVENT", "LSTA", "2025-03-01", "VGPR", "Y", None),
    ("EVENT", "PD", "2025-04-01", "Y", "Y", "Y"),
    ("ONGOING", "LSTA", "2025-06-01", "CR", "Y", None),
    ("MISSED", "LSTA", "2025-03-01", "PR", "Y", None),
    ("MISSED", "PD", "2025-06-29", "Y", None, None),
    ("NACTPD", "LSTA", "2025-04-01", "PR", "Y", None),
    ("NACTPD", "PD", "2025-05-20", "Y", None, "Y"),
    ("NACTONLY", "LSTA", "2025-04-15", "PR", "Y", None),
    ("MISSNACT", "LSTA", "2025-03-01", "PR", "Y", None),
    ("MISSNACT", "PD", "2025-07-01", "Y", None, None),
    ("DEATH", "LSTA", "2025-02-15", "PR", "Y", None),
    ("DEATH", "DEATH", "2025-04-01", "Y", "Y", "Y"),
    ("TIE", "LSTA", "2025-03-01", "PR", "Y", None),
    ("TIE", "PD", "2025-04-01", "Y", "Y", "Y"),
    ("TIE", "DEATH", "2025-04-01", "Y", "Y", "Y"),
    ("NONRESP", "LSTA", "2025-06-01", "SD", "Y", None),
]
# Every responder's first post-baseline PR or better (OVR) on 2025-02-01, confirmed (BOR).
# (NOASSESS has no post-baseline assessment, so no response either.)
RESPONDERS = [s for s in SUBJECTS if s not in ("NONRESP", "NOASSESS")]


def _frames() -> dict[str, pd.DataFrame]:
    adsl = pd.DataFrame(
        [
            {
                "STUDYID": "S",
                "USUBJID": s,
                "ITTFL": "Y",
                "TRTSDT": _day(TRTSDT),
                "NACTDT": _day(nact),
                "LSTALVDT": _day(alive),
            }
            for s, (nact, alive) in SUBJECTS.items()
        ]
    )
    step = _tte_step()
    for var in set(step["adsl_vars"]) - set(adsl.columns):
        adsl[var] = "x"
    rows = [
        dict(zip(("USUBJID", "PARAMCD", "ADT", "AVALC", "ANL01FL", "ANL02FL"), r, strict=True))
        for r in ADRS
    ]
    for s in RESPONDERS:
        rows.append({"USUBJID": s, "PARAMCD": "OVR", "ADT": "2025-01-01", "AVALC": "PR"})
        rows.append({"USUBJID": s, "PARAMCD": "OVR", "ADT": "2025-02-01", "AVALC": "PR"})
        rows.append({"USUBJID": s, "PARAMCD": "BOR", "ADT": "2025-02-01", "AVALC": "PR"})
    rows.append({"USUBJID": "NONRESP", "PARAMCD": "BOR", "ADT": "2025-02-01", "AVALC": "SD"})
    adrs = pd.DataFrame(rows)
    adrs["STUDYID"] = "S"
    adrs["ADT"] = pd.to_datetime(adrs["ADT"])
    adrs["ADY"] = (adrs["ADT"] - pd.Timestamp(TRTSDT)).dt.days + 1.0
    ovr = adrs["PARAMCD"] == "OVR"
    adrs.loc[ovr, "ANL01FL"] = "Y"
    adrs["ASEQ"] = range(1, len(adrs) + 1)
    adrs = adrs.astype({"ANL01FL": "string", "ANL02FL": "string"})
    return {"ADSL": adsl, "ADRS": adrs}


@pytest.fixture(scope="module")
def built() -> tuple[pd.DataFrame, pd.DataFrame]:
    result = build_tte(_tte_step(), _frames())
    return result.data, result.unassigned


def _get(built: tuple[pd.DataFrame, pd.DataFrame], subject: str, paramcd: str) -> tuple[Any, ...]:
    data = built[0]
    (row,) = data[(data["USUBJID"] == subject) & (data["PARAMCD"] == paramcd)].to_dict("records")
    desc = row["CNSDTDSC"] if isinstance(row["CNSDTDSC"], str) else None
    return (row["ADT"].strftime("%Y-%m-%d"), int(row["CNSR"]), row["EVNTDESC"], desc)


LAST = "Last Adequate Response Assessment"
MISSED = (
    "Progression or Death After Two or More Missed Assessments",
    "Last Adequate Assessment Before Missed Assessments",
)
NACT = ("New Anticancer Therapy", "Last Adequate Assessment Before New Anticancer Therapy")

PFS = {
    # progression in the window: the event
    "EVENT": ("2025-04-01", 0, "Disease Progression", None),
    # nothing: censored at the last adequate assessment (CNSR 1)
    "ONGOING": ("2025-06-01", 1, LAST, LAST),
    # no adequate post-baseline assessment: the first dose (CNSR 2)
    "NOASSESS": (TRTSDT, 2, "No Adequate Post-baseline Assessment", "First Dose"),
    # progression after missed assessments: the last assessment before them (CNSR 3)
    "MISSED": ("2025-03-01", 3, *MISSED),
    # progression after new therapy: the last assessment before the therapy (CNSR 4)
    "NACTPD": ("2025-04-01", 4, *NACT),
    "NACTONLY": ("2025-04-15", 4, *NACT),
    # missed assessments came first (progression before the therapy): CNSR 3, not 4
    "MISSNACT": ("2025-03-01", 3, *MISSED),
    "DEATH": ("2025-04-01", 0, "Death", None),
    # events on one day: the source listed first (pd before pfs_death)
    "TIE": ("2025-04-01", 0, "Disease Progression", None),
}


@pytest.mark.parametrize("subject", sorted(PFS))
def test_pfs_censoring_rules(built: tuple[pd.DataFrame, pd.DataFrame], subject: str) -> None:
    assert _get(built, subject, "PFS") == PFS[subject]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        # no censoring at new therapy: the progression after it (in the window) counts
        ("NACTPD", ("2025-05-20", 0, "Disease Progression", None)),
        # new therapy alone censors nothing: the last adequate assessment, CNSR 1
        ("NACTONLY", ("2025-04-15", 1, LAST, LAST)),
        # missed assessments still censor (CNSR 3), before or after therapy
        ("MISSED", ("2025-03-01", 3, *MISSED)),
        ("MISSNACT", ("2025-03-01", 3, *MISSED)),
        ("EVENT", PFS["EVENT"]),
    ],
)
def test_pfs_without_censoring_at_new_therapy(
    built: tuple[pd.DataFrame, pd.DataFrame], subject: str, expected: tuple[Any, ...]
) -> None:
    assert _get(built, subject, "PFSNT") == expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        # no censoring for missed assessments: the late progression counts ...
        ("MISSED", ("2025-06-29", 0, "Disease Progression", None)),
        # ... when it is before any new therapy (2025-07-01 < 2025-10-01)
        ("MISSNACT", ("2025-07-01", 0, "Disease Progression", None)),
        # new therapy still censors (CNSR 4)
        ("NACTPD", ("2025-04-01", 4, *NACT)),
        ("ONGOING", PFS["ONGOING"]),
    ],
)
def test_pfs_without_censoring_for_missed_assessments(
    built: tuple[pd.DataFrame, pd.DataFrame], subject: str, expected: tuple[Any, ...]
) -> None:
    assert _get(built, subject, "PFSMA") == expected


def test_duration_of_response_is_for_confirmed_responders_from_the_first_response(
    built: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    data, unassigned = built
    dor = data[data["PARAMCD"] == "DOR"]
    assert sorted(dor["USUBJID"]) == sorted(RESPONDERS)
    # the day-1 OVR is baseline (ADY 1): the response starts on 2025-02-01
    assert set(dor["STARTDT"]) == {pd.Timestamp("2025-02-01")}
    row = dor[dor["USUBJID"] == "EVENT"].iloc[0]
    assert (row["AVAL"], row["CNSR"]) == (60, 0)  # 2025-02-01 .. 2025-04-01, both counted
    listed = unassigned[(unassigned["PARAMCD"] == "DOR")]
    assert listed[["USUBJID", "REASON"]].values.tolist() == [
        ["NOASSESS", "no record of response"],
        ["NONRESP", "no record of response"],
    ]


def test_time_to_next_treatment(built: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    assert _get(built, "NACTPD", "TTNT") == (
        "2025-05-01", 0, "Start of New Anticancer Therapy", None,
    )  # fmt: skip
    assert _get(built, "DEATH", "TTNT") == ("2025-04-01", 0, "Death", None)
    alive = ("2025-09-01", 1, "Alive", "Last Known Alive Date")
    assert _get(built, "ONGOING", "TTNT") == alive
    assert _get(built, "ONGOING", "OS") == alive

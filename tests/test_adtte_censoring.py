"""POMMAINT's ADTTE declaration (sdtm_specs/POMMAINT/adam/adtte.yaml) on constructed
subjects: every censoring rule of every parameter has a subject whose expected ADT, CNSR,
EVNTDESC and CNSDTDSC are written out below by hand from the dates, not by running the
builder.

The semantics are admiral's derive_param_tte (reference manual and the "Creating a BDS
Time-to-Event ADaM" vignette, pharmaverse/admiral): per subject, the event is the earliest
date among the event sources; a subject without an event gets the latest date among the
censoring sources; a subject with an event is never censored, so an event on the same day
as a censoring wins; sources sharing a date go to the one listed first; each source sets
its own CNSR, EVNTDESC and CNSDTDSC (set_values_to); STARTDT is the origin (start_date)
and an ADT before it becomes STARTDT; AVAL = ADT - STARTDT + 1. ADT is never after the
data cut-off because the sources hold only records up to the cut-off (this study's extract
carries no later dates), which the last test checks on the constructed data.

The ADRS records are given as imwg.pfs_sources and imwg.best_response write them (PD,
DEATH: ANL01FL when not after missed assessments nor after new therapy; LSTA: the last
adequate assessment before progression, never after new therapy; PDNT, DEATHNT, LSTANT:
the same from the assessments whether or not after new therapy, ANL01FL when not after
missed assessments; CRSP: the first assessment of the first confirmed response). The FDA table of PFS censoring conventions (Clinical Trial
Endpoints for the Approval of Cancer Drugs and Biologics, 2018) gives the rules: no
baseline assessment, censored at randomisation (here the first dose, CNSR 7); no adequate
post-baseline assessment (CNSR 2); no progression, the last adequate assessment (CNSR 1);
progression or death after two or more missed visits (CNSR 3) or after new anticancer
therapy (CNSR 4), the last adequate assessment before it; withdrawal (CNSR 5) and loss to
follow-up (CNSR 6), the last adequate assessment."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from tests.conftest import ROOT
from transforms import yamlfile
from transforms.adam.tte import build_tte
from transforms.adam.vocabulary import Inputs, Where, build, parse_steps

SPEC = ROOT / "sdtm_specs" / "POMMAINT" / "adam" / "adtte.yaml"
ADRS_SPEC = ROOT / "sdtm_specs" / "POMMAINT" / "adam" / "adrs.yaml"
TRTSDT = "2025-01-01"
BASELINE = "2024-12-20"
CRSP = "2025-02-01"  # the first confirmed response of every responder but LATERESP

WITHDRAWAL = "WITHDRAWAL BY SUBJECT"
LOSS = "LOST TO FOLLOW-UP"
# subject: NACTDT, LSTALVDT, DCSREAS, EOSDT
SUBJECTS: dict[str, tuple[str | None, str | None, str | None, str | None]] = {
    "EVENT": (None, "2025-09-01", None, None),  # progression in the window
    "ONGOING": (None, "2025-09-01", None, None),  # no progression or death
    "NOASSESS": (None, "2025-02-01", None, None),  # baseline only
    "MISSED": (None, "2025-09-01", None, None),  # progression 120 days after the last
    "NACTPD": ("2025-05-01", "2025-09-01", None, None),  # progression after new therapy
    "NACTONLY": ("2025-05-01", "2025-09-01", None, None),  # new therapy, no progression
    "NACTDTH": ("2025-05-01", "2025-07-01", None, None),  # death after new therapy
    "MISSNACT": ("2025-10-01", "2025-12-01", None, None),  # late progression, then therapy
    "DEATH": (None, "2025-04-01", None, None),  # death in the window
    "TIE": (None, "2025-05-01", None, None),  # progression and death on one day
    "SAMEDAY": (None, "2025-03-01", None, None),  # death on the last assessment's day
    "WITHDRAWN": (None, "2025-05-10", WITHDRAWAL, "2025-05-10"),
    "LOST": (None, "2025-07-01", LOSS, "2025-08-01"),
    "NACTWD": ("2025-05-01", "2025-06-01", WITHDRAWAL, "2025-06-01"),  # therapy, withdrawal
    "NOBASE": (None, "2025-09-01", None, None),  # no baseline assessment, then progression
    "NOBASERESP": (None, "2025-09-01", None, None),  # no baseline, a confirmed response
    "NONRESP": (None, "2025-09-01", None, None),  # never a confirmed response
    "LATERESP": (None, "2025-09-01", None, None),  # first PR unconfirmed, a later one is
    "NOALIVE": (None, None, None, None),  # no alive date after the first dose
}
# ADRS: subject, PARAMCD, ADT, AVALC, ANL01FL
ADRS = [
    ("EVENT", "LSTA", "2025-03-01", "VGPR", "Y"),
    ("EVENT", "PD", "2025-04-01", "Y", "Y"),
    ("ONGOING", "LSTA", "2025-06-01", "CR", "Y"),
    ("MISSED", "LSTA", "2025-03-01", "PR", "Y"),
    ("MISSED", "PD", "2025-06-29", "Y", None),
    # the progression on 20 May follows new therapy (1 May): PFS's records end before it
    ("NACTPD", "LSTA", "2025-04-01", "PR", "Y"),
    ("NACTONLY", "LSTA", "2025-04-15", "PR", "Y"),
    ("NACTDTH", "LSTA", "2025-04-15", "PR", "Y"),
    ("NACTDTH", "DEATH", "2025-07-01", "Y", None),  # after new therapy
    ("MISSNACT", "LSTA", "2025-03-01", "PR", "Y"),
    ("MISSNACT", "PD", "2025-07-01", "Y", None),
    ("DEATH", "LSTA", "2025-02-15", "PR", "Y"),
    ("DEATH", "DEATH", "2025-04-01", "Y", "Y"),
    ("TIE", "LSTA", "2025-03-01", "PR", "Y"),
    ("TIE", "PD", "2025-04-01", "Y", "Y"),
    ("TIE", "DEATH", "2025-04-01", "Y", "Y"),
    ("SAMEDAY", "LSTA", "2025-03-01", "PR", "Y"),
    ("SAMEDAY", "DEATH", "2025-03-01", "Y", "Y"),
    ("WITHDRAWN", "LSTA", "2025-04-01", "PR", "Y"),
    ("LOST", "LSTA", "2025-06-01", "PR", "Y"),
    ("NACTWD", "LSTA", "2025-04-15", "PR", "Y"),
    ("NOBASE", "LSTA", "2025-03-01", "PR", "Y"),
    ("NOBASE", "PD", "2025-04-01", "Y", "Y"),
    ("NOBASERESP", "LSTA", "2025-05-01", "CR", "Y"),
    ("NONRESP", "LSTA", "2025-06-01", "SD", "Y"),
    ("LATERESP", "OVR", "2025-02-01", "PR", "Y"),  # not confirmed: SD next
    ("LATERESP", "OVR", "2025-03-01", "SD", "Y"),
    ("LATERESP", "LSTA", "2025-06-01", "PR", "Y"),
    ("NOALIVE", "LSTA", "2025-03-01", "SD", "Y"),
]
# The records that follow the subjects with new therapy past it (PDNT, DEATHNT, LSTANT;
# ANL01FL: not after missed assessments). A subject without new therapy has the same
# records as PFS's (the same assessments), renamed: _frames adds those.
FOLLOWED = [
    # assessed on 10 May after the therapy, progression 20 May (10 days later)
    ("NACTPD", "LSTANT", "2025-05-10", "PR", "Y"),
    ("NACTPD", "PDNT", "2025-05-20", "Y", "Y"),
    # assessed until 15 Jun, after the therapy
    ("NACTONLY", "LSTANT", "2025-06-15", "PR", "Y"),
    # assessed on 1 Jun after the therapy, death 1 Jul: 30 days later, in the window (from
    # 15 Apr, the last assessment before the therapy, it would be 77 days, past 63)
    ("NACTDTH", "LSTANT", "2025-06-01", "SD", "Y"),
    ("NACTDTH", "DEATHNT", "2025-07-01", "Y", "Y"),
    # progression after missed assessments before the therapy: as PFS's
    ("MISSNACT", "LSTANT", "2025-03-01", "PR", "Y"),
    ("MISSNACT", "PDNT", "2025-07-01", "Y", None),
    # withdrawn without an assessment after the therapy
    ("NACTWD", "LSTANT", "2025-04-15", "PR", "Y"),
]
NT_CODES = {"PD": "PDNT", "DEATH": "DEATHNT", "LSTA": "LSTANT"}
NO_RESPONSE = {"NOASSESS", "NOBASE", "NONRESP", "NOALIVE"}
RESPONDERS = sorted(set(SUBJECTS) - NO_RESPONSE)


def _tte_step() -> dict[str, Any]:
    (step,) = [s for s in yamlfile.load(SPEC)["derivations"] if s["verb"] == "tte"]
    return {k: v for k, v in step.items() if k != "verb"}


def _day(text: str | None) -> pd.Timestamp | None:
    return pd.Timestamp(text) if text else None


def _days(*texts: str | None) -> pd.Series:
    return pd.Series([_day(t) for t in texts], dtype="datetime64[ns]")


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
                "DCSREAS": reason,
                "EOSDT": _day(eos),
            }
            for s, (nact, alive, reason, eos) in SUBJECTS.items()
        ]
    )
    for var in set(_tte_step()["adsl_vars"]) - set(adsl.columns):
        adsl[var] = "x"
    names = ("USUBJID", "PARAMCD", "ADT", "AVALC", "ANL01FL")
    followed = {r[0] for r in FOLLOWED}
    same = [
        (r[0], NT_CODES[r[1]], *r[2:]) for r in ADRS if r[1] in NT_CODES and r[0] not in followed
    ]
    rows = [dict(zip(names, r, strict=True)) for r in [*ADRS, *FOLLOWED, *same]]
    for s in SUBJECTS:
        if s not in ("NOBASE", "NOBASERESP"):
            rows.append({"USUBJID": s, "PARAMCD": "OVR", "ADT": BASELINE, "ABLFL": "Y"})
        start = "2025-04-01" if s == "LATERESP" else CRSP
        rows.append(
            {"USUBJID": s, "PARAMCD": "CRSP", "ADT": start, "AVALC": "Y"}
            if s in RESPONDERS
            else {"USUBJID": s, "PARAMCD": "CRSP", "ADT": None, "AVALC": "N"}
        )
    adrs = pd.DataFrame(rows)
    adrs["STUDYID"] = "S"
    adrs["ADT"] = pd.to_datetime(adrs["ADT"])
    adrs["ASEQ"] = range(1, len(adrs) + 1)
    adrs = adrs.astype({"ANL01FL": "string", "ABLFL": "string"})
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


PD = "Disease Progression"
LAST = "Last Adequate Response Assessment"
NO_POST = ("No Adequate Post-baseline Assessment", "First Dose")
MISSED = (
    "Progression or Death After Two or More Missed Assessments",
    "Last Adequate Assessment Before Missed Assessments",
)
NACT = ("New Anticancer Therapy", "Last Adequate Assessment Before New Anticancer Therapy")
WITHDRAWN = ("Withdrawal by Subject", "Last Adequate Assessment Before Withdrawal")
LOST = ("Lost to Follow-up", "Last Adequate Assessment Before Loss to Follow-up")
NO_BASELINE = ("No Baseline Response Assessment", "First Dose")

PFS = {
    # progression in the window: the event
    "EVENT": ("2025-04-01", 0, PD, None),
    # no progression or death: the last adequate assessment (CNSR 1)
    "ONGOING": ("2025-06-01", 1, LAST, LAST),
    # no adequate post-baseline assessment: the first dose (CNSR 2)
    "NOASSESS": (TRTSDT, 2, *NO_POST),
    "NONRESP": ("2025-06-01", 1, LAST, LAST),
    # progression after missed assessments: the last assessment before them (CNSR 3)
    "MISSED": ("2025-03-01", 3, *MISSED),
    # progression after new therapy: the last assessment before the therapy (CNSR 4) ...
    "NACTPD": ("2025-04-01", 4, *NACT),
    # ... as is new therapy without progression, or followed by death
    "NACTONLY": ("2025-04-15", 4, *NACT),
    "NACTDTH": ("2025-04-15", 4, *NACT),
    # the missed assessments came first (progression before the therapy): 3, not 4
    "MISSNACT": ("2025-03-01", 3, *MISSED),
    # death: the event
    "DEATH": ("2025-04-01", 0, "Death", None),
    # progression and death on one day: the source listed first (pd before pfs_death)
    "TIE": ("2025-04-01", 0, PD, None),
    # death on the day of the last adequate assessment: the event wins
    "SAMEDAY": ("2025-03-01", 0, "Death", None),
    # withdrawal by subject / loss to follow-up: the last adequate assessment (5 / 6)
    "WITHDRAWN": ("2025-04-01", 5, *WITHDRAWN),
    "LOST": ("2025-06-01", 6, *LOST),
    # new therapy and withdrawal: the reason listed first (new therapy, 4)
    "NACTWD": ("2025-04-15", 4, *NACT),
    # no baseline assessment: the first dose, the later progression ignored (CNSR 7)
    "NOBASE": (TRTSDT, 7, *NO_BASELINE),
    "NOBASERESP": (TRTSDT, 7, *NO_BASELINE),
}


PFSNT = {
    # no censoring at new therapy: the progression after it (in the window) counts ...
    "NACTPD": ("2025-05-20", 0, PD, None),
    # ... as does the death after it
    "NACTDTH": ("2025-07-01", 0, "Death", None),
    # new therapy alone censors nothing: the last assessment, after the therapy (CNSR 1)
    "NACTONLY": ("2025-06-15", 1, LAST, LAST),
    # missed assessments still censor (CNSR 3), before or after therapy
    "MISSED": ("2025-03-01", 3, *MISSED),
    "MISSNACT": ("2025-03-01", 3, *MISSED),
    # new therapy, then withdrawal: the withdrawal is the reason left (CNSR 5)
    "NACTWD": ("2025-04-15", 5, *WITHDRAWN),
    # the other rules as PFS
    **{s: PFS[s] for s in ("WITHDRAWN", "LOST", "EVENT", "ONGOING", "NOASSESS", "NOBASE")},
    "SAMEDAY": PFS["SAMEDAY"],
}


PFSMA = {
    # no censoring for missed assessments: the late progression counts ...
    "MISSED": ("2025-06-29", 0, PD, None),
    # ... when it is before any new therapy (2025-07-01 < 2025-10-01)
    "MISSNACT": ("2025-07-01", 0, PD, None),
    # new therapy still censors (CNSR 4), before a withdrawal too
    "NACTPD": ("2025-04-01", 4, *NACT),
    "NACTDTH": ("2025-04-15", 4, *NACT),
    "NACTWD": ("2025-04-15", 4, *NACT),
    # the other rules as PFS
    **{s: PFS[s] for s in ("WITHDRAWN", "LOST", "ONGOING", "NOASSESS", "NOBASE", "DEATH")},
}


ALIVE = ("Alive", "Last Known Alive Date")
ALIVE_WITHDRAWN = ("Withdrawal by Subject", "Last Known Alive Date Before Withdrawal")
ALIVE_LOST = ("Lost to Follow-up", "Last Known Alive Date Before Loss to Follow-up")
NO_FOLLOW_UP = ("No Follow-up After First Dose", "First Dose")
OS = {
    "DEATH": ("2025-04-01", 0, "Death", None),
    "NACTDTH": ("2025-07-01", 0, "Death", None),  # after new therapy: OS counts it
    # death on the last known alive date: the event wins
    "SAMEDAY": ("2025-03-01", 0, "Death", None),
    # alive: the last known alive date (CNSR 1), whatever the progression or therapy
    "ONGOING": ("2025-09-01", 1, *ALIVE),
    "EVENT": ("2025-09-01", 1, *ALIVE),
    "NACTPD": ("2025-09-01", 1, *ALIVE),
    # withdrawal / loss to follow-up: the last known alive date with its reason (5 / 6)
    "WITHDRAWN": ("2025-05-10", 5, *ALIVE_WITHDRAWN),
    "LOST": ("2025-07-01", 6, *ALIVE_LOST),
    "NACTWD": ("2025-06-01", 5, *ALIVE_WITHDRAWN),
    # no alive date after the first dose: the first dose (CNSR 2)
    "NOALIVE": (TRTSDT, 2, *NO_FOLLOW_UP),
}


TTNT = {
    # new therapy: the event, before or without progression
    "NACTPD": ("2025-05-01", 0, "Start of New Anticancer Therapy", None),
    "NACTONLY": ("2025-05-01", 0, "Start of New Anticancer Therapy", None),
    "NACTWD": ("2025-05-01", 0, "Start of New Anticancer Therapy", None),
    # death before any new therapy: the event
    "DEATH": ("2025-04-01", 0, "Death", None),
    # progression without new therapy is no event: alive (CNSR 1)
    "EVENT": ("2025-09-01", 1, *ALIVE),
    "WITHDRAWN": OS["WITHDRAWN"],
    "LOST": OS["LOST"],
    "NOALIVE": OS["NOALIVE"],
}


PFS2 = {
    # deaths only (second progression is not collected): a first progression is no event
    "EVENT": ("2025-09-01", 1, *ALIVE),
    "NACTPD": ("2025-09-01", 1, *ALIVE),
    "DEATH": ("2025-04-01", 0, "Death", None),
    "WITHDRAWN": OS["WITHDRAWN"],
    "LOST": OS["LOST"],
    "NOALIVE": OS["NOALIVE"],
}


def test_pfs2_says_in_param_that_it_counts_deaths_only(
    built: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    (param,) = set(built[0].loc[built[0]["PARAMCD"] == "PFS2", "PARAM"])
    assert "Deaths Only" in param and "Not Collected" in param


DOR = {
    # from the first confirmed response (2025-02-01) to progression or death ...
    "EVENT": ("2025-04-01", 0, PD, None),
    "DEATH": ("2025-04-01", 0, "Death", None),
    # ... censored as PFS
    "ONGOING": ("2025-06-01", 1, LAST, LAST),
    "MISSED": ("2025-03-01", 3, *MISSED),
    "NACTPD": ("2025-04-01", 4, *NACT),
    "NACTONLY": ("2025-04-15", 4, *NACT),
    "NACTDTH": ("2025-04-15", 4, *NACT),
    "WITHDRAWN": ("2025-04-01", 5, *WITHDRAWN),
    "LOST": ("2025-06-01", 6, *LOST),
    "LATERESP": ("2025-06-01", 1, LAST, LAST),
    # a documented confirmed response needs no baseline record of ADRS: censored as usual
    "NOBASERESP": ("2025-05-01", 1, LAST, LAST),
}


EXPECTED = {"PFS": PFS, "PFSNT": PFSNT, "PFSMA": PFSMA, "OS": OS, "TTNT": TTNT, "PFS2": PFS2}
EXPECTED["DOR"] = DOR
CASES = [(code, subject) for code, table in EXPECTED.items() for subject in sorted(table)]


@pytest.mark.parametrize(("paramcd", "subject"), CASES)
def test_every_censoring_rule_of_every_parameter(
    built: tuple[pd.DataFrame, pd.DataFrame], paramcd: str, subject: str
) -> None:
    assert _get(built, subject, paramcd) == EXPECTED[paramcd][subject]


def test_every_cnsr_of_the_spec_has_a_case() -> None:
    """Each CNSR of each parameter's censoring sources (and 0, the event) is expected for
    at least one constructed subject above."""
    for param in _tte_step()["parameters"]:
        sources = _tte_step()["sources"]
        declared = {0} | {sources[name]["cnsr"] for name in param["censors"]}
        covered = {cnsr for _, cnsr, *_ in EXPECTED[param["paramcd"]].values()}
        assert declared == covered, param["paramcd"]


def test_duration_of_response_is_for_confirmed_responders_from_the_first_response(
    built: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    data, unassigned = built
    dor = data[data["PARAMCD"] == "DOR"].set_index("USUBJID")
    assert sorted(dor.index) == RESPONDERS
    # STARTDT: ADRS CRSP.ADT, the first assessment of the first confirmed response; for
    # LATERESP not its first PR (2025-02-01, unconfirmed) but the confirmed one
    starts = {s: pd.Timestamp("2025-04-01" if s == "LATERESP" else CRSP) for s in RESPONDERS}
    assert dor["STARTDT"].to_dict() == starts
    assert (dor.loc["EVENT", "AVAL"], dor.loc["EVENT", "CNSR"]) == (60, 0)  # 1 Feb .. 1 Apr
    assert dor.loc["LATERESP", "AVAL"] == 62  # 1 Apr .. 1 Jun, both days counted
    listed = unassigned[unassigned["PARAMCD"] == "DOR"]
    assert listed[["USUBJID", "REASON"]].values.tolist() == [
        [s, "no record of response"] for s in sorted(NO_RESPONSE)
    ]


def test_aval_counts_both_ends_and_starts_at_the_first_dose(
    built: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    data = built[0]
    pfs = data[data["PARAMCD"] == "PFS"].set_index("USUBJID")
    assert set(pfs["STARTDT"]) == {pd.Timestamp(TRTSDT)}
    assert pfs.loc["EVENT", "AVAL"] == 91  # 1 Jan .. 1 Apr 2025
    assert pfs.loc["NOASSESS", "AVAL"] == 1  # censored on the first dose day


def test_a_date_before_the_origin_becomes_the_origin() -> None:
    # admiral: "If the event or censoring date is before the origin date, ADT is set to
    # the origin date." A censoring on 2024-12-31 for an origin of 2025-01-01.
    spec = {
        "sources": {"seen": {"dataset": "ADSL", "date": "LSTALVDT", "cnsr": 1, "evntdesc": "x"}},
        "parameters": [
            {
                "paramcd": "OS",
                "param": "OS",
                "start": {"date": "TRTSDT"},
                "events": [{"dataset": "ADSL", "date": "DTHDT", "evntdesc": "Death"}],
                "censors": ["seen"],
            }
        ],
    }
    adsl = pd.DataFrame(
        {
            "STUDYID": ["S"],
            "USUBJID": ["A"],
            "TRTSDT": [pd.Timestamp("2025-01-01")],
            "LSTALVDT": [pd.Timestamp("2024-12-31")],
            "DTHDT": [pd.NaT],
        }
    )
    (row,) = build_tte(spec, {"ADSL": adsl}).data.to_dict("records")
    assert (row["ADT"], row["AVAL"], row["CNSR"]) == (pd.Timestamp("2025-01-01"), 1, 1)


def test_no_adt_after_the_last_record_of_the_extract(
    built: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    frames = _frames()
    adsl_dates = frames["ADSL"][["TRTSDT", "NACTDT", "LSTALVDT", "EOSDT"]].max().max()
    cutoff = max(adsl_dates, frames["ADRS"]["ADT"].max())
    assert built[0]["ADT"].max() <= cutoff


def test_pfs_and_pfsnt_from_the_assessments_through_the_adrs_declaration() -> None:
    # The same rule end to end: RS overall responses through ADRS's own imwg steps
    # (adrs.yaml: OVR, the PFS records and those that follow past new therapy, the entry
    # flag), then ADTTE. Both subjects start new therapy on 1 May and are assessed after it.
    # PDAFTER: PR until 10 May, PD 20 May confirmed 17 Jun. DTHAFTER: PR 15 Apr, SD 1 Jun,
    # death 1 Jul (30 days after 1 Jun, 77 after 15 Apr).
    visits = {
        "PDAFTER": [("2024-12-20", "PR"), ("2025-02-01", "PR"), ("2025-03-01", "PR"),
                    ("2025-04-01", "PR"), ("2025-05-10", "PR"), ("2025-05-20", "PD"),
                    ("2025-06-17", "PD")],
        "DTHAFTER": [("2024-12-20", "PR"), ("2025-02-01", "PR"), ("2025-03-01", "PR"),
                     ("2025-04-15", "PR"), ("2025-06-01", "SD")],
    }  # fmt: skip
    rs = pd.DataFrame(
        [
            {"USUBJID": s, "RSTESTCD": "OVRLRESP", "RSDTC": day, "RSSTRESC": result,
             "VISIT": "SCREENING" if n == 1 else f"CYCLE {n}", "VISITNUM": float(n),
             "RSSEQ": float(n)}
            for s, rows in visits.items()
            for n, (day, result) in enumerate(rows, 1)
        ]
    )  # fmt: skip
    adsl = pd.DataFrame(
        {
            "STUDYID": "S",
            "USUBJID": list(visits),
            "ITTFL": "Y",
            "TRTSDT": _days(TRTSDT, TRTSDT),
            "NACTDT": _days("2025-05-01", "2025-05-01"),
            "DTHDT": _days(None, "2025-07-01"),
            "LSTALVDT": _days("2025-09-01", "2025-07-01"),
            "DCSREAS": [None, None],
            "EOSDT": _days(None, None),
        }
    )
    for var in set(_tte_step()["adsl_vars"]) - set(adsl.columns):
        adsl[var] = "x"
    wanted = {"imwg.overall_response", "imwg.pfs_sources", "flag_extreme"}
    raw = [s for s in yamlfile.load(ADRS_SPEC)["derivations"] if s["verb"] in wanted]
    steps = parse_steps(raw, Where(str(ADRS_SPEC), "ADRS"))
    adrs = build(steps, Inputs(sdtm={"RS": rs}, adam={"ADSL": adsl}))
    adrs = adrs.assign(STUDYID="S", ASEQ=range(1, len(adrs) + 1))
    data = build_tte(_tte_step(), {"ADSL": adsl, "ADRS": adrs}).data

    def get(subject: str, paramcd: str) -> tuple[str, int, str]:
        (row,) = data[(data["USUBJID"] == subject) & (data["PARAMCD"] == paramcd)].to_dict(
            "records"
        )
        return (row["ADT"].strftime("%Y-%m-%d"), int(row["CNSR"]), row["EVNTDESC"])

    # PFS: censored at the last adequate assessment before new therapy (CNSR 4); PFSNT:
    # the progression of 20 May (confirmed) and the death of 1 Jul are events.
    assert get("PDAFTER", "PFS") == ("2025-04-01", 4, NACT[0])
    assert get("PDAFTER", "PFSNT") == ("2025-05-20", 0, PD)
    assert get("DTHAFTER", "PFS") == ("2025-04-15", 4, NACT[0])
    assert get("DTHAFTER", "PFSNT") == ("2025-07-01", 0, "Death")
    # PFSMA keeps the censoring at new therapy
    assert get("PDAFTER", "PFSMA") == ("2025-04-01", 4, NACT[0])

"""The lab-derived IMWG 2016 response (imwg.lab_response) on hand-made SDTM LB records, one
hand-derived case per response category (serum, urine-only and FLC-only paths,
progression from the nadir and its confirmation), the best responses confirmed and
unconfirmed of it, and the MRD and entry parameters (imwg.sustained_mrd_negativity,
imwg.mrd_negative_response, imwg.response_improvement). First dose: 1 Jan 2025."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from tests.adam_verbs.frames import described, run, values

SCALE = "[sCR, CR, VGPR, PR, MR, SD, PD]"
LAB = f"""- verb: imwg.lab_response
  paramcd: LABOVR
  param: Lab
  scale: {SCALE}
  tests:
    serum: {{testcd: MCPROT, spec: SERUM}}
    serum_ife: {{testcd: MPIGISO, spec: SERUM}}
    urine: {{testcd: MCPROT, spec: URINE}}
    urine_ife: {{testcd: MPIGISO, spec: URINE}}
    ratio: {{testcd: KLCLLCFR}}
    kappa: {{testcd: KLCFR}}
    lambda: {{testcd: LLCFR}}
    marrow: {{testcd: PLSMCECE}}
  diagnosis: {{var: VISITNUM, is_null: true}}
"""


def _best(code: str, confirm: str, progression: str) -> str:
    return (
        f"- {{verb: imwg.best_response, paramcd: {code}, param: Best, from_param: LABOVR,"
        f" scale: {SCALE}, confirm: {confirm}, stable: SD, progression: PD,"
        f" confirm_progression: {progression}}}\n"
    )


def _result(value: float | str | None) -> tuple[str | None, float | None]:
    """LBSTRESC and LBSTRESN of a result: a number, "<x" (below detection) or None."""
    if value is None:
        return None, None
    if isinstance(value, str):
        return value, None
    return f"{value:g}", float(value)


def _assessment(subject: str, day: str, visit: float | None, **v: Any) -> list[dict[str, Any]]:
    """LB records of one disease assessment (only the values given)."""
    tests = {
        "serum": ("MCPROT", "SERUM"),
        "urine": ("MCPROT", "URINE"),
        "sife": ("MPIGISO", "SERUM"),
        "uife": ("MPIGISO", "URINE"),
        "ratio": ("KLCLLCFR", "SERUM"),
        "kappa": ("KLCFR", "SERUM"),
        "lam": ("LLCFR", "SERUM"),
        "marrow": ("PLSMCECE", "BONE MARROW"),
    }
    rows = []
    for key, value in v.items():
        testcd, spec = tests[key]
        text, number = (value, None) if key in ("sife", "uife") else _result(value)
        rows.append(
            {"USUBJID": subject, "LBTESTCD": testcd, "LBSPEC": spec, "LBSTRESC": text,
             "LBSTRESN": number, "LBDTC": day, "VISITNUM": visit,
             "VISIT": None if visit is None else f"V{visit:g}"}
        )  # fmt: skip
    return rows


def _lb(*assessments: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame([row for rows in assessments for row in rows])
    frame["LBSEQ"] = frame.groupby("USUBJID").cumcount().astype("float64") + 1
    return frame


def _diagnosis(subject: str, serum: float = 40.0, urine: float = 500.0) -> list[dict[str, Any]]:
    return _assessment(subject, "2024-06-01", None, serum=serum, urine=urine)


def _adsl(*subjects: str) -> pd.DataFrame:
    n = len(subjects)
    return pd.DataFrame(
        {
            "USUBJID": list(subjects),
            "ITTFL": ["Y"] * n,
            "TRTSDT": pd.Series([pd.Timestamp("2025-01-01")] * n, dtype="datetime64[s]"),
            "NACTDT": pd.Series([pd.NaT] * n, dtype="datetime64[s]"),
        }
    )


POSITIVE = {"sife": "IGG KAPPA", "uife": "KAPPA LIGHT CHAIN"}
NEGATIVE = {"sife": "NEGATIVE", "uife": "NEGATIVE"}


def _one(**v: Any) -> str | None:
    """The LABOVR category of one assessment (2 Feb 2025) of a subject measured from a
    diagnosis of serum 40 g/L and urine 500 mg/day (both measurable)."""
    lb = _lb(_diagnosis("1"), _assessment("1", "2025-02-02", 2.0, **{"ratio": 3.0, **v}))
    out = run(LAB, sdtm={"LB": lb}, adam={"ADSL": _adsl("1")})
    (category,) = values(out, "AVALC")
    return str(category)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # serum 36 g/L: 10 % below 40; urine 450: 10 % below 500: SD
        ({"serum": 36.0, "urine": 450.0, **POSITIVE}, "SD"),
        # serum 28: 30 % below (25-49 %), urine 200: 60 % below (50-89 %): MR
        ({"serum": 28.0, "urine": 200.0, **POSITIVE}, "MR"),
        # serum 28 but urine 400 (20 % below; measurable at diagnosis): not MR, SD
        ({"serum": 28.0, "urine": 400.0, **POSITIVE}, "SD"),
        # serum 18: 55 % below (>= 50 %), urine 150 < 200 mg/day: PR
        ({"serum": 18.0, "urine": 150.0, **POSITIVE}, "PR"),
        # serum 3.6: 91 % below (>= 90 %), urine 80 < 100: VGPR
        ({"serum": 3.6, "urine": 80.0, **POSITIVE}, "VGPR"),
        # serum below detection (<0.5 g/L, LBSTRESN null: 0), urine 80: VGPR (IFE positive)
        ({"serum": "<0.5", "urine": 80.0, **POSITIVE}, "VGPR"),
        # both immunofixations negative, marrow 3 % (< 5), ratio 3.0 abnormal: CR
        ({"serum": "<0.5", "urine": "<10", **NEGATIVE, "marrow": 3.0}, "CR"),
        # ... and a normal ratio (1.0, in 0.26-1.65): sCR
        ({"serum": "<0.5", "urine": "<10", **NEGATIVE, "marrow": 3.0, "ratio": 1.0}, "sCR"),
        # IFE negative but marrow 6 % (>= 5): not CR; serum 0, urine < 100: VGPR
        ({"serum": "<0.5", "urine": "<10", **NEGATIVE, "marrow": 6.0, "ratio": 1.0}, "VGPR"),
        # IFE negative and no marrow ever taken: not CR
        ({"serum": "<0.5", "urine": "<10", **NEGATIVE, "ratio": 1.0}, "VGPR"),
        # urine not done (no result): not evaluable
        ({"serum": 18.0, "urine": None, **POSITIVE}, "NE"),
    ],
)
def test_imwg_lab_response_category_of_one_assessment(given: dict[str, Any], expected: str) -> None:
    assert _one(**given) == expected


def test_imwg_lab_response_records_visit_dates_and_sources() -> None:
    lb = _lb(
        _diagnosis("1"),
        _assessment("1", "2024-12-20", 0.0, serum=18.0, urine=150.0, ratio=3.0, **POSITIVE),
        _assessment("1", "2025-02-02", 2.0, serum=17.0, urine=150.0, ratio=3.0, **POSITIVE),
    )
    out = run(LAB, sdtm={"LB": lb}, adam={"ADSL": _adsl("1")})
    assert values(out, "AVALC") == ["PR", "PR"]
    assert values(out, "AVAL") == [4.0, 4.0]
    assert values(out, "ADT") == [pd.Timestamp("2024-12-20"), pd.Timestamp("2025-02-02")]
    assert values(out, "AVISIT") == ["V0", "V2"]
    # before the first dose: not adequate (the entry assessment)
    assert values(out, "ANL01FL") == [None, "Y"]
    # the serum M-protein record of each assessment (diagnosis LBSEQ 1-2, then 3, 8)
    assert values(out, "SRCSEQ") == [3.0, 8.0]
    assert set(values(out, "SRCDOM")) == {"LB"}
    assert "VISITNUM" in described(LAB)["AVALC"]


# Progression from the nadir and its confirmation. Diagnosis serum 40 g/L; urine < 200
# throughout. 1: 18 (55 % below: PR); 2: 24, up 6 g/L (>= 5) and 33 % (>= 25 %) from the
# nadir 18: PD; 3: 3.6 with urine 80 (91 % below): VGPR; 4: 3.0: VGPR; 5: 9.0, up 6 from
# the nadir 3.0: PD; 6: 9.5, still up 6.5 from 3.0: PD, which confirms 5.
SEQUENCE = [
    ("2025-02-01", 18.0, 150.0, "PR"),
    ("2025-03-01", 24.0, 150.0, "PD"),
    ("2025-04-01", 3.6, 80.0, "VGPR"),
    ("2025-05-01", 3.0, 80.0, "VGPR"),
    ("2025-06-01", 9.0, 80.0, "PD"),
    ("2025-07-01", 9.5, 80.0, "PD"),
]


def _sequence_lb() -> pd.DataFrame:
    return _lb(
        _diagnosis("1"),
        *(
            _assessment("1", day, float(i), serum=s, urine=u, ratio=3.0, **POSITIVE)
            for i, (day, s, u, _) in enumerate(SEQUENCE, 2)
        ),
    )


def test_imwg_lab_response_progression_is_measured_from_the_nadir() -> None:
    out = run(LAB, sdtm={"LB": _sequence_lb()}, adam={"ADSL": _adsl("1")})
    assert values(out, "AVALC") == [c for *_, c in SEQUENCE]


def test_imwg_best_response_of_the_lab_response_confirmed_and_unconfirmed() -> None:
    steps = LAB + (
        _best("LABBOR", "[sCR, CR, VGPR, PR, MR]", "next")
        + _best("LABBORU", "[]", "next")
        + _best("FIRSTPD", "[sCR, CR, VGPR, PR, MR]", "none")
    )
    out = run(steps, sdtm={"LB": _sequence_lb()}, adam={"ADSL": _adsl("1")})

    def best(code: str) -> tuple[Any, ...]:
        (row,) = out[out["PARAMCD"] == code].itertuples()
        return (row.AVALC, row.ADT, row.SRCSEQ)

    # The PD of 1 Mar is not confirmed (the next is VGPR): the search goes on; VGPR of 1
    # Apr is confirmed by the VGPR of 1 May; the confirmed progression of 1 Jun ends it.
    # Serum M-protein LBSEQ: diagnosis 1-2, then 5 records per assessment: 1 Apr is 13.
    assert best("LABBOR") == ("VGPR", pd.Timestamp("2025-04-01"), 13.0)
    assert best("LABBORU") == ("VGPR", pd.Timestamp("2025-04-01"), 13.0)
    # Ending at the first, unconfirmed, progression (1 Mar): PR of 1 Feb is followed by PD,
    # so it is not confirmed: SD at best.
    assert best("FIRSTPD")[0] == "SD"
    unconfirmed = described(_best("LABBORU", "[]", "next"))["AVALC"]
    assert "up to the first confirmed PD, unconfirmed" in unconfirmed


def test_imwg_best_response_unconfirmed_takes_the_best_as_assessed() -> None:
    # PR then VGPR as the last assessment: confirmed PR (VGPR has no next), unconfirmed VGPR.
    lb = _lb(
        _diagnosis("1"),
        _assessment("1", "2025-02-01", 2.0, serum=18.0, urine=150.0, ratio=3.0, **POSITIVE),
        _assessment("1", "2025-03-01", 3.0, serum=3.6, urine=80.0, ratio=3.0, **POSITIVE),
    )
    steps = LAB + _best("C", "[sCR, CR, VGPR, PR, MR]", "next") + _best("U", "[]", "next")
    out = run(steps, sdtm={"LB": lb}, adam={"ADSL": _adsl("1")})
    assert values(out[out["PARAMCD"].isin(["C", "U"])], "AVALC") == ["PR", "VGPR"]


def _paths(diagnosis: dict[str, float], *visits: dict[str, Any]) -> list[str | None]:
    lb = _lb(
        _diagnosis("1", **diagnosis),
        *(_assessment("1", f"2025-{i:02d}-01", float(i), **v) for i, v in enumerate(visits, 2)),
    )
    return values(run(LAB, sdtm={"LB": lb}, adam={"ADSL": _adsl("1")}), "AVALC")


def test_imwg_lab_response_urine_only_path() -> None:
    # Serum 5 g/L at diagnosis (< 10: not measurable), urine 800 mg/day (measurable):
    # urine 400 (50 % below): MR; 150 (81 % below, < 200): PR; 60 (< 100): VGPR. On the
    # serum path (serum unchanged, 0 % below) each would be SD.
    got = _paths(
        {"serum": 5.0, "urine": 800.0},
        {"serum": 5.0, "urine": 400.0, "ratio": 3.0, **POSITIVE},
        {"serum": 5.0, "urine": 150.0, "ratio": 3.0, **POSITIVE},
        {"serum": 5.0, "urine": 60.0, "ratio": 3.0, **POSITIVE},
    )
    assert got == ["MR", "PR", "VGPR"]


def test_imwg_lab_response_flc_only_path() -> None:
    # Neither serum (5 g/L) nor urine (100 mg/day) measurable at diagnosis; at the first
    # assessment free kappa 300 mg/L (>= 100, involved), lambda 10, ratio 30 (abnormal):
    # FLC-only disease, dFLC 290. Then dFLC 120 (59 % below: PR), 20 with both
    # immunofixations negative and marrow 2 % but ratio 3.0 (abnormal, which FLC-only CR
    # needs normal): 93 % below: VGPR; then dFLC 140, up 120 (> 100 mg/L and >= 25 %) from
    # the nadir 20: PD.
    flc = {"serum": 5.0, "urine": 100.0}
    got = _paths(
        flc,
        {**flc, "kappa": 300.0, "lam": 10.0, "ratio": 30.0, **POSITIVE},
        {**flc, "kappa": 130.0, "lam": 10.0, "ratio": 13.0, **POSITIVE},
        {**flc, "kappa": 30.0, "lam": 10.0, "ratio": 3.0, **NEGATIVE, "marrow": 2.0},
        {**flc, "kappa": 150.0, "lam": 10.0, "ratio": 15.0, **POSITIVE},
    )
    assert got == ["SD", "PR", "VGPR", "PD"]


def test_imwg_lab_response_refuses_tests_without_the_serum() -> None:
    from transforms.errors import SpecError

    broken = LAB.replace("    serum: {testcd: MCPROT, spec: SERUM}\n", "")
    with pytest.raises(SpecError, match="tests"):
        run(broken, sdtm={"LB": _sequence_lb()}, adam={"ADSL": _adsl("1")})


# --- MRD and entry parameters ------------------------------------------------------------


def _rs(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """RS records (subject, test, date, result), RSSEQ per subject from 1."""
    frame = pd.DataFrame(rows, columns=["USUBJID", "RSTESTCD", "RSDTC", "RSSTRESC"])
    frame["RSSEQ"] = frame.groupby("USUBJID").cumcount().astype("float64") + 1
    frame["VISIT"] = "V" + frame["RSSEQ"].astype(int).astype(str)
    frame["VISITNUM"] = frame["RSSEQ"]
    return frame


def test_imwg_sustained_mrd_negativity_needs_a_year_without_a_positive() -> None:
    rs = _rs(
        [
            # 1: negative 1 Feb 2025, 1 Aug 2025, 15 Feb 2026 (379 days after the first): Y
            ("1", "MRDIND", "2025-02-01", "NEGATIVE"),
            ("1", "MRDIND", "2025-08-01", "NEGATIVE"),
            ("1", "MRDIND", "2026-02-15", "NEGATIVE"),
            # 2: a positive between the two negatives 393 days apart: N
            ("2", "MRDIND", "2025-02-01", "NEGATIVE"),
            ("2", "MRDIND", "2025-08-01", "POSITIVE"),
            ("2", "MRDIND", "2026-03-01", "NEGATIVE"),
            # 3: negatives 303 days apart: N
            ("3", "MRDIND", "2025-02-01", "NEGATIVE"),
            ("3", "MRDIND", "2025-12-01", "NEGATIVE"),
            # 4: the first negative is before the first dose (1 Jan 2025): N
            ("4", "MRDIND", "2024-12-01", "NEGATIVE"),
            ("4", "MRDIND", "2025-12-15", "NEGATIVE"),
            # 5: positive, then negative 2 Mar 2025 and 2 Mar 2026 (365 days): Y
            ("5", "MRDIND", "2025-02-01", "POSITIVE"),
            ("5", "MRDIND", "2025-03-02", "NEGATIVE"),
            ("5", "MRDIND", "2026-03-02", "NEGATIVE"),
        ]
    )
    steps = (
        "- {verb: imwg.sustained_mrd_negativity, paramcd: SMRDNEG, param: Sustained,"
        " testcd: MRDIND, negative: NEGATIVE, days: 365}\n"
    )
    out = run(steps, sdtm={"RS": rs}, adam={"ADSL": _adsl("1", "2", "3", "4", "5")})
    assert values(out, "AVALC") == ["Y", "N", "N", "N", "Y"]
    assert values(out, "ADT") == [
        pd.Timestamp("2025-02-01"), None, None, None, pd.Timestamp("2025-03-02"),
    ]  # fmt: skip
    assert values(out, "SRCSEQ") == [1.0, None, None, None, 2.0]
    assert "at least 365 days apart" in described(steps)["AVALC"]


OVR = f"- {{verb: imwg.overall_response, paramcd: OVR, param: Overall, scale: {SCALE}}}\n"
BOR = (
    f"- {{verb: imwg.best_response, paramcd: BOR, param: Best, scale: {SCALE},"
    " confirm: [sCR, CR, VGPR, PR, MR], stable: SD, progression: PD,"
    " rates: [{paramcd: CRRSP, param: CR, values: [sCR, CR]}]}\n"
)
RESPONSES = _rs(
    [
        # 1: SD at entry, CR 1 Mar and 1 Apr (confirmed CR, first reached 1 Mar), MRD
        # negative 15 Apr
        ("1", "OVRLRESP", "2024-12-20", "SD"),
        ("1", "OVRLRESP", "2025-03-01", "CR"),
        ("1", "OVRLRESP", "2025-04-01", "CR"),
        ("1", "MRDIND", "2025-04-15", "NEGATIVE"),
        # 2: VGPR at entry, VGPR twice (confirmed VGPR), MRD negative: MRD-negative but no CR
        ("2", "OVRLRESP", "2024-12-20", "VGPR"),
        ("2", "OVRLRESP", "2025-03-01", "VGPR"),
        ("2", "OVRLRESP", "2025-04-01", "VGPR"),
        ("2", "MRDIND", "2025-04-15", "NEGATIVE"),
        # 3: no entry assessment; MRD positive, CR confirmed
        ("3", "MRDIND", "2025-02-15", "POSITIVE"),
        ("3", "OVRLRESP", "2025-03-01", "CR"),
        ("3", "OVRLRESP", "2025-04-01", "CR"),
    ]
)


IN_CR = _rs(
    [
        *RESPONSES[["USUBJID", "RSTESTCD", "RSDTC", "RSSTRESC"]].itertuples(index=False),
        # 4: MRD negative 15 Feb, before the confirmed CR (from 1 Mar; the VGPR of 1 Feb
        # confirms VGPR only): N, though MRD negative and in CR (the old rule said Y)
        ("4", "OVRLRESP", "2025-02-01", "VGPR"),
        ("4", "MRDIND", "2025-02-15", "NEGATIVE"),
        ("4", "OVRLRESP", "2025-03-01", "CR"),
        ("4", "OVRLRESP", "2025-04-01", "CR"),
        # 5: confirmed CR from 1 Feb, progression 1 Apr confirmed 1 May, MRD negative
        # 15 May, after the progression: N
        ("5", "OVRLRESP", "2025-02-01", "CR"),
        ("5", "OVRLRESP", "2025-03-01", "CR"),
        ("5", "OVRLRESP", "2025-04-01", "PD"),
        ("5", "OVRLRESP", "2025-05-01", "PD"),
        ("5", "MRDIND", "2025-05-15", "NEGATIVE"),
        # 6: negative before the CR (15 Feb) and again in it (15 Apr): Y, from 15 Apr
        ("6", "MRDIND", "2025-02-15", "NEGATIVE"),
        ("6", "OVRLRESP", "2025-03-01", "CR"),
        ("6", "OVRLRESP", "2025-04-01", "CR"),
        ("6", "MRDIND", "2025-04-15", "NEGATIVE"),
        # 7: confirmed CR, new anticancer therapy 20 Apr, MRD negative 1 May: N
        ("7", "OVRLRESP", "2025-03-01", "CR"),
        ("7", "OVRLRESP", "2025-04-01", "CR"),
        ("7", "MRDIND", "2025-05-01", "NEGATIVE"),
        # 8: CR confirmed from 1 Feb, MRD negative 15 Mar, sCR from 1 Apr (the best, first
        # reached 1 Apr): in CR since 1 Feb, so Y on 15 Mar
        ("8", "OVRLRESP", "2025-02-01", "CR"),
        ("8", "OVRLRESP", "2025-03-01", "CR"),
        ("8", "MRDIND", "2025-03-15", "NEGATIVE"),
        ("8", "OVRLRESP", "2025-04-01", "sCR"),
        ("8", "OVRLRESP", "2025-05-01", "sCR"),
    ]
)


def test_imwg_mrd_negative_response_needs_the_negative_result_while_in_cr() -> None:
    # IMWG 2016: MRD-negative CR is an MRD-negative result while in CR: from the first
    # assessment of the confirmed CR or better (CRRSP dated `first`) to the (confirmed)
    # progression, not after new anticancer therapy.
    steps = (
        OVR + f"- {{verb: imwg.best_response, paramcd: BOR, param: Best, scale: {SCALE},"
        " confirm: [sCR, CR, VGPR, PR, MR], stable: SD, progression: PD,"
        " confirm_progression: next,"
        " rates: [{paramcd: CRRSP, param: CR, values: [sCR, CR], date: first}]}\n"
        "- {verb: imwg.pfs_sources, missed_assessment_days: 63, confirm: next}\n"
        "- {verb: imwg.mrd_negative_response, paramcd: MRDNCR, param: MRD-negative CR,"
        " testcd: MRDIND, negative: NEGATIVE, response: CRRSP, progression: PD}\n"
    )
    subjects = [str(n) for n in range(1, 9)]
    adsl = _adsl(*subjects).assign(
        NACTDT=pd.Series([None] * 6 + ["2025-04-20", None], dtype="datetime64[s]"),
        DTHDT=pd.Series([pd.NaT] * 8, dtype="datetime64[s]"),
    )
    out = run(steps, sdtm={"RS": IN_CR}, adam={"ADSL": adsl})
    assert values(out[out["PARAMCD"] == "CRRSP"], "ADT")[7] == pd.Timestamp("2025-02-01")
    assert values(out[out["PARAMCD"] == "PD"], "ADT") == [pd.Timestamp("2025-04-01")]
    ncr = out[out["PARAMCD"] == "MRDNCR"]
    assert values(ncr, "USUBJID") == subjects
    assert values(ncr, "AVALC") == ["Y", "N", "N", "N", "N", "Y", "N", "Y"]
    assert values(ncr, "AVAL") == [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0]
    # ADT and SRCSEQ: the negative result in the CR; N: the first negative result's RSSEQ
    # (7's only negative result is after its new therapy: none counts)
    day = pd.Timestamp
    assert values(ncr, "ADT") == [
        day("2025-04-15"), None, None, None, None, day("2025-04-15"), None, day("2025-03-15"),
    ]  # fmt: skip
    assert values(ncr, "SRCSEQ") == [4.0, 4.0, None, 2.0, 5.0, 4.0, None, 3.0]
    text = described(steps)["AVALC"]
    assert "on or after the CRRSP date" in text and "before the PD date" in text


def test_imwg_mrd_negative_response_needs_the_response_built_before() -> None:
    from transforms.errors import SpecError

    steps = (
        OVR + "- {verb: imwg.mrd_negative_response, paramcd: MRDNCR, param: MRD-negative CR,"
        " testcd: MRDIND, negative: NEGATIVE, response: CRRSP}\n"
    )
    with pytest.raises(SpecError, match="no records of PARAMCD CRRSP"):
        run(steps, sdtm={"RS": IN_CR}, adam={"ADSL": _adsl("1")})


def test_imwg_response_improvement_against_the_entry_record() -> None:
    steps = (
        OVR + BOR + "- verb: flag_extreme\n  var: ABLFL\n  by: [USUBJID, PARAMCD]\n  order: [ADT]\n"
        "  mode: last\n  where: {all: [{var: PARAMCD, eq: OVR}, {var: AVISIT, eq: V1}]}\n"
        "- {verb: imwg.response_improvement, paramcd: RSPIMP, param: Improved,"
        " from_param: BOR, baseline_param: OVR}\n"
    )
    out = run(steps, sdtm={"RS": RESPONSES}, adam={"ADSL": _adsl("1", "2", "3")})
    imp = out[out["PARAMCD"] == "RSPIMP"]
    # 1: SD at entry, confirmed CR: improved (ADT the CR's); 2: VGPR, VGPR: not; 3: no
    # entry assessment (its V1 is the MRD test): not evaluable. Sources: the entry record.
    assert values(imp, "AVALC") == ["Y", "N", "NE"]
    assert values(imp, "AVAL") == [1.0, 0.0, None]
    assert values(imp, "ADT") == [pd.Timestamp("2025-03-01"), None, None]
    assert values(imp, "SRCSEQ") == [1.0, 1.0, None]
    assert "flagged ABLFL" in described(steps)["AVALC"]

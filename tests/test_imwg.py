"""IMWG 2016 disease assessments (issue 18.2): the category derivation of the raw quality
suite and the sample generator (transforms/quality/library/imwg.py) on hand-made
assessments, then hand-derived records of the default sample (15 subjects, seed 20261123,
cut-off 15 Nov 2026) through LB, RS, the raw listing and ADaM."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from transforms.quality.library import imwg


def _one(serum: float, urine: float, *, sife: bool = True, uife: bool = True,
         ratio: float = 3.0, marrow: float | None = None, dx_serum: float = 40.0,
         dx_urine: float = 500.0) -> dict[str, object]:  # fmt: skip
    return {"SUBJID": "1", "serum": serum, "serum_ife": sife, "urine": urine,
            "urine_ife": uife, "ratio": ratio, "marrow": marrow, "dx_serum": dx_serum,
            "dx_urine": dx_urine}  # fmt: skip


def _categories(*rows: dict[str, object]) -> list[str | None]:
    frame = pd.DataFrame(list(rows))
    frame["serum_ife"] = frame["serum_ife"].astype("boolean")
    frame["urine_ife"] = frame["urine_ife"].astype("boolean")
    frame["marrow"] = frame["marrow"].astype("float64")
    return list(imwg.categories(frame))


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        # 40 g/L at diagnosis, urine 500 mg/24h (measurable): reductions from there.
        (_one(36.0, 450.0), "SD"),  # 10 % down
        (_one(28.0, 200.0), "MR"),  # serum 30 % down, urine 60 % down
        (_one(28.0, 400.0), "SD"),  # serum 30 % but urine only 20 % down: not MR
        (_one(18.0, 150.0), "PR"),  # serum 55 % down, urine < 200 mg/24h
        # serum 55 % but urine 40 % down: not PR (urine neither < 200 nor 90 % down), not
        # MR (measurable urine must be 50-89 % down): SD
        (_one(18.0, 300.0), "SD"),
        (_one(3.6, 80.0), "VGPR"),  # serum 91 % down, urine < 100
        (_one(3.6, 150.0), "PR"),  # 91 % down but urine >= 100: not VGPR
        (_one(0.0, 0.0), "VGPR"),  # undetectable by electrophoresis, IFE positive
        (_one(0.0, 0.0, sife=False, uife=False), "VGPR"),  # IFE negative, marrow never seen
        (_one(0.0, 0.0, sife=False, uife=False, marrow=3.0), "CR"),  # ratio 3.0 abnormal
        (_one(0.0, 0.0, sife=False, uife=False, marrow=3.0, ratio=1.0), "sCR"),
        (_one(0.0, 0.0, sife=False, uife=True, marrow=3.0, ratio=1.0), "VGPR"),  # urine IFE +
        (_one(0.0, 0.0, sife=False, uife=False, marrow=6.0, ratio=1.0), "VGPR"),  # marrow 6 %
        (_one(0.0, float("nan")), None),  # urine not done: no category
    ],
)
def test_imwg_category_of_one_assessment(row: dict[str, object], expected: str | None) -> None:
    assert _categories(row) == [expected]


def test_imwg_progression_is_measured_from_the_nadir() -> None:
    # Serum 12 -> 8 (nadir) -> 12.5: up 4.5 g/L (56 %), under the 5 g/L floor: not PD (PR);
    # then 13.5: up 5.5 g/L and >= 25 %: PD. The next 13.0 is still 5 g/L above 8: PD.
    got = _categories(
        _one(12.0, 50.0), _one(8.0, 40.0), _one(12.5, 40.0), _one(13.5, 40.0), _one(13.0, 40.0)
    )
    assert got == ["PR", "PR", "PR", "PD", "PD"]
    # From a nadir of 0 (CR), reappearing M-protein of 5 g/L is progression.
    cr = {"sife": False, "uife": False, "marrow": 2.0, "ratio": 1.0}
    assert _categories(_one(0.0, 0.0, **cr), _one(5.0, 0.0)) == ["sCR", "PD"]  # type: ignore[arg-type]
    # Urine alone: 100 -> 320 mg/24h is up 220 (>= 200 and >= 25 %): PD.
    assert _categories(_one(18.0, 100.0), _one(18.0, 320.0)) == ["PR", "PD"]
    # A missing assessment in between is skipped, not a nadir of its own.
    got = _categories(_one(8.0, 40.0), _one(float("nan"), 40.0), _one(14.0, 40.0))
    assert got == ["PR", None, "PD"]


def test_imwg_derive_reads_the_raw_forms() -> None:
    lb = pd.DataFrame(
        [("1", "05 JAN 2025", test, result, unit) for test, result, unit in (
            (imwg.SERUM_M, "<0.05", "g/dL"), (imwg.SERUM_IFE, "Negative", ""),
            (imwg.URINE_M, "<10", "mg/24h"), (imwg.URINE_IFE, "Negative ", ""),
            (imwg.RATIO, "2.10", ""), (imwg.MARROW, "1.5", "%"))],
        columns=["SUBJID", "LBDAT", "LBTEST", "LBORRES", "LBORRESU"],
    )  # fmt: skip
    dx = pd.DataFrame({"SUBJID": ["1"], "DXMPROT": ["3.50"], "DXUPROT": ["420"]})
    rs = pd.DataFrame({"SUBJID": ["1", "1"], "RSDAT": ["05 JAN 2025", "06 JAN 2025"]})
    got = imwg.derive({"LB": lb, "DX": dx, "RS": rs}, "RS")
    assert got.iloc[0] == "CR"  # abnormal ratio 2.10: CR, not sCR
    assert pd.isna(got.iloc[1])  # no LB on 6 Jan
    # A form without the columns the derivation reads: nothing derived, no traceback.
    assert imwg.derive({"LB": lb, "DX": dx.drop(columns="DXUPROT"), "RS": rs}, "RS").isna().all()


def test_generator_response_is_the_category_except_the_planted_ones() -> None:
    from samplegen.pommaint import generate

    forms = generate(15, 20261123, date(2026, 11, 15))
    rs = forms["RS"]
    derived = imwg.derive(forms, "RS").str.casefold()
    given = rs["RSORRES"].str.strip().str.casefold()
    differs = derived.notna() & ~given.isin(["", "ne"]) & (given != derived)
    listed = set(map(tuple, rs.loc[differs, ["SUBJID", "VISIT", "RSDAT"]].to_numpy().tolist()))
    assert listed == set(rs.attrs["discordant"])
    assert len(listed) == 6  # 2 % of 301 evaluable assessments, rounded
    assert not {v for v in given[differs]} & {"pd"}  # never planted on a progression


def _sdtm(current: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(current / "sdtm" / f"{name}.parquet")


def test_lb_urine_record_of_a_follow_up_assessment(published: Path) -> None:
    # Subject 1004 stopped for an adverse event (EOT 13 Mar 2025) and is assessed every 28
    # days after: the first follow-up assessment, 10 Apr 2025, numbered after cycle 13's
    # visit. Its 24-hour urine runs from 10 to 11 Apr; 30 mg/24h, standardised unchanged.
    lb = _sdtm(published, "lb")
    rows = lb[(lb["USUBJID"] == "POMMAINT-01-1004") & (lb["LBTESTCD"] == "MCPROT")
              & (lb["LBSPEC"] == "URINE") & (lb["LBDTC"] == "2025-04-10")]  # fmt: skip
    assert len(rows) == 1
    urine = rows.iloc[0]
    assert (urine["VISIT"], urine["VISITNUM"], urine["EPOCH"]) == (
        "UNSCHEDULED 13.01",
        13.01,
        "FOLLOW-UP",
    )
    assert (urine["LBENDTC"], urine["LBORRES"], urine["LBORRESU"]) == ("2025-04-11", "30", "mg/day")
    assert (urine["LBSTRESN"], urine["LBSTRESU"], urine["LBMETHOD"]) == (
        30.0,
        "mg/day",
        "ELECTROPHORESIS",
    )
    assert urine["LBLNKGRP"] == "IMWG-2025-04-10"
    # The diagnosis values the reductions are measured from: no visit, no epoch.
    dx = lb[(lb["USUBJID"] == "POMMAINT-01-1004") & lb["VISITNUM"].isna()
            & (lb["LBTESTCD"] == "MCPROT")]  # fmt: skip
    assert dx[["LBSPEC", "LBDTC", "LBSTRESN"]].to_numpy().tolist() == [
        ["SERUM", "2023-08-05", 35.4],
        ["URINE", "2023-08-05", 89.0],
    ]


def test_rs_follow_up_response_rests_on_its_link_group(published: Path) -> None:
    # The same assessment in RS: serum M-protein 1.22 g/dL = 12.2 g/L, 65.5 % below the
    # 35.4 g/L of diagnosis (>= 50 %, < 90 %), urine 30 mg/24h (< 200), immunofixation
    # positive: PR. RSLNKGRP names the LB records it rests on (10 of them).
    rs, lb = _sdtm(published, "rs"), _sdtm(published, "lb")
    record = rs[(rs["USUBJID"] == "POMMAINT-01-1004") & (rs["RSTESTCD"] == "OVRLRESP")
                & (rs["RSDTC"] == "2025-04-10")].iloc[0]  # fmt: skip
    assert (record["RSSTRESC"], record["EPOCH"], record["RSLNKGRP"]) == (
        "PR",
        "FOLLOW-UP",
        "IMWG-2025-04-10",
    )
    linked = lb[(lb["USUBJID"] == "POMMAINT-01-1004") & (lb["LBLNKGRP"] == "IMWG-2025-04-10")]
    assert sorted(linked["LBTESTCD"] + "/" + linked["LBSPEC"]) == [
        "IGA/SERUM", "IGG/SERUM", "IGM/SERUM", "KLCFR/SERUM", "KLCLLCFR/SERUM", "LLCFR/SERUM",
        "MCPROT/SERUM", "MCPROT/URINE", "MPIGISO/SERUM", "MPIGISO/URINE",
    ]  # fmt: skip
    serum = linked[(linked["LBTESTCD"] == "MCPROT") & (linked["LBSPEC"] == "SERUM")]
    assert serum["LBSTRESN"].tolist() == [12.2]
    # Every subject's entry assessment is in RS, at screening, before the first dose.
    entry = rs[(rs["RSTESTCD"] == "OVRLRESP") & (rs["VISIT"] == "SCREENING")]
    assert entry["USUBJID"].nunique() == 15 and set(entry["EPOCH"]) == {"SCREENING"}


def test_raw_listing_names_exactly_the_planted_discordance(published: Path) -> None:
    listing = pd.read_csv(published / "reports" / "quality_raw.csv", dtype=str)
    rows = listing[listing["rule"] == "RS-IMWG-CONSISTENCY"]
    assert rows["severity"].unique().tolist() == ["warning"]
    assert list(zip(rows["subject"], rows["value"], strict=True)) == [
        ("1002", "VGPR"),
        ("1003", "VGPR"),
        ("1005", "SD"),
        ("1007", "VGPR"),
        ("1011", "sCR"),
        ("1015", "CR"),
    ]
    # 1011, cycle 13 (26 Feb 2026): both immunofixations negative, marrow 2.7 % (2 Dec
    # 2025), but a kappa/lambda ratio of 3.06 (> 1.65): CR, not the sCR reported.
    sub = rows[rows["subject"] == "1011"].iloc[0]
    assert sub["row"] == "251" and sub["message"].endswith("(IMWG cr)")
    lb = _sdtm(published, "lb")
    ratio = lb[(lb["USUBJID"] == "POMMAINT-01-1011") & (lb["LBTESTCD"] == "KLCLLCFR")
               & (lb["LBDTC"] == "2026-02-26")]  # fmt: skip
    assert ratio["LBSTRESN"].tolist() == [3.06]


def test_progression_is_confirmed_and_dates_pfs(adam_published: Path) -> None:
    # Subject 1001: serum M-protein undetectable (<0.05 g/dL, nadir 0) to cycle 17, then
    # 12.0 g/L at cycle 18 (21 Feb 2025: up >= 5 g/L, PD) and 10.5 g/L 14 days later (7 Mar,
    # still >= 5 g/L above the nadir: PD, the confirmation, in follow-up). PFS: the first of
    # the two, 21 Feb 2025, day 483 from the first dose (28 Oct 2023).
    rs = _sdtm(adam_published, "rs")
    ovr = rs[(rs["USUBJID"] == "POMMAINT-01-1001") & (rs["RSTESTCD"] == "OVRLRESP")]
    assert ovr[["RSDTC", "RSSTRESC", "EPOCH"]].tail(2).to_numpy().tolist() == [
        ["2025-02-21", "PD", "TREATMENT"],
        ["2025-03-07", "PD", "FOLLOW-UP"],
    ]
    adtte = pd.read_parquet(adam_published / "adam" / "adtte.parquet")
    pfs = adtte[(adtte["USUBJID"] == "POMMAINT-01-1001") & (adtte["PARAMCD"] == "PFS")].iloc[0]
    assert (pfs["ADT"], pfs["AVAL"], pfs["CNSR"]) == (pd.Timestamp("2025-02-21"), 483.0, 0.0)
    # Subject 1004 (adverse-event stop, never progressed): censored at its last follow-up
    # assessment (22 Oct 2026), no longer at its last one on treatment (before 13 Mar 2025).
    pfs = adtte[(adtte["USUBJID"] == "POMMAINT-01-1004") & (adtte["PARAMCD"] == "PFS")].iloc[0]
    assert (pfs["ADT"], pfs["CNSR"]) == (pd.Timestamp("2026-10-22"), 1.0)
    # ADRS: the entry response is the baseline record (ABLFL), not an adequate one; the
    # investigator's and the lab-derived one (issue 19), which agree there.
    adrs = pd.read_parquet(adam_published / "adam" / "adrs.parquet")
    base = adrs[(adrs["USUBJID"] == "POMMAINT-01-1001") & (adrs["ABLFL"] == "Y")]
    assert base[["PARAMCD", "AVISIT", "AVALC"]].to_numpy().tolist() == [
        ["LABOVR", "SCREENING", "VGPR"],
        ["OVR", "SCREENING", "VGPR"],
    ]
    assert base["ANL01FL"].isna().all()


def test_lab_derived_response_golden_of_one_subject(adam_published: Path) -> None:
    # Issue 19: ADRS LABOVR, the IMWG 2016 category the engine derives from LB. Subject
    # 1004's follow-up assessment of 10 Apr 2025 (above): serum 12.2 g/L, 65.5 % below the
    # 35.4 g/L of diagnosis, urine 30 mg/day (< 200), immunofixation positive: PR, traced to
    # that serum M-protein record (LB.LBSEQ 312).
    adrs = pd.read_parquet(adam_published / "adam" / "adrs.parquet")
    lb = _sdtm(adam_published, "lb")

    def record(subject: str, code: str, day: str | None = None) -> dict[str, object]:
        rows = adrs[(adrs["USUBJID"] == f"POMMAINT-01-{subject}") & (adrs["PARAMCD"] == code)]
        if day is not None:
            rows = rows[rows["ADT"] == pd.Timestamp(day)]
        (row,) = rows.to_dict("records")
        return {str(k): (None if pd.isna(v) else v) for k, v in row.items()}

    follow_up = record("1004", "LABOVR", "2025-04-10")
    assert (follow_up["AVALC"], follow_up["AVISIT"], follow_up["SRCDOM"]) == (
        "PR",
        "UNSCHEDULED 13.01",
        "LB",
    )
    (serum,) = lb[(lb["USUBJID"] == "POMMAINT-01-1004") & (lb["LBSEQ"] == follow_up["SRCSEQ"])
                  ].to_dict("records")  # fmt: skip
    assert (serum["LBTESTCD"], serum["LBSPEC"], serum["LBSTRESN"]) == ("MCPROT", "SERUM", 12.2)
    # 1011, cycle 13 (26 Feb 2026): immunofixations negative, marrow 2.7 % (2 Dec 2025),
    # ratio 3.06 (abnormal): CR; the investigator reported sCR (planted). From cycle 17
    # (17 Jun 2026) the ratio is normal: sCR, confirmed by cycle 18.
    assert record("1011", "LABOVR", "2026-02-26")["AVALC"] == "CR"
    assert record("1011", "OVR", "2026-02-26")["AVALC"] == "sCR"
    # Unconfirmed best response: the investigator's planted sCR of 26 Feb counts, the
    # lab-derived one is first reached on 17 Jun; confirmed: 17 Jun for both (the planted
    # sCR is followed by CR: confirms CR only).
    best = {code: record("1011", code) for code in ("BOR", "BORU", "LABBOR", "LABBORU")}
    assert {code: (r["AVALC"], r["ADT"]) for code, r in best.items()} == {
        "BOR": ("sCR", pd.Timestamp("2026-06-17")),
        "BORU": ("sCR", pd.Timestamp("2026-02-26")),
        "LABBOR": ("sCR", pd.Timestamp("2026-06-17")),
        "LABBORU": ("sCR", pd.Timestamp("2026-06-17")),
    }
    assert (best["BORU"]["SRCDOM"], best["LABBOR"]["SRCDOM"]) == ("RS", "LB")
    # Entry (screening, 12 Mar 2025) VGPR, both flagged ABLFL; sCR is better: RSPIMP Y.
    # The investigator's CR is confirmed from 2 Dec 2025 (CRRSP dated there, the start of
    # the CR); MRD negative on 26 Feb 2026, in that CR and before any progression:
    # MRD-negative CR on 26 Feb 2026, traced to that MRD result (RSSEQ 30).
    assert record("1011", "LABOVR", "2025-03-12")["ABLFL"] == "Y"
    assert record("1011", "RSPIMP")["AVALC"] == "Y"
    assert record("1011", "CRRSP")["ADT"] == pd.Timestamp("2025-12-02")
    mrdncr = record("1011", "MRDNCR")
    assert (mrdncr["AVALC"], mrdncr["ADT"]) == ("Y", pd.Timestamp("2026-02-26"))
    assert (mrdncr["SRCDOM"], mrdncr["SRCSEQ"]) == ("RS", 30.0)


def test_concordance_names_the_planted_discordances(adam_published: Path) -> None:
    from samplegen.pommaint import generate

    planted = generate(15, 20261123, date(2026, 11, 15))["RS"].attrs["discordant"]
    summary = json.loads((adam_published / "reports" / "endpoints.json").read_text())
    per = summary["concordance"]["assessment"]
    listed = {(d["USUBJID"], d["ADT"]) for d in per["discordant"]}
    expected = {
        (f"POMMAINT-01-{subject}", pd.Timestamp(day).strftime("%Y-%m-%d"))
        for subject, _, day in planted
    }
    assert listed == expected and len(listed) == 6
    # the other 312 of the 318 pairs agree; per subject the confirmed best responses all
    # agree (each planted reading is one assessment, never confirmed on its own)
    assert (per["n"], per["agree"]) == (318, 312)
    assert (summary["concordance"]["subject"]["n"], summary["concordance"]["subject"]["agree"]) == (
        15,
        15,
    )

"""The IMWG library: imwg.overall_response, imwg.best_response, imwg.mrd_negativity,
imwg.pfs_sources, on one hand-made subject (first dose 1 Jan 2025)."""

from __future__ import annotations

import pandas as pd
import yaml

from tests.adam_verbs.frames import dates, described, run, values

ADSL = pd.DataFrame(
    {
        "USUBJID": ["1", "2"],
        "ITTFL": ["Y", "N"],
        "TRTSDT": dates("2025-01-01", "2025-01-01"),
        "NACTDT": dates("2025-05-15", None),
        "DTHDT": dates("2025-08-01", None),
    }
)


def _rs(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "USUBJID": "1",
                "RSTESTCD": t,
                "RSSTRESC": r,
                "RSDTC": d,
                "VISIT": f"V{i}",
                "VISITNUM": float(i),
                "RSSEQ": float(i),
            }
            for i, (t, d, r) in enumerate(rows, 1)
        ]
    )


RS = _rs(
    ("OVRLRESP", "2024-12-20", "SD"),  # before the first dose: not adequate
    ("OVRLRESP", "2025-02-01", "VGPR"),
    ("OVRLRESP", "2025-03-01", "CR"),
    ("OVRLRESP", "2025-04-01", "CR"),
    ("OVRLRESP", "2025-05-01", "PD"),
    ("OVRLRESP", "2025-06-01", "PD"),  # after new therapy (15 May): not adequate
    ("MRDIND", "2025-03-01", "POSITIVE"),
    ("MRDIND", "2025-04-01", "NEGATIVE"),
)
SCALE = "[sCR, CR, VGPR, PR, MR, SD, PD]"
OVR = f"- {{verb: imwg.overall_response, paramcd: OVR, param: Overall, scale: {SCALE}}}\n"


def _param(out: pd.DataFrame, code: str) -> pd.DataFrame:
    return out[out["PARAMCD"] == code].reset_index(drop=True)


def test_imwg_overall_response_marks_the_adequate_assessments() -> None:
    out = run(OVR, sdtm={"RS": RS}, adam={"ADSL": ADSL})
    assert values(out, "AVALC") == ["SD", "VGPR", "CR", "CR", "PD", "PD"]
    assert values(out, "AVAL") == [6.0, 3.0, 2.0, 2.0, 7.0, 7.0]
    assert values(out, "ANL01FL") == [None, "Y", "Y", "Y", "Y", None]
    assert described(OVR)["ANL01FL"] == "OVR: evaluable, on or after TRTSDT and not after NACTDT"


def _best_response(rates: str) -> str:
    """OVR, then imwg.best_response (BOR) with these `rates` (YAML flow list)."""
    return (
        OVR
        + f"""- verb: imwg.best_response
  paramcd: BOR
  param: Best
  scale: {SCALE}
  confirm: [sCR, CR, VGPR, PR, MR]
  stable: SD
  progression: PD
  population: {{var: ITTFL, eq: "Y"}}
  rates: {rates}
"""
    )


def test_imwg_best_response_needs_confirmation_and_gives_rates() -> None:
    steps = _best_response("[{paramcd: CRRSP, param: CR or better, values: [sCR, CR]}]")
    out = run(steps, sdtm={"RS": RS}, adam={"ADSL": ADSL})
    # VGPR (1 Feb) confirmed by CR: VGPR; CR (1 Mar) confirmed by CR (1 Apr): CR, first
    # reached 1 Mar; CR (1 Apr) followed by PD: unconfirmed. Subject 2 is not ITT.
    bor = _param(out, "BOR")
    assert (values(bor, "USUBJID"), values(bor, "AVALC")) == (["1"], ["CR"])
    assert values(bor, "ADT") == [pd.Timestamp("2025-03-01")]
    assert values(_param(out, "CRRSP"), "AVALC") == ["Y"]


def test_imwg_mrd_negativity_is_the_first_negative_after_the_first_dose() -> None:
    steps = (
        "- {verb: imwg.mrd_negativity, paramcd: MRDNEG, param: MRD, testcd: MRDIND,"
        " negative: NEGATIVE}\n"
    )
    out = run(steps, sdtm={"RS": RS}, adam={"ADSL": ADSL})
    assert values(out, "AVALC") == ["Y", "N"]
    assert values(out, "ADT") == [pd.Timestamp("2025-04-01"), None]
    assert values(out, "SRCSEQ") == [8.0, None]


def test_imwg_mrd_negativity_ignores_results_after_new_therapy() -> None:
    # Subject 1's new therapy starts 15 May 2025: a negative on 15 May still counts, one on
    # 16 May (the new therapy's effect) does not; subject 2 has no new therapy.
    rs = pd.concat(
        [
            _rs(("MRDIND", "2025-04-01", "POSITIVE"), ("MRDIND", "2025-05-16", "NEGATIVE")),
            _rs(("MRDIND", "2025-05-16", "NEGATIVE")).assign(USUBJID="2"),
        ],
        ignore_index=True,
    )
    both = ADSL.assign(ITTFL="Y")
    steps = (
        "- {verb: imwg.mrd_negativity, paramcd: MRDNEG, param: MRD, testcd: MRDIND,"
        " negative: NEGATIVE}\n"
    )
    out = run(steps, sdtm={"RS": rs}, adam={"ADSL": both})
    assert values(out, "AVALC") == ["N", "Y"]
    assert values(out, "ADT") == [None, pd.Timestamp("2025-05-16")]
    on_the_day = rs.assign(RSDTC=rs["RSDTC"].replace("2025-05-16", "2025-05-15"))
    assert values(run(steps, sdtm={"RS": on_the_day}, adam={"ADSL": both}), "AVALC") == ["Y", "Y"]
    assert described(steps)["AVALC"] == (
        "MRDNEG: Y when MRDIND is NEGATIVE on or after TRTSDT and not after NACTDT, else N"
    )


def test_imwg_pfs_sources_progression_death_and_last_post_baseline_assessment() -> None:
    steps = OVR + "- {verb: imwg.pfs_sources, missed_assessment_days: 63}\n"
    out = run(steps, sdtm={"RS": RS}, adam={"ADSL": ADSL})
    # PD 1 May: 30 days after the last adequate assessment (1 Apr), before new therapy: Y.
    assert values(_param(out, "PD"), "ADT") == [pd.Timestamp("2025-05-01")]
    assert values(_param(out, "PD"), "ANL01FL") == ["Y"]
    # Death 1 Aug is after new therapy (15 May): not a PFS event.
    assert values(_param(out, "DEATH"), "ANL01FL") == [None]
    assert values(_param(out, "LSTA"), "ADT") == [pd.Timestamp("2025-04-01")]
    assert "ANL02FL" not in out.columns


def test_imwg_pfs_sources_after_stop_follow_keeps_the_assessments_after_new_therapy() -> None:
    # New therapy 15 May, death 1 Aug. The assessments go on after the therapy: PR on 1 Jun,
    # PD on 1 Jul confirmed by PD on 29 Jul.
    rs = _rs(
        ("OVRLRESP", "2025-02-01", "PR"),
        ("OVRLRESP", "2025-04-01", "PR"),
        ("OVRLRESP", "2025-05-10", "PR"),
        ("OVRLRESP", "2025-06-01", "PR"),  # after new therapy
        ("OVRLRESP", "2025-07-01", "PD"),
        ("OVRLRESP", "2025-07-29", "PD"),
    )
    names = "params: {progression: {paramcd: PDNT, param: P}, death: {paramcd: DEATHNT,"
    names += " param: D}, last: {paramcd: LSTANT, param: L}}"
    pfs = "- {verb: imwg.pfs_sources, missed_assessment_days: 63, confirm: next}\n"
    follow = (
        "- {verb: imwg.pfs_sources, missed_assessment_days: 63, confirm: next,"
        f" after_stop: follow, {names}}}\n"
    )
    out = run(OVR + pfs + follow, sdtm={"RS": rs}, adam={"ADSL": ADSL})
    # PFS's records stop at new therapy: no progression among the adequate assessments,
    # the last one 10 May; the death (after new therapy) without ANL01FL.
    assert _param(out, "PD").empty
    assert values(_param(out, "LSTA"), "ADT") == [pd.Timestamp("2025-05-10")]
    assert values(_param(out, "DEATH"), "ANL01FL") == [None]
    # Followed past new therapy: the confirmed progression of 1 Jul, 30 days after the
    # last assessment before it (1 Jun): ANL01FL Y. The death, 61 days after 1 Jun, is in
    # the 63-day window too (from 10 May, the last one before new therapy, it would be 83).
    assert values(_param(out, "PDNT"), "ADT") == [pd.Timestamp("2025-07-01")]
    assert values(_param(out, "PDNT"), "ANL01FL") == ["Y"]
    assert values(_param(out, "PDNT"), "SRCSEQ") == [5.0]
    assert values(_param(out, "LSTANT"), "ADT") == [pd.Timestamp("2025-06-01")]
    assert values(_param(out, "LSTANT"), "AVALC") == ["PR"]
    assert values(_param(out, "DEATHNT"), "ANL01FL") == ["Y"]
    described_follow = described(OVR + follow)["ANL01FL"]
    assert "whether or not after NACTDT" in described_follow
    assert "and not after NACTDT" not in described_follow


def test_imwg_pfs_sources_an_assessment_on_the_first_dose_day_is_baseline() -> None:
    rs = _rs(("OVRLRESP", "2025-01-01", "PR"))
    out = run(
        OVR + "- {verb: imwg.pfs_sources, missed_assessment_days: 63}\n",
        sdtm={"RS": rs},
        adam={"ADSL": ADSL},
    )
    assert values(_param(out, "OVR"), "ANL01FL") == ["Y"]  # adequate for the response
    assert _param(out, "LSTA").empty  # but not a post-baseline assessment


def test_imwg_pfs_sources_params_rename_the_records() -> None:
    steps = OVR + (
        "- verb: imwg.pfs_sources\n  missed_assessment_days: 63\n"
        "  params: {last: {paramcd: LASTA, param: Last assessment}}\n"
    )
    out = run(steps, sdtm={"RS": RS}, adam={"ADSL": ADSL})
    assert set(out["PARAMCD"]) == {"OVR", "PD", "DEATH", "LASTA"}
    assert values(_param(out, "LASTA"), "PARAM") == ["Last assessment"]
    assert described(steps)["SRCSEQ"] == "PD, LASTA: RS.RSSEQ"


def test_imwg_pfs_sources_confirm_next_needs_a_second_progression() -> None:
    # PD on 1 Mar is followed by PR on 1 Apr: not confirmed (IMWG needs two consecutive
    # assessments); PD on 1 May is the last adequate assessment (the one on 1 Jun is after
    # new therapy): nothing refutes it, so it is the progression. Without confirm, 1 Mar.
    rs = _rs(
        ("OVRLRESP", "2025-02-01", "PR"),
        ("OVRLRESP", "2025-03-01", "PD"),
        ("OVRLRESP", "2025-04-01", "PR"),
        ("OVRLRESP", "2025-05-01", "PD"),
        ("OVRLRESP", "2025-06-01", "PD"),
    )
    plain = OVR + "- {verb: imwg.pfs_sources, missed_assessment_days: 63}\n"
    confirmed = OVR + "- {verb: imwg.pfs_sources, missed_assessment_days: 63, confirm: next}\n"
    out = run(plain, sdtm={"RS": rs}, adam={"ADSL": ADSL})
    assert values(_param(out, "PD"), "ADT") == [pd.Timestamp("2025-03-01")]
    out = run(confirmed, sdtm={"RS": rs}, adam={"ADSL": ADSL})
    assert values(_param(out, "PD"), "ADT") == [pd.Timestamp("2025-05-01")]
    # the last adequate assessment before the (confirmed) progression: PR on 1 Apr
    assert values(_param(out, "LSTA"), "ADT") == [pd.Timestamp("2025-04-01")]
    assert values(_param(out, "LSTA"), "AVALC") == ["PR"]
    assert "confirms" in described(confirmed)["ADT"]


def test_imwg_rate_dated_at_the_first_confirmed_response() -> None:
    pr_or_better = "values: [sCR, CR, VGPR, PR]"
    steps = _best_response(
        f"[{{paramcd: CRSP, param: PR+, {pr_or_better}, date: first}},"
        f" {{paramcd: PRBEST, param: PR+, {pr_or_better}}}]"
    )
    out = run(steps, sdtm={"RS": RS}, adam={"ADSL": ADSL})
    # The VGPR of 1 Feb is confirmed (by the CR of 1 Mar): the confirmed response starts
    # then, while the best response (CR) was first reached on 1 Mar.
    assert values(_param(out, "CRSP"), "AVALC") == ["Y"]
    assert values(_param(out, "CRSP"), "ADT") == [pd.Timestamp("2025-02-01")]
    assert values(_param(out, "PRBEST"), "ADT") == [pd.Timestamp("2025-03-01")]


def test_pommaint_best_responses_all_end_at_a_confirmed_progression() -> None:
    # POMMAINT's ADRS declaration (adrs.yaml) on one subject: PR 1 Feb and 1 Mar, PD 1 Apr
    # not confirmed (VGPR next), VGPR 1 May and 1 Jun. IMWG 2016: progression needs two
    # consecutive assessments, so the search goes on past 1 Apr: BOR is the confirmed VGPR
    # first reached on 1 May (ending at the first PD, as BOR did before, it was PR), BORU
    # the same unconfirmed.
    from tests.conftest import ROOT
    from transforms import yamlfile

    spec = ROOT / "sdtm_specs" / "POMMAINT" / "adam" / "adrs.yaml"
    raw = yamlfile.load(spec)["derivations"]
    steps = yaml.safe_dump(
        [s for s in raw if s["verb"] == "imwg.overall_response"]
        + [s for s in raw if s["verb"] == "imwg.best_response" and s["paramcd"] in ("BOR", "BORU")]
    )
    rs = _rs(
        ("OVRLRESP", "2025-02-01", "PR"),
        ("OVRLRESP", "2025-03-01", "PR"),
        ("OVRLRESP", "2025-04-01", "PD"),
        ("OVRLRESP", "2025-05-01", "VGPR"),
        ("OVRLRESP", "2025-06-01", "VGPR"),
    )
    adsl = ADSL.assign(ITTFL="Y", NACTDT=dates(None, None))
    out = run(steps, sdtm={"RS": rs}, adam={"ADSL": adsl})
    best = {code: _param(out, code).iloc[0] for code in ("BOR", "BORU", "VGPRRSP", "CRSP")}
    assert (best["BOR"]["AVALC"], best["BOR"]["ADT"]) == ("VGPR", pd.Timestamp("2025-05-01"))
    assert (best["BORU"]["AVALC"], best["BORU"]["ADT"]) == ("VGPR", pd.Timestamp("2025-05-01"))
    assert best["VGPRRSP"]["AVALC"] == "Y"
    # the confirmed response (PR or better) still starts on 1 Feb
    assert best["CRSP"]["ADT"] == pd.Timestamp("2025-02-01")

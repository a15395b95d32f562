"""EX, AE and DS golden records, derived by hand from the raw sample pages (comments)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest


def _records(published: Path, name: str, usubjid: str) -> list[dict[str, object]]:
    data = pd.read_parquet(published / "sdtm" / f"{name}.parquet")
    rows = data[data["USUBJID"] == usubjid].to_dict("records")
    return [{str(k): (None if pd.isna(v) else v) for k, v in r.items()} for r in rows]


def _pick(record: dict[str, object], keys: list[str]) -> dict[str, object]:
    return {k: record[k] for k in keys}


def test_ex_first_interval(published: Path) -> None:
    # ex.csv: 01,1003,1,23 JAN 2024,12 FEB 2024,2,mg,, -> first dose is day 1, day 21 ends it.
    first = _records(published, "ex", "POMMAINT-01-1003")[0]
    assert first == {
        "STUDYID": "POMMAINT", "DOMAIN": "EX", "USUBJID": "POMMAINT-01-1003", "EXSEQ": 1.0,
        "EXTRT": "POMALIDOMIDE", "EXDOSE": 2.0, "EXDOSU": "mg", "EXDOSFRM": "CAPSULE",
        "EXDOSFRQ": "QD", "EXROUTE": "ORAL", "EXADJ": None, "EPOCH": "TREATMENT",
        "EXSTDTC": "2024-01-23", "EXENDTC": "2024-02-12", "EXSTDY": 1.0, "EXENDY": 21.0,
    }  # fmt: skip


def test_ex_interruption_and_reduction_are_visible(published: Path) -> None:
    # ex.csv 1007: cycle 19 resumed 19 JAN 2026 after an interruption (2 mg), cycle 20 from
    # 16 FEB 2026 at 1 mg ("Dose reduced", "Adverse event").
    records = {r["EXSTDTC"]: r for r in _records(published, "ex", "POMMAINT-01-1007")}
    keys = ["EXDOSE", "EXENDTC", "EXADJ"]
    assert _pick(records["2026-01-19"], keys) == {
        "EXDOSE": 2.0,
        "EXENDTC": "2026-01-31",
        "EXADJ": "ADVERSE EVENT",
    }
    assert _pick(records["2026-02-16"], keys) == {
        "EXDOSE": 1.0,
        "EXENDTC": "2026-03-08",
        "EXADJ": "ADVERSE EVENT",
    }
    doses = [r["EXDOSE"] for r in sorted(records.values(), key=lambda r: str(r["EXSTDTC"]))]
    assert doses[-1] == 1.0 and 2.0 in doses


def test_ae_fatal_pneumonia(published: Path) -> None:
    # ae.csv 1006 line 5: Pneumonia 10 JAN 2026 - 16 JAN 2026, grade 5, serious (death,
    # hospitalisation), unlikely related, drug withdrawn, fatal. First dose 15 JUL 2024
    # (day 1), so 10 JAN 2026 is day 545; the end-of-treatment visit was 16 JAN 2026, so
    # the AE starts in the TREATMENT epoch.
    records = _records(published, "ae", "POMMAINT-01-1006")
    fatal = next(r for r in records if r["AESPID"] == "5")
    assert _pick(fatal, list(fatal)) == fatal  # all keys present
    assert {k: fatal[k] for k in (
        "AETERM", "AEDECOD", "AEPTCD", "AESOC", "AESOCCD", "AEBODSYS", "AESER", "AESDTH",
        "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE", "AEREL", "AEACN", "AEOUT",
        "AETOXGR", "AESTDTC", "AEENDTC", "AESTDY", "AEENDY", "EPOCH",
    )} == {
        "AETERM": "Pneumonia", "AEDECOD": "PNEUMONIA", "AEPTCD": 10035664.0,
        "AESOC": "INFECTIONS AND INFESTATIONS", "AESOCCD": 10021881.0,
        "AEBODSYS": "INFECTIONS AND INFESTATIONS", "AESER": "Y", "AESDTH": "Y", "AESLIFE": "N",
        "AESHOSP": "Y", "AESDISAB": "N", "AESCONG": "N", "AESMIE": "N",
        "AEREL": "UNLIKELY RELATED", "AEACN": "DRUG WITHDRAWN", "AEOUT": "FATAL",
        "AETOXGR": "5", "AESTDTC": "2026-01-10", "AEENDTC": "2026-01-16", "AESTDY": 545.0,
        "AEENDY": 551.0, "EPOCH": "TREATMENT",
    }  # fmt: skip
    # AESEQ follows the start dates: the fatal AE is the subject's last.
    assert fatal["AESEQ"] == float(len(records))


def test_suppae_treatment_emergent_flag(published: Path) -> None:
    supp = pd.read_parquet(published / "sdtm" / "suppae.parquet")
    ae = pd.read_parquet(published / "sdtm" / "ae.parquet")
    dm = pd.read_parquet(published / "sdtm" / "dm.parquet").set_index("USUBJID")
    assert set(supp["IDVAR"]) == {"AESEQ"} and set(supp["QNAM"]) == {"AETRTEM"}
    assert supp["QORIG"].eq("Derived").all()
    assert supp["QEVAL"].isna().all()  # SDTMIG: null for derived data, set for judgements
    flags = supp.assign(AESEQ=supp["IDVARVAL"].astype(float)).merge(ae, on=["USUBJID", "AESEQ"])
    assert len(flags) == len(supp)
    first = flags["USUBJID"].map(dm["RFXSTDTC"])
    window_end = (
        pd.to_datetime(flags["USUBJID"].map(dm["RFXENDTC"])) + pd.Timedelta(days=30)
    ).dt.strftime("%Y-%m-%d")
    complete = flags["AESTDTC"].str.len() == 10
    inside = (flags["AESTDTC"] >= first) & (flags["AESTDTC"] <= window_end)
    expected = inside.map({True: "Y", False: "N"})
    assert (flags.loc[complete, "QVAL"] == expected[complete]).all()
    assert {"Y", "N"} <= set(flags["QVAL"])


def test_ds_dispositions_of_a_death_on_treatment(published: Path) -> None:
    # ic.csv 25 JUN 2024; eot.csv "Death" 16 JAN 2026; eos.csv "Death" 16 JAN 2026.
    records = _records(published, "ds", "POMMAINT-01-1006")
    cols = ["DSSEQ", "DSTERM", "DSDECOD", "DSCAT", "DSSCAT", "EPOCH", "DSSTDTC", "DSSTDY"]
    assert [_pick(r, cols) for r in records] == [
        {"DSSEQ": 1.0, "DSTERM": "INFORMED CONSENT OBTAINED", "DSDECOD": "INFORMED CONSENT OBTAINED",
         "DSCAT": "PROTOCOL MILESTONE", "DSSCAT": None, "EPOCH": "SCREENING",
         "DSSTDTC": "2024-06-25", "DSSTDY": -20.0},
        {"DSSEQ": 2.0, "DSTERM": "DEATH", "DSDECOD": "DEATH", "DSCAT": "DISPOSITION EVENT",
         "DSSCAT": "STUDY PARTICIPATION", "EPOCH": "TREATMENT", "DSSTDTC": "2026-01-16",
         "DSSTDY": 551.0},
        {"DSSEQ": 3.0, "DSTERM": "DEATH", "DSDECOD": "DEATH", "DSCAT": "DISPOSITION EVENT",
         "DSSCAT": "STUDY TREATMENT", "EPOCH": "TREATMENT", "DSSTDTC": "2026-01-16",
         "DSSTDY": 551.0},
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["ex", "ae", "ds", "rs", "lb"])
def test_seq_is_one_to_n_per_subject(published: Path, name: str) -> None:
    data = pd.read_parquet(published / "sdtm" / f"{name}.parquet")
    seq = data[f"{name.upper()}SEQ"]
    expected = data.groupby("USUBJID").cumcount() + 1
    assert (seq == expected).all()


def test_rs_overall_response_and_mrd(published: Path) -> None:
    # rs.csv 1003: "Cycle 13 Day 1", 01 JAN 2025, PD (first dose 23 JAN 2024: day 345).
    # mrd.csv 1003: Screening, 16 JAN 2024, Flow cytometry, 10^-5, Negative (day -7, after
    # consent on 15 JAN 2024: SCREENING epoch).
    records = _records(published, "rs", "POMMAINT-01-1003")
    cols = ["RSTESTCD", "RSTEST", "RSCAT", "RSORRES", "RSSTRESC", "RSSTAT", "RSEVAL",
            "VISITNUM", "VISIT", "EPOCH", "RSDTC", "RSDY"]  # fmt: skip
    assert _pick(records[-1], cols) == {
        "RSTESTCD": "OVRLRESP", "RSTEST": "Overall Response", "RSCAT": "KUMAR IMWG 2016",
        "RSORRES": "PD", "RSSTRESC": "PD", "RSSTAT": None, "RSEVAL": "INVESTIGATOR",
        "VISITNUM": 13.0, "VISIT": "CYCLE 13 DAY 1", "EPOCH": "TREATMENT",
        "RSDTC": "2025-01-01", "RSDY": 345.0,
    }  # fmt: skip
    mrd = next(r for r in records if r["RSTESTCD"] == "MRDIND")
    assert _pick(mrd, cols) == {
        "RSTESTCD": "MRDIND", "RSTEST": "Minimal Residual Disease Indicator",
        "RSCAT": "KUMAR IMWG 2016", "RSORRES": "Negative", "RSSTRESC": "NEGATIVE",
        "RSSTAT": None, "RSEVAL": "INVESTIGATOR", "VISITNUM": 0.0, "VISIT": "SCREENING",
        "EPOCH": "SCREENING", "RSDTC": "2024-01-16", "RSDY": -7.0,
    }  # fmt: skip
    supp = pd.read_parquet(published / "sdtm" / "supprs.parquet")
    mine = supp[
        (supp["USUBJID"] == "POMMAINT-01-1003") & (supp["IDVARVAL"] == f"{mrd['RSSEQ']:.0f}")
    ]
    assert dict(zip(mine["QNAM"], mine["QVAL"], strict=True)) == {
        "MRDMETH": "FLOW CYTOMETRY",
        "MRDSENS": "10^-5",
    }


def test_rs_not_done(published: Path) -> None:
    # rs.csv 1007: "Cycle 8 Day 1", 12 MAR 2025, result empty, Not done, "Assessment not performed".
    records = _records(published, "rs", "POMMAINT-01-1007")
    nd = next(r for r in records if r["RSDTC"] == "2025-03-12")
    assert _pick(nd, ["RSORRES", "RSSTRESC", "RSSTAT", "RSREASND", "VISITNUM"]) == {
        "RSORRES": None, "RSSTRESC": None, "RSSTAT": "NOT DONE",
        "RSREASND": "Assessment not performed", "VISITNUM": 8.0,
    }  # fmt: skip


def test_lb_conventional_units_become_si(published: Path) -> None:
    # lb.csv 1003 Screening 16 JAN 2024: Creatinine 0.85 mg/dL (0.46-0.92); x 88.42 umol/L
    # per mg/dL -> 75.157 (40.6732-81.3464), reported as the lab reports umol/L, to 0
    # decimals: 75 (41-81). M-protein "<0.05" g/dL -> "<0.5" g/L, no number.
    records = _records(published, "lb", "POMMAINT-01-1003")
    screening = {r["LBTESTCD"]: r for r in records if r["VISIT"] == "SCREENING"}
    cols = ["LBTEST", "LBCAT", "LBORRES", "LBORRESU", "LBORNRLO", "LBORNRHI", "LBSTRESC",
            "LBSTRESN", "LBSTRESU", "LBSTNRLO", "LBSTNRHI", "LBNRIND", "LBSPEC", "VISITNUM",
            "EPOCH", "LBDTC", "LBDY", "LBLOBXFL"]  # fmt: skip
    assert _pick(screening["CREAT"], cols) == {
        "LBTEST": "Creatinine", "LBCAT": "CHEMISTRY", "LBORRES": "0.85", "LBORRESU": "mg/dL",
        "LBORNRLO": "0.46", "LBORNRHI": "0.92", "LBSTRESC": "75",
        "LBSTRESN": 75.0, "LBSTRESU": "umol/L", "LBSTNRLO": 41.0, "LBSTNRHI": 81.0,
        "LBNRIND": "NORMAL", "LBSPEC": "SERUM", "VISITNUM": 0.0, "EPOCH": "SCREENING",
        "LBDTC": "2024-01-16", "LBDY": -7.0, "LBLOBXFL": None,
    }  # fmt: skip
    assert _pick(screening["MCPROT"], ["LBORRES", "LBSTRESC", "LBSTRESN", "LBSTRESU", "LBMETHOD"]) == {
        "LBORRES": "<0.05", "LBSTRESC": "<0.5", "LBSTRESN": None, "LBSTRESU": "g/L",
        "LBMETHOD": "ELECTROPHORESIS",
    }  # fmt: skip
    # The day-1 sample (23 JAN 2024, the first-dose date) is the last before exposure.
    day1 = next(r for r in records if r["LBTESTCD"] == "CREAT" and r["LBDTC"] == "2024-01-23")
    # 0.86 mg/dL x 88.42 = 76.0412 umol/L, reported 76.
    assert (day1["LBLOBXFL"], day1["LBSTRESC"], day1["VISIT"]) == ("Y", "76", "CYCLE 1 DAY 1")


def test_lb_ratio_has_its_unit_and_a_test_not_done_has_no_range(published: Path) -> None:
    # lb.csv 1003 Screening 16 JAN 2024: Kappa/lambda ratio 0.54, range 0.26-1.65, no unit on
    # the form: CT's unit for a ratio is RATIO (C44256).
    cols = ["LBORRES", "LBORRESU", "LBORNRLO", "LBORNRHI", "LBSTRESC", "LBSTRESN", "LBSTRESU",
            "LBSTNRLO", "LBSTNRHI", "LBNRIND", "LBSTAT", "LBREASND"]  # fmt: skip
    ratio = next(r for r in _records(published, "lb", "POMMAINT-01-1003")
                 if r["LBTESTCD"] == "KLCLLCFR" and r["VISIT"] == "SCREENING")  # fmt: skip
    assert _pick(ratio, cols) == {
        "LBORRES": "0.54", "LBORRESU": "RATIO", "LBORNRLO": "0.26", "LBORNRHI": "1.65",
        "LBSTRESC": "0.54", "LBSTRESN": 0.54, "LBSTRESU": "RATIO", "LBSTNRLO": 0.26,
        "LBSTNRHI": 1.65, "LBNRIND": "NORMAL", "LBSTAT": None, "LBREASND": None,
    }  # fmt: skip
    # 1005 Cycle 11 Day 1, 10 MAR 2025: the disease panel not done ("Sample not collected");
    # the form still prints the ratio's range 0.26-1.65, which belongs to no result.
    nd = next(r for r in _records(published, "lb", "POMMAINT-01-1005")
              if r["LBTESTCD"] == "KLCLLCFR" and r["LBDTC"] == "2025-03-10")  # fmt: skip
    assert _pick(nd, cols) == {
        "LBORRES": None, "LBORRESU": None, "LBORNRLO": None, "LBORNRHI": None,
        "LBSTRESC": None, "LBSTRESN": None, "LBSTRESU": None, "LBSTNRLO": None,
        "LBSTNRHI": None, "LBNRIND": None, "LBSTAT": "NOT DONE",
        "LBREASND": "Sample not collected",
    }  # fmt: skip
    lb = pd.read_parquet(published / "sdtm" / "lb.parquet")
    not_done = lb[lb["LBSTAT"] == "NOT DONE"]
    ranges = ["LBORNRLO", "LBORNRHI", "LBSTNRLO", "LBSTNRHI"]
    assert len(not_done) > 10 and not_done[ranges].isna().all().all()
    assert set(lb.loc[lb["LBTESTCD"] == "KLCLLCFR", "LBSTRESU"].dropna()) == {"RATIO"}


def test_lb_immunofixation_holds_the_isotype(published: Path) -> None:
    # lb.csv 1001 Screening 15 OCT 2023: Immunofixation "IgG kappa"; 1003 Screening 16 JAN
    # 2024: "Negative". MPIGISO is the monoclonal protein's isotype, not positive/negative.
    cols = ["LBTEST", "LBORRES", "LBORRESU", "LBSTRESC", "LBSTRESN", "LBMETHOD", "LBORNRLO"]
    first = {s: next(r for r in _records(published, "lb", f"POMMAINT-01-{s}")
                     if r["LBTESTCD"] == "MPIGISO" and r["VISIT"] == "SCREENING")
             for s in ("1001", "1003")}  # fmt: skip
    assert _pick(first["1001"], cols) == {
        "LBTEST": "Monoclonal Prot Immunoglobulin Isotype", "LBORRES": "IgG kappa",
        "LBORRESU": None, "LBSTRESC": "IGG KAPPA", "LBSTRESN": None,
        "LBMETHOD": "IMMUNOFIXATION ELECTROPHORESIS", "LBORNRLO": None,
    }  # fmt: skip
    assert (first["1003"]["LBORRES"], first["1003"]["LBSTRESC"]) == ("Negative", "NEGATIVE")
    lb = pd.read_parquet(published / "sdtm" / "lb.parquet")
    results = set(lb.loc[lb["LBTESTCD"] == "MPIGISO", "LBSTRESC"].dropna())
    assert results <= {"NEGATIVE", "IGG KAPPA", "IGG LAMBDA", "IGA KAPPA", "IGA LAMBDA"}
    assert "POSITIVE" not in results and len(results) > 2


def test_lb_one_standard_unit_per_test_and_one_baseline(published: Path) -> None:
    lb = pd.read_parquet(published / "sdtm" / "lb.parquet")
    units = lb.dropna(subset=["LBSTRESU"]).groupby("LBTESTCD")["LBSTRESU"].nunique()
    assert (units == 1).all()
    assert set(lb["LBTESTCD"]) >= {"NEUT", "MCPROT", "KLCFR", "LLCFR", "KLCLLCFR", "PLSMCECE"}
    methods = lb.groupby("LBTESTCD")["LBMETHOD"].unique()
    assert set(methods["PLSNCE"]) <= {"FLOW CYTOMETRY", "NEXT GENERATION SEQUENCING"}
    assert set(lb.loc[lb["LBTESTCD"] == "PLSNCE", "LBLLOD"]) == {"0.00001"}
    assert set(methods["MCPROT"]) == {"ELECTROPHORESIS"}
    assert set(methods["MPIGISO"]) == {"IMMUNOFIXATION ELECTROPHORESIS"}
    assert "ANC" not in set(lb["LBTESTCD"])
    flags = lb[lb["LBLOBXFL"] == "Y"].groupby(["USUBJID", "LBTESTCD"]).size()
    dm = pd.read_parquet(published / "sdtm" / "dm.parquet").set_index("USUBJID")
    mrd = lb[lb["LBTESTCD"] == "PLSNCE"]
    mrd_before = mrd[mrd["LBDTC"] <= mrd["USUBJID"].map(dm["RFXSTDTC"])]["USUBJID"].nunique()
    # Every subject has all 18 local tests before the first dose; some a baseline MRD too.
    assert (flags == 1).all() and len(flags) == 15 * 18 + mrd_before and mrd_before > 0
    not_done = lb[lb["LBSTAT"] == "NOT DONE"]
    assert len(not_done) and not_done["LBORRES"].isna().all() and not_done["LBREASND"].notna().all()
    numeric = lb["LBSTRESN"].notna()
    assert (
        pd.to_numeric(lb.loc[numeric, "LBSTRESC"]) == lb.loc[numeric, "LBSTRESN"].round(10)
    ).all()


def test_lb_unscheduled_visits_are_decimals(published: Path) -> None:
    lb = pd.read_parquet(published / "sdtm" / "lb.parquet")
    unscheduled = lb[lb["VISIT"].str.startswith("UNSCHEDULED").fillna(False).astype(bool)]
    assert len(unscheduled) > 0
    assert ((unscheduled["VISITNUM"] % 1).round(2) > 0).all()
    assert (
        unscheduled["VISIT"] == "UNSCHEDULED " + unscheduled["VISITNUM"].map("{:.2f}".format)
    ).all()


FDA_TS = {
    "ADDON", "AGEMAX", "AGEMIN", "LENGTH", "PLANSUB", "RANDOM", "SEXPOP", "STOPRULE", "TBLIND",
    "TCNTRL", "TDIGRP", "TINDTP", "TITLE", "TPHASE", "TTYPE", "CURTRT", "OBJPRIM", "SPONSOR",
    "TRT", "REGID", "OUTMSPRI", "PCLAS", "FCNTRY", "ADAPT", "DCUTDTC", "DCUTDESC", "INTMODEL",
    "NARMS", "STYPE", "INTTYPE", "SSTDTC", "SENDTC", "ACTSUB", "HLTSUBJI", "SDTIGVER",
}  # fmt: skip


def test_ts_has_every_parameter_fda_checks(published: Path) -> None:
    ts = pd.read_parquet(published / "sdtm" / "ts.parquet")
    assert set(ts["TSPARMCD"]) >= FDA_TS
    # A value, or a null flavour saying why not: never both, never neither.
    assert (ts["TSVAL"].isna() != ts["TSVALNF"].isna()).all()
    assert (ts["TSVAL"].str.len().fillna(0) <= 200).all()
    rows = {(r["TSPARMCD"], r["TSSEQ"]): r for r in ts.to_dict("records")}
    cols = ["TSPARM", "TSVAL", "TSVALNF", "TSVALCD", "TSVCDREF", "TSVCDVER"]

    def row(code: str, seq: float = 1.0) -> dict[str, object]:
        return {k: (None if pd.isna(v) else v) for k, v in rows[(code, seq)].items() if k in cols}

    # An interventional efficacy study of a drug in a limited number of patients: phase II.
    assert row("TPHASE") == {"TSPARM": "Trial Phase Classification", "TSVAL": "PHASE II TRIAL",
        "TSVALNF": None, "TSVALCD": "C15601", "TSVCDREF": "CDISC CT", "TSVCDVER": "2025-03-28"}  # fmt: skip
    # Indication and diagnosis group: SNOMED CT's preferred term and concept id; the
    # pharmacological class: MED-RT's name for it (its id not verifiable offline).
    for code in ("INDIC", "TDIGRP"):
        assert row(code) == {"TSPARM": row(code)["TSPARM"], "TSVAL": "Multiple myeloma",
            "TSVALNF": None, "TSVALCD": "109989006", "TSVCDREF": "SNOMED", "TSVCDVER": None}  # fmt: skip
    assert (row("PCLAS")["TSVAL"], row("PCLAS")["TSVCDREF"]) == (
        "Thalidomide Analog [EPC]",
        "MED-RT",
    )
    assert row("SDTIGVER")["TSVALCD"] == "C189638" and row("SDTMVER")["TSVAL"] == "2.0"
    assert row("SDTMVER")["TSVALCD"] == "C189639"
    # Planned subjects from the protocol beside the actual count; every secondary objective
    # and outcome measure; the registry identifier not known (but one exists): UNK.
    assert (row("PLANSUB")["TSVAL"], row("ACTSUB")["TSVAL"]) == ("15", "15")
    assert (ts["TSPARMCD"] == "OBJSEC").sum() == 4 and (ts["TSPARMCD"] == "OUTMSSEC").sum() == 5
    assert (row("REGID")["TSVAL"], row("REGID")["TSVALNF"]) == (None, "UNK")
    assert row("TTYPE", 2.0)["TSVAL"] == "SAFETY"
    assert row("TRT") == {"TSPARM": "Investigational Therapy or Treatment", "TSVAL": "POMALIDOMIDE",
        "TSVALNF": None, "TSVALCD": "D2UX06XLB5", "TSVCDREF": "UNII", "TSVCDVER": None}  # fmt: skip
    # From the run: the export's cut-off, the first consent (1001, 12 OCT 2023), 15 subjects.
    assert row("DCUTDTC")["TSVAL"] == "2026-11-15" and row("DCUTDTC")["TSVALNF"] is None
    assert row("SSTDTC")["TSVAL"] == "2023-10-12"
    assert row("ACTSUB")["TSVAL"] == "15"
    assert row("AGEMAX") == {"TSPARM": "Planned Maximum Age of Subjects", "TSVAL": None,
        "TSVALNF": "PINF", "TSVALCD": None, "TSVCDREF": None, "TSVCDVER": None}  # fmt: skip


def test_ss_one_record_per_survival_contact(published: Path) -> None:
    # sfu.csv 1008: alive 11 APR 2025, dead 11 JUN 2025 (follow-up after EOT 09 JAN 2025).
    keys = ["SSSEQ", "SSTESTCD", "SSORRES", "SSSTRESC", "SSDTC", "EPOCH"]
    assert [_pick(r, keys) for r in _records(published, "ss", "POMMAINT-01-1008")] == [
        {"SSSEQ": 1.0, "SSTESTCD": "SURVSTAT", "SSORRES": "Alive", "SSSTRESC": "ALIVE",
         "SSDTC": "2025-04-11", "EPOCH": "FOLLOW-UP"},
        {"SSSEQ": 2.0, "SSTESTCD": "SURVSTAT", "SSORRES": "Dead", "SSSTRESC": "DEAD",
         "SSDTC": "2025-06-11", "EPOCH": "FOLLOW-UP"},
    ]  # fmt: skip


def test_epoch_of_partial_dates_inside_one_epoch(published: Path) -> None:
    # ae.csv 1001: "Upper respiratory tract infection" from "UN NOV 2023"; consent 12 OCT
    # 2023, first dose 28 OCT 2023, end of treatment 24 FEB 2025: November 2023 lies wholly
    # in TREATMENT. sfu.csv 1015: new therapy "UN APR 2026", after the end of treatment on
    # 17 MAR 2026 (follow-up from the 18th): all of April 2026 is FOLLOW-UP.
    ae = next(r for r in _records(published, "ae", "POMMAINT-01-1001") if r["AESTDTC"] == "2023-11")
    assert (ae["AEDECOD"], ae["EPOCH"]) == ("UPPER RESPIRATORY TRACT INFECTION", "TREATMENT")
    [cm] = _records(published, "cm", "POMMAINT-01-1015")
    assert (cm["CMSTDTC"], cm["EPOCH"]) == ("2026-04", "FOLLOW-UP")


def test_cm_new_therapy_once_though_every_contact_repeats_it(published: Path) -> None:
    # sfu.csv 1001: six contacts, each "Yes, 28 MAR 2025"; 1015: "UN APR 2026" twice;
    # 1004 answered "No" at every contact.
    keys = ["CMSEQ", "CMTRT", "CMCAT", "CMSTDTC"]
    assert [_pick(r, keys) for r in _records(published, "cm", "POMMAINT-01-1001")] == [
        {"CMSEQ": 1.0, "CMTRT": "NEW ANTICANCER THERAPY", "CMCAT": "SUBSEQUENT ANTICANCER THERAPY",
         "CMSTDTC": "2025-03-28"},
    ]  # fmt: skip
    assert [r["CMSTDTC"] for r in _records(published, "cm", "POMMAINT-01-1015")] == ["2026-04"]
    assert _records(published, "cm", "POMMAINT-01-1004") == []

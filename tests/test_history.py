"""Issue 18, history: diagnosis, medical history, prior and subsequent anticancer therapy,
concomitant medications, ECOG and vital signs. The sample's consistency (from the session's
export), golden MH, RS, VS and CM records of subject 1003 derived by hand from the raw rows
(comments), the drug dictionary in Define-XML, and the spec checks the issue added."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree

from tests.conftest import copy_study_specs
from transforms.errors import SpecError
from transforms.specs import load_study

Rows = list[dict[str, str]]
SUBJECT = "POMMAINT-01-1003"
ODM = "{http://www.cdisc.org/ns/odm/v1.3}"


@pytest.fixture(scope="module")
def raw(landing: Path) -> dict[str, Rows]:
    """The session's 15-subject export, every form as rows of text."""
    [export] = (landing / "POMMAINT").iterdir()
    out = {}
    for path in sorted(export.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            out[path.stem.upper()] = list(csv.DictReader(fh))
    return out


def _day(text: str) -> date:
    return datetime.strptime(text, "%d %b %Y").date()


def _records(published: Path, name: str) -> list[dict[str, object]]:
    data = pd.read_parquet(published / "sdtm" / f"{name}.parquet")
    rows = data[data["USUBJID"] == SUBJECT].to_dict("records")
    return [{str(k): (None if pd.isna(v) else v) for k, v in r.items()} for r in rows]


def _pick(record: dict[str, object], keys: list[str]) -> dict[str, object]:
    return {k: record[k] for k in keys}


def _supp(published: Path, name: str) -> dict[tuple[str, str], object]:
    supp = pd.read_parquet(published / "sdtm" / f"supp{name}.parquet")
    mine = supp[supp["USUBJID"] == SUBJECT]
    return {(i, q): v for i, q, v in zip(mine["IDVARVAL"], mine["QNAM"], mine["QVAL"], strict=True)}


# --- the sample ------------------------------------------------------------------------


def test_history_comes_before_the_study_in_order(raw: dict[str, Rows]) -> None:
    # Diagnosis, then induction, then (transplant: conditioning two days before the ASCT)
    # or the end of induction/consolidation on the cohort form's date; all before consent.
    # Every screened subject has a diagnosis before consent; prior therapy is the enrolled
    # subjects' (those given a cohort), not the screen failures'.
    enrolled = {r["SUBJID"] for r in raw["COH"]}
    screened = {r["SUBJID"]: _day(r["ICDAT"]) for r in raw["IC"]}
    consent = {s: day for s, day in screened.items() if s in enrolled}
    first_dose = {r["SUBJID"]: _day(r["EXSTDAT"]) for r in reversed(raw["EX"])}
    diagnosis = {r["SUBJID"]: _day(r["DXDAT"]) for r in raw["DX"]}
    assert set(diagnosis) == set(screened) and set(consent) < set(screened)
    assert all(diagnosis[s] < day for s, day in screened.items())
    assert {r["SUBJID"] for r in raw["PRT"]} <= enrolled
    for coh in raw["COH"]:
        s = coh["SUBJID"]
        lines = [r for r in raw["PRT"] if r["SUBJID"] == s]
        starts = [_day(r["PTSTDAT"]) for r in lines]
        ends = [_day(r["PTENDAT"]) for r in lines]
        assert lines[0]["PTLINE"] == "Induction" and diagnosis[s] < min(starts)
        assert max(ends) < consent[s] < first_dose[s]
        if coh["ASCTDAT"]:
            [conditioning] = [r for r in lines if r["PTLINE"] == "Conditioning"]
            assert (_day(coh["ASCTDAT"]) - _day(conditioning["PTSTDAT"])).days == 2
            assert conditioning["PTDRUG"] == "Melphalan"
        else:
            assert max(ends) == _day(coh["INDENDAT"])
            assert "Conditioning" not in {r["PTLINE"] for r in lines}


def test_visit_forms_follow_the_visits_that_took_place(raw: dict[str, Rows]) -> None:
    # ECOG and vital signs at every screening and cycle day 1 visit of the lab form, and
    # none other; height at screening only; ECOG 0-3 at entry (inclusion 3).
    # The screen failures too: ECOG and vital signs at their screening visit, nothing later.
    visits = {(r["SUBJID"], r["VISIT"], r["LBDAT"]) for r in raw["LB"]
              if r["VISIT"] == "Screening" or r["VISIT"].endswith("Day 1")}  # fmt: skip
    failed = {r["SUBJID"] for r in raw["IC"] if r["ELIGYN"] == "No"}
    assert failed and {(s, v) for s, v, _ in visits if s in failed} == {
        (s, "Screening") for s in failed
    }
    assert {(r["SUBJID"], r["VISIT"], r["ECOGDAT"]) for r in raw["ECOG"]} == visits
    assert {(r["SUBJID"], r["VISIT"], r["VSDAT"]) for r in raw["VS"]} == visits
    assert all(bool(r["HEIGHT"]) == (r["VISIT"] == "Screening") for r in raw["VS"])
    assert {r["ECOGSC"] for r in raw["ECOG"] if r["VISIT"] == "Screening"} <= {"0", "1", "2", "3"}


def test_new_therapy_and_isotype_agree_with_the_other_forms(raw: dict[str, Rows]) -> None:
    # NT for exactly the subjects SFU says started one, from SFU's date as written.
    started = {r["SUBJID"]: r["NEWTHDAT"] for r in raw["SFU"] if r["NEWTHER"] == "Yes"}
    assert {r["SUBJID"]: r["NTSTDAT"] for r in raw["NT"]} == started
    # The isotype at diagnosis is the one the serum immunofixation reports.
    ife = {r["SUBJID"]: r["LBORRES"].strip() for r in raw["LB"]
           if r["LBTEST"] == "Immunofixation" and r["LBORRES"].strip().startswith("Ig")}  # fmt: skip
    assert ife and all(r["DXISO"] == ife[r["SUBJID"]] for r in raw["DX"] if r["SUBJID"] in ife)
    # Every treated subject takes thromboprophylaxis from cycle 1 day 1 (at most 2 days before).
    first_dose = {r["SUBJID"]: _day(r["EXSTDAT"]) for r in reversed(raw["EX"])}
    prophylaxis = {r["SUBJID"]: _day(r["CMSTDAT"]) for r in raw["CMED"]
                   if r["CMINDC"] == "Thromboprophylaxis"}  # fmt: skip
    assert set(prophylaxis) == set(first_dose)
    assert all(0 <= (first_dose[s] - d).days <= 2 for s, d in prophylaxis.items())


# --- golden records of subject 1003 ----------------------------------------------------
# dm/ic/ex: consent 15 JAN 2024, first dose 23 JAN 2024 (RFSTDTC = RFXSTDTC 2024-01-23);
# coh: transplant eligible, ASCT 15 OCT 2023.


def test_mh_primary_diagnosis_and_history(published: Path) -> None:
    # dx.csv: 01,1003,25 APR 2023,IgG lambda,I,I
    # mh.csv: 01,1003,1,Medical history,Osteoporosis,Osteoporosis,Musculoskeletal and
    #           connective tissue disorders,UN MAR 2015,,Yes,
    #         01,1003,2,Medical history,Peripheral sensory neuropathy,(PT),Nervous system
    #           disorders,24 JUL 2023,,Yes,1
    # Sorted by MHCAT (GENERAL MEDICAL HISTORY < PRIMARY DIAGNOSIS), then MHSPID. Study days
    # from 2024-01-23: 24 JUL 2023 is day -183, 25 APR 2023 day -273; "2015-03" has none.
    keys = ["MHSEQ", "MHSPID", "MHTERM", "MHDECOD", "MHCAT", "MHBODSYS", "EPOCH", "MHSTDTC",
            "MHENDTC", "MHSTDY", "MHENDY", "MHENRTPT", "MHENTPT"]  # fmt: skip
    common = {"EPOCH": None, "MHENDTC": None, "MHENDY": None, "MHENRTPT": "ONGOING",
              "MHENTPT": "SCREENING"}  # fmt: skip
    assert [_pick(r, keys) for r in _records(published, "mh")] == [
        {"MHSEQ": 1.0, "MHSPID": "1", "MHTERM": "Osteoporosis", "MHDECOD": "Osteoporosis",
         "MHCAT": "GENERAL MEDICAL HISTORY",
         "MHBODSYS": "Musculoskeletal and connective tissue disorders",
         "MHSTDTC": "2015-03", "MHSTDY": None, **common},
        {"MHSEQ": 2.0, "MHSPID": "2", "MHTERM": "Peripheral sensory neuropathy",
         "MHDECOD": "Peripheral sensory neuropathy", "MHCAT": "GENERAL MEDICAL HISTORY",
         "MHBODSYS": "Nervous system disorders", "MHSTDTC": "2023-07-24", "MHSTDY": -183.0,
         **common},
        {"MHSEQ": 3.0, "MHSPID": None, "MHTERM": "MULTIPLE MYELOMA",
         "MHDECOD": "Plasma cell myeloma", "MHCAT": "PRIMARY DIAGNOSIS",
         "MHBODSYS": "Neoplasms benign, malignant and unspecified (incl cysts and polyps)",
         "MHSTDTC": "2023-04-25", "MHSTDY": -273.0, **common},
    ]  # fmt: skip
    # The neuropathy's grade at screening and the isotype at diagnosis, by MHSEQ.
    assert _supp(published, "mh") == {("2", "MHTOXGR"): "1", ("3", "MHISOTYP"): "IGG LAMBDA"}


def test_rs_stage_at_diagnosis_and_ecog(published: Path) -> None:
    # dx.csv: ISS I, R-ISS I on 25 APR 2023 (day -273, before the study: no visit, no epoch).
    # ecog.csv: 01,1003,Screening,16 JAN 2024,1 (day -7), before the screening MRD (mrd.csv,
    # same day: ECOG101 sorts before MRDIND).
    keys = ["RSSEQ", "RSTESTCD", "RSTEST", "RSCAT", "RSORRES", "RSSTRESC", "RSEVAL",
            "VISITNUM", "VISIT", "EPOCH", "RSDTC", "RSDY"]  # fmt: skip
    stage = {"RSORRES": "I", "RSSTRESC": "I", "RSEVAL": "INVESTIGATOR", "VISITNUM": None,
             "VISIT": None, "EPOCH": None, "RSDTC": "2023-04-25", "RSDY": -273.0}  # fmt: skip
    assert [_pick(r, keys) for r in _records(published, "rs")[:4]] == [
        {"RSSEQ": 1.0, "RSTESTCD": "ISS01", "RSTEST": "ISS01-Stage", "RSCAT": "ISS", **stage},
        {"RSSEQ": 2.0, "RSTESTCD": "RISS01", "RSTEST": "RISS01-Stage", "RSCAT": "R-ISS",
         **stage},
        {"RSSEQ": 3.0, "RSTESTCD": "ECOG101", "RSTEST": "ECOG1-Performance Status",
         "RSCAT": "ECOG",
         "RSORRES": "Restricted in physically strenuous activity but ambulatory and able to "
                    "carry out work of a light or sedentary nature, e.g., light house work, "
                    "office work",
         "RSSTRESC": "1", "RSEVAL": "INVESTIGATOR", "VISITNUM": 0.0, "VISIT": "SCREENING",
         "EPOCH": "SCREENING", "RSDTC": "2024-01-16", "RSDY": -7.0},
        {"RSSEQ": 4.0, "RSTESTCD": "MRDIND", "RSTEST": "Minimal Residual Disease Indicator",
         "RSCAT": "KUMAR IMWG 2016", "RSORRES": "Negative", "RSSTRESC": "NEGATIVE",
         "RSEVAL": "INVESTIGATOR", "VISITNUM": 0.0, "VISIT": "SCREENING", "EPOCH": "SCREENING",
         "RSDTC": "2024-01-16", "RSDY": -7.0},
    ]  # fmt: skip
    ecog = [r for r in _records(published, "rs") if r["RSTESTCD"] == "ECOG101"]
    assert len(ecog) == len(
        [r for r in _records(published, "sv") if float(str(r["VISITNUM"])).is_integer()]
    )


def test_vs_screening_and_first_dose(published: Path) -> None:
    # vs.csv: 01,1003,Screening,16 JAN 2024,108,72,mmHg,67,beats/min,36.9,C,68.2,kg,154,cm
    #         01,1003,Cycle 1 Day 1,23 JAN 2024,124,79,mmHg,68,beats/min,36.4,C,68.1,kg,,
    # Sorted by date, visit, test code. VSLOBXFL: the last result on or before the first
    # dose (23 JAN 2024): cycle 1 day 1's, and the screening height (measured only then).
    keys = ["VSSEQ", "VSTESTCD", "VSORRES", "VSORRESU", "VSSTRESN", "VSSTRESU", "VSLOBXFL",
            "VISITNUM", "EPOCH", "VSDY"]  # fmt: skip
    got = [_pick(r, keys) for r in _records(published, "vs")[:11]]
    screening = {"VISITNUM": 0.0, "EPOCH": "SCREENING", "VSDY": -7.0}
    first = {"VISITNUM": 1.0, "EPOCH": "TREATMENT", "VSDY": 1.0, "VSLOBXFL": "Y"}
    assert got == [
        {"VSSEQ": 1.0, "VSTESTCD": "DIABP", "VSORRES": "72", "VSORRESU": "mmHg",
         "VSSTRESN": 72.0, "VSSTRESU": "mmHg", "VSLOBXFL": None, **screening},
        {"VSSEQ": 2.0, "VSTESTCD": "HEIGHT", "VSORRES": "154", "VSORRESU": "cm",
         "VSSTRESN": 154.0, "VSSTRESU": "cm", "VSLOBXFL": "Y", **screening},
        {"VSSEQ": 3.0, "VSTESTCD": "PULSE", "VSORRES": "67", "VSORRESU": "beats/min",
         "VSSTRESN": 67.0, "VSSTRESU": "beats/min", "VSLOBXFL": None, **screening},
        {"VSSEQ": 4.0, "VSTESTCD": "SYSBP", "VSORRES": "108", "VSORRESU": "mmHg",
         "VSSTRESN": 108.0, "VSSTRESU": "mmHg", "VSLOBXFL": None, **screening},
        {"VSSEQ": 5.0, "VSTESTCD": "TEMP", "VSORRES": "36.9", "VSORRESU": "C",
         "VSSTRESN": 36.9, "VSSTRESU": "C", "VSLOBXFL": None, **screening},
        {"VSSEQ": 6.0, "VSTESTCD": "WEIGHT", "VSORRES": "68.2", "VSORRESU": "kg",
         "VSSTRESN": 68.2, "VSSTRESU": "kg", "VSLOBXFL": None, **screening},
        {"VSSEQ": 7.0, "VSTESTCD": "DIABP", "VSORRES": "79", "VSORRESU": "mmHg",
         "VSSTRESN": 79.0, "VSSTRESU": "mmHg", **first},
        {"VSSEQ": 8.0, "VSTESTCD": "PULSE", "VSORRES": "68", "VSORRESU": "beats/min",
         "VSSTRESN": 68.0, "VSSTRESU": "beats/min", **first},
        {"VSSEQ": 9.0, "VSTESTCD": "SYSBP", "VSORRES": "124", "VSORRESU": "mmHg",
         "VSSTRESN": 124.0, "VSSTRESU": "mmHg", **first},
        {"VSSEQ": 10.0, "VSTESTCD": "TEMP", "VSORRES": "36.4", "VSORRESU": "C",
         "VSSTRESN": 36.4, "VSSTRESU": "C", **first},
        {"VSSEQ": 11.0, "VSTESTCD": "WEIGHT", "VSORRES": "68.1", "VSORRESU": "kg",
         "VSSTRESN": 68.1, "VSSTRESU": "kg", **first},
    ]  # fmt: skip


def test_cm_prior_conditioning_and_thromboprophylaxis(published: Path) -> None:
    # prt.csv: 1-3 VRd induction 08 MAY - 20 AUG 2023, 4: Conditioning,MEL200,Melphalan,13 OCT
    # 2023 (two days before the ASCT, which is in PR), 5-7 VRd consolidation 24 NOV 2023 - 04
    # JAN 2024; cmed.csv: 1,Aspirin,Thromboprophylaxis,100,mg,QD,Oral,23 JAN 2024,04 JAN
    # 2025,No and 2,Zoledronic acid,...,4,mg,Q4W,Intravenous,06 FEB 2024,04 JAN 2025,No;
    # 3 Filgrastim (07 AUG 2024); nt.csv: Dara-Kd from 28 JAN 2025. CMSEQ in time order.
    # Days from 2024-01-23: 13 OCT 2023 is -102; 04 JAN 2025 is 348 (2024 is a leap year).
    records = _records(published, "cm")
    assert [r["CMTRT"] for r in records] == [
        "Bortezomib", "Lenalidomide", "Dexamethasone", "Melphalan", "Bortezomib",
        "Lenalidomide", "Dexamethasone", "Aspirin", "Zoledronic acid", "Filgrastim",
        "Daratumumab", "Carfilzomib", "Dexamethasone",
    ]  # fmt: skip
    keys = ["CMSEQ", "CMSPID", "CMTRT", "CMDECOD", "CMCAT", "CMSCAT", "CMINDC", "CMCLAS",
            "CMCLASCD", "CMDOSE", "CMDOSU", "CMDOSFRQ", "CMROUTE", "EPOCH", "CMSTDTC",
            "CMENDTC", "CMSTDY", "CMENDY", "CMENRTPT", "CMENTPT"]  # fmt: skip
    assert _pick(records[3], keys) == {
        "CMSEQ": 4.0, "CMSPID": "4", "CMTRT": "Melphalan", "CMDECOD": "MELPHALAN",
        "CMCAT": "PRIOR ANTICANCER THERAPY", "CMSCAT": "CONDITIONING",
        "CMINDC": "MULTIPLE MYELOMA", "CMCLAS": "NITROGEN MUSTARD ANALOGUES",
        "CMCLASCD": "L01AA", "CMDOSE": None, "CMDOSU": None, "CMDOSFRQ": None,
        "CMROUTE": None, "EPOCH": None, "CMSTDTC": "2023-10-13", "CMENDTC": "2023-10-13",
        "CMSTDY": -102.0, "CMENDY": -102.0, "CMENRTPT": None, "CMENTPT": None,
    }  # fmt: skip
    assert _pick(records[7], keys) == {
        "CMSEQ": 8.0, "CMSPID": "1", "CMTRT": "Aspirin", "CMDECOD": "ACETYLSALICYLIC ACID",
        "CMCAT": "CONCOMITANT MEDICATION", "CMSCAT": None, "CMINDC": "THROMBOPROPHYLAXIS",
        "CMCLAS": "PLATELET AGGREGATION INHIBITORS EXCL. HEPARIN", "CMCLASCD": "B01AC",
        "CMDOSE": 100.0, "CMDOSU": "mg", "CMDOSFRQ": "QD", "CMROUTE": "ORAL",
        "EPOCH": "TREATMENT", "CMSTDTC": "2024-01-23", "CMENDTC": "2025-01-04",
        "CMSTDY": 1.0, "CMENDY": 348.0, "CMENRTPT": None, "CMENTPT": None,
    }  # fmt: skip
    assert _pick(records[8], ["CMDOSE", "CMDOSFRQ", "CMROUTE", "CMCLASCD"]) == {
        "CMDOSE": 4.0, "CMDOSFRQ": "EVERY 4 WEEKS", "CMROUTE": "INTRAVENOUS", "CMCLASCD": "M05BA"
    }  # fmt: skip
    # The regimen of each anticancer drug (SUPPCM), by CMSEQ; none for the other medications.
    regimens = {i: v for (i, q), v in _supp(published, "cm").items() if q == "CMREG"}
    assert regimens == {"1": "VRd", "2": "VRd", "3": "VRd", "4": "MEL200", "5": "VRd",
                        "6": "VRd", "7": "VRd", "11": "Dara-Kd", "12": "Dara-Kd",
                        "13": "Dara-Kd"}  # fmt: skip


@pytest.mark.parametrize("name", ["mh", "vs", "cm", "rs"])
def test_seq_is_one_to_n_per_subject(published: Path, name: str) -> None:
    data = pd.read_parquet(published / "sdtm" / f"{name}.parquet")
    expected = data.groupby("USUBJID").cumcount() + 1
    assert (data[f"{name.upper()}SEQ"] == expected).all()


# --- coding, Define-XML, conformance ---------------------------------------------------


def test_every_drug_is_coded_and_the_dictionary_is_declared(published: Path) -> None:
    cm = pd.read_parquet(published / "sdtm" / "cm.parquet")
    assert cm[["CMDECOD", "CMCLAS", "CMCLASCD"]].notna().all().all()
    # Brand names and case variants code to the generic name (Velcade, Revlimid...).
    assert set(cm.loc[cm["CMTRT"].str.lower().isin(["velcade", "bortezomib"]), "CMDECOD"]) <= {
        "BORTEZOMIB"
    }
    root = etree.parse(str(published / "sdtm" / "define.xml")).getroot()
    lists = {c.get("OID"): c for c in root.iter(f"{ODM}CodeList")}
    [drugs] = [c for c in lists.values() if c.get("Name") == "POMMAINT drug dictionary"]
    [external] = drugs.findall(f"{ODM}ExternalCodeList")
    assert (external.get("Dictionary"), external.get("Version")) == (
        "POMMAINT drug dictionary", "1.0"
    )  # fmt: skip
    refs = {
        item.get("OID"): item.find(f"{ODM}CodeListRef").get("CodeListOID")
        for item in root.iter(f"{ODM}ItemDef")
        if item.find(f"{ODM}CodeListRef") is not None
    }
    for var in ("CMDECOD", "CMCLAS", "CMCLASCD"):
        assert refs[f"IT.CM.{var}"] == drugs.get("OID")
    assert lists[refs["IT.MH.MHDECOD"]].get("Name") == "MedDRA"


def test_conformance_of_the_new_domains(published: Path) -> None:
    found = pd.read_csv(published / "reports" / "conformance.csv", dtype=str)
    new = found[found["dataset"].isin(["MH", "VS", "CM", "SUPPMH", "SUPPCM", "RS"])]
    # Only the declared sponsor terms (ISS/R-ISS staging: no NCI CT yet) are listed.
    assert set(new["severity"]) <= {"Warning"}
    assert set(new["value"]) <= {"ISS01", "RISS01", "ISS01-Stage", "RISS01-Stage", "ISS",
                                 "R-ISS", "I", "II", "III"}  # fmt: skip


def test_a_dictionary_without_a_version_is_a_spec_error(tmp_path: Path) -> None:
    root = copy_study_specs(tmp_path, "POMMAINT")
    study = root / "POMMAINT" / "study.yaml"
    text = study.read_text(encoding="utf-8")
    study.write_text(text.replace(', POMMAINT drug dictionary: "1.0"', ""), encoding="utf-8")
    with pytest.raises(SpecError, match=r"CM\.CMDECOD: dictionary 'POMMAINT drug dictionary' "
                       r"has no version here \(dictionaries: \['MedDRA'\]\)"):  # fmt: skip
        load_study("POMMAINT", root)

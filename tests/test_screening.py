"""Screening (issue 18): screen failures and the screening-only forms, from the raw rows of
the default sample to SDTM (IE, DM, DS, MB, IS, GF, RP, LB) and ADaM.

The golden records are derived by hand from the sample's raw rows (seed 20261123, 15
enrolled subjects, 3 screen failures), quoted above each test.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from lxml import etree

from samplegen import pommaint, pommaint_screening

CUTOFF = date(2026, 11, 15)


def _table(current: Path, name: str, folder: str = "sdtm") -> pd.DataFrame:
    return pd.read_parquet(current / folder / f"{name}.parquet")


def _record(frame: pd.DataFrame, **where: str) -> dict[str, Any]:
    mask = np.ones(len(frame), dtype=bool)
    for column, value in where.items():
        mask &= (frame[column] == value).to_numpy()
    rows = frame[mask]
    assert len(rows) == 1, f"{where}: {len(rows)} records"
    return {str(k): (None if pd.isna(v) else v) for k, v in rows.iloc[0].to_dict().items()}


def _has(record: dict[str, Any], expected: dict[str, Any]) -> None:
    assert {k: record[k] for k in expected} == expected


# --- the generator --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def forms() -> dict[str, pd.DataFrame]:
    return pommaint.generate(100, 7, CUTOFF)


def test_screen_failures_are_extra_subjects(forms: dict[str, pd.DataFrame]) -> None:
    ic = forms["IC"]
    enrolled = ic["ELIGYN"] == "Yes"
    assert enrolled.sum() == 100 == len(forms["COH"])  # --subjects N: N enrolled
    assert (~enrolled).sum() == 20  # about 17 % of 120 screened
    assert set(forms["DM"]["SUBJID"]) == set(ic["SUBJID"])
    failed = ic[~enrolled]
    assert failed["SUBJID"].str.startswith("2").all()
    assert (failed["IENOTMET"] != "").all() and (failed["SFDAT"] != "").all()
    assert (ic.loc[enrolled, ["IENOTMET", "SFDAT"]] == "").all().all()
    # No screen failure has a later form.
    for name in ("COH", "EX", "AE", "RS", "MRD", "EOT", "EOS", "SFU"):
        assert not forms[name]["SUBJID"].isin(failed["SUBJID"]).any(), name


def test_screening_values_show_the_criterion_not_met(forms: dict[str, pd.DataFrame]) -> None:
    ic, lb = forms["IC"], forms["LB"]
    screening = lb[lb["VISIT"] == "Screening"].set_index(["SUBJID", "LBTEST"])
    value = pd.to_numeric(screening["LBORRES"], errors="coerce")
    unit = screening["LBORRESU"]
    hi = pd.to_numeric(screening["LBORNRHI"], errors="coerce")
    ser, cyto = forms["SER"].set_index("SUBJID"), forms["CYTO"].set_index("SUBJID")
    preg = forms["PREG"].set_index(["SUBJID", "VISIT"])
    for subject, criterion in zip(ic["SUBJID"], ic["IENOTMET"], strict=True):
        if criterion == "INCL06":
            assert value[subject, "Platelets"] <= 75 or value[subject, "ANC"] <= 1.0
        elif criterion == "INCL05":
            si = value[subject, "Creatinine"] * (
                88.4 if unit[subject, "Creatinine"] == "mg/dL" else 1
            )
            assert si >= 177
        elif criterion == "INCL04":
            assert (value[subject, "ALT"] >= 3 * hi[subject, "ALT"]
                    or value[subject, "Total bilirubin"] > 35)  # fmt: skip
        elif criterion == "EXCL01":
            assert (cyto.loc[subject, list(pommaint_screening.CYTOGENETICS)] == "Detected").any()
        elif criterion == "EXCL05":
            assert ser.loc[subject, "HBSAG"] == "Positive"
        elif criterion == "EXCL06":
            assert ser.loc[subject, "HCVRNA"] == "Positive"
        elif criterion == "EXCL07":
            assert ser.loc[subject, "HIVAGAB"] == "Positive"
        elif criterion == "INCL07":
            assert preg.loc[(subject, "Screening"), "PGRES"] == "Positive"
        else:
            assert criterion == "", criterion
    # Enrolled subjects: no positive active-infection marker, no high-risk abnormality.
    enrolled = ic.loc[ic["ELIGYN"] == "Yes", "SUBJID"]
    assert (ser.loc[enrolled, ["HBSAG", "HIVAGAB"]] == "Negative").all().all()
    assert (ser.loc[enrolled, "HCVRNA"] != "Positive").all()
    assert (cyto.loc[enrolled, list(pommaint_screening.CYTOGENETICS)] != "Detected").all().all()


def test_pregnancy_tests_monthly_for_women_of_childbearing_potential(
    forms: dict[str, pd.DataFrame],
) -> None:
    cbp, preg, lb = forms["CBP"], forms["PREG"], forms["LB"]
    women = forms["DM"].loc[forms["DM"]["SEX"].str.strip().str.lower() == "female", "SUBJID"]
    assert sorted(cbp["SUBJID"]) == sorted(women)
    wocbp = set(cbp.loc[cbp["CHILDPOT"] == "Yes", "SUBJID"])
    assert wocbp and set(preg["SUBJID"]) == wocbp
    cycles = lb[lb["SUBJID"].isin(wocbp) & lb["VISIT"].str.startswith("Cycle")]
    expected = {("Screening", s) for s in wocbp} | set(
        zip(cycles["VISIT"], cycles["SUBJID"], strict=True)
    )
    assert set(zip(preg["VISIT"], preg["SUBJID"], strict=True)) == expected
    assert (preg.loc[preg["VISIT"] == "Screening", "PGSPEC"] == "Serum").all()
    assert (preg.loc[preg["VISIT"] != "Screening", "PGSPEC"] == "Urine").all()


def test_the_enrolled_subjects_forms_are_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    """Screening draws from a child stream after the rest: without it, every form of the
    enrolled subjects is the same, value for value."""
    with_screening = pommaint.generate(15, 20261123, CUTOFF)
    monkeypatch.setattr(pommaint_screening, "add_screening", lambda frames, *args: frames)
    without = pommaint.generate(15, 20261123, CUTOFF)
    assert set(without) < set(with_screening)
    for name, frame in without.items():
        kept = with_screening[name]
        kept = kept[kept["SUBJID"].isin(frame["SUBJID"])][list(frame.columns)]
        pd.testing.assert_frame_equal(kept.reset_index(drop=True), frame, obj=name)


# --- SDTM golden records --------------------------------------------------------------------


def test_ie_record_of_a_screen_failure(published: Path) -> None:
    """IC 2003: ICDAT 26 MAR 2025, ELIGYN No, IENOTMET INCL05, SFDAT 01 APR 2025; INCL05 of
    the design is "Serum creatinine below 177 umol/L" (inclusion: not met is N)."""
    ie = _table(published, "ie")
    assert sorted(ie["USUBJID"]) == ["POMMAINT-01-2001", "POMMAINT-01-2002", "POMMAINT-01-2003"]
    _has(
        _record(ie, USUBJID="POMMAINT-01-2003"),
        {"STUDYID": "POMMAINT", "DOMAIN": "IE", "IESEQ": 1.0, "IETESTCD": "INCL05",
         "IETEST": "Serum creatinine below 177 umol/L", "IECAT": "INCLUSION", "IEORRES": "N",
         "IESTRESC": "N", "VISITNUM": 0.0, "VISIT": "SCREENING", "EPOCH": "SCREENING",
         "IEDTC": "2025-04-01", "IEDY": None},
    )  # fmt: skip
    # An exclusion criterion met is Y: 2002 failed EXCL07 (HIV).
    _has(_record(ie, USUBJID="POMMAINT-01-2002"),
         {"IETESTCD": "EXCL07", "IECAT": "EXCLUSION", "IEORRES": "Y"})  # fmt: skip


def test_dm_record_of_a_screen_failure(published: Path) -> None:
    """DM 2003: BRTHDAT 24 NOV 1959, AGE 65, SEX Male, RACE Asian, COUNTRY China, DMDAT 26 MAR
    2025; IC: consent 26 MAR 2025, screen failure 01 APR 2025; no COH, no EX."""
    dm = _table(published, "dm")
    assert len(dm) == 18
    _has(
        _record(dm, USUBJID="POMMAINT-01-2003"),
        {"SUBJID": "2003", "SITEID": "01", "RFSTDTC": None, "RFENDTC": None, "RFXSTDTC": None,
         "RFXENDTC": None, "RFICDTC": "2025-03-26", "RFPENDTC": "2025-04-01", "DTHFL": None,
         "BRTHDTC": "1959-11-24", "AGE": 65.0, "AGEU": "YEARS", "SEX": "M", "RACE": "ASIAN",
         "ARMCD": None, "ARM": None, "ACTARMCD": None, "ACTARM": None,
         "ARMNRS": "SCREEN FAILURE", "COUNTRY": "CHN", "DMDTC": "2025-03-26", "DMDY": None},
    )  # fmt: skip
    assert dm["ARMNRS"].isna().sum() == 15  # every enrolled subject has its arm


def test_ds_screen_failure_and_the_protocol_version(published: Path) -> None:
    """IC 2003: SFDAT 01 APR 2025, IENOTMET INCL05, ICVER 1.1."""
    ds = _table(published, "ds")
    _has(
        _record(ds, USUBJID="POMMAINT-01-2003", DSDECOD="SCREEN FAILURE"),
        {"DSSEQ": 2.0, "DSTERM": "ELIGIBILITY CRITERION NOT MET: INCL05",
         "DSCAT": "DISPOSITION EVENT", "DSSCAT": "STUDY PARTICIPATION", "EPOCH": "SCREENING",
         "DSSTDTC": "2025-04-01", "DSSTDY": None},
    )  # fmt: skip
    assert (ds["DSDECOD"] == "SCREEN FAILURE").sum() == 3
    supp = _table(published, "suppds")
    _has(
        _record(supp, USUBJID="POMMAINT-01-2003", QNAM="PROTVERS"),
        {"RDOMAIN": "DS", "IDVAR": "DSSEQ", "IDVARVAL": "1", "QVAL": "1.1", "QORIG": "CRF"},
    )
    se = _table(published, "se")
    _has(_record(se, USUBJID="POMMAINT-01-2003"),
         {"ETCD": "SCRN", "EPOCH": "SCREENING", "SESTDTC": "2025-03-26",
          "SEENDTC": "2025-04-01"})  # fmt: skip


def test_serology_records(published: Path) -> None:
    """SER 2002: SERDAT 05 DEC 2024, HIVAGAB Positive (MB: the antigen/antibody combination
    assay); SER 1001: SERDAT 15 OCT 2023, HBCAB Positive (IS: an antibody); 1001's first dose
    28 OCT 2023."""
    mb = _table(published, "mb")
    assert len(mb) == 36  # HBsAg and HIV for 18 screened subjects; HCV RNA for none
    _has(
        _record(mb, USUBJID="POMMAINT-01-2002", MBTESTCD="HIVAGAB"),
        {"MBTEST": "HIV Antigen/Antibody", "MBCAT": "SEROLOGY", "MBORRES": "Positive",
         "MBSTRESC": "POSITIVE", "MBSPEC": "SERUM", "VISITNUM": 0.0, "VISIT": "SCREENING",
         "EPOCH": "SCREENING", "MBDTC": "2024-12-05", "MBDY": None},
    )  # fmt: skip
    is_ = _table(published, "is")
    _has(
        _record(is_, USUBJID="POMMAINT-01-1001", ISBDAGNT="HEPATITIS B VIRUS CORE ANTIGEN"),
        {"ISTESTCD": "MBAB", "ISTEST": "Microbial-induced Antibody", "ISORRES": "Positive",
         "ISSTRESC": "POSITIVE", "ISDTC": "2023-10-15", "ISDY": -13.0, "EPOCH": "SCREENING"},
    )  # fmt: skip


def test_cytogenetics_record(published: Path) -> None:
    """CYTO 2001: CYDAT 30 JAN 2024 (before consent on 02 MAR 2024), GAIN1Q21 Detected."""
    gf = _table(published, "gf")
    assert len(gf) == 18 * 7 - 0  # seven abnormalities looked for, per screened subject
    _has(
        _record(gf, USUBJID="POMMAINT-01-2001", GFSYM="CKS1B"),
        {"GFTESTCD": "CPNUMVAR", "GFTEST": "Copy Number Variation", "GFTSTDTL": "DETECTION",
         "GFCAT": "CYTOGENETICS", "GFORRES": "Detected", "GFSTRESC": "DETECTED",
         "GFINHERT": "SOMATIC VARIATION", "GFCHROM": "1", "GFGENLOC": "+1q21",
         "GFMETHOD": "FISH", "GFSTAT": None, "EPOCH": None, "GFDTC": "2024-01-30",
         "GFDY": None},
    )  # fmt: skip
    # TP53 sequencing not done (CYTO 1001: TP53 empty, TP53ND "Not done").
    _has(_record(gf, USUBJID="POMMAINT-01-1001", GFTESTCD="SHRTVAR"),
         {"GFORRES": None, "GFSTAT": "NOT DONE", "GFMETHOD": "NEXT GENERATION SEQUENCING"})  # fmt: skip


def test_childbearing_potential_and_pregnancy_test(published: Path) -> None:
    """CBP 1001: CBPDAT 15 OCT 2023, CHILDPOT Yes; PREG 1001: Screening, 15 OCT 2023, Serum,
    Negative; first dose 28 OCT 2023 (study day 1)."""
    rp = _table(published, "rp")
    assert len(rp) == 7  # the 7 women screened
    _has(
        _record(rp, USUBJID="POMMAINT-01-1001"),
        {"RPTESTCD": "CHILDPOT", "RPTEST": "Childbearing Potential", "RPORRES": "Yes",
         "RPSTRESC": "Y", "VISITNUM": 0.0, "RPDTC": "2023-10-15", "RPDY": -13.0},
    )  # fmt: skip
    lb = _table(published, "lb")
    _has(
        _record(lb, USUBJID="POMMAINT-01-1001", LBTESTCD="HCG", LBSPEC="SERUM"),
        {"LBTEST": "Choriogonadotropin Beta", "LBCAT": "PREGNANCY TEST", "LBORRES": "Negative",
         "LBORRESU": None, "LBSTRESC": "NEGATIVE", "LBSTRESN": None, "VISITNUM": 0.0,
         "VISIT": "SCREENING", "EPOCH": "SCREENING", "LBDTC": "2023-10-15", "LBDY": -13.0,
         "LBLOBXFL": "Y"},
    )  # fmt: skip
    # One urine test per Cycle N Day 1 visit of hers.
    cycles = lb[(lb["USUBJID"] == "POMMAINT-01-1001") & lb["VISIT"].str.startswith("CYCLE")]
    urine = lb[(lb["LBTESTCD"] == "HCG") & (lb["LBSPEC"] == "URINE")]
    assert set(urine["VISITNUM"]) == set(cycles["VISITNUM"])


def test_screening_lab_of_a_screen_failure_in_si(published: Path) -> None:
    """LB 2003: Screening 28 MAR 2025, Creatinine 237 umol/L (57-111): inclusion 5 not met."""
    lb = _table(published, "lb")
    _has(
        _record(lb, USUBJID="POMMAINT-01-2003", LBTESTCD="CREAT"),
        {"LBORRES": "237", "LBORRESU": "umol/L", "LBSTRESN": 237.0, "LBSTRESU": "umol/L",
         "LBNRIND": "HIGH", "VISITNUM": 0.0, "EPOCH": "SCREENING", "LBDTC": "2025-03-28"},
    )  # fmt: skip
    failures = lb[lb["USUBJID"].str.startswith("POMMAINT-01-2")]
    assert len(failures) == 3 * 12  # screening haematology and chemistry only


def test_every_new_field_is_accounted_for(published: Path) -> None:
    fields = pd.read_csv(published / "reports" / "reconciliation_fields.csv")
    assert set(fields["status"]) <= {"mapped", "not_submitted"}
    new = fields[fields["form"].isin(["SER", "CYTO", "CBP", "PREG"])]
    assert len(new) == 8 + 11 + 4 + 6
    reasons = fields.loc[fields["form"] == "IC"].set_index("field")["reason"].fillna("")
    assert not reasons.str.startswith("open:").any()
    records = pd.read_csv(published / "reports" / "reconciliation.csv").set_index("form")
    assert (records["unaccounted"] == 0).all()
    # Every record of the new forms lands (SER twice: MB and IS; CYTO in GF; PREG in LB).
    counts = records.astype(str).to_dict("index")
    expected = {
        "ser.csv": {"records_in": "18", "mapped_MB": "18", "mapped_IS": "18"},
        "cyto.csv": {"records_in": "18", "mapped_GF": "18"},
        "cbp.csv": {"records_in": "7", "mapped_RP": "7"},
        "ic.csv": {"records_in": "18", "mapped_DS": "18", "mapped_IE": "3"},
    }
    for form, cells in expected.items():
        assert {k: counts[form][k] for k in cells} == cells, form
    preg = records.loc["preg.csv"]
    assert preg["records_in"] == preg["mapped_LB"] > 0


def test_define_and_conformance_cover_the_new_datasets(published: Path) -> None:
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
    root = etree.parse(str(published / "sdtm" / "define.xml")).getroot()
    classes = {
        g.get("Name"): g.find("def:Class", ns).get("Name")
        for g in root.iterfind(".//odm:ItemGroupDef", ns)
    }
    assert {n: classes[n] for n in ("IE", "MB", "IS", "GF", "RP")} == dict.fromkeys(
        ("IE", "MB", "IS", "GF", "RP"), "FINDINGS"
    )
    assert "SUPPDS" in classes
    report = pd.read_csv(published / "reports" / "conformance.csv")
    new = report[report["dataset"].isin(["IE", "MB", "IS", "GF", "RP"])]
    assert new.empty, new[["rule", "dataset", "variable", "message"]].to_string()


# --- ADaM -----------------------------------------------------------------------------------


def test_screen_failures_are_outside_the_analysis_populations(adam_published: Path) -> None:
    adsl = _table(adam_published, "adsl", "adam")
    failed = adsl["USUBJID"].str.startswith("POMMAINT-01-2")
    assert failed.sum() == 3
    assert (adsl.loc[failed, ["ITTFL", "SAFFL"]] == "N").all().all()
    assert (adsl.loc[~failed, "ITTFL"] == "Y").all() and (adsl["SAFFL"] == "Y").sum() == 15
    assert adsl.loc[failed, "DCSREAS"].eq("SCREEN FAILURE").all()
    assert adsl.loc[failed, "EOTSTT"].isna().all()  # never treated
    for name in ("adtte", "adrs", "adae", "adlb", "adex"):
        frame = _table(adam_published, name, "adam")
        assert not frame["USUBJID"].str.startswith("POMMAINT-01-2").any(), name

"""DM golden values: chosen subjects of the default sample, checked value by value against
what their raw CRF pages say (see the comments), plus the arm-null reasons."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from transforms.issues import IssueLog
from transforms.sdtm.build import build_dataset
from transforms.specs import load_study

TE = "Pomalidomide 2 mg, transplant eligible"
TI = "Pomalidomide 2 mg, transplant ineligible"

GOLDEN: dict[str, dict[str, object]] = {
    # Died of progression: EOS and SFU both give 11 MAR 2025; dosing 23 JAN - 24 DEC 2024;
    # consent 15 JAN 2024; sex keyed as "FEMALE " (trailing space).
    "POMMAINT-01-1003": {
        "STUDYID": "POMMAINT", "DOMAIN": "DM", "SUBJID": "1003", "SITEID": "01",
        "RFSTDTC": "2024-01-23", "RFENDTC": "2024-12-24", "RFXSTDTC": "2024-01-23",
        "RFXENDTC": "2024-12-24", "RFICDTC": "2024-01-15", "RFPENDTC": "2025-03-11",
        "DTHDTC": "2025-03-11", "DTHFL": "Y", "BRTHDTC": "1961-06-14", "AGE": 62.0,
        "AGEU": "YEARS", "SEX": "F", "RACE": "ASIAN", "ETHNIC": "NOT HISPANIC OR LATINO",
        "ARMCD": "TE", "ARM": TE, "ACTARMCD": "TE", "ACTARM": TE, "ARMNRS": None,
        "ACTARMUD": None, "COUNTRY": "CHN", "DMDTC": "2024-01-15", "DMDY": -8.0,
    },
    # On treatment at the cut-off: the open dosing interval started 15 NOV 2026; birth date
    # "UN AUG 1958" stays partial.
    "POMMAINT-01-1005": {
        "RFXENDTC": "2026-11-15", "RFPENDTC": "2026-11-15", "DTHDTC": None, "DTHFL": None,
        "BRTHDTC": "1958-08", "AGE": 65.0, "SEX": "F", "ARMCD": "TE",
    },
    # Transplant ineligible, race "Other" (Hui Chinese), birth date "UN UNK 1957".
    "POMMAINT-01-1014": {
        "BRTHDTC": "1957", "SEX": "M", "RACE": "OTHER", "ARMCD": "TI", "ARM": TI,
        "ACTARMCD": "TI", "RFICDTC": "2025-07-28", "DMDTC": "2025-07-28",
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def dm(published: Path) -> pd.DataFrame:
    return pd.read_parquet(published / "sdtm" / "dm.parquet").set_index("USUBJID", drop=False)


@pytest.mark.parametrize("usubjid", sorted(GOLDEN))
def test_golden_subjects(dm: pd.DataFrame, usubjid: str) -> None:
    row = dm.loc[usubjid]
    got = {k: (None if pd.isna(row[k]) else row[k]) for k in GOLDEN[usubjid]}
    assert got == GOLDEN[usubjid]


def test_one_record_per_subject_in_key_order(dm: pd.DataFrame) -> None:
    # 15 enrolled, then the 3 screen failures (issue 18), numbered 2001...
    assert dm["USUBJID"].tolist() == [f"POMMAINT-01-{1001 + i}" for i in range(15)] + [
        f"POMMAINT-01-{2001 + i}" for i in range(3)]  # fmt: skip
    assert dm["ARMCD"].value_counts().to_dict() == {"TE": 9, "TI": 6}
    assert dm["DTHFL"].eq("Y").sum() == 4
    assert dm["DTHDTC"].notna().sum() == 4


def test_reference_dates_are_consistent(dm: pd.DataFrame) -> None:
    # The treated subjects; screen failures have no reference start (test_screening.py).
    dm = dm[dm["ARMCD"].notna()]
    assert len(dm) == 15
    assert (dm["RFICDTC"] < dm["RFSTDTC"]).all()
    assert (dm["RFSTDTC"] == dm["RFXSTDTC"]).all()
    assert (dm["RFXENDTC"] <= dm["RFPENDTC"]).all()
    died = dm["DTHDTC"].notna()
    assert (dm.loc[died, "RFPENDTC"] == dm.loc[died, "DTHDTC"]).all()
    assert (dm["RFPENDTC"] <= "2026-11-15").all()


def test_suppdm(published: Path) -> None:
    supp = pd.read_parquet(published / "sdtm" / "suppdm.parquet")
    assert list(supp.columns) == [
        "STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL",
        "QORIG", "QEVAL",
    ]  # fmt: skip
    race = supp[supp["QNAM"] == "RACEOTH"]
    assert race[["USUBJID", "QLABEL", "QVAL", "QORIG"]].values.tolist() == [
        ["POMMAINT-01-1014", "Race, Other", "HUI CHINESE", "CRF"]
    ]
    reasons = supp[supp["QNAM"] == "TRNSINRS"]
    # Every transplant-ineligible subject, and only they, has a reason.
    assert len(reasons) == 6
    assert supp["IDVAR"].isna().all() and (supp["RDOMAIN"] == "DM").all()


def test_arm_null_reasons(published: Path) -> None:
    """A subject never assigned a cohort, and one assigned but never dosed."""
    study = load_study("POMMAINT")
    raw = published.resolve() / "raw"
    forms = {oid: pd.read_parquet(raw / f"{oid.lower()}.parquet") for oid in study.forms}
    forms["COH"] = forms["COH"][forms["COH"]["SUBJID"] != "1001"]
    forms["EX"] = forms["EX"][forms["EX"]["SUBJID"] != "1002"]
    issues = IssueLog()
    out = build_dataset(study.datasets["DM"], study, forms, issues).data.set_index("SUBJID")
    assert issues.errors().empty
    unassigned, untreated = out.loc["1001"], out.loc["1002"]
    assert (unassigned["ARMNRS"], unassigned["ARMCD"], unassigned["ACTARMCD"]) == (
        "NOT ASSIGNED", pd.NA, pd.NA,
    )  # fmt: skip
    assert untreated["ARMNRS"] == "ASSIGNED, NOT TREATED"
    assert untreated["ARMCD"] == "TI" and pd.isna(untreated["ACTARMCD"])
    assert pd.isna(untreated["RFXSTDTC"]) and pd.isna(untreated["RFSTDTC"])


def test_end_of_participation_is_the_latest_date_in_any_domain(
    published: Path, tmp_path: Path
) -> None:
    """RFPENDTC once every dataset is mapped: raised to a later date of any domain."""
    from tests.conftest import copy_store
    from transforms.jobs.sdtm import complete_reference
    from transforms.store import RunFolder

    run = RunFolder(copy_store(published, tmp_path / "store").resolve())
    sdtm = run.path / "sdtm"
    # The sample's DM: 1010 alive, last known 2026-10-05 (a survival contact); 1011
    # 2026-11-07; 1012 2026-11-04 (the end of its last 24-hour urine collection, LBENDTC,
    # begun on 3 November with its latest blood sample). Plant, as an EDC could send them at a
    # data cut: an AE of 1011 that ended 2026-11-20, a survival contact of 1010 on
    # 2026-10-09 at 10:00, a new therapy of 1012 from "2026-11" (partial: not surely after
    # 4 November).
    ae = pd.read_parquet(sdtm / "ae.parquet")
    ae.loc[ae.index[ae["USUBJID"] == "POMMAINT-01-1011"][-1], "AEENDTC"] = "2026-11-20"
    ae.to_parquet(sdtm / "ae.parquet", index=False)
    ss = pd.read_parquet(sdtm / "ss.parquet")
    ss.loc[ss.index[ss["USUBJID"] == "POMMAINT-01-1010"][-1], "SSDTC"] = "2026-10-09T10:00"
    ss.to_parquet(sdtm / "ss.parquet", index=False)
    cm = pd.read_parquet(sdtm / "cm.parquet")
    row = cm.iloc[[0]].assign(USUBJID="POMMAINT-01-1012", CMSTDTC="2026-11")
    pd.concat([cm, row], ignore_index=True).to_parquet(sdtm / "cm.parquet", index=False)
    before = pd.read_parquet(sdtm / "dm.parquet").set_index("USUBJID")["RFPENDTC"]
    assert before[["POMMAINT-01-1010", "POMMAINT-01-1011", "POMMAINT-01-1012"]].tolist() == [
        "2026-10-05", "2026-11-07", "2026-11-04"]  # fmt: skip

    moved = complete_reference(run, load_study("POMMAINT"))
    after = pd.read_parquet(sdtm / "dm.parquet").set_index("USUBJID")["RFPENDTC"]
    assert moved == 2
    assert after[["POMMAINT-01-1010", "POMMAINT-01-1011", "POMMAINT-01-1012"]].tolist() == [
        "2026-10-09T10:00", "2026-11-20", "2026-11-04"]  # fmt: skip
    others = after.drop(["POMMAINT-01-1010", "POMMAINT-01-1011"])
    assert others.equals(before.drop(["POMMAINT-01-1010", "POMMAINT-01-1011"]))
    # Run again (a retried task): nothing moves.
    assert complete_reference(run, load_study("POMMAINT")) == 0

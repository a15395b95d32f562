"""Conformance report: the clean sample has no blocking finding; planted defects are caught
by the intended rule, naming the subject, variable and row.

Every run here works on a copy of the published run folder (``adam_published`` is shared by
the session and never written to).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyreadstat
import pytest

from tests.test_cdiscpilot import pilot_run  # noqa: F401 (the pilot's night, a fixture)
from transforms.conformance import BLOCKING, RULES, SEVERITIES, ConformanceResult, check_run
from transforms.conformance.dates import after, study_day, valid_iso8601
from transforms.listing import COLUMNS as LISTING_COLUMNS


def _copy_run(published: Path, target: Path) -> Path:
    """The run folder's data, specs pointers and an empty reports/ (real copies, no links)."""
    target.mkdir(parents=True)
    for sub in ("sdtm", "adam"):
        shutil.copytree(published / sub, target / sub)
    (target / "raw").mkdir()
    shutil.copy2(published / "raw" / "extract.json", target / "raw" / "extract.json")
    for name in ("adam_run.json", "manifest.json"):
        if (published / name).exists():
            shutil.copy2(published / name, target / name)
    (target / "reports").mkdir()
    return target


def _hits(result: ConformanceResult, rule: str, dataset: str, variable: str) -> pd.DataFrame:
    f = result.findings
    return f[(f["rule_id"] == rule) & (f["dataset"] == dataset) & (f["variable"] == variable)]


# --- the clean sample ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def clean(adam_published: Path, tmp_path_factory: pytest.TempPathFactory) -> ConformanceResult:
    run = _copy_run(adam_published, tmp_path_factory.mktemp("clean") / "run")
    return check_run(run)


def test_clean_sample_has_no_blocking_finding(clean: ConformanceResult) -> None:
    assert clean.blocking == 0, clean.describe()
    assert clean.passed
    # The clean sample is clean: a finding here is a defect of the specs or of a rule. But
    # for the sponsor terms the RS spec declares (issue 18: ISS and R-ISS staging, which NCI
    # CT does not have): CT2002 warnings on those values of RS alone.
    f = clean.findings
    sponsor = (f["rule_id"] == "CT2002") & (f["dataset"] == "RS")
    assert set(f.loc[sponsor, "value"]) <= {"ISS", "R-ISS", "ISS01", "RISS01", "ISS01-Stage",
                                            "RISS01-Stage", "I", "II", "III"}  # fmt: skip
    assert f[~sponsor].empty, f[~sponsor].to_dict("records")


def test_counts_and_files(clean: ConformanceResult) -> None:
    assert set(clean.counts) == set(SEVERITIES)
    assert sum(clean.counts.values()) == len(clean.findings)
    assert clean.csv.name == "conformance.csv" and clean.csv.parent.name == "reports"
    listing = pd.read_csv(clean.csv, dtype=str, keep_default_na=False)
    assert list(listing.columns) == LISTING_COLUMNS
    assert len(listing) == len(clean.findings)
    page = clean.html.read_text(encoding="utf-8")
    # Self-contained (no scripts, no external resources) and the summary names every rule.
    assert "<script" not in page and "src=" not in page and "<link" not in page
    for rule_id in RULES:
        assert f"<td>{rule_id}</td>" in page
    assert "No finding of a blocking severity" in page


def test_rerun_is_deterministic_and_replaces_linked_reports(
    clean: ConformanceResult, tmp_path: Path
) -> None:
    """A second run gives the same listing; a report hard-linked from another run (as the
    ADaM run links the SDTM run's) is replaced, not written through the link."""
    run = clean.csv.parent.parent
    before = clean.csv.read_bytes()
    workbook = (run / "reports" / "findings.xlsx").read_bytes()
    other = tmp_path / "published_conformance.csv"
    clean.csv.rename(other)
    os.link(other, clean.csv)
    again = check_run(run)
    assert again.csv.read_bytes() == before
    assert other.read_bytes() == before
    assert other.stat().st_ino != again.csv.stat().st_ino
    assert (run / "reports" / "findings.xlsx").read_bytes() == workbook


def test_xpt_only_run_gives_the_same_findings(
    clean: ConformanceResult, adam_published: Path, tmp_path: Path
) -> None:
    """Without Parquet the rows come from the XPT files (blank text read as missing, ADaM
    dates as SAS day counts): the findings must be those of the Parquet run."""
    run = _copy_run(adam_published, tmp_path / "run")
    for path in [*run.glob("sdtm/*.parquet"), *run.glob("adam/*.parquet")]:
        path.unlink()
    from_xpt = check_run(run).findings
    pd.testing.assert_frame_equal(from_xpt, clean.findings)


# --- planted defects -----------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    rule: str
    dataset: str
    variable: str
    subject: str | None  # USUBJID of the finding (None: a dataset or variable finding)
    rows: frozenset[int]  # 1-based rows (empty: a dataset or variable finding)


def _rows(frame: pd.DataFrame, mask: pd.Series) -> list[int]:
    return [int(i) for i in frame.index[mask.fillna(False).to_numpy(dtype=bool)]]


def _first(frame: pd.DataFrame, mask: pd.Series) -> int:
    rows = _rows(frame, mask)
    assert rows, "the sample lacks a record to plant this defect in"
    return rows[0]


def _get(frame: pd.DataFrame, row: int, column: str) -> Any:
    return frame[column].iloc[row]


def _set(frame: pd.DataFrame, row: int, column: str, value: Any) -> None:
    frame.loc[frame.index == row, column] = value


def _rewrite_xpt(
    path: Path, change: Callable[[pd.DataFrame, dict[str, str]], pd.DataFrame]
) -> None:
    """Rewrite an XPT as version 8 (which allows long names and labels) after ``change``,
    which may edit the rows and the labels (by variable name)."""
    data, meta = pyreadstat.read_xport(str(path))
    labels = {n: str(v or "") for n, v in zip(meta.column_names, meta.column_labels, strict=True)}
    data = change(data, labels)
    pyreadstat.write_xport(
        data,
        str(path),
        file_label=meta.file_label or "",
        table_name=meta.table_name,
        column_labels=[labels.get(c, c) for c in data.columns],
        file_format_version=8,
    )


def _plant(run: Path) -> dict[str, Expect]:
    """Plant one defect per entry in a copy of the run; return what each should give."""
    sdtm, adam = run / "sdtm", run / "adam"
    dm = pd.read_parquet(sdtm / "dm.parquet")
    subj = dict(zip(dm["SUBJID"], dm["USUBJID"], strict=True))
    expect: dict[str, Expect] = {}

    def add(name: str, rule: str, ds: str, var: str, subject: str | None, rows: list[int]) -> None:
        expect[name] = Expect(rule, ds, var, subject, frozenset(r + 1 for r in rows))

    # AE: one defect per subject, so the defects cannot hide one another.
    ae = pd.read_parquet(sdtm / "ae.parquet")
    of = {s: ae["USUBJID"] == u for s, u in subj.items()}
    r1, r2 = _rows(ae, of["1002"])[:2]
    _set(ae, r2, "AESEQ", _get(ae, r1, "AESEQ"))
    add("duplicate AESEQ", "SD0005", "AE", "AESEQ", subj["1002"], [r1, r2])

    r = _first(ae, of["1005"])
    _set(ae, r, "USUBJID", "POMMAINT-01-9999")
    add("subject not in DM", "SD0064", "AE", "USUBJID", "POMMAINT-01-9999", [r])

    r = _first(ae, of["1007"])
    _set(ae, r, "AESER", "MAYBE")
    add("value outside a non-extensible codelist", "CT2001", "AE", "AESER", subj["1007"], [r])

    death = dm.loc[dm["SUBJID"] == "1003", "DTHDTC"].iloc[0]
    r = _rows(ae, of["1003"])[-1]
    later = (pd.Timestamp(death) + pd.Timedelta(days=9)).strftime("%Y-%m-%d")
    for column, value in {"AEOUT": "FATAL", "AESDTH": "Y", "AEENDTC": later}.items():
        _set(ae, r, column, value)
    add("fatal AE ends after death", "PIPE-005", "AE", "AEENDTC", subj["1003"], [r])
    # Death is also the end of 1003's participation (RFPENDTC).
    add("AE ends after the end of participation", "CORE-000952", "AE", "AEENDTC",
        subj["1003"], [r])  # fmt: skip

    r = _first(ae, of["1009"])
    _set(ae, r, "AEOUT", "FATAL")
    _set(ae, r, "AESDTH", "Y")
    add("fatal AE of a living subject (AEOUT)", "SD1254", "AE", "AEOUT", subj["1009"], [r])
    add("fatal AE of a living subject (AESDTH)", "SD1255", "AE", "AESDTH", subj["1009"], [r])

    r = _first(ae, of["1011"] & (ae["AEOUT"] == "RECOVERED/RESOLVED"))
    _set(ae, r, "AEENDTC", None)
    add("recovered AE without end date", "PIPE-006", "AE", "AEENDTC", subj["1011"], [r])

    r = _first(ae, ae["AEOUT"] == "NOT RECOVERED/NOT RESOLVED")
    _set(ae, r, "AEENDTC", _get(ae, r, "AESTDTC"))
    add("ongoing AE with end date", "PIPE-007", "AE", "AEENDTC", str(_get(ae, r, "USUBJID")), [r])

    r = _first(ae, of["1012"] & ae["AESTDY"].notna())
    _set(ae, r, "AESTDY", _get(ae, r, "AESTDY") + 1)
    add("AESTDY off by one", "SD1086", "AE", "AESTDY", subj["1012"], [r])

    r = _first(ae, of["1013"])
    _set(ae, r, "AETERM", "Rash <b>maculo-papulaire</b> \u00e9ruption")
    add("non-ASCII character", "SD1029", "AE", "AETERM", subj["1013"], [r])

    r = _first(ae, of["1014"])
    _set(ae, r, "AETERM", "X" * 250)
    add("value over 200 bytes", "PIPE-001", "AE", "AETERM", subj["1014"], [r])

    r = _first(ae, of["1015"])
    _set(ae, r, "AEDECOD", None)
    add("Required value null", "SD0002", "AE", "AEDECOD", subj["1015"], [r])
    ae.to_parquet(sdtm / "ae.parquet", index=False)

    lb = pd.read_parquet(sdtm / "lb.parquet")
    r = _first(lb, (lb["USUBJID"] == subj["1001"]) & lb["LBDTC"].notna())
    _set(lb, r, "LBDTC", "2024-13-45")
    add("--DTC not ISO 8601", "SD0003", "LB", "LBDTC", subj["1001"], [r])
    numeric = lb["LBSTRESN"].notna() & (lb["USUBJID"] == subj["1004"])
    r = _first(lb, numeric)
    _set(lb, r, "LBSTRESN", _get(lb, r, "LBSTRESN") + 1)
    add("LBSTRESN differs from LBSTRESC", "SD1212", "LB", "LBSTRESN", subj["1004"], [r])
    end = dm.loc[dm["SUBJID"] == "1002", "RFPENDTC"].iloc[0]
    r = _rows(lb, lb["USUBJID"] == subj["1002"])[-1]
    _set(lb, r, "LBDTC", (pd.Timestamp(end) + pd.Timedelta(days=30)).strftime("%Y-%m-%d"))
    add("lab sample after the end of participation", "CORE-000720", "LB", "LBDTC",
        subj["1002"], [r])  # fmt: skip
    r = _first(lb, (lb["USUBJID"] == subj["1006"]) & lb["EPOCH"].notna())
    _set(lb, r, "EPOCH", "RUN-OUT")
    add("EPOCH not an epoch of the study", "SD1015", "LB", "EPOCH", subj["1006"], [r])
    r = _first(lb, (lb["USUBJID"] == subj["1008"]) & lb["LBDY"].notna())
    _set(lb, r, "LBDY", 0)
    add("study day 0", "SD0038", "LB", "LBDY", subj["1008"], [r])
    # A valid epoch, but not the one the subject was in (SE) on the record's date.
    r = _first(lb, (lb["USUBJID"] == subj["1014"]) & (lb["EPOCH"] == "TREATMENT"))
    _set(lb, r, "EPOCH", "FOLLOW-UP")
    add("EPOCH not the subject's SE element's", "PIPE-012", "LB", "EPOCH", subj["1014"], [r])
    r = _first(lb, (lb["USUBJID"] == subj["1013"]) & (lb["VISITNUM"] == 2))
    _set(lb, r, "VISITNUM", 2.5)
    add("visit not in SV", "SD0065", "LB", "VISITNUM", subj["1013"], [r])
    lb.to_parquet(sdtm / "lb.parquet", index=False)

    rs = pd.read_parquet(sdtm / "rs.parquet")
    r = _first(rs, (rs["USUBJID"] == subj["1012"]) & (rs["VISITNUM"] == 3))
    _set(rs, r, "VISIT", "CYCLE 3 DAY 2")
    add("VISIT not TV's", "SD1023", "RS", "VISIT", subj["1012"], [r])
    rs.to_parquet(sdtm / "rs.parquet", index=False)

    se = pd.read_parquet(sdtm / "se.parquet")
    r = _first(se, (se["USUBJID"] == subj["1011"]) & (se["ETCD"] == "POM"))
    _set(se, r, "ETCD", "POMX")
    add("SE element not in TE", "SD0067", "SE", "ETCD", subj["1011"], [r])
    add("SE element not in TA", "SD1014", "SE", "TAETORD", subj["1011"], [r])
    se.to_parquet(sdtm / "se.parquet", index=False)

    sv = pd.read_parquet(sdtm / "sv.parquet")
    r = _first(sv, (sv["USUBJID"] == subj["1010"]) & (sv["VISITNUM"] == 4))
    sv = pd.concat([sv, sv.iloc[[r]].assign(VISITNUM=4.5)], ignore_index=True)  # a visit more
    add("SV planned visit not in TV", "SD1017", "SV", "VISITNUM", subj["1010"], [len(sv) - 1])
    r = _first(sv, (sv["USUBJID"] == subj["1009"]) & (sv["VISITNUM"] == 5))
    _set(sv, r, "VISITDY", 30.0)
    add("SV planned study day not TV's", "SD1018", "SV", "VISITNUM", subj["1009"], [r])
    r = _first(sv, sv["SVUPDES"].notna())
    _set(sv, r, "VISITDY", 3.0)
    add("SV unplanned visit with a VISITDY", "SD1019", "SV", "VISITDY",
        str(_get(sv, r, "USUBJID")), [r])  # fmt: skip
    sv.to_parquet(sdtm / "sv.parquet", index=False)

    r = _first(dm, dm["SUBJID"] == "1015")
    _set(dm, r, "ACTARMCD", "TX")
    add("actual arm not in TA", "SD2002", "DM", "ACTARMCD", subj["1015"], [r])
    dm.to_parquet(sdtm / "dm.parquet", index=False)

    ex = pd.read_parquet(sdtm / "ex.parquet")
    r1, r2 = _rows(ex, ex["USUBJID"] == subj["1010"])[:2]
    assert _get(ex, r1, "EXTRT") == _get(ex, r2, "EXTRT")
    _set(ex, r2, "EXSTDTC", _get(ex, r1, "EXSTDTC"))
    add(
        "natural key not unique",
        "FDAB021",
        "EX",
        "STUDYID/USUBJID/EXTRT/EXSTDTC",
        subj["1010"],
        [r1, r2],
    )
    ex.to_parquet(sdtm / "ex.parquet", index=False)

    rs = pd.read_parquet(sdtm / "rs.parquet")
    r = _first(rs, rs["RSLNKGRP"].notna())
    _set(rs, r, "RSLNKGRP", "IMWG-1900-01-01")  # no LB record of the subject has it
    add("RS link group without LB", "PIPE-018", "RS", "RSLNKGRP", str(_get(rs, r, "USUBJID")), [r])
    rs.drop(columns=["RSDY"]).to_parquet(sdtm / "rs.parquet", index=False)
    add("--DY missing beside --DTC", "CORE-000321", "RS", "RSDY", None, [])

    # RELREC: the RS-LB relationship (dataset level) now has an RS link group without LB
    # records (above); a second relationship names a variable LB does not have; a record-
    # level one names an AE record the subject does not have.
    relrec = pd.read_parquet(sdtm / "relrec.parquet")
    one = _first(relrec, relrec["RDOMAIN"] == "RS")
    assert _get(relrec, one, "RELTYPE") == "ONE"
    planted = pd.DataFrame(
        [
            {"RDOMAIN": "LB", "USUBJID": None, "IDVAR": "LBGRPID", "IDVARVAL": None,
             "RELTYPE": "MANY", "RELID": "RSLB2"},
            {"RDOMAIN": "AE", "USUBJID": subj["1004"], "IDVAR": "AESEQ", "IDVARVAL": "999",
             "RELTYPE": None, "RELID": "AECM1"},
        ]
    ).assign(STUDYID="POMMAINT")[relrec.columns]  # fmt: skip
    relrec = pd.concat([relrec, planted], ignore_index=True).astype(relrec.dtypes.to_dict())
    relrec.to_parquet(sdtm / "relrec.parquet", index=False)
    n = len(relrec)
    add("RELREC IDVAR does not resolve", "PIPE-019", "RELREC", "IDVAR", None, [one, n - 2])
    add("RELREC IDVARVAL names no record", "PIPE-019", "RELREC", "IDVARVAL", subj["1004"],
        [n - 1])  # fmt: skip

    ts = pd.read_parquet(sdtm / "ts.parquet")
    ts = ts[~ts["TSPARMCD"].isin(["SSTDTC", "SDTIGVER"])].reset_index(drop=True)
    r = _first(ts, ts["TSPARMCD"] == "NARMS")
    _set(ts, r, "TSVAL", "3")
    add("TS NARMS not TA's arms", "PIPE-013", "TS", "TSVAL", None, [r])
    r = _first(ts, ts["TSPARMCD"] == "TPHASE")
    _set(ts, r, "TSPARM", "Trial Phase")
    add("TSPARM not the decode of TSPARMCD", "CT2003", "TS", "TSPARM", None, [r])
    r = _first(ts, ts["TSPARMCD"] == "TBLIND")
    _set(ts, r, "TSVAL", "HALF BLIND")  # TSVALCD stays OPEN LABEL's C49659
    add("TS value outside its parameter's codelist", "CT2002", "TS", "TSVAL", None, [r])
    add("TSVALCD not the CT code of TSVAL", "PIPE-015", "TS", "TSVALCD", None, [r])
    r = _first(ts, ts["TSPARMCD"] == "SPONSOR")
    _set(ts, r, "TSVAL", None)
    add("TSVAL null without a null flavour", "PIPE-014", "TS", "TSVAL", None, [r])
    r = _first(ts, ts["TSVALNF"].notna())
    _set(ts, r, "TSVAL", "NCT00000000")
    add("TSVAL beside a null flavour", "PIPE-014", "TS", "TSVALNF", None, [r])
    ts.to_parquet(sdtm / "ts.parquet", index=False)
    add("TS without SSTDTC", "SD2232", "TS", "TSPARMCD", None, [])

    # An element more in an arm, at a place no subject's SE record names: only TA's own check.
    ta = pd.read_parquet(sdtm / "ta.parquet")
    ta = pd.concat([ta, ta.iloc[[0]].assign(TAETORD=99, ETCD="XXX")], ignore_index=True)
    add("TA element not in TE", "PIPE-016", "TA", "ETCD", None, [len(ta) - 1])
    ta.to_parquet(sdtm / "ta.parquet", index=False)

    ie = pd.read_parquet(sdtm / "ie.parquet")
    _set(ie, 0, "IETESTCD", "EXCL99")
    add("IE criterion not in TI", "PIPE-017", "IE", "IETESTCD", str(_get(ie, 0, "USUBJID")), [0])
    ie.to_parquet(sdtm / "ie.parquet", index=False)
    add("TS without SDTIGVER", "PIPE-008", "TS", "TSPARMCD", None, [])

    def long_label(data: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
        labels["AGE"] = "Age of the Subject at Informed Consent, in Years"  # 48 characters
        return data

    _rewrite_xpt(sdtm / "dm.xpt", long_label)
    add("variable label over 40", "CORE-000019", "DM", "AGE", None, [])

    def rename(data: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
        labels["LONGNAME9"] = "A Variable With a Long Name"
        return data.drop(columns=["CMTRT"]).assign(LONGNAME9="x")

    _rewrite_xpt(sdtm / "cm.xpt", rename)
    add("Required variable missing", "SD0056", "CM", "CMTRT", None, [])
    add("variable name over 8", "CORE-000182", "CM", "LONGNAME9", None, [])
    add("variable not in define.xml", "SD0060", "CM", "LONGNAME9", None, [])
    add("define.xml variable not in the data", "SD0054", "CM", "CMTRT", None, [])

    define = sdtm / "define.xml"
    text = define.read_text(encoding="utf-8")
    text, n = re.subn(r'(<ItemDef OID="IT\.AE\.AETERM"[^>]*Length=")\d+', r"\g<1>199", text)
    assert n == 1
    define.write_text(text, encoding="utf-8")
    add("define.xml length differs", "PIPE-004", "AE", "AETERM", None, [])

    for path in sdtm.glob("supprs.*"):
        path.unlink()
    add("define.xml dataset without a file", "SD0061", "SUPPRS", "", None, [])

    (sdtm / "ss.parquet").write_bytes(b"not a parquet file")
    add("unreadable file", "PIPE-010", "SS", "", None, [])

    adsl = pd.read_parquet(adam / "adsl.parquet")
    pd.concat([adsl, adsl.head(1)], ignore_index=True).to_parquet(adam / "adsl.parquet")
    add(
        "ADSL not one record per subject",
        "AD0054",
        "ADSL",
        "USUBJID",
        str(_get(adsl, 0, "USUBJID")),
        [0, len(adsl)],
    )

    tte = pd.read_parquet(adam / "adtte.parquet")
    _set(tte, 0, "CNSR", 0.5)
    add("CNSR not an integer", "AD0169", "ADTTE", "CNSR", str(_get(tte, 0, "USUBJID")), [0])
    _set(tte, 1, "AVAL", _get(tte, 1, "AVAL") + 1)
    add(
        "AVAL is not ADT - STARTDT + 1",
        "PIPE-009",
        "ADTTE",
        "AVAL",
        str(_get(tte, 1, "USUBJID")),
        [1],
    )
    _set(tte, 2, "ADT", _get(tte, 2, "STARTDT") - pd.Timedelta(days=10))
    _set(tte, 2, "AVAL", -9.0)  # consistent with the dates: only the order is wrong
    add("event before the origin", "PIPE-011", "ADTTE", "ADT", str(_get(tte, 2, "USUBJID")), [2])
    tte.to_parquet(adam / "adtte.parquet", index=False)

    adae = pd.read_parquet(adam / "adae.parquet")
    _set(adae, 3, "USUBJID", "POMMAINT-01-9999")
    add("ADaM subject not in DM", "AD0053", "ADAE", "USUBJID", "POMMAINT-01-9999", [3])
    adae.to_parquet(adam / "adae.parquet", index=False)
    return expect


@pytest.fixture(scope="module")
def planted(
    adam_published: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[ConformanceResult, dict[str, Expect]]:
    run = _copy_run(adam_published, tmp_path_factory.mktemp("planted") / "run")
    expect = _plant(run)
    return check_run(run), expect


PLANTED = [
    "duplicate AESEQ", "subject not in DM", "value outside a non-extensible codelist",
    "fatal AE ends after death", "AE ends after the end of participation",
    "lab sample after the end of participation", "fatal AE of a living subject (AEOUT)",
    "fatal AE of a living subject (AESDTH)", "recovered AE without end date",
    "ongoing AE with end date", "AESTDY off by one", "non-ASCII character",
    "value over 200 bytes", "Required value null", "--DTC not ISO 8601",
    "LBSTRESN differs from LBSTRESC", "EPOCH not an epoch of the study", "study day 0",
    "natural key not unique", "--DY missing beside --DTC", "TS without SSTDTC", "TS without SDTIGVER",
    "variable label over 40", "Required variable missing", "variable name over 8",
    "variable not in define.xml", "define.xml variable not in the data",
    "define.xml length differs", "define.xml dataset without a file", "unreadable file",
    "ADSL not one record per subject", "CNSR not an integer", "AVAL is not ADT - STARTDT + 1",
    "event before the origin", "ADaM subject not in DM", "EPOCH not the subject's SE element's",
    "visit not in SV", "VISIT not TV's", "SE element not in TE", "SE element not in TA",
    "SV planned visit not in TV", "SV planned study day not TV's",
    "SV unplanned visit with a VISITDY", "actual arm not in TA", "TS NARMS not TA's arms",
    "TSPARM not the decode of TSPARMCD", "TS value outside its parameter's codelist",
    "TSVALCD not the CT code of TSVAL", "TSVAL null without a null flavour",
    "TSVAL beside a null flavour", "TA element not in TE", "IE criterion not in TI",
    "RS link group without LB", "RELREC IDVAR does not resolve",
    "RELREC IDVARVAL names no record",
]  # fmt: skip


@pytest.mark.parametrize("defect", PLANTED)
def test_planted_defect_is_caught(
    planted: tuple[ConformanceResult, dict[str, Expect]], defect: str
) -> None:
    result, expect = planted
    e = expect[defect]
    f = result.findings
    hits = f[(f["rule_id"] == e.rule) & (f["dataset"] == e.dataset)]
    if e.variable:
        hits = hits[hits["variable"] == e.variable]
    assert len(hits), f"{defect}: no {e.rule} finding on {e.dataset}.{e.variable}"
    assert (hits["severity"] == RULES[e.rule].severity).all()
    if e.rows:
        assert set(hits["row"].dropna().astype(int)) == set(e.rows), hits
        if e.subject is None:  # a record of no subject (TS)
            assert hits["USUBJID"].isna().all(), hits
        else:
            assert set(hits["USUBJID"]) == {e.subject}, hits
    else:
        assert hits["row"].isna().all()


def test_every_planted_defect_is_listed_in_the_test() -> None:
    """The parametrisation covers every planted defect (a planted one cannot go untested)."""
    assert len(PLANTED) == len(set(PLANTED))


def test_planted_findings_block_and_are_explained(
    planted: tuple[ConformanceResult, dict[str, Expect]],
) -> None:
    result, expect = planted
    assert set(expect) == set(PLANTED)
    assert result.blocking > 0 and not result.passed
    assert result.blocking == int(result.findings["severity"].isin(list(BLOCKING)).sum())
    assert result.counts["Reject"] >= 3  # SD0002, SD0064, SD0056, SD2232
    text = result.describe(limit=5)
    assert text.count("\n") == 5 and "more in" in text
    # Findings keep their subject and --SEQ: the duplicate AESEQ rows carry the shared value.
    dup = _hits(result, "SD0005", "AE", "AESEQ")
    assert dup["SEQ"].nunique() == 1 and dup["SEQ"].notna().all()


def test_blocking_findings_stop_the_pipeline_stage(
    planted: tuple[ConformanceResult, dict[str, Expect]],
) -> None:
    """The pipeline's conformance stage raises on the planted run (so publish never runs)
    and records why in the run's failure.json."""
    from transforms.errors import PipelineError
    from transforms.jobs.sdtm import check_conformance
    from transforms.store import RunFolder

    run = RunFolder(planted[0].csv.parent.parent)
    with pytest.raises(PipelineError, match=r"conformance\.csv: \d+ conformance finding") as exc:
        check_conformance(run)
    assert "SD0002" in str(exc.value) or "SD0064" in str(exc.value)
    failure = json.loads(run.failure.read_text(encoding="utf-8"))
    assert failure["stage"] == "conformance" and failure["error"] == "PipelineError"


def test_sdtm_findings_taken_over_equal_a_full_check(
    planted: tuple[ConformanceResult, dict[str, Expect]], tmp_path: Path
) -> None:
    """An ADaM run takes over the SDTM run's findings (same hard-linked SDTM) instead of
    checking the SDTM again: the report must be the one a full check gives."""
    full, _ = planted
    run = full.csv.parent.parent
    sdtm_only = tmp_path / "sdtm_run"
    (sdtm_only / "reports").mkdir(parents=True)
    shutil.copytree(run / "sdtm", sdtm_only / "sdtm")
    shutil.copytree(run / "raw", sdtm_only / "raw")
    sdtm_report = check_run(sdtm_only).csv
    assert len(pd.read_csv(sdtm_report)) > 20  # the planted SDTM defects
    taken_over = check_run(run, sdtm_checked=sdtm_report)
    # A message quoting a file's path names the SDTM run's copy (a hard link in real runs).
    message = taken_over.findings["message"].str.replace(str(sdtm_only), str(run), regex=False)
    pd.testing.assert_frame_equal(taken_over.findings.assign(message=message), full.findings)
    assert taken_over.counts == full.counts


# Per night: the rows of a frame, and the SDTM and ADaM datasets then checked in more than
# one frame (groups of whole subjects), with how many.
FRAMES = {
    "planted": (400, {"LB": 14, "RS": 2, "VS": 4, "ADLB": 8, "ADRS": 3}),  # POMMAINT, 15 subjects
    "pilot_run": (2000, {"SV": 2, "VS": 15}),  # CDISCPILOT01, 306 subjects
}


@pytest.mark.parametrize("night", list(FRAMES))
def test_datasets_checked_a_group_of_subjects_at_a_time_give_the_same_report(
    night: str, request: pytest.FixtureRequest, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A large dataset is checked a frame (a group of whole subjects) at a time, its
    duplicate keys and --SEQ per frame: with frames small enough to split the samples'
    datasets, the findings, the CSV, the HTML and the workbook are those of one pass."""
    from transforms.conformance.findings import Findings
    from transforms.conformance.load import datasets
    from transforms.jobs.kit import FRAME_ROWS_ENV

    published = request.getfixturevalue(night)
    if night == "planted":
        published = published[0].csv.parent.parent
    run = _copy_run(published, tmp_path / "run")
    whole = check_run(run)
    reports = [whole.csv, whole.html, run / "reports" / "findings.xlsx"]
    before = [path.read_bytes() for path in reports]
    rows, split = FRAMES[night]
    monkeypatch.setenv(FRAME_ROWS_ENV, str(rows))
    frames = {
        ds.name: count
        for standard in ("sdtm", "adam")
        for ds in datasets(run / standard, standard.upper(), Findings())
        if (count := sum(1 for _ in ds.frames())) > 1
    }
    assert frames == split
    framed = check_run(run)
    pd.testing.assert_frame_equal(framed.findings, whole.findings)
    assert [path.read_bytes() for path in reports] == before


def test_html_escapes_values_and_lists_findings(
    planted: tuple[ConformanceResult, dict[str, Expect]],
) -> None:
    result, _ = planted
    page = result.html.read_text(encoding="utf-8")
    assert "&lt;b&gt;maculo-papulaire&lt;/b&gt;" in page
    assert "<b>maculo" not in page
    assert "not fit to publish" in page
    assert '<h3 id="SD0005">' in page and '<h3 id="PIPE-005">' in page


def test_define_and_fatal_ae_messages_name_the_values(
    planted: tuple[ConformanceResult, dict[str, Expect]],
) -> None:
    result, expect = planted
    length = _hits(result, "PIPE-004", "AE", "AETERM")
    assert length["message"].str.contains("Length 199").all()
    fatal = _hits(result, "PIPE-005", "AE", "AEENDTC")
    assert fatal["message"].str.contains("after DM.DTHDTC").all()
    aval = _hits(result, "PIPE-009", "ADTTE", "AVAL")
    assert aval["message"].str.contains(r"\+ 1 =").all()
    early = _hits(result, "PIPE-011", "ADTTE", "ADT")
    assert early["message"].str.fullmatch(r"ADT \S+ is before STARTDT \S+").all()
    assert expect["variable label over 40"].dataset == "DM"


# --- the date helpers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2003-12-15", True), ("2003-12", True), ("2003", True), ("2003---15", True),
        ("--12-15", True), ("-----T07:15", True), ("2003-12-15T13:14:15.5", True),
        ("2003-12-15T-:15", True), ("2003-12-01/2003-12-10", True),
        ("2003-13-01", False), ("2023-02-30", False), ("2003-12-15T", False),
        ("2003-", False), ("15 JAN 2003", False), ("2003-12-15T25:00", False),
        ("2003-1-5", False), (" 2003", False), ("2003/2004/2005", False),
    ],
)  # fmt: skip
def test_iso8601(value: str, ok: bool) -> None:
    assert bool(valid_iso8601(pd.Series([value], dtype="string")).iloc[0]) is ok


def test_study_day_has_no_day_zero_and_compares_at_common_precision() -> None:
    days = study_day(
        pd.Series(["2024-01-05", "2024-01-01", "2023-12-31", "2024-01"]),
        pd.Series(["2024-01-01"] * 4),
    )
    assert days.tolist()[:3] == [5.0, 1.0, -1.0] and pd.isna(days.iloc[3])
    later = after(
        pd.Series(["2026-02", "2026-01-16", "2026-01", None]), pd.Series(["2026-01-16"] * 4)
    )
    assert later.tolist() == [True, False, False, False]


# --- the Pinnacle 21 style workbook ----------------------------------------------------------


def _sheet_rows(path: Path, sheet: str) -> list[tuple[Any, ...]]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    return [tuple(row) for row in book[sheet].iter_rows(values_only=True)]


def test_workbook_lists_the_planted_findings(
    planted: tuple[ConformanceResult, dict[str, Expect]],
) -> None:
    import openpyxl

    result, _ = planted
    path = result.csv.parent / "findings.xlsx"
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Dataset Summary", "Issue Summary", "Details", "Rules"]
    for sheet in book.worksheets:  # header frozen, filter over every column and row
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}" + (
            f"{max(sheet.max_row, 2)}"
        ), sheet.title
    assert book.properties.creator == "cdisc-pipeline"
    assert book.properties.created == datetime(2026, 11, 23, 2, 0)  # the export's time

    details = _sheet_rows(path, "Details")
    assert details[0][:9] == ("Dataset", "Rule", "Severity", "Record", "Subject", "Seq",
                              "Variables", "Values", "Message")  # fmt: skip
    assert len(details) - 1 == len(result.findings)
    dup = _hits(result, "SD0005", "AE", "AESEQ").iloc[0]
    row = next(r for r in details if r[1] == "SD0005" and r[3] == int(dup["row"]))
    assert row[:7] == (
        "AE",
        "SD0005",
        "Error",
        int(dup["row"]),
        dup["USUBJID"],
        dup["SEQ"],
        "AESEQ",
    )
    assert row[9] == "conformance"

    summary = {r[0]: r for r in _sheet_rows(path, "Dataset Summary")[1:]}
    f = result.findings
    ae = f[f["dataset"] == "AE"]
    assert summary["AE"][1] == len(pd.read_parquet(path.parents[1] / "sdtm" / "ae.parquet"))
    assert summary["AE"][2:6] == tuple(int((ae["severity"] == s).sum()) for s in SEVERITIES)
    assert summary["AE"][6] == len(ae)

    issues = _sheet_rows(path, "Issue Summary")
    sd0005 = next(r for r in issues if r[1:3] == ("AE", "SD0005"))
    assert sd0005 == ("conformance", "AE", "SD0005", "Error", RULES["SD0005"].description,
                      int(((f["rule_id"] == "SD0005") & (f["dataset"] == "AE")).sum()))  # fmt: skip
    assert [r[3] for r in issues[1:]] == sorted(
        (r[3] for r in issues[1:]), key=list(SEVERITIES).index
    )  # Reject first
    rules = {r[0]: r for r in _sheet_rows(path, "Rules")[1:]}
    assert set(RULES) <= set(rules)
    assert rules["SD0005"][2:4] == ("Error", RULES["SD0005"].description)


def test_workbook_holds_quality_findings_as_text_and_is_reproducible(tmp_path: Path) -> None:
    from datetime import datetime as dt

    from transforms import listing
    from transforms.conformance.workbook import write_workbook

    conformance = listing.conform(
        pd.DataFrame([{"source": "conformance", "severity": "Warning", "rule": "CT2002",
                       "dataset": "DS", "row": 3, "seq": "3", "subject": "01-701-1015",
                       "variable": "DSDECOD", "value": "FINAL LAB VISIT", "message": "m"}])
    )  # fmt: skip
    quality = listing.conform(
        pd.DataFrame([{"source": "sdtm-gate", "severity": "warning", "rule": "KEY",
                       "dataset": "AE", "row": 7, "subject": "01-701-1023",
                       "value": "=HYPERLINK(1)", "message": "duplicate key"}])
    )  # fmt: skip
    created = dt(2026, 1, 2, 3, 4, 5)
    first = write_workbook(tmp_path / "a.xlsx", conformance, quality, {"DM": 306, "DS": 850},
                           created=created, title="t")  # fmt: skip
    again = write_workbook(tmp_path / "b.xlsx", conformance, quality, {"DM": 306, "DS": 850},
                           created=created, title="t")  # fmt: skip
    assert first.read_bytes() == again.read_bytes()
    assert _sheet_rows(first, "Dataset Summary")[1:] == [
        ("DM", 306, 0, 0, 0, 0, 0), ("DS", 850, 0, 0, 1, 0, 1), ("AE", None, 0, 0, 1, 0, 1),
    ]  # fmt: skip
    details = _sheet_rows(first, "Details")
    assert details[2][:8] == ("AE", "KEY", "warning", 7, "01-701-1023", None, None,
                              "=HYPERLINK(1)")  # a value, never a formula  # fmt: skip
    issues = _sheet_rows(first, "Issue Summary")[1:]
    assert issues == [
        ("conformance", "DS", "CT2002", "Warning", RULES["CT2002"].description, 1),
        ("sdtm-gate", "AE", "KEY", "Warning", "duplicate key", 1),
    ]
    rules = {r[0]: r for r in _sheet_rows(first, "Rules")[1:]}
    assert rules["KEY"] == ("KEY", "sdtm-gate", "Warning", "duplicate key", None, 1)
    assert rules["CT2002"][5] == 1

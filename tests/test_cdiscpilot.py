"""CDISCPILOT01 onboarded by specs alone, and compared with the SDTM published for it.

The raw export (pharmaverseraw) and the published SDTM (pharmaversesdtm) are fixture
copies made by ``scripts/copy_reference_fixtures.py``. The first half tests the vocabulary
this study added (usable by any study); the second runs ``cdisc run`` on the raw CSVs and
compares every published variable with ours.

The agreement stated in ``tests/fixtures/cdiscpilot01_sdtm/agreement.yaml`` (per dataset the
row counts, per variable below 100 % the records that agree and why the others do not) is
the contract: the test fails when agreement moves away from it, down (a regression) or up
(then the report is stale). ``docs/cdiscpilot01_comparison.md`` carries the same figures as
a table generated from that file; after a deliberate change, rewrite both with::

    python -m tests.test_cdiscpilot --update
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyreadstat
import pytest
import yaml

from benchmarks.celery_two import land_pilot_export
from tests.conftest import FIXTURES, ROOT, built_once, copy_study_specs, defined_documents
from transforms.issues import IssueLog
from transforms.sdtm.algorithms import Context, Scope, SpecError, parse_rule
from transforms.specs import SpecError as SpecsError
from transforms.specs import load_study

PUBLISHED = FIXTURES / "cdiscpilot01_sdtm"
AGREEMENT = PUBLISHED / "agreement.yaml"
REPORT = ROOT / "docs" / "cdiscpilot01_comparison.md"
TABLE_START, TABLE_END = "<!-- agreement table: start -->", "<!-- agreement table: end -->"

# Natural keys that pair our records with the published ones (the published define.xml's).
KEYS = {
    "DM": ["STUDYID", "USUBJID"],
    "SUPPDM": ["STUDYID", "USUBJID", "QNAM"],
    "AE": ["STUDYID", "USUBJID", "AEDECOD", "AESTDTC"],
    "DS": ["STUDYID", "USUBJID", "DSDECOD", "DSSTDTC"],
    "EX": ["STUDYID", "USUBJID", "EXTRT", "EXSTDTC"],
    "VS": ["STUDYID", "USUBJID", "VSTESTCD", "VISITNUM", "VSTPTNUM"],
}


# --- the vocabulary this study added, on small frames -----------------------------------


@dataclass
class Form:
    """One raw form and what rules over it may use."""

    frame: pd.DataFrame
    vars: dict[str, pd.Series] = field(default_factory=dict)
    issues: IssueLog = field(default_factory=IssueLog)
    datasets: dict[str, pd.DataFrame] = field(default_factory=dict)

    def scope(self, with_dm: bool = False) -> Scope:
        columns = frozenset(self.frame.columns)
        return Scope("x.yaml: XX.V", "F", columns, {"F": columns}, frozenset(self.vars),
                     None, with_dm)  # fmt: skip

    def run(self, rule: Mapping[str, Any], with_dm: bool = False) -> list[object]:
        parsed = parse_rule(rule, self.scope(with_dm))
        ctx = Context(self.frame, "F", "XX", "V", {"F": self.frame}, self.vars, {}, self.issues,
                      datasets=self.datasets)  # fmt: skip
        return [None if pd.isna(v) else v for v in parsed.evaluate(ctx)]


def _form(**columns: list[str | None]) -> Form:
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame(columns, dtype="string")
    frame.insert(0, "__ROW", np.arange(2, n + 2, dtype="int64"))
    return Form(frame)


def test_iso8601_reads_numeric_and_hyphenated_layouts() -> None:
    form = _form(US=["01/16/2014", "2003", "02/2014", "UN/16/2014", "13/01/2014", None],
                 DS=["01-02-2014", "12-31-2013", "02-30-2014", " ", "2014-01-02", "1-2-2014"],
                 EC=["02-Jan-2014", "16-jan-2014", "Jan-2014", "UN-JAN-2014", "02-Foo-2014",
                     "2014"])  # fmt: skip
    us = form.run({"algorithm": "iso8601", "format": "MM/DD/YYYY", "date": {"column": "US"}})
    assert us == ["2014-01-16", "2003", "2014-02", "2014---16", None, None]
    ds = form.run({"algorithm": "iso8601", "format": "MM-DD-YYYY", "date": {"column": "DS"}})
    # A complete ISO 8601 date is read as itself in every layout (what a SAS date number
    # becomes when read; no layout is ambiguous with a leading four-digit year).
    assert ds == ["2014-01-02", "2013-12-31", None, None, "2014-01-02", "2014-01-02"]
    ec = form.run({"algorithm": "iso8601", "format": "DD-MON-YYYY", "date": {"column": "EC"}})
    assert ec == ["2014-01-02", "2014-01-16", "2014-01", "2014-01", None, "2014"]
    listing = form.issues.frame()
    # A month 13, 30 February, a month "Foo": listed.
    assert listing[["row", "value"]].values.tolist() == [
        [6, "13/01/2014"], [4, "02-30-2014"], [6, "02-Foo-2014"]]  # fmt: skip
    assert set(listing["rule"]) == {"ISO8601"}


def test_iso8601_layout_with_time_and_unknown_layouts() -> None:
    form = _form(D=["07-02-2014", "07-02-2014"], T=["11:45", None])
    rule = {"algorithm": "iso8601", "format": "MM-DD-YYYY", "date": {"column": "D"},
            "time": {"column": "T"}}  # fmt: skip
    assert form.run(rule) == ["2014-07-02T11:45", "2014-07-02"]
    for fmt in ("MM/DD", "DD/DD/YYYY", "MM/DD-YYYY", "YYYY"):
        with pytest.raises(SpecError, match="unknown format"):
            form.run({"algorithm": "iso8601", "format": fmt, "date": {"column": "D"}})


def test_extract_splits_a_combined_subject_number() -> None:
    form = _form(PATNUM=["701-1015", "718-1427", "7011015", None])
    site = form.run({"algorithm": "extract", "source": {"column": "PATNUM"},
                     "pattern": r"^(\d+)-\d+$"})  # fmt: skip
    subject = form.run({"algorithm": "extract", "source": {"column": "PATNUM"},
                        "pattern": r"^\d+-(?P<value>\d+)$"})  # fmt: skip
    assert site == ["701", "718", None, None]
    assert subject == ["1015", "1427", None, None]
    assert form.issues.frame()[["row", "value", "rule"]].values.tolist() == [
        [4, "7011015", "EXTRACT"], [4, "7011015", "EXTRACT"]]  # fmt: skip
    with pytest.raises(SpecError, match="captures no group"):
        form.run({"algorithm": "extract", "source": {"column": "PATNUM"}, "pattern": r"\d+"})
    with pytest.raises(SpecError, match="is not valid"):
        form.run({"algorithm": "extract", "source": {"column": "PATNUM"}, "pattern": "("})


def test_dm_value_joined_on_a_derived_variable() -> None:
    form = _form(PATNUM=["701-1015", "701-1015", "999-0001"])
    form.vars["USUBJID"] = pd.Series(["01-701-1015", "01-701-1015", "01-999-0001"],
                                     dtype="string")  # fmt: skip
    form.datasets["DM"] = pd.DataFrame({"USUBJID": ["01-701-1015"], "SUBJID": ["1015"],
                                        "RFSTDTC": ["2014-01-02"]}, dtype="string")  # fmt: skip
    rule = {"dm": "RFSTDTC", "by": "USUBJID"}
    assert form.run(rule, with_dm=True) == ["2014-01-02", "2014-01-02", None]
    assert form.issues.frame()[["row", "rule"]].values.tolist() == [[4, "SUBJECT-NOT-IN-DM"]]
    with pytest.raises(SpecError, match="ARMCD is not derived before"):
        form.run({"dm": "RFSTDTC", "by": "ARMCD"}, with_dm=True)
    with pytest.raises(SpecError, match="needs a SUBJID column"):
        form.run({"dm": "RFSTDTC"}, with_dm=True)


def test_standardise_with_offset_and_rounding() -> None:
    form = _form(T=["TEMP", "TEMP", "WEIGHT", "HEIGHT", "PULSE", "TEMP"],
                 V=["98.6", "097.8", "146.0", "53.5", "070", None],
                 U=["F", "C", "LB", "in", "beats/min", "F"])  # fmt: skip
    units = {
        "TEMP": {"unit": "C", "from": {"F": {"factor": "5/9", "offset": "-160/9"}, "C": 1},
                 "round": 2},
        "WEIGHT": {"unit": "kg", "from": {"LB": 0.4536}, "round": 2},
        "HEIGHT": {"unit": "cm", "from": {"in": 2.54}, "round": 2},
        "PULSE": {"unit": "beats/min", "from": {"beats/min": 1}},
    }  # fmt: skip
    rule = {"algorithm": "standardise", "test": {"column": "T"}, "value": {"column": "V"},
            "unit": {"column": "U"}, "units": units}  # fmt: skip
    assert form.run({**rule, "output": "number"}) == [37.0, 97.8, 66.23, 135.89, 70.0, None]
    assert form.run({**rule, "output": "text"}) == ["37", "97.8", "66.23", "135.89", "70", None]
    assert form.run({**rule, "output": "unit"}) == ["C", "C", "kg", "cm", "beats/min", None]
    bad = {**units, "TEMP": {"unit": "C", "from": {"F": {"factor": "5/0"}}}}
    with pytest.raises(SpecError, match="not a number or a ratio"):
        form.run({**rule, "units": bad, "output": "number"})
    bad = {**units, "TEMP": {"unit": "C", "from": {"F": 1}, "round": -1}}
    with pytest.raises(SpecError, match="round must be a whole number"):
        form.run({**rule, "units": bad, "output": "number"})


def test_visit_decimal_placeholder_and_recode_default_null() -> None:
    form = _form(V=["Week 2", "Unscheduled 4.1", "Unscheduled 13", "Week x"],
                 D=["2014-01-16", "2014-01-20", "2014-07-10", "2014-07-11"])  # fmt: skip
    visit = {"algorithm": "visit", "visit": {"column": "V"}, "date": {"column": "D"},
             "planned": {"Week 2": 4, "Unscheduled {x}": "{x}"}}  # fmt: skip
    assert form.run({**visit, "output": "number"}) == [4.0, 4.1, 13.0, None]
    assert form.run({**visit, "output": "label"}) == [
        "WEEK 2", "UNSCHEDULED 4.1", "UNSCHEDULED 13", None]  # fmt: skip
    form.issues = IssueLog()
    day = {"algorithm": "recode", "source": {"column": "V"}, "map": {"Week 2": "14"},
           "default": None}  # fmt: skip
    assert form.run(day) == ["14", None, None, None]
    assert form.issues.frame().empty  # null on purpose: nothing listed
    del day["default"]
    form.run(day)
    assert len(form.issues.frame()) == 3


def test_extreme_of_sources_with_the_same_name() -> None:
    form = _form(A=["2014-01-02", None], B=["2014-03-01T10:00", "2013-01-01"])
    form.vars["X"] = pd.Series(["2014-02-01", None], dtype="string", name="same")
    form.vars["Y"] = pd.Series(["2014-01-01", None], dtype="string", name="same")
    rule = {"algorithm": "extreme", "pick": "max",
            "of": [{"var": "X"}, {"var": "Y"}, {"column": "A"}, {"column": "B"}]}  # fmt: skip
    assert form.run(rule) == ["2014-03-01T10:00", "2013-01-01"]


def _specs_copy(tmp_path: Path) -> Path:
    root = tmp_path / "specs"
    copy_study_specs(root, "CDISCPILOT01")
    return root


def test_transpose_gives_one_block_per_test() -> None:
    vs = load_study("CDISCPILOT01").datasets["VS"]
    assert [b.source for b in vs.blocks] == ["VS"] * 6
    codes = [getattr(b.rules["VSTESTCD"], "value", None) for b in vs.blocks]
    assert codes == ["SYSBP", "DIABP", "PULSE", "TEMP", "WEIGHT", "HEIGHT"]
    assert all(b.where is not None for b in vs.blocks)
    # An item's own rules override the block's: only temperature has a location.
    located = [type(b.rules["VSLOC"]).__name__ for b in vs.blocks]
    assert located == ["Hardcode"] * 3 + ["ControlledTerm"] + ["Hardcode"] * 2


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.update(code="VSXX"), "transpose: names undeclared variable(s) ['VSXX']"),
        (lambda t: t["items"].append(dict(t["items"][0])), "transpose.items[6].code: 'SYSBP' given twice"),
        (lambda t: t["items"][0].update(rules={"VSORRES": {"value": "1"}}),
         "transpose.items[0].rules: ['VSORRES'] are set by the transpose itself"),
        (lambda t: t["items"][0].update(column="NOPE"), "unknown raw column 'NOPE'"),
        (lambda t: t["items"][0].update(code="BOGUS"), "'BOGUS' is not in codelist C66741"),
        (lambda t: t.update(items=[]), "transpose.items: must be a non-empty list"),
    ],
)  # fmt: skip
def test_transpose_spec_errors(tmp_path: Path, edit: Any, message: str) -> None:
    root = _specs_copy(tmp_path)
    path = root / "CDISCPILOT01" / "sdtm" / "vs.yaml"
    spec = yaml.safe_load(path.read_text())
    edit(spec["transpose"])
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    with pytest.raises(SpecsError) as err:
        load_study.__wrapped__("CDISCPILOT01", root)
    assert message in str(err.value) and "vs.yaml" in str(err.value)


def test_a_form_without_a_natural_key_names_the_row(tmp_path: Path) -> None:
    study = load_study("CDISCPILOT01")
    assert study.forms["AE"].keys == ("__ROW",)
    root = _specs_copy(tmp_path)
    path = root / "CDISCPILOT01" / "forms.yaml"
    forms = yaml.safe_load(path.read_text())
    forms["forms"]["AE"]["keys"] = []
    path.write_text(yaml.safe_dump(forms, sort_keys=False))
    with pytest.raises(SpecsError, match=r"forms.AE.keys: none given"):
        load_study.__wrapped__("CDISCPILOT01", root)


# --- the whole study: cdisc run, then the comparison ------------------------------------


def run_pilot(root: Path) -> Path:
    """`cdisc run` on a landing folder under ``root`` holding the five raw CSVs (SDTM,
    then the ADaM study.yaml lists); the `current` folder."""
    from transforms.cli import main

    export = land_pilot_export(root / "landing")
    store = root / "store"
    args = ["-q", "run", "--study", "CDISCPILOT01", "--landing", str(export.parents[1])]
    assert main([*args, "--store", str(store)]) == 0
    return store / "CDISCPILOT01" / "current"


@pytest.fixture(scope="module")
def pilot_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pilot's published run, built once per test session (read-only)."""
    return built_once(tmp_path_factory, "cdiscpilot01", run_pilot)


def test_cdisc_run_publishes_every_domain(pilot_run: Path) -> None:
    written = sorted(p.name for p in (pilot_run / "sdtm").glob("*.xpt"))
    assert written == [
        "ae.xpt", "dm.xpt", "ds.xpt", "ex.xpt", "se.xpt", "suppdm.xpt", "sv.xpt", "ta.xpt",
        "te.xpt", "ti.xpt", "ts.xpt", "tv.xpt", "vs.xpt",
    ]  # fmt: skip
    reconciliation = pd.read_csv(pilot_run / "reports" / "reconciliation.csv")
    assert (reconciliation["unaccounted"] == 0).all()
    assert reconciliation.set_index("form")["records_in"].to_dict() == {
        "dm_raw.csv": 306, "ae_raw.csv": 1191, "ds_raw.csv": 850, "ec_raw.csv": 591,
        "vs_raw.csv": 12978}  # fmt: skip
    # Every field of the export is accounted for (issue 17): 87 columns, the 17 not
    # submitted with study.yaml's reasons.
    fields = pd.read_csv(pilot_run / "reports" / "reconciliation_fields.csv", dtype=str)
    assert fields.groupby("file").size().to_dict() == {
        "ae_raw.csv": 32, "dm_raw.csv": 13, "ds_raw.csv": 13, "ec_raw.csv": 14,
        "vs_raw.csv": 15}  # fmt: skip
    assert fields["status"].value_counts().to_dict() == {"mapped": 70, "not_submitted": 17}
    row = {(r["form"], r["field"]): r for r in fields.astype(str).to_dict("records")}
    assert [row["DM", "PLANNED_ARMCD"][c] for c in ("targets", "used_in")] == [
        "DM.ARMCD", "DM.ARMNRS"]  # fmt: skip
    assert row["DM", "PLANNED_ARM"]["reason"].startswith("the EDC's name of PLANNED_ARMCD")
    for name in ("dm", "ae", "ds", "ex", "vs"):
        issues = pd.read_csv(pilot_run / "reports" / f"issues_{name}.csv")
        assert not (issues["severity"] == "error").any(), name
    # TS from the spec alone: a submission without it is rejected (FDA criterion 1734).
    ts = pd.read_parquet(pilot_run / "sdtm" / "ts.parquet").set_index("TSPARMCD")
    dm = pd.read_parquet(pilot_run / "sdtm" / "dm.parquet")
    assert ts.loc["SSTDTC", "TSVAL"] == dm["RFICDTC"].min() == "2012-07-02"
    assert ts.loc["ACTSUB", "TSVAL"] == "306" and ts.loc["TPHASE", "TSVALCD"] == "C15601"
    # The indication in SNOMED CT (26929004 |Alzheimer's disease|); the model's version.
    assert list(ts.loc["INDIC", ["TSVAL", "TSVALCD", "TSVCDREF"]]) == [
        "Alzheimer's disease", "26929004", "SNOMED"]  # fmt: skip
    assert list(ts.loc["SDTMVER", ["TSVAL", "TSVALCD"]]) == ["2.0", "C189639"]
    # No export.json, so no data cutoff: the parameter is kept with a null flavour.
    assert ts.loc[["DCUTDTC"], "TSVAL"].isna().all() and ts.loc["DCUTDTC", "TSVALNF"] == "UNK"
    assert ts.loc["SSTDTC", ["TSVALNF"]].isna().all()
    conformance = pd.read_csv(pilot_run / "reports" / "conformance.csv", dtype=str)
    assert set(conformance["severity"]) == {"Warning"}


def _subject(pilot_run: Path, name: str, usubjid: str) -> list[dict[str, object]]:
    data = pd.read_parquet(pilot_run / "sdtm" / f"{name}.parquet")
    rows = data[data["USUBJID"] == usubjid].drop(columns=["STUDYID", "DOMAIN", "USUBJID"])
    return [
        {str(k): (None if pd.isna(v) else v) for k, v in r.items()} for r in rows.to_dict("records")
    ]


def test_the_submission_a_reviewer_opens(pilot_run: Path) -> None:
    """Issue 20 for the second study: the eCTD module 5 folders hold exactly the XPT files,
    define.xml, its stylesheet and the documents, listed with their SHA-256; each define.xml
    names its documents (def:leaf beside it) and renders with the stylesheet; the findings
    workbook has the Pinnacle 21 sheets with filters and frozen headers; the conformance
    report has no Reject or Error finding (issue 17.8)."""
    import csv

    import openpyxl
    from lxml import html

    from transforms.define import render_stylesheet
    from transforms.extract.exports import sha256_file

    study = pilot_run / "submission" / "m5" / "datasets" / "cdiscpilot01"
    folders = {"sdtm": study / "tabulations" / "sdtm",
               "adam": study / "analysis" / "adam" / "datasets"}  # fmt: skip
    documents = {"sdtm": ["acrf.pdf", "csdrg.pdf"], "adam": ["adrg.pdf"]}
    for layer, folder in folders.items():
        xpts = sorted(p.name for p in (pilot_run / layer).glob("*.xpt"))
        assert xpts and sorted(p.name for p in folder.iterdir()) == sorted(
            [*xpts, "define.xml", "define.xsl", *documents[layer]]
        )
    with (pilot_run / "reports" / "submission_manifest.csv").open(encoding="utf-8") as fh:
        rows = {r["file"]: r["sha256"] for r in csv.DictReader(fh)}
    files = [p for p in (pilot_run / "submission").rglob("*") if p.is_file()]
    assert rows == {p.relative_to(pilot_run / "submission").as_posix(): sha256_file(p)
                    for p in files}  # fmt: skip
    sdtm = {"LF.ACRF": "acrf.pdf", "LF.CSDRG": "csdrg.pdf"}
    assert defined_documents(pilot_run) == {
        "sdtm/define.xml": sdtm, "adam/define.xml": {"LF.ADRG": "adrg.pdf"},
        "submission/m5/datasets/cdiscpilot01/tabulations/sdtm/define.xml": sdtm,
        "submission/m5/datasets/cdiscpilot01/analysis/adam/datasets/define.xml":
            {"LF.ADRG": "adrg.pdf"},
    }  # fmt: skip
    page = html.fromstring(render_stylesheet(folders["sdtm"] / "define.xml"))
    assert [a.get("href") for a in page.xpath("//tr[@id='LF.CSDRG']//a")] == ["csdrg.pdf"]
    assert page.xpath("//h2[starts-with(., 'DM:')]") and page.xpath("//h2[starts-with(., 'TS:')]")
    book = openpyxl.load_workbook(pilot_run / "reports" / "findings.xlsx")
    assert book.sheetnames == ["Dataset Summary", "Issue Summary", "Details", "Rules"]
    assert all(s.freeze_panes == "A2" and s.auto_filter.ref for s in book.worksheets)
    conformance = pd.read_csv(pilot_run / "reports" / "conformance.csv", dtype=str)
    assert not conformance["severity"].isin(["Reject", "Error"]).any()


def test_subject_elements_follow_the_titration_of_the_high_dose(pilot_run: Path) -> None:
    # 701-1028, Xan_Hi (dm_raw PLANNED_ARMCD). Screening from the first vital signs,
    # 11-Jul-2013 (vs_raw Screening 1), before consent on 07/12/2013 (dm_raw IC_DT); ec_raw:
    # the Baseline patches from 19-Jul-2013 start the treatment epoch (HIS, 54 mg), the
    # Week 2 ones from 02-Aug-2013 HIM (81 mg), the Week 24 ones from 07-Jan-2014 HIE (54
    # mg); the study ended at the Week 26 visit (ds_raw "Protocol Completed" 01-14-2014), so
    # follow-up would begin on the 15th, after the end of participation (RFPENDTC, the final
    # lab visit 01-14-2014 11:10): not entered.
    def element(seq: float, etcd: str, name: str, epoch: str, start: str, end: str,
                days: tuple[float, float]) -> dict[str, object]:  # fmt: skip
        return {"SESEQ": seq, "ETCD": etcd, "ELEMENT": name, "TAETORD": seq, "EPOCH": epoch,
                "SESTDTC": start, "SEENDTC": end, "SESTDY": days[0], "SEENDY": days[1]}  # fmt: skip

    assert _subject(pilot_run, "se", "01-701-1028") == [
        element(1, "SCRN", "Screen", "SCREENING", "2013-07-11", "2013-07-19", (-8, 1)),
        element(2, "HIS", "High_Start", "TREATMENT", "2013-07-19", "2013-08-02", (1, 15)),
        element(3, "HIM", "High_Middle", "TREATMENT", "2013-08-02", "2014-01-07", (15, 173)),
        element(4, "HIE", "High_End", "TREATMENT", "2014-01-07", "2014-01-14T11:10", (173, 180)),
    ]  # fmt: skip
    # 701-1023, Pbo: discontinued for an adverse event at the Week 4 visit (ds_raw
    # 09-02-2012), followed up to the final retrieval visit (ds_raw 02-18-2013).
    se = _subject(pilot_run, "se", "01-701-1023")
    assert [(r["ETCD"], r["SESTDTC"], r["SEENDTC"]) for r in se] == [
        ("SCRN", "2012-07-22", "2012-08-05"), ("PBO", "2012-08-05", "2012-09-02"),
        ("FOLO", "2012-09-02", "2013-02-18"),
    ]  # fmt: skip
    # 701-1057, a screen failure without consent date or vital signs: no arm, so only the
    # element every arm opens with, from its disposition record (ds_raw 12-20-2013).
    assert _subject(pilot_run, "se", "01-701-1057") == [
        {"SESEQ": 1, "ETCD": "SCRN", "ELEMENT": "Screen", "TAETORD": 1, "EPOCH": "SCREENING",
         "SESTDTC": "2013-12-20", "SEENDTC": "2013-12-20", "SESTDY": None, "SEENDY": None},
    ]  # fmt: skip


def test_subject_visits_span_the_dates_of_their_records(pilot_run: Path) -> None:
    # 701-1028: one visit per vs_raw INSTANCE, on its VTLD; the Week 2 and Week 24 patches
    # (ec_raw) started the day after the visit's vital signs, so those visits end then.
    visits = _subject(pilot_run, "sv", "01-701-1028")
    assert [(v["VISITNUM"], v["VISIT"], v["VISITDY"], v["SVSTDTC"], v["SVENDTC"])
            for v in visits] == [
        (1, "SCREENING 1", -7, "2013-07-11", "2013-07-11"),
        (2, "SCREENING 2", -1, "2013-07-17", "2013-07-17"),
        (3, "BASELINE", 1, "2013-07-19", "2013-07-19"),
        (3.5, "AMBUL ECG PLACEMENT", 13, "2013-07-31", "2013-07-31"),
        (4, "WEEK 2", 14, "2013-08-01", "2013-08-02"),
        (5, "WEEK 4", 28, "2013-08-14", "2013-08-14"),
        (6, "AMBUL ECG REMOVAL", 30, "2013-08-16", "2013-08-16"),
        (7, "WEEK 6", 42, "2013-08-29", "2013-08-29"),
        (8, "WEEK 8", 56, "2013-09-10", "2013-09-10"),
        (9, "WEEK 12", 84, "2013-10-09", "2013-10-09"),
        (10, "WEEK 16", 112, "2013-11-06", "2013-11-06"),
        (11, "WEEK 20", 140, "2013-12-04", "2013-12-04"),
        (12, "WEEK 24", 168, "2014-01-06", "2014-01-07"),
        (13, "WEEK 26", 182, "2014-01-14", "2014-01-14"),
    ]  # fmt: skip
    assert {(v["SVPRESP"], v["SVOCCUR"], v["SVUPDES"]) for v in visits} == {("Y", "Y", None)}
    # An unscheduled visit is numbered by its name and described by the design.
    sv = pd.read_parquet(pilot_run / "sdtm" / "sv.parquet")
    unplanned = sv[sv["SVUPDES"].notna()]
    assert len(unplanned) and set(unplanned["SVUPDES"]) == {"Unscheduled visit"}
    assert unplanned["VISIT"].str.fullmatch(r"UNSCHEDULED \d+\.\d+").all()
    assert unplanned[["VISITDY", "SVPRESP", "SVOCCUR"]].isna().all().all()


def test_the_nightly_dag_of_the_study_needs_no_code() -> None:
    from transforms.studies import list_studies

    pilot = next(s for s in list_studies() if s.id == "CDISCPILOT01")
    assert pilot.sdtm == ("DM", "AE", "DS", "EX", "VS", "TS", "TA", "TE", "TV", "TI", "SE", "SV")
    assert pilot.adam == ("ADSL", "ADAE", "ADTTE")
    assert pilot.endpoints is not None and pilot.endpoints.datasets == ("ADSL", "ADTTE", "ADAE")


def test_a_subject_traced_from_raw_to_sdtm(pilot_run: Path) -> None:
    # dm_raw: 701-1015, 63, Female, Hispanic or Latino, White, Placebo, COL_DT 12/26/2013,
    # IC_DT 12/26/2013; ec_raw: 02-Jan-2014 .. 02-Jul-2014; ds_raw: "Protocol Completed"
    # 07-02-2014, "Final Lab Visit" 07-02-2014 11:45; vs_raw Baseline 02-Jan-2014 supine
    # 131/64 ... and a temperature of 97.2 F in the oral cavity.
    dm = read_xpt(pilot_run / "sdtm" / "dm.xpt").set_index("USUBJID")
    subject = dm.loc["01-701-1015"]
    assert [subject[c] for c in ("SITEID", "SUBJID", "AGE", "SEX", "ETHNIC", "RACE", "ARMCD",
                                 "ARM")] == [
        "701", "1015", 63.0, "F", "HISPANIC OR LATINO", "WHITE", "Pbo", "Placebo"]  # fmt: skip
    assert [subject[c] for c in ("RFSTDTC", "RFXENDTC", "RFENDTC", "RFICDTC", "RFPENDTC",
                                 "DMDY")] == [
        "2014-01-02", "2014-07-02", "2014-07-02", "2013-12-26", "2014-07-02T11:45", -7.0]  # fmt: skip
    vs = read_xpt(pilot_run / "sdtm" / "vs.xpt")
    temp = vs[(vs["USUBJID"] == "01-701-1015") & (vs["VSTESTCD"] == "TEMP")
              & (vs["VISIT"] == "BASELINE")].iloc[0]  # fmt: skip
    assert temp[["VSORRES", "VSORRESU", "VSSTRESC", "VSSTRESN", "VSSTRESU", "VSLOC",
                 "VSLOBXFL", "VSDY"]].tolist() == [
        "97.2", "F", "36.22", 36.22, "C", "ORAL CAVITY", "Y", 1.0]  # fmt: skip


def test_epoch_of_every_observation(pilot_run: Path) -> None:
    # 701-1015: consent and Screening 1 on 26 DEC 2013 (dm_raw IC_DT, vs_raw), first patch
    # 02 JAN 2014 (ec_raw, also the randomisation date in ds_raw), diarrhoea from 01/09/2014.
    # 701-1057, a screen failure: no consent date in the export, demographics collected at
    # Screening 1 on 12/20/2013, screen failure that day. 701-1111: an AE from 07/08/2012,
    # weeks before its first screening contact (08/25/2012): before the study, no epoch.
    def epochs(name: str, usubjid: str, by: str) -> dict[str, str | None]:
        data = read_xpt(pilot_run / "sdtm" / f"{name}.xpt")
        rows = data[data["USUBJID"] == usubjid]
        pairs = zip(rows[by], rows["EPOCH"], strict=True)
        return {str(k): (None if pd.isna(v) else v) for k, v in pairs}

    vs = read_xpt(pilot_run / "sdtm" / "vs.xpt")
    vs = vs[vs["USUBJID"] == "01-701-1015"]
    first = vs[vs["VISIT"] == "SCREENING 1"]
    assert set(first["VSDTC"]) == {"2013-12-26"} and set(first["EPOCH"]) == {"SCREENING"}
    assert set(vs.loc[vs["VSDTC"] >= "2014-01-02", "EPOCH"]) == {"TREATMENT"}
    assert epochs("ae", "01-701-1015", "AEDECOD")["DIARRHOEA"] == "TREATMENT"
    assert epochs("ds", "01-701-1015", "DSDECOD")["RANDOMIZED"] == "TREATMENT"
    assert set(epochs("ex", "01-701-1015", "EXSTDTC").values()) == {"TREATMENT"}
    assert epochs("ds", "01-701-1057", "DSDECOD") == {"SCREEN FAILURE": "SCREENING"}
    assert epochs("ae", "01-701-1111", "AESTDTC")["2012-07-08"] is None
    conformance = pd.read_csv(pilot_run / "reports" / "conformance.csv", dtype=str)
    assert not conformance["rule"].isin(["SD1077", "SD1015"]).any()  # EPOCH present, valid


def test_results_in_the_other_unit_system_are_not_converted_into_impossible_values(
    pilot_run: Path,
) -> None:
    # vs_raw 704-1008 Screening 1 (06-Jan-2013): height "148.0" on a CRF printing inches
    # (148 in = 375.92 cm; 148 cm is plausible) and weight "104.5" (LB: 47.4 kg, plausible).
    # 706-1041 Week 12 (01-Apr-2014): temperature "036.2" on a CRF printing F (2.33 C; 36.2 C
    # is plausible); at Screening 1 the same subject's "098.0" F is 36.67 C.
    cols = ["VSORRES", "VSORRESU", "VSSTRESC", "VSSTRESN", "VSSTRESU"]
    vs = read_xpt(pilot_run / "sdtm" / "vs.xpt").set_index(["USUBJID", "VSTESTCD", "VISIT"])
    assert list(vs.loc[("01-704-1008", "HEIGHT", "SCREENING 1"), cols]) == [
        "148.0", "cm", "148", 148.0, "cm"]  # fmt: skip
    assert list(vs.loc[("01-704-1008", "WEIGHT", "SCREENING 1"), cols]) == [
        "104.5", "LB", "47.4", 47.4, "kg"]  # fmt: skip
    assert list(vs.loc[("01-706-1041", "TEMP", "WEEK 12"), cols]) == [
        "036.2", "C", "36.2", 36.2, "C"]  # fmt: skip
    assert list(vs.loc[("01-706-1041", "TEMP", "SCREENING 1"), cols]) == [
        "098.0", "F", "36.67", 36.67, "C"]  # fmt: skip
    # Every standardised result is plausible; the 17 taken in the metric unit are listed.
    ranges = {"HEIGHT": (120, 220), "WEIGHT": (30, 250), "TEMP": (32, 43)}
    for test, (low, high) in ranges.items():
        assert vs.xs(test, level="VSTESTCD")["VSSTRESN"].dropna().between(low, high).all()
    issues = pd.read_csv(pilot_run / "reports" / "issues_vs.csv")
    plausible = issues[issues["rule"] == "PLAUSIBLE"]
    assert len(plausible) == 17 and set(plausible["severity"]) == {"warning"}
    assert "148.0 in, taken as cm" in set(plausible["value"])


def test_study_day_beside_every_collection_date(pilot_run: Path) -> None:
    # ae_raw 701-1015 "Diarrhoea": collected 01/16/2014, onset 01/09/2014; ds_raw: randomised
    # 01-02-2014 (the first patch, RFSTDTC), "Final Lab Visit" collected 07-02-2014 11:45.
    ae = read_xpt(pilot_run / "sdtm" / "ae.xpt")
    diarrhoea = ae[(ae["USUBJID"] == "01-701-1015") & (ae["AEDECOD"] == "DIARRHOEA")].iloc[0]
    assert diarrhoea[["AEDTC", "AEDY", "AESTDTC", "AESTDY"]].tolist() == [
        "2014-01-16", 15.0, "2014-01-09", 8.0]  # fmt: skip
    ds = read_xpt(pilot_run / "sdtm" / "ds.xpt").set_index(["USUBJID", "DSDECOD"])
    assert list(ds.loc[("01-701-1015", "FINAL LAB VISIT"), ["DSDTC", "DSDY"]]) == [
        "2014-07-02T11:45", 182.0]  # fmt: skip
    assert list(ds.loc[("01-701-1015", "RANDOMIZED"), ["DSDTC", "DSDY"]]) == ["2014-01-02", 1.0]
    conformance = pd.read_csv(pilot_run / "reports" / "conformance.csv", dtype=str)
    assert not conformance["rule"].isin(["CORE-000321", "CORE-000328", "CORE-000776"]).any()


def test_every_variable_in_define_carries_its_role(pilot_run: Path) -> None:
    # AEDTC, VISITNUM, VISIT and VISITDY are not in their domains' SDTMIG tables: their role
    # is the one the IG gives the same general-observation-class variable (CORE-001081).
    from lxml import etree

    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
    root = etree.parse(str(pilot_run / "sdtm" / "define.xml")).getroot()
    refs = root.xpath("//odm:ItemGroupDef/odm:ItemRef", namespaces=ns)
    assert len(refs) > 130 and all(r.get("Role") for r in refs)
    role = {r.get("ItemOID"): r.get("Role") for r in refs}
    assert [role[f"IT.{oid}"] for oid in ("AE.AEDTC", "DS.VISITNUM", "DS.VISIT", "EX.VISIT",
                                          "EX.VISITDY", "AE.AETERM")] == [
        "Timing", "Timing", "Timing", "Timing", "Timing", "Topic"]  # fmt: skip


def read_xpt(path: Path) -> pd.DataFrame:
    """An XPT as published: text without trailing blanks, an empty text value as null
    (XPT cannot tell them apart), numbers as doubles."""
    data, meta = pyreadstat.read_xport(path)
    for col in data.columns:
        if meta.readstat_variable_types[col] == "string":
            text = data[col].astype("string").str.rstrip()
            data[col] = text.mask(text == "")
    return data


def _text(value: object) -> str:
    if pd.isna(value):  # type: ignore[call-overload]
        return ""
    return f"{value:.10g}" if isinstance(value, float) else str(value)


def _sortable(data: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The columns as text (nulls empty, numbers to 10 digits, as XPT stores them to
    about 15), for ordering and pairing records."""
    return pd.DataFrame({c: data[c].map(_text) for c in columns}, index=data.index)


def pair_records(ours: pd.DataFrame, theirs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Positions of paired records (columns ``ours``, ``theirs``; -1 for a record without
    a partner). Records are sorted by the natural keys (ties by the other variables both
    hold, --SEQ aside) and the n-th record of a key is paired with the n-th; records whose
    key has no partner are then paired in the same order within their subject."""
    shared = [c for c in theirs.columns if c in ours.columns and c not in keys
              and not c.endswith("SEQ")]  # fmt: skip

    def ordered(data: pd.DataFrame, group: list[str]) -> pd.DataFrame:
        text = _sortable(data, keys + shared)
        text = text.sort_values(keys + shared, kind="stable")
        return text[group].assign(n=text.groupby(group).cumcount(), pos=text.index)

    a = ordered(ours.reset_index(drop=True), keys)
    b = ordered(theirs.reset_index(drop=True), keys)
    first = a.merge(b, on=[*keys, "n"], suffixes=("_o", "_t"))
    subject = keys[:2]
    rest_a = ordered(ours.reset_index(drop=True).drop(index=list(first["pos_o"])), subject)
    rest_b = ordered(theirs.reset_index(drop=True).drop(index=list(first["pos_t"])), subject)
    second = rest_a.merge(rest_b, on=[*subject, "n"], how="outer", suffixes=("_o", "_t"))
    pairs = pd.concat([first[["pos_o", "pos_t"]], second[["pos_o", "pos_t"]]])
    return pairs.fillna(-1).astype("int64").set_axis(["ours", "theirs"], axis=1)


def _equal(a: pd.Series, b: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
        x, y = a.to_numpy(dtype="float64"), b.to_numpy(dtype="float64")
        return np.isclose(x, y, rtol=1e-9, atol=1e-9) | (np.isnan(x) & np.isnan(y))
    text_a = _sortable(a.to_frame("v"), ["v"])["v"].to_numpy()
    text_b = _sortable(b.to_frame("v"), ["v"])["v"].to_numpy()
    return np.asarray(text_a == text_b)


def agreement(
    name: str,
    ours: pd.DataFrame,
    theirs: pd.DataFrame,
    compare_as: Mapping[str, str],
    keys: list[str] | None = None,
) -> dict[str, int]:
    """Per published variable, how many published records our paired record agrees with
    (a variable we do not write counts as null; an unpaired record never agrees). Records
    are paired by ``keys`` (default: the dataset's in KEYS)."""
    pairs = pair_records(ours, theirs, KEYS[name] if keys is None else keys)
    both = pairs[(pairs["ours"] >= 0) & (pairs["theirs"] >= 0)]
    mine = ours.reset_index(drop=True).iloc[both["ours"]].reset_index(drop=True)
    published = theirs.reset_index(drop=True).iloc[both["theirs"]].reset_index(drop=True)
    out = {}
    for col in theirs.columns:
        source = compare_as.get(col, col)
        values = mine[source] if source in mine else pd.Series(pd.NA, index=mine.index)
        out[col] = int(_equal(values, published[col]).sum())
    return out


def measure(
    run: Path,
    compare_as: Mapping[str, Mapping[str, str]],
    folder: str = "sdtm",
    published: Path = PUBLISHED,
    keys: Mapping[str, list[str]] = KEYS,
) -> dict[str, Any]:
    """Row counts and per-variable agreement of a run's XPTs (in its ``folder``) with the
    published ones, records paired by ``keys`` (per dataset)."""
    result: dict[str, Any] = {}
    for name, by in keys.items():
        ours = read_xpt(run / folder / f"{name.lower()}.xpt")
        theirs = read_xpt(published / f"{name.lower()}.xpt")
        same = agreement(name, ours, theirs, compare_as.get(name, {}), by)
        renamed = set(compare_as.get(name, {}).values())
        result[name] = {
            "rows": {"ours": len(ours), "published": len(theirs)},
            "same": same,
            "only_ours": [c for c in ours.columns if c not in theirs and c not in renamed],
        }
    return result


def render_table(stated: Mapping[str, Any]) -> str:
    """The report's tables, from agreement.yaml: rows per dataset, then each variable below
    100 % with its agreement and reason."""
    lines = ["| dataset | rows (ours) | rows (published) | variables compared | at 100 % |",
             "| --- | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for name, entry in stated["datasets"].items():
        below = entry.get("below", {})
        lines.append(f"| {name} | {entry['rows']['ours']:,} | {entry['rows']['published']:,} "
                     f"| {entry['variables']} | {entry['variables'] - len(below)} |")  # fmt: skip
    lines += ["", "| dataset | variable(s) | agreeing records | share | why not 100 % |",
              "| --- | --- | ---: | ---: | --- |"]  # fmt: skip
    for name, entry in stated["datasets"].items():
        rows = entry["rows"]["published"]
        groups: dict[tuple[int, str], list[str]] = {}  # same figure and reason: one line
        for var, item in entry.get("below", {}).items():
            shown = f"{var} (ours: {item['ours']})" if "ours" in item else var
            groups.setdefault((item["same"], " ".join(str(item["why"]).split())), []).append(shown)
        for (same, why), names in groups.items():
            share = f"{100 * same / rows:.1f} %"
            lines.append(f"| {name} | {', '.join(names)} | {same:,} / {rows:,} | {share} | {why} |")
    return "\n".join(lines)


def stated_in(contract: Path) -> dict[str, Any]:
    """An agreement contract (agreement.yaml) as read."""
    return dict(yaml.safe_load(contract.read_text(encoding="utf-8")))


def _stated() -> dict[str, Any]:
    return stated_in(AGREEMENT)


def compare_as(stated: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Per dataset, published variable -> our variable it is compared with (renamed ones)."""
    return {
        name: {var: item["ours"] for var, item in entry.get("below", {}).items() if "ours" in item}
        for name, entry in stated["datasets"].items()
    }


def contract_problems(
    measured: Mapping[str, Any], stated: Mapping[str, Any], update: str
) -> list[str]:
    """How measured agreement departs from a contract, down or up; ``update`` is the
    command that rewrites the contract."""
    assert list(measured) == list(stated["datasets"])
    problems = []
    for name, got in measured.items():
        entry = stated["datasets"][name]
        if got["rows"] != entry["rows"]:
            problems.append(f"{name}: rows {got['rows']}, the report says {entry['rows']}")
        if len(got["same"]) != entry["variables"]:
            problems.append(f"{name}: {len(got['same'])} published variables, report "
                            f"{entry['variables']}")  # fmt: skip
        if got["only_ours"] != entry.get("only_ours", []):
            problems.append(f"{name}: variables only we write {got['only_ours']}")
        rows = entry["rows"]["published"]
        for var, same in got["same"].items():
            want = entry.get("below", {}).get(var, {}).get("same", rows)
            if same < want:
                problems.append(f"{name}.{var}: {same} of {rows} agree, down from {want}")
            elif same > want:
                problems.append(f"{name}.{var}: {same} of {rows} agree, up from {want}: "
                                f"update the report ({update})")  # fmt: skip
    return problems


def check_reasons_and_report(stated: Mapping[str, Any], report: Path, update: str) -> None:
    """Every variable below 100 % has a reason, and the report shows the stated table."""
    for entry in stated["datasets"].values():
        for var, item in entry.get("below", {}).items():
            why = str(item.get("why", "")).strip()
            assert why and not why.startswith("TODO"), var
            assert item["same"] < entry["rows"]["published"], var
    text = report.read_text(encoding="utf-8")
    table = text.split(TABLE_START)[1].split(TABLE_END)[0].strip()
    assert table == render_table(stated), f"run: {update}"


def test_agreement_with_the_published_sdtm_is_as_the_report_states(pilot_run: Path) -> None:
    stated = _stated()
    measured = measure(pilot_run, compare_as(stated))
    problems = contract_problems(measured, stated, "python -m tests.test_cdiscpilot --update")
    assert not problems, "\n".join(problems)


def test_every_difference_has_a_reason_and_the_report_shows_the_stated_figures() -> None:
    check_reasons_and_report(_stated(), REPORT, "python -m tests.test_cdiscpilot --update")


def rewrite_contract(measured: Mapping[str, Any], contract: Path, report: Path) -> None:
    """Rewrite a contract's figures from measured agreement (reasons kept; a new one is
    a TODO the test refuses) and the report's table."""
    stated = stated_in(contract)
    datasets = {}
    for name, got in measured.items():
        old = stated["datasets"].get(name, {}).get("below", {})
        rows = got["rows"]["published"]
        below = {var: {"same": same, **{k: v for k, v in old.get(var, {}).items() if k != "same"}}
                 for var, same in got["same"].items() if same < rows}  # fmt: skip
        for item in below.values():
            item.setdefault("why", "TODO: say why")
        datasets[name] = {"rows": got["rows"], "variables": len(got["same"]),
                          "only_ours": got["only_ours"], "below": below}  # fmt: skip
    header = contract.read_text(encoding="utf-8").split("\ndatasets:")[0]
    body = yaml.safe_dump({"datasets": datasets}, sort_keys=False, width=92)
    contract.write_text(header + "\n" + body, encoding="utf-8")
    text = report.read_text(encoding="utf-8")
    before, rest = text.split(TABLE_START)
    after = rest.split(TABLE_END)[1]
    table = render_table(stated_in(contract))
    report.write_text(f"{before}{TABLE_START}\n{table}\n{TABLE_END}{after}", encoding="utf-8")


def _update(run: Path) -> None:
    """Rewrite agreement.yaml's figures from a run (reasons kept) and the report's table."""
    rewrite_contract(measure(run, compare_as(_stated())), AGREEMENT, REPORT)


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python -m tests.test_cdiscpilot --update")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        _update(run_pilot(Path(tmp)))
    print(f"updated {AGREEMENT.relative_to(ROOT)} and {REPORT.relative_to(ROOT)}")

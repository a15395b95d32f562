"""ADSL, ADRS, ADAE and ADTTE of the default sample: golden values derived by hand from the
raw pages (comments), the response rules on hand-made records, and the published files."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from samplegen import generate_export
from tests.conftest import ROOT, copy_store, defined_documents
from transforms.adam.spec import AdamSpec, SpecError, conform, load_adam_spec
from transforms.adam.vocabulary import Inputs, build
from transforms.errors import NothingNew
from transforms.jobs.adam import start
from transforms.jobs.plan import Place
from transforms.jobs.runner import run_adam, run_sdtm
from transforms.specs import load_study

ADAM = ROOT / "sdtm_specs" / "POMMAINT" / "adam"


def _row(folder: Path, name: str, usubjid: str, **where: str) -> dict[str, object]:
    data = pd.read_parquet(folder / "adam" / f"{name}.parquet")
    hit = data["USUBJID"] == f"POMMAINT-01-{usubjid}"
    for var, value in where.items():
        hit &= data[var] == value
    (record,) = data[hit].to_dict("records")
    return {str(k): (None if pd.isna(v) else v) for k, v in record.items()}


def _day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def test_adsl_subject_who_progressed_and_died(adam_published: Path) -> None:
    # 1008: first dose 18 SEP 2024, last 31 DEC 2024 (ex.csv); end of treatment for
    # progressive disease (eot.csv); alive at the 11 APR 2025 contact, dead 11 JUN 2025
    # (sfu.csv, eos.csv); new therapy from 09 FEB 2025.
    row = _row(adam_published, "adsl", "1008")
    assert {k: row[k] for k in ("TRTSDT", "TRTEDT", "DTHDT", "LSTALVDT", "NACTDT")} == {
        "TRTSDT": _day("2024-09-18"),
        "TRTEDT": _day("2024-12-31"),
        "DTHDT": _day("2025-06-11"),
        "LSTALVDT": _day("2025-04-11"),
        "NACTDT": _day("2025-02-09"),
    }
    assert (row["EOTSTT"], row["DCTREAS"], row["EOSSTT"], row["DCSREAS"]) == (
        "DISCONTINUED", "PROGRESSIVE DISEASE", "DISCONTINUED", "DEATH",
    )  # fmt: skip
    assert (row["DTHFL"], row["SAFFL"], row["ITTFL"], row["TRTDURD"]) == ("Y", "Y", "Y", 105.0)


def test_adsl_baseline_characteristics_of_one_subject(adam_published: Path) -> None:
    # 1001 (dm.csv: female, 51; coh.csv: transplant eligible): diagnosed 16 JAN 2023, IgG
    # kappa, ISS I, R-ISS I (dx.csv); FISH on 23 MAR 2023 found none of the protocol's
    # high-risk abnormalities (cyto.csv); first dose 28 OCT 2023: 285 days after diagnosis
    # = 9.36 months of 30.4375 days. Baseline (cycle 1 day 1, 28 OCT 2023): ECOG 2
    # (ecog.csv), weight 62.5 kg (vs.csv), creatinine 0.66 mg/dL = 58 umol/L as LB
    # standardises it (lb.csv); Cockcroft-Gault (140 - 51) x 62.5 x 0.85 / (72 x 58 / 88.4)
    # = 100.09 mL/min.
    row = _row(adam_published, "adsl", "1001")
    assert {k: row[k] for k in ("COHORT", "COHORTN", "AGEGR2", "AGEGR3", "ISOTYPE")} == {
        "COHORT": "Transplant eligible",
        "COHORTN": 1.0,
        "AGEGR2": "<65",
        "AGEGR3": "<=65",
        "ISOTYPE": "IGG KAPPA",
    }
    assert (row["DIAGDT"], row["DIAGDURM"], row["ISSDIAG"], row["RISSDIAG"]) == (
        _day("2023-01-16"), 9.4, "I", "I",
    )  # fmt: skip
    assert (row["HRCYTN"], row["CYTORISK"], row["ECOGBL"]) == (0.0, "Standard risk", 2.0)
    assert (row["WEIGHTBL"], row["CREATBL"], row["CRCLBL"]) == (62.5, 58.0, 100.1)
    # 1011 is 74 (FDA 65-74), 1002 71: older than the protocol's transplant limit of 65.
    assert _row(adam_published, "adsl", "1011")["AGEGR2"] == "65-74"
    assert _row(adam_published, "adsl", "1002")["AGEGR3"] == ">65"
    # Screen failure 2001: 1q21 gain detected (cyto.csv), the protocol's exclusion.
    failed = _row(adam_published, "adsl", "2001")
    assert (failed["HRCYTN"], failed["CYTORISK"], failed["COHORT"]) == (1.0, "High risk", None)
    assert (failed["EFFFL"], failed["MRDEVFL"]) == ("N", "N")


def test_adsl_death_variables(adam_published: Path) -> None:
    # 1003: last dose 24 DEC 2024, death 11 MAR 2025 of progressive disease (eos.csv):
    # 77 days after the last dose; day 414 from the first dose (23 JAN 2024).
    row = _row(adam_published, "adsl", "1003")
    assert (row["DTHCGR1"], row["LDDTHELD"], row["DTHADY"]) == ("DISEASE PROGRESSION", 77.0, 414.0)
    # 1006: pneumonia, with a fatal AE (AESDTH Y) of pneumonia: an adverse event; last
    # dose 09 JAN 2026, death 16 JAN 2026: 7 days.
    row = _row(adam_published, "adsl", "1006")
    assert (row["DTHCAUS"], row["DTHCGR1"], row["LDDTHELD"]) == ("PNEUMONIA", "ADVERSE EVENT", 7.0)
    alive = _row(adam_published, "adsl", "1001")
    assert (alive["DTHCGR1"], alive["DTHADY"], alive["LDDTHELD"]) == (None, None, None)


def test_adsl_last_alive_and_imputed_therapy_date(adam_published: Path) -> None:
    # 1003: no "Alive" contact; the assessment confirming the progression of 01 JAN 2025,
    # 15 JAN 2025 (after the end-of-treatment visit of 04 JAN; issue 18), is the last day
    # known alive (the death on 11 MAR 2025 is not an alive record).
    assert _row(adam_published, "adsl", "1003")["LSTALVDT"] == _day("2025-01-15")
    # 1015: new therapy "UN APR 2026" -> 1 April 2026, day imputed.
    row = _row(adam_published, "adsl", "1015")
    assert (row["NACTDT"], row["NACTDTF"]) == (_day("2026-04-01"), "D")


def test_adtte_pfs_and_os_goldens(adam_published: Path) -> None:
    # 1008: PD at the 08 JAN 2025 assessment: 2024-09-18 .. 2025-01-08 = 113 days;
    # death 11 JUN 2025 = 267 days.
    pfs = _row(adam_published, "adtte", "1008", PARAMCD="PFS")
    assert (pfs["ADT"], pfs["AVAL"], pfs["CNSR"], pfs["EVNTDESC"]) == (
        _day("2025-01-08"), 113.0, 0.0, "Disease Progression",
    )  # fmt: skip
    assert (pfs["STARTDT"], pfs["SRCDOM"], pfs["SRCVAR"]) == (_day("2024-09-18"), "ADRS", "ADT")
    os_ = _row(adam_published, "adtte", "1008", PARAMCD="OS")
    assert (os_["ADT"], os_["AVAL"], os_["CNSR"]) == (_day("2025-06-11"), 267.0, 0.0)
    # 1006 died (pneumonia) 16 JAN 2026, nine days after a complete response on 07 JAN:
    # death is the PFS event.
    pfs = _row(adam_published, "adtte", "1006", PARAMCD="PFS")
    assert (pfs["ADT"], pfs["AVAL"], pfs["CNSR"], pfs["EVNTDESC"]) == (
        _day("2026-01-16"), 551.0, 0.0, "Death",
    )  # fmt: skip
    # 1004 stopped for an adverse event (EOT 13 MAR 2025) and is assessed every 28 days
    # after it (issue 18), never progressing: censored at the last adequate assessment,
    # the follow-up one of 22 OCT 2026 (27 MAR 2024 .. 22 OCT 2026: 940 days), no longer
    # at the last one on treatment.
    pfs = _row(adam_published, "adtte", "1004", PARAMCD="PFS")
    assert (pfs["ADT"], pfs["AVAL"], pfs["CNSR"], pfs["CNSDTDSC"]) == (
        _day("2026-10-22"), 940.0, 1.0, "Last Adequate Response Assessment",
    )  # fmt: skip


def test_adtte_source_sequence_points_at_the_adrs_record(adam_published: Path) -> None:
    tte = pd.read_parquet(adam_published / "adam" / "adtte.parquet")
    adrs = pd.read_parquet(adam_published / "adam" / "adrs.parquet")
    traced = tte[tte["SRCDOM"] == "ADRS"].merge(
        adrs, left_on=["USUBJID", "SRCSEQ"], right_on=["USUBJID", "ASEQ"], suffixes=("", "_R")
    )
    assert len(traced) == (tte["SRCDOM"] == "ADRS").sum() > 0
    assert (traced["ADT"] == traced["ADT_R"]).all()
    assert set(traced["PARAMCD_R"]) <= {"PD", "DEATH", "LSTA"}
    # One row per ITT subject and parameter (DOR: per confirmed responder, BOR PR or
    # better), AVAL = ADT - STARTDT + 1.
    counts = tte.groupby("PARAMCD")["USUBJID"].nunique().to_dict()
    bor = adrs[adrs["PARAMCD"] == "BOR"]
    responders = bor["AVALC"].isin(["sCR", "CR", "VGPR", "PR"]).sum()
    assert counts.pop("DOR") == responders
    assert counts == dict.fromkeys(["OS", "PFS", "PFS2", "PFSMA", "PFSNT", "TTNT"], 15)
    assert (tte.groupby(["USUBJID", "PARAMCD"]).size() == 1).all()
    assert ((tte["ADT"] - tte["STARTDT"]).dt.days + 1 == tte["AVAL"]).all()


def test_adtte_time_to_next_treatment_goldens(adam_published: Path) -> None:
    # 1008: first dose 18 SEP 2024 (ex.csv), new therapy from 09 FEB 2025 (nt.csv): 145
    # days, the event. 1015: first dose 19 SEP 2025, new therapy "UN APR 2026" -> 1 Apr
    # 2026 (ADSL.NACTDT, day imputed): 195 days. 1006 died 16 JAN 2026 without new
    # therapy: death is the event (551 days from 15 JUL 2024).
    ttnt = _row(adam_published, "adtte", "1008", PARAMCD="TTNT")
    assert (ttnt["ADT"], ttnt["AVAL"], ttnt["CNSR"], ttnt["EVNTDESC"]) == (
        _day("2025-02-09"), 145.0, 0.0, "Start of New Anticancer Therapy",
    )  # fmt: skip
    assert _row(adam_published, "adtte", "1015", PARAMCD="TTNT")["AVAL"] == 195.0
    ttnt = _row(adam_published, "adtte", "1006", PARAMCD="TTNT")
    assert (ttnt["AVAL"], ttnt["EVNTDESC"]) == (551.0, "Death")


def test_adae_imputation_and_treatment_emergence(adam_published: Path) -> None:
    # 1001 AE 1 (upper respiratory tract infection) started "UN NOV 2023"; the first dose
    # was 28 OCT 2023: 1 Nov 2023, day imputed.
    row = _row(adam_published, "adae", "1001", AETERM="Upper respiratory tract infection")
    assert (row["ASTDT"], row["ASTDTF"], row["TRTEMFL"]) == (_day("2023-11-01"), "D", "Y")
    # 1003 AE 2 ended "2024-12": 31 Dec 2024, day imputed.
    ae = pd.read_parquet(adam_published / "adam" / "adae.parquet")
    ended = ae[(ae["USUBJID"] == "POMMAINT-01-1003") & (ae["AESEQ"] == 2)].iloc[0]
    assert (ended["AENDT"], ended["AENDTF"]) == (_day("2024-12-31"), "D")
    # 1004 AE 1 began three days before the first dose: not treatment-emergent.
    before = ae[(ae["USUBJID"] == "POMMAINT-01-1004") & (ae["AESEQ"] == 1)].iloc[0]
    assert before["ASTDT"] == _day("2024-03-24") and before["TRTEMFL"] is pd.NA
    # One worst-grade record per subject and preferred term among the emergent ones.
    te = ae[ae["TRTEMFL"] == "Y"]
    worst = te[te["WGRPFL"] == "Y"]
    assert len(worst) == len(te.groupby(["USUBJID", "AEBODSYS", "AEDECOD"]))
    top = te.groupby(["USUBJID", "AEDECOD"])["ATOXGRN"].max()
    assert (worst.set_index(["USUBJID", "AEDECOD"])["ATOXGRN"] == top.loc[worst.set_index(
        ["USUBJID", "AEDECOD"]).index]).all()  # fmt: skip


def test_adam_xpt_has_date9_dates_labels_and_the_parquet_rows(adam_published: Path) -> None:
    for name in ("adsl", "adrs", "adae", "adtte"):
        spec = load_adam_spec(ADAM / f"{name}.yaml")
        data, meta = pyreadstat.read_xport(adam_published / "adam" / f"{name}.xpt")
        parquet = pd.read_parquet(adam_published / "adam" / f"{name}.parquet")
        assert meta.table_name == name.upper() and meta.file_label == spec.label
        assert list(data.columns) == spec.names() == list(parquet.columns)
        assert len(data) == len(parquet)
        for var in spec.variables:
            assert meta.column_names_to_labels[var.name] == var.label
            if var.name.endswith("DT") and var.type == "Num":
                assert meta.original_variable_types[var.name] == "DATE9", (name, var.name)
                read = pd.to_datetime(data[var.name]).astype("datetime64[s]")
                stored = parquet[var.name].astype("datetime64[s]")
                pd.testing.assert_series_equal(read, stored, check_names=False)


def test_adam_dataset_json_types_dates_as_integers(adam_published: Path) -> None:
    doc = json.loads((adam_published / "adam" / "adtte.json").read_text(encoding="utf-8"))
    columns = {c["name"]: c for c in doc["columns"]}
    assert columns["ADT"]["dataType"] == "date" and columns["ADT"]["targetDataType"] == "integer"
    assert columns["CNSR"]["dataType"] == "integer" and columns["ASEQ"]["dataType"] == "integer"
    assert doc["itemGroupOID"] == "IG.ADTTE" and columns["AVAL"]["itemOID"] == "IT.ADTTE.AVAL"


def test_adam_run_is_published_beside_its_sdtm(adam_published: Path) -> None:
    manifest = json.loads((adam_published / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["adam"]["rows"]["ADSL"] == 18  # 3 screen failures, ITTFL/SAFFL N
    assert manifest["run_id"].startswith(manifest["sdtm_run"] + "-adam-")
    assert "sdtm/dm.xpt" in manifest["outputs"] and "adam/adtte.xpt" in manifest["outputs"]
    # The SDTM run it was made from is untouched: no adam/ files were written there.
    source = adam_published.parent / "runs" / manifest["sdtm_run"]
    assert not any((source / "adam").iterdir())


def test_the_published_submission_holds_sdtm_and_adam_as_ectd_lays_them_out(
    adam_published: Path,
) -> None:
    import csv

    from transforms.extract.exports import sha256_file

    study = adam_published / "submission" / "m5" / "datasets" / "pommaint"
    sdtm, adam = study / "tabulations" / "sdtm", study / "analysis" / "adam" / "datasets"
    documents = {"sdtm": ["acrf.pdf", "csdrg.pdf"], "adam": ["adrg.pdf"]}
    for folder, layer in ((sdtm, "sdtm"), (adam, "adam")):
        xpts = sorted(p.name for p in (adam_published / layer).glob("*.xpt"))
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            [*xpts, "define.xml", "define.xsl", *documents[layer]]
        )
    assert {p.name for p in study.iterdir()} == {"tabulations", "analysis"}
    assert (adam / "adtte.xpt").stat().st_ino == (
        adam_published / "adam" / "adtte.xpt"
    ).stat().st_ino
    with (adam_published / "reports" / "submission_manifest.csv").open(encoding="utf-8") as fh:
        rows = {r["file"]: r for r in csv.DictReader(fh)}
    files = {p.relative_to(adam_published / "submission").as_posix()
             for p in (adam_published / "submission").rglob("*") if p.is_file()}  # fmt: skip
    assert set(rows) == files
    row = rows["m5/datasets/pommaint/analysis/adam/datasets/adsl.xpt"]
    assert row["sha256"] == sha256_file(adam / "adsl.xpt") and row["records"] == "18"
    manifest = json.loads((adam_published / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["outputs"]["submission/m5/datasets/pommaint/tabulations/sdtm/dm.xpt"][
        "sha256"
    ] == sha256_file(sdtm / "dm.xpt")
    # The SDTM run keeps its own (SDTM only) submission; the ADaM run's is built anew.
    source = adam_published.parent / "runs" / manifest["sdtm_run"]
    assert not (source / "submission" / "m5" / "datasets" / "pommaint" / "analysis").exists()
    assert (source / "submission" / "m5" / "datasets" / "pommaint" / "tabulations").is_dir()


def test_the_reviewers_documents_read_back(adam_published: Path, tmp_path: Path) -> None:
    """acrf.pdf annotates each form's fields with their SDTM targets; csdrg.pdf and
    adrg.pdf have the PHUSE sections, filled from the run; the same run gives the same
    bytes."""
    from pypdf import PdfReader

    from transforms.define.documents import write_acrf, write_documents
    from transforms.specs import load_study
    from transforms.store import RunFolder

    def text(path: Path) -> str:
        return "\n".join(page.extract_text() for page in PdfReader(path).pages)

    # The blank CRF, a page per form (bookmarked): label, field, entry box (a date's hint),
    # annotation beside it; a field left out says NOT SUBMITTED and why.
    reader = PdfReader(adam_published / "sdtm" / "acrf.pdf")
    study_forms = load_study("POMMAINT").forms
    bookmarks = [o.title for o in reader.outline if not isinstance(o, list)]
    assert bookmarks == [f"{k}: {f.label}" for k, f in study_forms.items()]
    dm = reader.pages[1].extract_text()
    assert dm.startswith("POMMAINT Annotated CRF\nForm DM: Demographics\nDM = Demographics\n")
    assert "Date of birth\nBRTHDAT\nDD MON YYYY DM.BRTHDTC\n" in dm
    assert "Race, other specify\nRACEOTH\nSUPPDM.RACEOTH\n" in dm
    ic = reader.pages[2].extract_text()
    assert "Form IC: Informed consent and eligibility" in ic
    assert "Site number\nSITEID\nNOT SUBMITTED\nthe subject's site, repeated on every form" in ic
    acrf = text(adam_published / "sdtm" / "acrf.pdf")
    assert "Form RS:" in acrf and "RS.RSORRES" in acrf
    csdrg = text(adam_published / "sdtm" / "csdrg.pdf")
    for section in ("1. Introduction", "1.2 Study data standards and dictionary inventory",
                    "2. Protocol description", "3. Subject data description",
                    "4. Data conformance summary", "Appendix: Trial summary (TS)"):  # fmt: skip
        assert section in csdrg
    assert "SDTMIG 3.4" in csdrg and "MedDRA 27.1" in csdrg and "SUPPDM" in csdrg
    adrg = text(adam_published / "adam" / "adrg.pdf")
    assert "5. Analysis dataset descriptions" in adrg and "7. Submission of programs" in adrg
    assert "PFS ADTTE PFS primary" in adrg and "ADSL.ITTFL = Y" in adrg
    rows = len(pd.read_parquet(adam_published / "adam" / "adsl.parquet"))
    assert "ADSL Subject-Level Analysis Dataset" in adrg and f" {rows} STUDYID, USUBJID" in adrg

    copy = tmp_path / "run"
    shutil.copytree(adam_published.resolve(), copy)
    run, study = RunFolder(copy), load_study("POMMAINT")
    crf = write_acrf(run, study)
    assert crf.href == "acrf.pdf" and crf.pages["DM.SEX"] == (2,)  # page 1: the title
    assert "DM.ARMCD" not in crf.pages or crf.pages["DM.ARMCD"]  # a key target is no origin
    written = [run.sdtm / crf.href]
    for layer, names in (("sdtm", ["csdrg.pdf"]), ("adam", ["adrg.pdf"])):
        documents = write_documents(run, study, layer)
        assert [p.name for p in documents] == names
        written += documents
    for path in written:
        layer = path.parent.name
        assert path.read_bytes() == (adam_published / layer / path.name).read_bytes()
    # define.xml points each collected variable at its page of the annotated CRF
    define = (adam_published / "sdtm" / "define.xml").read_text(encoding="utf-8")
    assert '<def:AnnotatedCRF>\n        <def:DocumentRef leafID="LF.ACRF"/>' in define
    assert 'xlink:href="acrf.pdf"' in define and 'PageRefs="2" Type="PhysicalRef"' in define
    for variable, pages in crf.pages.items():  # each page named shows the variable
        for page in pages:
            assert variable in reader.pages[page - 1].extract_text().replace("\n", " "), variable


def test_define_names_the_documents_beside_it(adam_published: Path) -> None:
    """Each define.xml, in the run and in the submission, names the annotated CRF (SDTM) and
    its reviewer's guide (def:SupplementalDoc), each a def:leaf whose file is beside it."""
    from lxml import etree

    from transforms.define.xml import NS

    sdtm = {"LF.ACRF": "acrf.pdf", "LF.CSDRG": "csdrg.pdf"}
    adam = {"LF.ADRG": "adrg.pdf"}
    assert defined_documents(adam_published) == {
        "sdtm/define.xml": sdtm, "adam/define.xml": adam,
        "submission/m5/datasets/pommaint/tabulations/sdtm/define.xml": sdtm,
        "submission/m5/datasets/pommaint/analysis/adam/datasets/define.xml": adam,
    }  # fmt: skip
    for layer, leaf in (("sdtm", "LF.CSDRG"), ("adam", "LF.ADRG")):
        root = etree.parse(str(adam_published / layer / "define.xml")).getroot()
        refs = root.xpath("//def:SupplementalDoc/def:DocumentRef/@leafID", namespaces=NS)
        assert refs == [leaf]


def test_adam_define_describes_the_primary_endpoint_and_the_parameters(
    adam_published: Path,
) -> None:
    """study.yaml's PFS is the primary endpoint: the ADaM define.xml's Analysis Results
    Metadata describe its analysis; each BDS dataset's parameters have their codelist and
    their value-level metadata; ADTTE's spec comments are CommentDefs."""
    from lxml import etree

    from transforms.define import check_define, validate_define
    from transforms.define.xml import NS

    path = adam_published / "adam" / "define.xml"
    assert validate_define(path) == [] and check_define(path) == []
    root = etree.parse(str(path)).getroot()

    def texts(xpath: str) -> list[str]:
        return [str(v) for v in root.xpath(xpath, namespaces=NS)]

    result = "//arm:ResultDisplay[@OID='RD.PFS']/arm:AnalysisResult"
    assert texts(f"{result}/@AnalysisPurpose") == ["PRIMARY OUTCOME MEASURE"]
    assert texts(f"{result}//def:WhereClauseRef/@WhereClauseOID") == ["WC.ADTTE.PARAMCD.PFS"]
    assert texts(f"{result}//arm:AnalysisVariable/@ItemOID") == [
        "IT.ADTTE.AVAL", "IT.ADTTE.CNSR", "IT.ADTTE.ITTFL",
    ]  # fmt: skip
    assert "2 years (day 730)" in texts(f"{result}/odm:Description/odm:TranslatedText/text()")[0]
    # OS declares no purpose; the PFS sensitivity analyses are secondary, DOR, TTNT and
    # PFS2 exploratory.
    purposes = texts("//arm:AnalysisResult/@AnalysisPurpose")
    assert sorted(purposes) == sorted(
        ["PRIMARY OUTCOME MEASURE", *["SECONDARY OUTCOME MEASURE"] * 2,
         *["EXPLORATORY OUTCOME MEASURE"] * 3]
    )  # fmt: skip
    decode = "//odm:CodeList[@OID='CL.ADTTE.PARAMCD']/odm:CodeListItem[@CodedValue='PFS']"
    assert texts(f"{decode}/odm:Decode/odm:TranslatedText/text()") == [
        "Progression-Free Survival (days)"
    ]
    assert "OVR" in texts("//odm:CodeList[@OID='CL.ADRS.PARAMCD']/odm:CodeListItem/@CodedValue")
    for dataset in ("ADRS", "ADTTE"):  # value-level metadata per parameter
        where = texts(
            f"//def:ValueListDef[@OID='VL.{dataset}.AVAL']//def:WhereClauseRef/@WhereClauseOID"
        )
        assert where and all(w.startswith(f"WC.{dataset}.PARAMCD.") for w in where)
    assert "WC.ADTTE.PARAMCD.OS" in where
    assert texts("//odm:ItemGroupDef[@Name='ADTTE']/@def:CommentOID") == ["COM.ADTTE"]
    assert (
        "FDA guidance" in texts("//def:CommentDef[@OID='COM.ADTTE']//odm:TranslatedText/text()")[0]
    )
    assert texts("//odm:ItemDef[@OID='IT.ADTTE.AVALU']/@def:CommentOID") == ["COM.ADTTE.AVALU"]


def test_an_edited_endpoint_declaration_is_a_new_adam_run(
    adam_published: Path, tmp_path: Path
) -> None:
    store = copy_store(adam_published, tmp_path / "store").parents[1]
    root = tmp_path / "specs"
    shutil.copytree(ROOT / "sdtm_specs", root)
    # The same specs: the published ADaM stands.
    with pytest.raises(NothingNew, match="is already published"):
        start(load_study("POMMAINT", root), Place(store=store))
    # study.yaml's endpoints: gain a landmark: the ADaM job runs again to summarise it.
    path = root / "POMMAINT" / "study.yaml"
    path.write_text(path.read_text().replace("{730: 2 years}", "{365: 1 year, 730: 2 years}", 1))
    load_study.cache_clear()  # a new process in production; here the same one
    study = load_study("POMMAINT", root)
    assert study.endpoints is not None and [lm.day for lm in study.endpoints.landmarks] == [
        365, 730,
    ]  # fmt: skip
    run = start(study, Place(store=store))
    assert run.adam_info["from_run"] == adam_published.resolve().name


def test_night_two_corrections_are_listed_cell_by_cell_in_sdtm_and_adam(
    adam_published: Path, landing: Path, tmp_path: Path
) -> None:
    """Night 2 holds the site's two corrections (samplegen pommaint.as_entered): subject
    1001's haemoglobin keyed as 112 is 11.2 g/dL, and their first AE with an end date, left
    open on night 1, is closed. The ADaM publication lists every changed value of SDTM and
    ADaM since night 1 in reports/changes_cells.csv (and .html)."""
    store = copy_store(adam_published, tmp_path / "store").parents[1]
    root = tmp_path / "landing"
    shutil.copytree(landing / "POMMAINT", root / "POMMAINT")
    generate_export("POMMAINT", out=root, night=2,
                    export_time=datetime(2026, 11, 24, 2, tzinfo=UTC))  # fmt: skip
    run_sdtm("POMMAINT", root, store)
    current = run_adam(store, "POMMAINT")
    cells = pd.read_csv(current / "reports" / "changes_cells.csv", dtype=str,
                        keep_default_na=False)  # fmt: skip
    assert list(cells.columns) == ["dataset", "key", "variable", "old", "new"]
    ae = (
        "STUDYID=POMMAINT; USUBJID=POMMAINT-01-1001; AEDECOD=UPPER RESPIRATORY TRACT "
        "INFECTION; AESTDTC=2023-11"
    )
    lb = (
        "STUDYID=POMMAINT; USUBJID=POMMAINT-01-1001; LBTESTCD=HGB; LBSPEC=BLOOD; "
        "VISITNUM=1.0; LBDTC=2023-10-28"
    )
    adae = "STUDYID=POMMAINT; USUBJID=POMMAINT-01-1001; AESEQ=1.0"
    assert cells.values.tolist() == [
        # the AE closed on 2023-12-10: study day 44 from the first dose on 2023-10-28
        ["AE", ae, "AEOUT", "RECOVERING/RESOLVING", "RECOVERED/RESOLVED"],
        ["AE", ae, "AEENDTC", "", "2023-12-10"],
        ["AE", ae, "AEENDY", "", "44.0"],
        ["AE", ae, "AEENRTPT", "ONGOING", ""],  # ongoing at the cut-off: no longer
        ["AE", ae, "AEENTPT", "2026-11-15", ""],
        # haemoglobin 10.0 g/dL keyed as 100: 100 g/L, below the range, not 1000 g/L above
        ["LB", lb, "LBORRES", "100", "10.0"],
        ["LB", lb, "LBSTRESC", "1000", "100"],
        ["LB", lb, "LBSTRESN", "1000.0", "100.0"],
        ["LB", lb, "LBNRIND", "HIGH", "LOW"],
        # ADAE follows its AE: the end date, its study day, and a duration from the start
        # imputed to 2023-11-01 (2023-11-01 to 2023-12-10: 40 days)
        ["ADAE", adae, "AEOUT", "RECOVERING/RESOLVING", "RECOVERED/RESOLVED"],
        ["ADAE", adae, "AEENDTC", "", "2023-12-10"],
        ["ADAE", adae, "AENDT", "", "2023-12-10"],
        ["ADAE", adae, "AENDY", "", "44.0"],
        ["ADAE", adae, "ADURN", "", "40.0"],
        ["ADAE", adae, "ADURU", "", "DAYS"],
    ]  # fmt: skip
    records = pd.read_csv(current / "reports" / "changes.csv", dtype=str)
    assert records[["dataset", "change"]].values.tolist() == [
        ["AE", "changed"], ["LB", "changed"], ["ADAE", "changed"]
    ]  # fmt: skip
    manifest = json.loads((current / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["adam"]["changes"]["datasets"] == {"ADAE": {"changed": 1}}
    page = (current / "reports" / "changes_cells.html").read_text(encoding="utf-8")
    assert "15 changed value(s) since run" in page and "RECOVERED/RESOLVED" in page


# --- response rules on hand-made records -------------------------------------------------


def _adsl(**dates: str | None) -> pd.DataFrame:
    base = {"STUDYID": "S", "USUBJID": "S-1", "SUBJID": "1", "SITEID": "01", "TRT01P": "T",
            "TRT01A": "T", "COHORT": "C", "COHORTN": 1.0, "ITTFL": "Y", "SAFFL": "Y",
            "EFFFL": "Y", "AGE": 70.0, "AGEGR1": ">=65", "SEX": "F"}  # fmt: skip
    frame = pd.DataFrame([base])
    for var in ("TRTSDT", "NACTDT", "DTHDT", "LSTALVDT"):
        frame[var] = pd.to_datetime(pd.Series([dates.get(var)])).astype("datetime64[s]")
    return frame


def _rs(*assessments: tuple[str, str]) -> dict[str, pd.DataFrame]:
    rows = [
        {"USUBJID": "S-1", "RSTESTCD": "OVRLRESP", "RSSTRESC": r, "RSDTC": d,
         "VISIT": f"V{i}", "VISITNUM": float(i), "RSSEQ": float(i)}
        for i, (d, r) in enumerate(assessments, start=1)
    ]  # fmt: skip
    return {"RS": pd.DataFrame(rows)}


def _param(adrs: pd.DataFrame, code: str) -> dict[str, object]:
    (row,) = adrs[adrs["PARAMCD"] == code].to_dict("records")
    return {str(k): (None if pd.isna(v) else v) for k, v in row.items()}


@pytest.fixture(scope="module")
def adrs_spec() -> AdamSpec:
    return load_adam_spec(ADAM / "adrs.yaml")


def derive_adrs(sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame, spec: AdamSpec) -> pd.DataFrame:
    """ADRS by the study's spec, from hand-made RS and ADSL."""
    return build(spec.derivations, Inputs(sdtm=sdtm, adam={"ADSL": adsl}))


def test_an_assessment_on_the_first_dose_day_is_not_post_baseline(adrs_spec: AdamSpec) -> None:
    """The tie (checked against admiral, where post-baseline is ADT > TRTSDT): first dose
    1 Jan, the only assessment (PR) on 1 Jan. It is adequate for the response (OVR
    ANL01FL Y) but no post-baseline assessment: no LSTA, and PFS is censored at the first
    dose (CNSR 2, "No Adequate Post-baseline Assessment"), day 1. Before the fix LSTA was
    1 Jan and PFS censored CNSR 1 "Last Adequate Response Assessment"."""
    adsl = _adsl(TRTSDT="2025-01-01", LSTALVDT="2025-01-01")
    adrs = derive_adrs(_rs(("2025-01-01", "PR")), adsl, adrs_spec)
    assert _param(adrs, "OVR")["ANL01FL"] == "Y"
    assert "LSTA" not in set(adrs["PARAMCD"])
    adrs = conform(adrs, adrs_spec)
    adtte_spec = load_adam_spec(ADAM / "adtte.yaml")
    adtte = build(adtte_spec.derivations, Inputs(sdtm={}, adam={"ADSL": adsl, "ADRS": adrs}))
    pfs = _param(adtte, "PFS")
    assert (pfs["CNSR"], pfs["EVNTDESC"], pfs["CNSDTDSC"]) == (
        2,
        "No Adequate Post-baseline Assessment",
        "First Dose",
    )
    assert (pfs["ADT"], pfs["AVAL"], pfs["SRCDOM"], pfs["SRCVAR"]) == (
        _day("2025-01-01"),
        1,
        "ADSL",
        "TRTSDT",
    )
    # One day later the same assessment is post-baseline: LSTA, censored there (CNSR 1).
    adrs = derive_adrs(_rs(("2025-01-02", "PR")), adsl, adrs_spec)
    assert _param(adrs, "LSTA")["ADT"] == _day("2025-01-02")
    adtte = build(
        adtte_spec.derivations,
        Inputs(sdtm={}, adam={"ADSL": adsl, "ADRS": conform(adrs, adrs_spec)}),
    )
    assert (_param(adtte, "PFS")["CNSR"], _param(adtte, "PFS")["AVAL"]) == (1, 2)


def test_a_response_needs_a_second_assessment_to_count(adrs_spec: AdamSpec) -> None:
    # CR at the last assessment only: unconfirmed, best confirmed is the VGPR before it.
    rs = _rs(("2025-02-01", "VGPR"), ("2025-03-01", "VGPR"), ("2025-04-01", "CR"))
    adrs = derive_adrs(rs, _adsl(TRTSDT="2025-01-01"), adrs_spec)
    assert (_param(adrs, "BOR")["AVALC"], _param(adrs, "CRRSP")["AVALC"]) == ("VGPR", "N")
    assert _param(adrs, "VGPRRSP")["AVALC"] == "Y"
    # PR then PD: the PR is never confirmed: stable disease at best.
    adrs = derive_adrs(
        _rs(("2025-02-01", "PR"), ("2025-03-01", "PD")), _adsl(TRTSDT="2025-01-01"), adrs_spec
    )
    assert _param(adrs, "BOR")["AVALC"] == "SD"


def test_progression_after_two_missed_assessments_is_not_an_event(adrs_spec: AdamSpec) -> None:
    # Last adequate assessment 1 Feb, PD 15 Apr (73 days > 63): PD flagged out; LSTA 1 Feb.
    rs = _rs(("2025-02-01", "PR"), ("2025-04-15", "PD"))
    adrs = derive_adrs(rs, _adsl(TRTSDT="2025-01-01"), adrs_spec)
    assert _param(adrs, "PD")["ANL01FL"] is None
    assert _param(adrs, "LSTA")["ADT"] == _day("2025-02-01")
    # The same PD 60 days after the last assessment counts.
    rs = _rs(("2025-02-01", "PR"), ("2025-04-02", "PD"))
    assert _param(derive_adrs(rs, _adsl(TRTSDT="2025-01-01"), adrs_spec), "PD")["ANL01FL"] == "Y"


def test_assessments_after_new_therapy_are_not_adequate(adrs_spec: AdamSpec) -> None:
    rs = _rs(("2025-02-01", "PR"), ("2025-03-01", "PR"), ("2025-03-20", "PD"))
    adrs = derive_adrs(rs, _adsl(TRTSDT="2025-01-01", NACTDT="2025-03-10"), adrs_spec)
    assert _param(adrs, "LSTA")["ADT"] == _day("2025-03-01")
    assert "PD" not in set(adrs["PARAMCD"])  # the only PD is after the new therapy
    ovr = adrs[adrs["PARAMCD"] == "OVR"].set_index("ADT")["ANL01FL"]
    assert ovr.isna().tolist() == [False, False, True]


def test_adam_spec_errors_name_file_and_variable(tmp_path: Path) -> None:
    spec = tmp_path / "adxx.yaml"
    spec.write_text(
        "dataset: ADXX\nlabel: X\nstructure: BDS\nkeys: [USUBJID]\n"
        "derivations: [{verb: records, from: {dataset: ADSL}}]\n"
        "variables:\n  - {name: USUBJID, origin: Predecessor, source: ADSL.USUBJID}\n"
        "  - {name: NEWVAR, origin: Assigned}\n"
    )
    with pytest.raises(SpecError, match=r"adxx.yaml: variables\[1\]: NEWVAR: not an ADaMIG"):
        load_adam_spec(spec)
    spec.write_text(
        "dataset: ADXX\nlabel: X\nstructure: BDS\nkeys: [USUBJID]\n"
        "derivations: [{verb: records, from: {dataset: ADSL}}]\n"
        "variables:\n  - {name: AVAL, origin: Derived}\n"
    )
    with pytest.raises(
        SpecError, match=r"variables\[0\].method: AVAL: a Derived variable says how"
    ):
        load_adam_spec(spec)


def test_endpoint_summary_is_published_with_the_adam(adam_published: Path) -> None:
    summary = json.loads((adam_published / "reports" / "endpoints.json").read_text())
    tte = pd.read_parquet(adam_published / "adam" / "adtte.parquet")
    for code in ("PFS", "OS"):
        rows = tte[tte["PARAMCD"] == code]
        assert summary[code]["n"] == len(rows) == 15
        assert summary[code]["events"] == int((rows["CNSR"] == 0).sum())
        # per cohort, and the censoring table by reason adds up to the subjects
        cohorts = summary[code]["by_cohort"]
        assert sum(part["n"] for part in cohorts.values()) == 15
        for value, part in cohorts.items():
            mine = rows[rows["COHORT"] == value]
            assert part["events"] == int((mine["CNSR"] == 0).sum())
        assert sum(row["n"] for row in summary[code]["censoring"]) == 15
    assert summary["median_followup"]["endpoint"] == "OS"
    adrs = pd.read_parquet(adam_published / "adam" / "adrs.parquet")
    cr = adrs[adrs["PARAMCD"] == "CRRSP"]
    assert summary["rates"]["CR"]["count"] == int((cr["AVALC"] == "Y").sum())
    html = (adam_published / "reports" / "endpoints.html").read_text(encoding="utf-8")
    # seven time-to-event endpoints, each overall and by cohort
    assert html.count("data:image/png;base64,") == 14
    # The ADaM Define-XML sits beside the datasets it describes.
    assert (adam_published / "adam" / "define.xml").exists()

"""ADSL, ADRS, ADAE and ADTTE of the default sample: golden values derived by hand from the
raw pages (comments), the response rules on hand-made records, and the published files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from tests.conftest import ROOT, NightTwo, copy_store, defined_documents
from transforms.adam.spec import AdamSpec, SpecError, conform, load_adam_spec
from transforms.adam.vocabulary import Inputs, build
from transforms.errors import NothingNew
from transforms.jobs.adam import start
from transforms.jobs.plan import Place
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
    # PFSNT from the records that follow the subject past new therapy, the others from PFS's
    nt = traced["PARAMCD"] == "PFSNT"
    assert set(traced.loc[nt, "PARAMCD_R"]) <= {"PDNT", "DEATHNT", "LSTANT"}
    assert set(traced.loc[~nt, "PARAMCD_R"]) <= {"PD", "DEATH", "LSTA"}
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
    night_two: NightTwo,
) -> None:
    """Night 2 holds the site's two corrections (samplegen pommaint.as_entered): subject
    1001's haemoglobin keyed as 112 is 11.2 g/dL, and their first AE with an end date, left
    open on night 1, is closed. The ADaM publication lists every changed value of SDTM and
    ADaM since night 1 in reports/changes_cells.csv (and .html). (The session's night 2:
    its SDTM job, then its ADaM job, on the store of night 1's SDTM and ADaM.)"""
    current = night_two.published
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
    adlb = cells[cells["dataset"] == "ADLB"]
    assert cells[cells["dataset"] != "ADLB"].values.tolist() == [
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
    # ADLB follows its LB: the corrected sample (cycle 1 day 1, 28 OCT 2023) is 1001's
    # haemoglobin baseline, so all 20 of their HGB records get the new BASE (100 g/L, below
    # the LLN: baseline grade 1, "<LLN-100"), the 18 post-baseline ones a new CHG and PCHG;
    # 1001's other parameters are untouched.
    hgb = "STUDYID=POMMAINT; USUBJID=POMMAINT-01-1001; PARAMCD=HGB; "
    assert set(adlb["key"].str.slice(0, len(hgb))) == {hgb}
    assert adlb["variable"].value_counts().to_dict() == {
        "BASE": 20, "BASEC": 20, "BNRIND": 20, "BTOXGRL": 20, "BTOXGRLN": 20, "CHG": 18,
        "PCHG": 18, "AVAL": 1, "AVALC": 1, "ATOXGRL": 1, "ATOXGRLN": 1,
    }  # fmt: skip
    day1 = adlb[adlb["key"] == hgb + "ADT=2023-10-28; AVISITN=1.0"]
    assert day1[["variable", "old", "new"]].values.tolist() == [
        ["AVAL", "1000.0", "100.0"], ["AVALC", "1000", "100"], ["BASE", "1000.0", "100.0"],
        ["BASEC", "1000", "100"], ["BNRIND", "HIGH", "LOW"], ["ATOXGRL", "0", "1"],
        ["ATOXGRLN", "0.0", "1.0"], ["BTOXGRL", "0", "1"], ["BTOXGRLN", "0.0", "1.0"],
    ]  # fmt: skip
    cycle2 = adlb[adlb["key"] == hgb + "ADT=2023-11-25; AVISITN=2.0"].set_index("variable")
    assert cycle2.loc[["CHG", "PCHG"], "new"].tolist() == ["3.0", "3.0"]  # 103 g/L
    records = pd.read_csv(current / "reports" / "changes.csv", dtype=str)
    assert records[["dataset", "change"]].values.tolist() == [
        ["AE", "changed"], ["LB", "changed"], ["ADAE", "changed"], *[["ADLB", "changed"]] * 20
    ]  # fmt: skip
    manifest = json.loads((current / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["adam"]["changes"]["datasets"] == {
        "ADAE": {"changed": 1}, "ADLB": {"changed": 20},
    }  # fmt: skip
    page = (current / "reports" / "changes_cells.html").read_text(encoding="utf-8")
    assert "155 changed value(s) since run" in page and "RECOVERED/RESOLVED" in page


# --- response rules on hand-made records -------------------------------------------------


def _adsl(**dates: str | None) -> pd.DataFrame:
    base = {"STUDYID": "S", "USUBJID": "S-1", "SUBJID": "1", "SITEID": "01", "TRT01P": "T",
            "TRT01A": "T", "COHORT": "C", "COHORTN": 1.0, "ITTFL": "Y", "SAFFL": "Y",
            "EFFFL": "Y", "AGE": 70.0, "AGEGR1": ">=65", "SEX": "F"}  # fmt: skip
    frame = pd.DataFrame([base])
    for var in ("TRTSDT", "NACTDT", "DTHDT", "LSTALVDT", "EOSDT"):
        frame[var] = pd.to_datetime(pd.Series([dates.get(var)])).astype("datetime64[s]")
    frame["DCSREAS"] = pd.Series([None], dtype="string")
    return frame


def _rs(*assessments: tuple[str, str]) -> dict[str, pd.DataFrame]:
    rows = [
        {"USUBJID": "S-1", "RSTESTCD": "OVRLRESP", "RSSTRESC": r, "RSDTC": d,
         "VISIT": f"V{i}", "VISITNUM": float(i), "RSSEQ": float(i)}
        for i, (d, r) in enumerate(assessments, start=1)
    ]  # fmt: skip
    # LB without disease assessments: no lab-derived response (LABOVR) to derive
    lb = pd.DataFrame(columns=["USUBJID", "LBSEQ", "LBCAT", "LBTESTCD", "LBSPEC", "LBSTRESC",
                               "LBSTRESN", "LBDTC", "VISIT", "VISITNUM"])  # fmt: skip
    return {"RS": pd.DataFrame(rows), "LB": lb}


def _screened(*assessments: tuple[str, str]) -> dict[str, pd.DataFrame]:
    """``_rs`` after a screening assessment (PR, 20 Dec 2024): ADRS's baseline (ABLFL), which
    PFS needs (without one it is censored at the first dose, CNSR 7)."""
    sdtm = _rs(("2024-12-20", "PR"), *assessments)
    sdtm["RS"].loc[0, "VISIT"] = "SCREENING"
    return sdtm


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
    adrs = derive_adrs(_screened(("2025-01-01", "PR")), adsl, adrs_spec)
    day1 = adrs[(adrs["PARAMCD"] == "OVR") & (adrs["ADT"] == _day("2025-01-01"))]
    assert day1["ANL01FL"].tolist() == ["Y"]
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
    adrs = derive_adrs(_screened(("2025-01-02", "PR")), adsl, adrs_spec)
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


# --- ADLB, ADEX, ADAE flags: hand-derived from the raw pages (lb.csv, ex.csv, ae.csv) ------


def _lab(folder: Path, usubjid: str, paramcd: str) -> pd.DataFrame:
    data = pd.read_parquet(folder / "adam" / "adlb.parquet")
    hit = (data["USUBJID"] == f"POMMAINT-01-{usubjid}") & (data["PARAMCD"] == paramcd)
    return data[hit].set_index("ADT")


def test_adlb_m_protein_and_dflc_change_from_baseline_and_nadir(adam_published: Path) -> None:
    # 1008: M-protein 5.23 g/dL at diagnosis (dx.csv, 05 DEC 2023: before induction, not
    # the baseline); then (lb.csv, serum) 1.75, 1.70, 1.84, 1.80, 2.75 g/dL at screening (12
    # SEP 2024, the last sample before the first dose of 18 SEP: baseline) and cycles 2-5,
    # and 2.83 at the disease follow-up of 22 JAN 2025 -> g/L x 10.
    mp = _lab(adam_published, "1008", "MCPROT")
    assert list(mp["AVAL"]) == pytest.approx([52.3, 17.5, 17.0, 18.4, 18.0, 27.5, 28.3])
    assert list(mp["ABLFL"].fillna("")) == ["", "Y", "", "", "", "", ""]
    assert mp.loc[_day("2025-01-08"), "CHG"] == pytest.approx(10.0)
    assert mp.loc[_day("2025-01-08"), "PCHG"] == pytest.approx(10.0 / 17.5 * 100)
    # Nadir: the lowest of the baseline and the earlier post-baseline values (never the
    # diagnosis value): 17.5 at cycle 2, 17.0 (16 OCT) from cycle 3 on; 27.5 on 08 JAN is
    # 10.5 g/L (61.8%) above it.
    nadir = [None if pd.isna(v) else v for v in mp["NADIR"]]
    assert nadir == [None, None, 17.5, 17.0, 17.0, 17.0, 17.0]
    assert mp.loc[_day("2025-01-08"), "CHGNAD"] == pytest.approx(10.5)
    assert mp.loc[_day("2025-01-08"), "PCHGNAD"] == pytest.approx(10.5 / 17.0 * 100)
    # dFLC: kappa involved (baseline ratio 5.93 > 1): kappa - lambda = 48.6 - 8.2 = 40.4 at
    # baseline, then 18.7, 36.2, 26.1, 113.5 (124.8 - 11.3) and 163.1; nadir 18.7 (16 OCT).
    dflc = _lab(adam_published, "1008", "DFLC")
    assert list(dflc["AVAL"]) == pytest.approx([40.4, 18.7, 36.2, 26.1, 113.5, 163.1])
    assert set(dflc["FLCINV"]) == {"KAPPA"} and dflc["BASE"].iloc[0] == pytest.approx(40.4)
    assert dflc.loc[_day("2025-01-08"), "NADIR"] == pytest.approx(18.7)
    assert dflc.loc[_day("2025-01-08"), "CHGNAD"] == pytest.approx(94.8)


def test_adlb_ctcae_grades_baseline_and_worst_post_baseline(adam_published: Path) -> None:
    # 1011 ANC (LLN 2.0): 2.0 on cycle 1 day 1 (baseline, grade 0); 0.9 (10 FEB 2026), 0.6
    # (21 APR) and 0.5 (23 APR: "<1.0-0.5", grade 3, not 4) are grade 3; the worst
    # post-baseline grade flags the earliest of them.
    anc = _lab(adam_published, "1011", "NEUT")
    baseline, low = anc.loc[_day("2025-03-21")], anc.loc[_day("2026-04-23")]
    assert (baseline["ABLFL"], baseline["ATOXGRL"], baseline["BTOXGRL"]) == ("Y", "0", "0")
    assert (low["AVAL"], low["ATOXGRL"]) == (0.5, "3")
    assert anc.loc[_day("2026-04-23"), "ATOXDSCL"] == "Neutrophil count decreased"
    assert anc.index[anc["WGRLOFL"] == "Y"].tolist() == [_day("2026-02-10")]
    # 1007 platelets (LLN 125): 258 at baseline, 20 on 01 FEB 2026: grade 4 (< 25).
    plt = _lab(adam_published, "1007", "PLAT")
    worst = plt[plt["WGRLOFL"] == "Y"]
    assert worst[["AVAL", "ATOXGRL", "BTOXGRL"]].values.tolist() == [[20.0, "4", "0"]]
    # 1003 creatinine 0.97 mg/dL (09 OCT 2024) = 86 umol/L, ULN 0.92 mg/dL = 81: > ULN and
    # <= 1.5 x ULN: grade 1 (baseline 0.86 mg/dL = 76: 3 x 76 is far above).
    creat = _lab(adam_published, "1003", "CREAT")
    row = creat.loc[_day("2024-10-09")]
    assert (row["AVAL"], row["ANRHI"], row["BASE"], row["ATOXGRH"]) == (86.0, 81.0, 76.0, "1")
    assert row["ATOXDSCH"] == "Creatinine increased" and pd.isna(row["ATOXGRL"])
    # Parameter order and category: M-protein first of the disease markers, creatinine
    # the chemistry.
    mp = _lab(adam_published, "1003", "MCPROT")
    assert set(mp["PARAMN"]) == {1} and set(mp["PARCAT1"]) == {"DISEASE MARKERS"}
    assert set(creat["PARCAT1"]) == {"CHEMISTRY"} and set(plt["PARCAT1"]) == {"HEMATOLOGY"}


def test_endpoint_ctcae_shift_tables_count_adlb_worst_grades(adam_published: Path) -> None:
    """The summary's shift tables against a count made here from ADLB: per safety subject,
    the baseline grade and the grade of the record flagged worst."""
    summary = json.loads((adam_published / "reports" / "endpoints.json").read_text())
    adlb = pd.read_parquet(adam_published / "adam" / "adlb.parquet")
    adsl = pd.read_parquet(adam_published / "adam" / "adsl.parquet")
    safety = set(adsl.loc[adsl["SAFFL"] == "Y", "USUBJID"])
    for code, suffix, flag in (
        ("NEUT", "L", "WGRLOFL"), ("PLAT", "L", "WGRLOFL"), ("HGB", "L", "WGRLOFL"),
        ("CREAT", "H", "WGRHIFL"),
    ):  # fmt: skip
        worst = adlb[(adlb["PARAMCD"] == code) & (adlb[flag] == "Y")]
        worst = worst[worst["USUBJID"].isin(safety)]
        assert worst["USUBJID"].is_unique
        pairs = list(zip(worst[f"BTOXGR{suffix}"], worst[f"ATOXGR{suffix}"], strict=True))
        table = summary["shifts"][f"{code}_CTCAE_SHIFT"]["table"]
        for base in table:
            for grade in table[base]:
                assert table[base][grade] == pairs.count((base, grade)), (code, base, grade)
        assert summary["shifts"][f"{code}_CTCAE_SHIFT"]["n"] == sum(
            1 for b, g in pairs if pd.notna(b) and pd.notna(g)
        )


def test_adex_exposure_of_a_subject_with_interruptions_and_a_reduction(
    adam_published: Path,
) -> None:
    ex = pd.read_parquet(adam_published / "adam" / "adex.parquet")
    aval = ex[ex["USUBJID"] == "POMMAINT-01-1007"].set_index("PARAMCD")["AVAL"].to_dict()
    # 1007 (ex.csv): 29 cycles from 20 AUG 2024; 2 mg x 21 days in cycles 1-8 and 10-18
    # (17 x 42 = 714), 13 days in the interrupted cycles 9 and 19 (2 x 26 = 52), 1 mg x 21
    # days in cycles 20-28 (189), cycle 29 ongoing since 27 OCT 2026 (1 day, 1 mg): 956 mg.
    # The last cycle starts on day 799; exposure to its day 28: 826 days = 29.5 cycles;
    # 956 / 826 x 28 = 32.41 mg per cycle, 77.2% of the planned 42. Reduced from 16 FEB 2026
    # (day 546); interrupted in cycles 9 and 19.
    assert aval["NCYCLES"] == 29 and aval["CUMDOSE"] == 956
    assert aval["TRTDURD"] == 799 and aval["TTFRED"] == 546
    assert aval["DOSEINT"] == pytest.approx(956 / 826 * 28)
    assert aval["RDI"] == pytest.approx(956 / 826 * 28 / 42 * 100)
    assert (aval["NREDUC"], aval["NINTERR"]) == (1, 2)
    # 1008: 4 full cycles (18 SEP - 31 DEC 2024): 168 mg over 4 x 28 days: RDI 100%; no
    # reduction, so no time to first reduction.
    aval = ex[ex["USUBJID"] == "POMMAINT-01-1008"].set_index("PARAMCD")["AVAL"].to_dict()
    assert (aval["CUMDOSE"], aval["DOSEINT"], aval["RDI"]) == (168, 42, 100)
    assert "TTFRED" not in aval


def test_adae_action_taken_outcome_and_special_interest_flags(adam_published: Path) -> None:
    ae = pd.read_parquet(adam_published / "adam" / "adae.parquet")

    def flags(usubjid: str, term: str, start: str) -> dict[str, object]:
        hit = (ae["USUBJID"] == f"POMMAINT-01-{usubjid}") & (ae["AETERM"] == term)
        (row,) = ae[hit & (ae["AESTDTC"] == start)].to_dict("records")
        names = ("AEDISFL", "AEINTFL", "AEREDFL", "AEFATFL", "CQ01NAM", "CQ03NAM", "AESIFL")
        return {k: row[k] for k in names if not pd.isna(row[k])}

    # 1006 pneumonia of 10 JAN 2026: drug withdrawn, fatal (AEOUT Fatal, AESDTH Yes), an
    # infection.
    assert flags("1006", "Pneumonia", "2026-01-10") == {
        "AEDISFL": "Y", "AEFATFL": "Y", "CQ03NAM": "INFECTION", "AESIFL": "Y",
    }  # fmt: skip
    # 1007 DVT: drug interrupted, venous thromboembolism.
    assert flags("1007", "DVT left leg", "2025-04-22") == {
        "AEINTFL": "Y", "CQ01NAM": "VENOUS THROMBOEMBOLISM", "AESIFL": "Y",
    }  # fmt: skip
    # 1004 fatigue: drug withdrawn, of no special interest.
    assert flags("1004", "fatigue", "2025-03-09") == {"AEDISFL": "Y"}


def test_adam_define_and_conformance_cover_adlb_adex_and_the_adae_flags(
    adam_published: Path,
) -> None:
    """The new datasets are in the ADaM define.xml with their parameters (value-level
    metadata), the CTCAE grade table as ATOXGRL's method, the AESI queries' comment; the
    conformance report of the run has no finding on them."""
    from lxml import etree

    from transforms.define.xml import NS

    root = etree.parse(str(adam_published / "adam" / "define.xml")).getroot()

    def texts(xpath: str) -> list[str]:
        return [str(v) for v in root.xpath(xpath, namespaces=NS)]

    assert texts("//odm:ItemGroupDef/@Name")[-2:] == ["ADLB", "ADEX"]
    lb_params = texts("//odm:CodeList[@OID='CL.ADLB.PARAMCD']/odm:CodeListItem/@CodedValue")
    assert set(lb_params) == {
        "CREAT", "DFLC", "HGB", "KLCFR", "KLCLLCFR", "LLCFR", "MCPROT", "NEUT", "PLAT",
    }  # fmt: skip
    adlb_items = texts("//odm:ItemGroupDef[@Name='ADLB']/odm:ItemRef/@ItemOID")
    assert {"IT.ADLB.PARAMN", "IT.ADLB.PARCAT1"} <= set(adlb_items)
    assert "WC.ADLB.PARAMCD.DFLC" in texts(
        "//def:ValueListDef[@OID='VL.ADLB.AVAL']//def:WhereClauseRef/@WhereClauseOID"
    )
    ex_params = texts("//odm:CodeList[@OID='CL.ADEX.PARAMCD']/odm:CodeListItem/@CodedValue")
    assert {"RDI", "DOSEINT", "NCYCLES", "NREDUC", "NINTERR", "TTFRED"} <= set(ex_params)
    (method,) = texts("//odm:MethodDef[@OID='MT.ADLB.ATOXGRL']//odm:TranslatedText/text()")
    assert "CTCAE v5.0: NEUT (Neutrophil count decreased): 4 if AVAL < 0.5;" in method
    (creat,) = texts("//odm:MethodDef[@OID='MT.ADLB.ATOXGRH']//odm:TranslatedText/text()")
    assert "3 if AVAL > 3 x BASE (where BASE is given)" in creat
    assert "2 if AVAL > 1.5 x BASE (where BASE is given)" in creat
    (nadir,) = texts("//odm:MethodDef[@OID='MT.ADLB.NADIR']//odm:TranslatedText/text()")
    assert nadir.startswith("Lowest AVAL of the earlier records (by ADT, AVISITN)")
    (comment,) = texts("//def:CommentDef[@OID='COM.ADAE.CQ01NAM']//odm:TranslatedText/text()")
    assert "not an SMQ" in comment
    findings = pd.read_csv(adam_published / "reports" / "conformance.csv", dtype=str)
    assert not findings["dataset"].isin(["ADLB", "ADEX"]).any()

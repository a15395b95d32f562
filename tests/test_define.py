"""Define-XML 2.1 from the specs and the written files, define.html, and the manifest."""

from __future__ import annotations

import csv
import json
import re
import shutil
from copy import deepcopy
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyreadstat
import pytest
from lxml import etree, html

from tests.conftest import FIXTURES
from transforms import standards
from transforms.define import (
    AnalysisMeta,
    DefineError,
    adam_metadata,
    check_define,
    render_stylesheet,
    sdtm_metadata,
    validate_define,
    write_define,
    write_submission_manifest,
)
from transforms.define.xml import ARM_NS, NS, SCHEMA_PATH, STYLESHEET, check_analysis_results
from transforms.extract.exports import sha256_file
from transforms.specs import load_study

MDV = "/odm:ODM/odm:Study/odm:MetaDataVersion"
NCI = "nci:ExtCodeID"


def _copy_run(published: Path, target: Path) -> Path:
    """A private copy of the published run (raw/extract.json, the XPT and Dataset-JSON
    files): define.xml is written there, never into the shared published folder."""
    source = published.resolve()
    for sub in ("raw", "sdtm", "adam", "reports"):
        (target / sub).mkdir(parents=True)
    shutil.copy2(source / "raw" / "extract.json", target / "raw" / "extract.json")
    for path in sorted((source / "sdtm").iterdir()):
        if path.suffix in (".xpt", ".json"):
            shutil.copy2(path, target / "sdtm" / path.name)
    return target


@pytest.fixture(scope="module")
def run(published: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy_run(published, tmp_path_factory.mktemp("define") / "run")


@pytest.fixture(scope="module")
def define_path(run: Path) -> Path:
    return write_define(run, "sdtm")


@pytest.fixture(scope="module")
def root(define_path: Path) -> etree._Element:
    return etree.parse(str(define_path)).getroot()


def _xpath(node: etree._Element, path: str) -> list:
    found = node.xpath(path, namespaces=NS)
    assert isinstance(found, list)
    return found


def _str(node: etree._Element, path: str) -> str:
    """The text an XPath string(...) expression gives."""
    return str(node.xpath(f"string({path})", namespaces=NS))


def _read(run: Path, name: str) -> pd.DataFrame:
    data, _ = pyreadstat.read_xport(run / "sdtm" / f"{name.lower()}.xpt")
    return data


def _codelist_of(root: etree._Element, item_oid: str) -> etree._Element:
    ref = _xpath(root, f"{MDV}/odm:ItemDef[@OID='{item_oid}']/odm:CodeListRef/@CodeListOID")
    assert ref, f"{item_oid} has no codelist"
    return _xpath(root, f"{MDV}/odm:CodeList[@OID='{ref[0]}']")[0]


# --- the document --------------------------------------------------------------------------


def test_define_validates_against_the_xsd(define_path: Path) -> None:
    assert SCHEMA_PATH.is_file()
    assert validate_define(define_path) == []


def test_checks_beyond_the_xsd_pass(define_path: Path) -> None:
    assert check_define(define_path) == []


def test_one_item_group_per_xpt_with_its_leaf(run: Path, root: etree._Element) -> None:
    xpts = sorted(p.stem.upper() for p in (run / "sdtm").glob("*.xpt"))
    groups = _xpath(root, f"{MDV}/odm:ItemGroupDef")
    assert sorted(g.get("Name") for g in groups) == xpts
    for group in groups:
        name = group.get("Name")
        assert group.get("OID") == f"IG.{name}"
        assert group.get("Purpose") == "Tabulation"
        assert group.get(f"{{{NS['def']}}}Structure")
        assert _xpath(group, "def:Class/@Name")
        href = _xpath(group, "def:leaf/@xlink:href")[0]
        assert href == f"{name.lower()}.xpt" and (run / "sdtm" / href).is_file()
        assert _str(group, "def:leaf/def:title") == href
    dm = _xpath(root, f"{MDV}/odm:ItemGroupDef[@Name='DM']")[0]
    assert dm.get("Repeating") == "No"
    assert _str(dm, "def:Class/@Name") == "SPECIAL PURPOSE"
    ts = _xpath(root, f"{MDV}/odm:ItemGroupDef[@Name='TS']")[0]
    assert ts.get("IsReferenceData") == "Yes"
    keys = _xpath(root, f"{MDV}/odm:ItemGroupDef[@Name='AE']/odm:ItemRef[@KeySequence]")
    ordered = sorted(keys, key=lambda r: int(r.get("KeySequence")))
    assert [r.get("ItemOID") for r in ordered] == [
        "IT.AE.STUDYID", "IT.AE.USUBJID", "IT.AE.AEDECOD", "IT.AE.AESTDTC"
    ]  # fmt: skip


def test_item_oids_are_those_of_the_dataset_json(run: Path, root: etree._Element) -> None:
    for path in sorted((run / "sdtm").glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        group = _xpath(root, f"{MDV}/odm:ItemGroupDef[@OID='{document['itemGroupOID']}']")
        assert group, f"{path.name}: no ItemGroupDef {document['itemGroupOID']}"
        refs = sorted(_xpath(group[0], "odm:ItemRef"), key=lambda r: int(r.get("OrderNumber")))
        assert [r.get("ItemOID") for r in refs] == [c["itemOID"] for c in document["columns"]]


def test_standards_name_the_ig_and_the_ct_version(root: etree._Element) -> None:
    found = {
        (s.get("Name"), s.get("Type"), s.get("Version"), s.get("PublishingSet"))
        for s in _xpath(root, f"{MDV}/def:Standards/def:Standard")
    }
    ct_version = Path(standards.SDTM_CT).stem.rsplit("_", 1)[-1]
    assert ("SDTMIG", "IG", "3.4", None) in found
    assert ("CDISC/NCI", "CT", ct_version, "SDTM") in found
    assert root.get(f"{{{NS['def']}}}Context") == "Submission"
    assert _str(root, f"{MDV}/@def:DefineVersion").startswith("2.1")


def test_text_lengths_are_the_lengths_written_to_the_xpt(run: Path, root: etree._Element) -> None:
    compared = 0
    for path in sorted((run / "sdtm").glob("*.xpt")):
        _, meta = pyreadstat.read_xport(path, metadataonly=True)
        name = str(meta.table_name).upper()
        for var in meta.column_names:
            item = _xpath(root, f"{MDV}/odm:ItemDef[@OID='IT.{name}.{var}']")[0]
            if meta.readstat_variable_types[var] != "string":
                assert item.get("DataType") in ("integer", "float")
                assert int(item.get("Length")) >= 1
                continue
            width = meta.variable_storage_width[var]
            if item.get("DataType") == "text":
                assert item.get("Length") == str(width), f"{name}.{var}"
                compared += 1
            else:  # ISO 8601 text (a date, a duration such as TE.TEDUR): no Length
                assert var.endswith(("DTC", "DUR")) and item.get("Length") is None
    assert compared > 100


def test_iso_dates_are_typed_from_their_values(root: etree._Element) -> None:
    types = {
        i.get("OID"): i.get("DataType")
        for i in _xpath(root, f"{MDV}/odm:ItemDef[substring(@Name, string-length(@Name) - 2)"
                              "='DTC']")
    }  # fmt: skip
    assert types and set(types.values()) <= {"date", "datetime", "partialDate", "partialDatetime"}
    assert types["IT.AE.AESTDTC"] in ("date", "partialDate")


def test_origins_methods_and_comments(root: etree._Element) -> None:
    items = _xpath(root, f"{MDV}/odm:ItemDef")
    origins = {i.get("OID"): _xpath(i, "def:Origin")[0] for i in items}
    assert origins["IT.AE.AETERM"].get("Type") == "Collected"
    assert origins["IT.AE.AETERM"].get("Source") == "Investigator"
    assert origins["IT.DM.STUDYID"].get("Type") == "Protocol"
    methods = {m.get("OID"): m for m in _xpath(root, f"{MDV}/odm:MethodDef")}
    derived = [oid for oid, o in origins.items() if o.get("Type") == "Derived"]
    assert len(derived) > 20
    for oid in derived:
        refs = _xpath(root, f"//odm:ItemRef[@ItemOID='{oid}']/@MethodOID")
        assert refs and refs[0] in methods, f"{oid}: derived without a method"
        text = _str(methods[refs[0]], "odm:Description/odm:TranslatedText")
        assert len(text) > 10
    lbdy = _xpath(root, "//odm:ItemRef[@ItemOID='IT.LB.LBDY']/@MethodOID")[0]
    words = _str(methods[lbdy], "odm:Description")
    assert "LBDTC" in words and "RFSTDTC" in words and "no day 0" in words
    comments = {c.get("OID") for c in _xpath(root, f"{MDV}/def:CommentDef")}
    lbtestcd = _xpath(root, f"{MDV}/odm:ItemDef[@OID='IT.LB.LBTESTCD']")[0]
    assert lbtestcd.get(f"{{{NS['def']}}}CommentOID") in comments  # assigned by recoding


# --- controlled terminology ------------------------------------------------------------------


def test_every_dataset_variable_has_its_role(root: etree._Element) -> None:
    refs = _xpath(root, f"{MDV}/odm:ItemGroupDef/odm:ItemRef")
    assert len(refs) > 200 and all(r.get("Role") for r in refs)
    roles = {r.get("ItemOID"): r.get("Role") for r in refs}
    assert (roles["IT.LB.LBDTC"], roles["IT.SUPPAE.QVAL"], roles["IT.AE.AETERM"]) == (
        "Timing", "Result Qualifier", "Topic")  # fmt: skip


def test_codelist_terms_carry_their_nci_codes(run: Path, root: etree._Element) -> None:
    sex = _codelist_of(root, "IT.DM.SEX")
    assert _str(sex, "odm:Alias[@Context='nci:ExtCodeID']/@Name") == "C66731"
    codes = {
        t.get("CodedValue"): _str(t, f"odm:Alias[@Context='{NCI}']/@Name")
        for t in _xpath(sex, "odm:EnumeratedItem|odm:CodeListItem")
    }
    expected = {"F": "C16576", "M": "C20197", "U": "C17998", "INTERSEX": "C45908"}
    assert codes == {v: expected[v] for v in set(_read(run, "DM")["SEX"])}
    terms = standards.controlled_terms()
    for codelist in _xpath(root, f"{MDV}/odm:CodeList[odm:Alias]"):
        nci = terms.codelist(_str(codelist, "odm:Alias/@Name"))
        for term in _xpath(codelist, "odm:EnumeratedItem|odm:CodeListItem"):
            value = term.get("CodedValue")
            if term.get(f"{{{NS['def']}}}ExtendedValue") == "Yes":
                assert nci.extensible and nci.lookup(value) is None
                assert not _xpath(term, "odm:Alias")
            else:
                assert _str(term, "odm:Alias/@Name") == nci.terms[value].code


def test_codelists_hold_only_terms_used(run: Path, root: etree._Element) -> None:
    lb = _read(run, "LB")
    spec = next(m for m in sdtm_metadata(load_study("POMMAINT")) if m.name == "LB")
    lbtestcd = _codelist_of(root, "IT.LB.LBTESTCD")
    items = _xpath(lbtestcd, "odm:CodeListItem")  # decoded by LBTEST
    values = {i.get("CodedValue") for i in items}
    assert (
        set(lb["LBTESTCD"]) <= values <= set(lb["LBTESTCD"]) | set(spec.variable("LBTESTCD").terms)
    )
    decodes = dict(zip(lb["LBTESTCD"], lb["LBTEST"], strict=True))
    for item in items:
        decode = _str(item, "odm:Decode/odm:TranslatedText")
        assert decode == decodes.get(item.get("CodedValue"), decode) and decode
    units = _codelist_of(root, "IT.LB.LBSTRESU")
    used = set(lb["LBSTRESU"]) | set(lb["LBORRESU"]) | set(_read(run, "EX")["EXDOSU"])
    used |= set(_read(run, "CM")["CMDOSU"].dropna())  # one UNIT codelist for all (issue 18)
    values = {i.get("CodedValue") for i in _xpath(units, "odm:EnumeratedItem")}
    assert values <= used - {""}
    assert len(values) < 30  # not the 900-odd terms of the whole UNIT codelist


def test_meddra_is_an_external_dictionary(root: etree._Element) -> None:
    for var in ("AEDECOD", "AELLT", "AEBODSYS", "AESOC", "AEHLT", "AEHLGT"):
        codelist = _codelist_of(root, f"IT.AE.{var}")
        assert _str(codelist, "odm:ExternalCodeList/@Dictionary") == "MedDRA"
        assert not _xpath(codelist, "odm:EnumeratedItem")
    codes = _codelist_of(root, "IT.AE.AEPTCD")
    assert codes.get("DataType") == "integer"
    assert _str(codes, "odm:ExternalCodeList/@Dictionary") == "MedDRA"


def test_dictionary_version_when_given(run: Path, tmp_path: Path) -> None:
    copy = _copy_run(run, tmp_path / "run")
    path = write_define(copy, "sdtm", dictionaries={"MedDRA": "27.1"})
    versions = etree.parse(str(path)).xpath(
        "//odm:ExternalCodeList[@Dictionary='MedDRA']/@Version", namespaces=NS
    )
    assert versions and set(versions) == {"27.1"}


# --- value-level metadata --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dataset", "keys"), [("LB", ["LBTESTCD", "LBSPEC"]), ("RS", ["RSTESTCD"])]
)
def test_value_level_where_clauses_cover_every_test(
    run: Path, root: etree._Element, dataset: str, keys: list[str]
) -> None:
    """One entry per combination of the keys the spec states (POMMAINT's LB: test and
    specimen; RS: the test alone), each a where-clause of one EQ range check per key."""
    data = _read(run, dataset)
    wanted = set(data[keys].itertuples(index=False, name=None))
    result = f"IT.{dataset}.{dataset}ORRES"
    vl_oid = _str(root, f"{MDV}/odm:ItemDef[@OID='{result}']/def:ValueListRef/@ValueListOID")
    refs = _xpath(root, f"{MDV}/def:ValueListDef[@OID='{vl_oid}']/odm:ItemRef")
    covered = set()
    for ref in refs:
        wc_oid = _str(ref, "def:WhereClauseRef/@WhereClauseOID")
        checks = _xpath(root, f"{MDV}/def:WhereClauseDef[@OID='{wc_oid}']/odm:RangeCheck")
        assert [c.get(f"{{{NS['def']}}}ItemOID") for c in checks] == [
            f"IT.{dataset}.{k}" for k in keys
        ]
        assert {c.get("Comparator") for c in checks} == {"EQ"}
        values = tuple(_str(c, "odm:CheckValue") for c in checks)
        covered.add(values)
        assert ref.get("ItemOID") == f"{result}." + ".".join(v.replace(" ", "_") for v in values)
    assert covered == wanted
    assert len(refs) == len(wanted)  # mutually exclusive: one entry per combination


def test_lab_results_are_described_per_specimen(run: Path, root: etree._Element) -> None:
    """M-protein is measured in serum (g/L, one decimal) and in 24-hour urine (mg/day, whole
    numbers): two value-level entries of LBSTRESN, each typed by its own values and named by
    a where-clause on LBTESTCD and LBSPEC."""
    lb = _read(run, "LB")
    mcprot = lb[lb["LBTESTCD"] == "MCPROT"]
    assert set(mcprot["LBSPEC"]) == {"SERUM", "URINE"}
    measured = mcprot[mcprot["LBSTRESN"].notna()]
    assert set(measured.loc[measured["LBSPEC"] == "URINE", "LBSTRESU"]) == {"mg/day"}
    serum = _xpath(root, f"{MDV}/odm:ItemDef[@OID='IT.LB.LBSTRESN.MCPROT.SERUM']")[0]
    urine = _xpath(root, f"{MDV}/odm:ItemDef[@OID='IT.LB.LBSTRESN.MCPROT.URINE']")[0]
    assert serum.get("DataType") == "float" and serum.get("SignificantDigits") == "1"
    assert urine.get("DataType") == "integer"
    assert not _xpath(root, f"{MDV}/odm:ItemDef[@OID='IT.LB.LBSTRESN.MCPROT']")
    wc = _xpath(root, f"{MDV}/def:WhereClauseDef[@OID='WC.LB.LBTESTCD.MCPROT.URINE']")[0]
    checks = [
        (c.get(f"{{{NS['def']}}}ItemOID"), c.get("Comparator"), _str(c, "odm:CheckValue"))
        for c in _xpath(wc, "odm:RangeCheck")
    ]
    assert checks == [("IT.LB.LBTESTCD", "EQ", "MCPROT"), ("IT.LB.LBSPEC", "EQ", "URINE")]
    # A test measured in one specimen still names it (the spec keys every LB entry so).
    hgb = _xpath(root, f"{MDV}/def:WhereClauseDef[@OID='WC.LB.LBTESTCD.HGB.BLOOD']")
    assert len(hgb) == 1 and len(_xpath(hgb[0], "odm:RangeCheck")) == 2
    page = (run / "sdtm" / "define.html").read_text(encoding="utf-8")
    assert "LBTESTCD EQ MCPROT and LBSPEC EQ URINE" in page


def test_value_level_items_are_typed_per_test(root: etree._Element) -> None:
    item = _xpath(root, f"{MDV}/odm:ItemDef[@OID='IT.LB.LBORRES.HGB.BLOOD']")[0]
    assert item.get("DataType") in ("float", "integer")
    assert _str(item, "odm:Description/odm:TranslatedText") == "Hemoglobin"
    mpigiso = _xpath(root, f"{MDV}/odm:ItemDef[@OID='IT.LB.LBORRES.MPIGISO.SERUM']")[0]
    assert mpigiso.get("DataType") == "text"  # immunofixation: a text result
    parent = _xpath(root, f"{MDV}/odm:ItemDef[@OID='IT.LB.LBORRES']")[0]
    assert int(mpigiso.get("Length")) <= int(parent.get("Length"))


def test_supplemental_qualifiers_are_described_per_qnam(run: Path, root: etree._Element) -> None:
    supp = _read(run, "SUPPAE")
    wc_oids = _xpath(
        root,
        f"{MDV}/def:ValueListDef[@OID='VL.SUPPAE.QVAL']//def:WhereClauseRef/@WhereClauseOID",
    )
    values = {
        _str(root, f"{MDV}/def:WhereClauseDef[@OID='{oid}']//odm:CheckValue") for oid in wc_oids
    }
    assert values == set(supp["QNAM"])
    aetrtem = _xpath(root, "//def:ValueListDef/odm:ItemRef[@ItemOID='IT.SUPPAE.QVAL.AETRTEM']")[0]
    assert aetrtem.get("MethodOID")  # a derived qualifier: its rule in words


# --- failures --------------------------------------------------------------------------------


def test_a_broken_define_fails_validation(define_path: Path) -> None:
    tree = etree.parse(str(define_path))
    ref = tree.xpath("//odm:ItemGroupDef/odm:ItemRef", namespaces=NS)[0]
    del ref.attrib["Mandatory"]
    item = tree.xpath("//odm:ItemDef", namespaces=NS)[0]
    item.set("DataType", "character")
    errors = validate_define(tree)
    assert any("Mandatory" in e for e in errors)
    assert any("character" in e for e in errors)


def test_dangling_references_and_wrong_lengths_are_found(define_path: Path, tmp_path: Path) -> None:
    tree = etree.parse(str(define_path))
    tree.xpath("//odm:CodeListRef", namespaces=NS)[0].set("CodeListOID", "CL.NOWHERE")
    tree.xpath("//odm:ItemDef[@OID='IT.DM.USUBJID']", namespaces=NS)[0].set("Length", "99")
    tree.xpath("//def:leaf[@ID='LF.TS']", namespaces=NS)[0].set(
        f"{{{NS['xlink']}}}href", "missing.xpt"
    )
    broken = define_path.parent / "broken-define.xml"
    tree.write(str(broken))
    try:
        assert validate_define(broken) == []  # the schema cannot see any of it
        problems = check_define(broken)
    finally:
        broken.unlink()
    assert any("CL.NOWHERE" in p for p in problems)
    assert any("DM.USUBJID" in p and "99" in p for p in problems)
    assert any("missing.xpt" in p for p in problems)


def test_an_xpt_without_metadata_is_refused(run: Path, tmp_path: Path) -> None:
    copy = _copy_run(run, tmp_path / "run")
    shutil.copy2(copy / "sdtm" / "dm.xpt", copy / "sdtm" / "xx.xpt")
    with pytest.raises(DefineError, match="no metadata for XX"):
        write_define(copy, "sdtm")
    assert not (copy / "sdtm" / "define.xml").exists()


def test_the_reference_define_is_valid_but_for_its_standard_name_typo() -> None:
    """The copied schema tree validates a real-world define.xml: the CDISC MSG sample fails
    only where it names its standard "STDTMIG" (not an enumerated StandardName)."""
    errors = validate_define(FIXTURES / "define" / "cdiscpilot01-define.xml")
    assert errors and all("STDTMIG" in e for e in errors)


def test_rewriting_gives_the_same_bytes(run: Path, define_path: Path, tmp_path: Path) -> None:
    copy = _copy_run(run, tmp_path / "run")
    again = write_define(copy, "sdtm")
    assert again.read_bytes() == define_path.read_bytes()
    assert (copy / "sdtm" / "define.html").read_bytes() == (
        define_path.parent / "define.html"
    ).read_bytes()


# --- define.html -----------------------------------------------------------------------------


def test_html_rendering(define_path: Path, root: etree._Element) -> None:
    page = html.parse(str(define_path.parent / "define.html")).getroot()
    ids = set(page.xpath("//@id"))
    targets = {h[1:] for h in page.xpath("//a/@href") if h.startswith("#")}
    assert targets and targets <= ids  # every internal link lands
    for group in _xpath(root, f"{MDV}/odm:ItemGroupDef"):
        assert group.get("OID") in ids
        assert page.xpath(f"//a[@href='#{group.get('OID')}']")  # in the table of contents
    for codelist in _xpath(root, f"{MDV}/odm:CodeList/@OID"):
        assert codelist in ids
    described = _xpath(root, f"{MDV}/odm:MethodDef/@OID|{MDV}/def:CommentDef/@OID")
    assert described and set(described) <= ids
    assert "IT.LB.LBORRES.NEUT.BLOOD" in ids  # value-level row
    text = page.text_content()
    assert "Laboratory Test Results" in text and "MedDRA" in text


def test_collected_variables_point_at_the_annotated_crf(
    published: Path, run: Path, tmp_path: Path
) -> None:
    from pypdf import PdfReader

    from transforms.define.documents import GUIDES, write_acrf
    from transforms.errors import PipelineError
    from transforms.store import RunFolder

    copy = _copy_run(run, tmp_path / "run")
    shutil.copy2(published / "reports" / "reconciliation_fields.csv", copy / "reports")
    crf = write_acrf(RunFolder(copy), load_study("POMMAINT"))
    guide = GUIDES["sdtm"]  # written at publication: not there yet
    path = write_define(copy, "sdtm", annotated_crf=crf, supplemental=[guide])
    assert validate_define(path) == [] and check_define(path, later=["csdrg.pdf"]) == []
    assert check_define(path) == ["def:leaf csdrg.pdf does not exist beside define.xml"]
    root = etree.parse(str(path)).getroot()
    assert _xpath(root, f"{MDV}/def:AnnotatedCRF/def:DocumentRef/@leafID") == ["LF.ACRF"]
    assert _xpath(root, f"{MDV}/def:SupplementalDoc/def:DocumentRef/@leafID") == ["LF.CSDRG"]
    assert _xpath(root, f"{MDV}/def:leaf/@xlink:href") == ["acrf.pdf", "csdrg.pdf"]
    assert _xpath(root, f"{MDV}/def:leaf[@ID='LF.ACRF']/@xlink:href") == ["acrf.pdf"]
    sex = _xpath(root, f"{MDV}/odm:ItemDef[@OID='IT.DM.SEX']/def:Origin/def:DocumentRef")[0]
    page = int(_str(sex, "def:PDFPageRef/@PageRefs"))
    assert (
        "Form DM: Demographics"
        in PdfReader(copy / "sdtm" / "acrf.pdf").pages[page - 1].extract_text()
    )
    # derived and assigned variables point at no page
    assert not _xpath(root, f"{MDV}/odm:ItemDef[@OID='IT.DM.AGEU' or @OID='IT.DM.DOMAIN']"
                            "/def:Origin/def:DocumentRef")  # fmt: skip
    # the stylesheet and define.html show the same document and the same pages
    ours = _rows(html.fromstring(render_stylesheet(path)))
    theirs = _rows(html.parse(str(path.parent / "define.html")).getroot())
    assert ours["LF.ACRF"] == theirs["LF.ACRF"] == ["Annotated CRF", "Annotated CRF", "acrf.pdf"]
    assert ours["LF.CSDRG"] == theirs["LF.CSDRG"] == [
        "Supplemental document", "Clinical Study Data Reviewer's Guide", "csdrg.pdf"]  # fmt: skip
    assert ours["IT.DM.SEX"] == [re.sub(r"^\(\d+\)$", "", c) for c in theirs["IT.DM.SEX"]]
    assert f"Annotated CRF p. {page}" in ours["IT.DM.SEX"][7]
    (copy / "sdtm" / "acrf.pdf").unlink()
    assert "def:leaf acrf.pdf does not exist beside define.xml" in check_define(path)
    # The publication's submission manifest refuses a define.xml whose document is missing,
    # in the run and in the submission built from it.
    (copy / "sdtm" / "csdrg.pdf").write_bytes(b"%PDF-1.4 guide")
    with pytest.raises(
        PipelineError,
        match=r"2 document\(s\) missing: .*/run/sdtm/define.xml: "
        r"def:leaf acrf.pdf .*/tabulations/sdtm/define.xml: def:leaf acrf.pdf",
    ):
        write_submission_manifest(copy)


# --- ADaM ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _AdamVar:
    name: str
    label: str
    type: str
    origin: str
    format: str | None = None
    source: str | None = None
    method: str | None = None
    codelist: str | None = None
    comment: str | None = None

    @property
    def data_type(self) -> str:
        if self.type == "Char":
            return "text"
        return "date" if self.format else "float"


@dataclass(frozen=True)
class _AdamSpec:
    name: str
    label: str
    structure: str
    class_: str
    keys: tuple[str, ...]
    variables: tuple[_AdamVar, ...]
    comment: str | None = None


_ADTTE = _AdamSpec(
    name="ADTTE",
    label="Time-to-Event Analysis Dataset",
    structure="TTE",
    class_="BASIC DATA STRUCTURE",
    keys=("STUDYID", "USUBJID", "PARAMCD"),
    variables=(
        _AdamVar("STUDYID", "Study Identifier", "Char", "Predecessor", source="ADSL.STUDYID"),
        _AdamVar("USUBJID", "Unique Subject Identifier", "Char", "Predecessor",
                 source="ADSL.USUBJID"),
        _AdamVar("PARAMCD", "Parameter Code", "Char", "Assigned"),
        _AdamVar("PARAM", "Parameter", "Char", "Assigned"),
        _AdamVar("AVAL", "Analysis Value", "Num", "Derived", method="ADT - STARTDT + 1, in days"),
        _AdamVar("CNSR", "Censor", "Num", "Derived", method="0 for an event, 1 if censored"),
        _AdamVar("STARTDT", "Time-to-Event Origin Date for Subject", "Num", "Derived",
                 format="DATE9.", method="ADSL.TRTSDT"),
    ),
)  # fmt: skip


def test_adam_time_to_event_metadata(run: Path, tmp_path: Path) -> None:
    copy = _adtte_run(run, tmp_path / "run")
    spec = _ADTTE
    path = write_define(copy, "adam", adam_metadata([spec]))
    assert validate_define(path) == [] and check_define(path) == []
    tree = etree.parse(str(path))
    group = tree.xpath("//odm:ItemGroupDef[@Name='ADTTE']", namespaces=NS)[0]
    assert group.get("Purpose") == "Analysis"
    assert _str(group, "def:Class/@Name") == "BASIC DATA STRUCTURE"
    assert _str(group, "def:Class/def:SubClass/@Name") == "TIME-TO-EVENT"
    names = tree.xpath("//def:Standard[@Type='IG']/@Name", namespaces=NS)
    assert names == ["ADaMIG"]
    checks = tree.xpath(
        "//def:WhereClauseDef/odm:RangeCheck[@def:ItemOID='IT.ADTTE.PARAMCD']/odm:CheckValue/text()",
        namespaces=NS,
    )
    assert sorted(checks) == ["OS", "PFS"]
    startdt = tree.xpath("//odm:ItemDef[@OID='IT.ADTTE.STARTDT']", namespaces=NS)[0]
    assert startdt.get("DataType") == "integer"
    assert startdt.get(f"{{{NS['def']}}}DisplayFormat") == "DATE9."
    origin = tree.xpath("//odm:ItemDef[@OID='IT.ADTTE.USUBJID']/def:Origin", namespaces=NS)[0]
    assert origin.get("Type") == "Predecessor"
    assert _str(origin, "odm:Description/odm:TranslatedText") == "ADSL.USUBJID"


_PFS = AnalysisMeta(
    key="PFS", display="Table 14.2.1", description="Progression-free survival",
    result="Kaplan-Meier estimate at 2 years", dataset="ADTTE", paramcd="PFS",
    variables=("AVAL", "CNSR"), purpose="PRIMARY OUTCOME MEASURE",
    reason="SPECIFIED IN PROTOCOL", documentation="ITT subjects; Kaplan-Meier",
    context="Python 3.11", code="transforms.adam.endpoints",
)  # fmt: skip


def _adtte_run(run: Path, target: Path) -> Path:
    """A copy of the run with a small ADTTE of two parameters (PFS, OS) in adam/."""
    from transforms.xpt import XptColumn, write_xport

    copy = _copy_run(run, target)
    data = pd.DataFrame(
        {
            "STUDYID": ["POMMAINT"] * 4,
            "USUBJID": ["S-1", "S-1", "S-2", "S-2"],
            "PARAMCD": ["PFS", "OS", "PFS", "OS"],
            "PARAM": ["Progression-Free Survival (Days)", "Overall Survival (Days)"] * 2,
            "AVAL": [120.0, 400.0, 35.5, 90.0],
            "CNSR": [0.0, 1.0, 0.0, 1.0],
            "STARTDT": [23000.0, 23000.0, 23010.0, 23010.0],
        }
    )
    columns = [
        XptColumn(v.name, v.label, "Char" if v.type == "Char" else "Num", None, v.format)
        for v in _ADTTE.variables
    ]
    write_xport(
        data, copy / "adam" / "adtte.xpt", dataset="ADTTE", label=_ADTTE.label, columns=columns,
        created=datetime(2026, 11, 23, tzinfo=UTC),
    )  # fmt: skip
    return copy


def test_adam_parameters_analysis_results_and_comments(run: Path, tmp_path: Path) -> None:
    """ADaM define.xml: a sponsor codelist of each dataset's parameters (PARAMCD decoded by
    its PARAM), the Analysis Results Metadata of an endpoint and the spec's comments."""
    copy = _adtte_run(run, tmp_path / "run")
    spec = replace(
        _ADTTE,
        variables=tuple(
            replace(v, comment="Unit: days") if v.name == "AVAL" else v for v in _ADTTE.variables
        ),
        comment="From the first dose.",
    )
    path = write_define(copy, "adam", adam_metadata([spec]), analyses=[_PFS])
    assert validate_define(path) == [] and check_define(path) == []
    tree = etree.parse(str(path))
    ns = {**NS, "arm": ARM_NS}

    paramcd = tree.xpath("//odm:CodeList[@OID='CL.ADTTE.PARAMCD']", namespaces=ns)[0]
    assert paramcd.get("Name") == "Parameter Code (ADTTE)"
    assert [
        (i.get("CodedValue"), _str(i, "odm:Decode/odm:TranslatedText"))
        for i in paramcd.xpath("odm:CodeListItem", namespaces=ns)
    ] == [("OS", "Overall Survival (Days)"), ("PFS", "Progression-Free Survival (Days)")]
    assert tree.xpath("//odm:ItemDef[@OID='IT.ADTTE.PARAM']/odm:CodeListRef/@CodeListOID",
                      namespaces=ns) == ["CL.ADTTE.PARAM"]  # fmt: skip
    assert tree.xpath("//odm:CodeList[@OID='CL.ADTTE.PARAM']/odm:EnumeratedItem/@CodedValue",
                      namespaces=ns) == ["Overall Survival (Days)",
                                         "Progression-Free Survival (Days)"]  # fmt: skip

    result = tree.xpath("//arm:AnalysisResultDisplays/arm:ResultDisplay/arm:AnalysisResult",
                        namespaces=ns)  # fmt: skip
    assert len(result) == 1
    assert result[0].get("ParameterOID") == "IT.ADTTE.PARAMCD"
    assert result[0].get("AnalysisPurpose") == "PRIMARY OUTCOME MEASURE"
    dataset = result[0].xpath("arm:AnalysisDatasets/arm:AnalysisDataset", namespaces=ns)[0]
    assert dataset.get("ItemGroupOID") == "IG.ADTTE"
    clause = _str(dataset, "def:WhereClauseRef/@WhereClauseOID")
    assert tree.xpath(f"//def:WhereClauseDef[@OID='{clause}']/odm:RangeCheck/odm:CheckValue/text()",
                      namespaces=ns) == ["PFS"]  # fmt: skip
    assert dataset.xpath("arm:AnalysisVariable/@ItemOID", namespaces=ns) == [
        "IT.ADTTE.AVAL", "IT.ADTTE.CNSR"
    ]  # fmt: skip
    assert _str(result[0], "arm:ProgrammingCode/arm:Code") == "transforms.adam.endpoints"
    # ARM comes last in the MetaDataVersion (after the def:CommentDef elements)
    assert (
        tree.xpath(f"{MDV}/*[last()]", namespaces=ns)[0].tag
        == f"{{{ARM_NS}}}AnalysisResultDisplays"
    )

    assert _str(tree.getroot(), f"{MDV}/def:CommentDef[@OID=//odm:ItemDef[@OID='IT.ADTTE.AVAL']"
                "/@def:CommentOID]/odm:Description/odm:TranslatedText") == "Unit: days"  # fmt: skip
    group_comment = _str(tree.getroot(), f"{MDV}/odm:ItemGroupDef[@Name='ADTTE']/@def:CommentOID")
    assert _str(tree.getroot(), f"{MDV}/def:CommentDef[@OID='{group_comment}']"
                "/odm:Description/odm:TranslatedText") == "From the first dose."  # fmt: skip

    # a dangling ARM reference is found; an analysis of a parameter the data lack refused
    broken = tmp_path / "broken.xml"
    broken.write_bytes(path.read_bytes().replace(b'ItemOID="IT.ADTTE.CNSR"/>', b'ItemOID="IT.X"/>'))
    assert "ARM variable 'IT.X' does not resolve" in check_define(broken)
    # ARM 1.0's content model (no ARM schema to validate against): what is checked, each
    # planted once in the written document
    good = etree.parse(str(path)).getroot()
    assert check_analysis_results(good) == []
    for edit, problem in (
        (lambda r: r.attrib.pop("AnalysisReason"), "arm:AnalysisResult AR.PFS: no AnalysisReason"),
        (lambda r: r.set("AnalysisPurpose", "MAIN"),
         "arm:AnalysisResult AR.PFS: AnalysisPurpose 'MAIN' is not a term of C117745"),
        (lambda r: r.remove(r.find("arm:AnalysisDatasets", ns)),
         "arm:AnalysisResult AR.PFS: 0 arm:AnalysisDatasets, ARM 1.0 wants 1 to 1"),
        (lambda r: r.append(r.find("arm:AnalysisDatasets", ns)),  # moved last: out of order
         "arm:AnalysisResult AR.PFS: arm:AnalysisDatasets is not allowed there"),
        (lambda r: [r.find("arm:AnalysisDatasets/arm:AnalysisDataset", ns).remove(v)
                    for v in r.findall(".//arm:AnalysisVariable", ns)],
         "arm:AnalysisDataset: 0 arm:AnalysisVariable, ARM 1.0 wants 1 to 1073741824"),
        (lambda r: etree.SubElement(r, f"{{{ARM_NS}}}Results"),
         "arm:Results is not an ARM 1.0 element"),
    ):  # fmt: skip
        copy_root = deepcopy(good)
        edit(copy_root.xpath("//arm:AnalysisResult", namespaces=ns)[0])
        assert any(problem in p for p in check_analysis_results(copy_root)), problem
    with pytest.raises(DefineError, match="analysis result PFS: ADTTE holds no PARAMCD EFS"):
        write_define(copy, "adam", adam_metadata([spec]), analyses=[replace(_PFS, paramcd="EFS")])


def test_adam_needs_its_metadata(run: Path) -> None:
    with pytest.raises(DefineError, match="ADaM"):
        write_define(run, "adam")


# --- values from the Parquet beside the XPT --------------------------------------------------


def _xpt_headers_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any read of an XPT file beyond its header."""
    read = pyreadstat.read_xport

    def header(path: Path, **options: Any) -> Any:
        assert options.get("metadataonly"), f"{path} read whole"
        return read(path, **options)

    monkeypatch.setattr(pyreadstat, "read_xport", header)


def test_define_from_the_parquet_is_the_define_from_the_xpt(
    published: Path, run: Path, define_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = _copy_run(run, tmp_path / "run")
    for path in sorted((published.resolve() / "sdtm").glob("*.parquet")):
        shutil.copy2(path, copy / "sdtm" / path.name)
    _xpt_headers_only(monkeypatch)
    again = write_define(copy, "sdtm")
    assert again.read_bytes() == define_path.read_bytes()
    assert (copy / "sdtm" / "define.html").read_bytes() == (
        define_path.parent / "define.html"
    ).read_bytes()


def test_adam_parquet_dates_are_the_xpt_day_counts(
    run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ADaM Parquet holds dates as timestamps and text with trailing blanks: described as
    the XPT written from it holds them (SAS day counts, trimmed text)."""
    from transforms.jobs.adam import sas_dates
    from transforms.xpt import XptColumn, write_xport

    copy = _copy_run(run, tmp_path / "run")
    data = pd.DataFrame(
        {
            "STUDYID": ["POMMAINT"] * 5,
            "USUBJID": ["S-1", "S-1", "S-2", "S-2", "S-3"],
            "PARAMCD": ["PFS", "OS", "PFS", "OS", "OS"],
            "PARAM": ["Progression-Free Survival (Days)", "Overall Survival (Days)  ",
                      "Progression-Free Survival (Days)", "Overall Survival (Days)", None],
            "AVAL": [120.0, -0.0, 35.25, None, 90.0],
            "CNSR": [0.0, 1.0, 0.0, 1.0, None],
            "STARTDT": pd.to_datetime(pd.Series(["2023-01-05", "1959-12-31 12:00", None,
                                                 "2023-01-05", "2023-01-06"]), format="ISO8601"),
        }
    )  # fmt: skip
    columns = [
        XptColumn(v.name, v.label, "Char" if v.type == "Char" else "Num", None, v.format)
        for v in _ADTTE.variables
    ]
    write_xport(
        sas_dates(data), copy / "adam" / "adtte.xpt", dataset="ADTTE", label=_ADTTE.label,
        columns=columns, created=datetime(2026, 11, 23, tzinfo=UTC),
    )  # fmt: skip
    data.to_parquet(copy / "adam" / "adtte.parquet", index=False)
    with monkeypatch.context() as patch:
        _xpt_headers_only(patch)
        from_parquet = write_define(copy, "adam", adam_metadata([_ADTTE])).read_bytes()
    (copy / "adam" / "adtte.parquet").unlink()
    assert write_define(copy, "adam", adam_metadata([_ADTTE])).read_bytes() == from_parquet


# --- the submission manifest -----------------------------------------------------------------


def test_submission_manifest_lists_every_file(run: Path, define_path: Path) -> None:
    path = write_submission_manifest(run)
    assert path == run / "reports" / "submission_manifest.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    # eCTD module 5: the XPT files, define.xml and its stylesheet, nothing else
    sdtm = run / "submission" / "m5" / "datasets" / "pommaint" / "tabulations" / "sdtm"
    xpts = sorted(p.name for p in (run / "sdtm").glob("*.xpt"))
    assert sorted(p.name for p in sdtm.iterdir()) == sorted([*xpts, "define.xml", "define.xsl"])
    files = sorted(p.relative_to(run / "submission").as_posix()
                   for p in (run / "submission").rglob("*") if p.is_file())  # fmt: skip
    assert [r["file"] for r in rows] == files
    assert "m5/datasets/pommaint/tabulations/sdtm/define.xml" in files
    assert not (run / "submission" / "m5" / "datasets" / "pommaint" / "analysis").exists()
    for name in ("lb.xpt", "define.xml"):  # hard links: no bytes copied
        assert (sdtm / name).stat().st_ino == (run / "sdtm" / name).stat().st_ino
    for row in rows:
        file = run / "submission" / row["file"]
        assert int(row["bytes"]) == file.stat().st_size
        assert row["sha256"] == sha256_file(file)
        if file.suffix == ".xpt":
            assert row["dataset"] == file.stem.upper()
            assert int(row["records"]) == len(_read(run, file.stem))
        else:
            assert row["records"] == ""
    markdown = (run / "reports" / "submission_manifest.md").read_text(encoding="utf-8")
    assert markdown.count("\n| `m5/") == len(rows)
    assert sha256_file(run / "sdtm" / "lb.xpt") in markdown


def test_the_submission_is_rebuilt_whole(run: Path, tmp_path: Path) -> None:
    """A second assembly replaces the folder (a document gone is gone); one that fails
    leaves the folder as it was and no staging folder behind."""
    from transforms import store

    copy = _copy_run(run, tmp_path / "run")
    (copy / "sdtm" / "csdrg.pdf").write_bytes(b"%PDF-1.4 guide")
    (copy / "adam" / "adsl.xpt").write_bytes((copy / "sdtm" / "dm.xpt").read_bytes())
    folder = store.RunFolder(copy)
    first = store.assemble_submission(folder)
    names = {p.relative_to(copy / "submission").as_posix() for p in first}
    assert "m5/datasets/pommaint/tabulations/sdtm/csdrg.pdf" in names
    assert "m5/datasets/pommaint/analysis/adam/datasets/adsl.xpt" in names
    assert not any(n.endswith((".json", ".parquet", ".html")) for n in names)

    (copy / "sdtm" / "csdrg.pdf").unlink()
    second = store.assemble_submission(folder)
    assert len(second) == len(first) - 1

    def broken(source: Path, target: Path) -> None:
        raise OSError("disk full")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "link_or_copy", broken)
        with pytest.raises(OSError, match="disk full"):
            store.assemble_submission(folder)
    assert sorted(p for p in (copy / "submission").rglob("*") if p.is_file()) == second
    assert not list(copy.glob(".submission.*"))


# --- building blocks -------------------------------------------------------------------------


def test_terms_outside_an_extensible_codelist_are_sponsor_extensions() -> None:
    from transforms.define.build import _Builder
    from transforms.define.model import VariableMeta

    builder = _Builder({})
    var = VariableMeta("XXEVAL", "Evaluator", "Char", "text", "Collected", codelist="C78735")
    builder.use_codelist("XX.XXEVAL", var, "text", {"INVESTIGATOR", "TUMOUR BOARD X"}, None)
    (codelist,) = builder.codelists()
    assert codelist.code == "C78735" and codelist.extensible
    terms = {t.value: t for t in codelist.terms}
    assert terms["INVESTIGATOR"].code and not terms["INVESTIGATOR"].extended
    assert terms["TUMOUR BOARD X"].code is None and terms["TUMOUR BOARD X"].extended


def test_several_ig_codelists_become_the_ones_the_values_use() -> None:
    from transforms.define.build import _Builder
    from transforms.define.model import VariableMeta

    codes = "C66727; C114118; C150811"  # DSDECOD: NCOMPLT, PROTMLST, OTHEVENT
    var = VariableMeta("DSDECOD", "Standardized Disposition Term", "Char", "text", "Collected",
                       codelist=codes)  # fmt: skip
    one = _Builder({})
    one.use_codelist("DS.DSDECOD", var, "text", {"COMPLETED"}, None)
    (single,) = one.codelists()
    assert single.oid == "CL.NCOMPLT" and single.code == "C66727" and single.standard_oid
    both = _Builder({})
    both.use_codelist("DS.DSDECOD", var, "text", {"COMPLETED", "INFORMED CONSENT OBTAINED"}, None)
    (union,) = both.codelists()
    assert union.code is None and union.standard_oid is None  # a sponsor list of NCI terms
    assert {t.code for t in union.terms} == {"C25250", "C16735"}


def test_test_codes_are_decoded_by_c_code_when_the_data_lacks_them() -> None:
    from transforms.define.build import _decodes_by_code

    assert _decodes_by_code(("C65047",), "C67154", {"ALB", "NEUT", "NOPE"}) == {
        "ALB": "Albumin",
        "NEUT": "Neutrophils",
    }


def test_iso_types_and_digits() -> None:
    from transforms.define.build import _digits, _iso_type

    def iso(*values: str) -> str:
        return _iso_type(pd.Series(values, dtype="string"), "text")

    assert iso("2025-01-02", "2025-12-31") == "date"
    assert iso("2025-01-02", "2025-01") == "partialDate"
    assert iso("2025-01-02T10:00", "2025") == "partialDatetime"
    assert iso("2025-01-02T10:00:05") == "datetime"
    assert iso("2025-01-02", "not a date") == "text"
    assert _digits(["12.5", "<0.05", "100"]) == (3, 2)


def test_derived_rules_in_words() -> None:
    metas = {m.name: m for m in sdtm_metadata(load_study("POMMAINT"))}
    assert metas["DM"].variable("DTHFL").method == 'If DTHDTC is present then "Y"; otherwise null'
    assert metas["DM"].variable("RFSTDTC").method == "Equal to RFXSTDTC"
    seq = metas["LB"].variable("LBSEQ").method or ""
    assert seq.startswith("Sequence number 1, 2, ... within each USUBJID in the order of")
    assert metas["LB"].variable("LBORRES").method is None  # collected: no method
    assert metas["SUPPAE"].value_lists[0].origins == {"AETRTEM": "Derived"}


def test_visit_methods_say_the_visit_names_in_words(root: etree._Element) -> None:
    """A visit rule's Define-XML text names the planned visits as the design writes them
    (cycle n day 1 -> n), not as the regular expression the rule matches them with."""
    texts = [
        str(t.text)
        for t in _xpath(root, "//def:CommentDef[@OID='COM.LB.VISITNUM']//odm:TranslatedText")
    ]
    assert texts and "screening -> 0; cycle n day 1 -> n;" in texts[0]
    assert "?P<" not in "".join(texts)


# --- the stylesheet --------------------------------------------------------------------------


def _rows(page: html.HtmlElement) -> dict[str, list[str]]:
    """Every table row with an id (variables, value-level entries, methods, comments): the
    text of its cells, blanks collapsed."""
    return {
        str(row.get("id")): [" ".join(cell.text_content().split()) for cell in row.xpath("td")]
        for row in page.xpath("//tr[@id]")
    }


def test_the_stylesheet_renders_define_xml_as_define_html(
    define_path: Path, root: etree._Element
) -> None:
    head = define_path.read_bytes()[:200].decode("utf-8")
    assert '<?xml-stylesheet type="text/xsl" href="define.xsl"?>' in head
    assert (define_path.parent / "define.xsl").read_bytes() == STYLESHEET.read_bytes()
    ours = html.fromstring(render_stylesheet(define_path))
    theirs = html.parse(str(define_path.parent / "define.html")).getroot()

    # the same sections, in the same order, and every internal link lands
    assert ours.xpath("//h2/text()") == theirs.xpath("//h2/text()")
    assert ours.xpath("//h2/text()")[:3] == ["Datasets", "Documents", "DM: Demographics"]
    ids = set(ours.xpath("//@id"))
    assert {h[1:] for h in ours.xpath("//a/@href") if h.startswith("#")} <= ids
    # the datasets' table of contents: name, label, class, structure, purpose, keys, file
    toc = [[" ".join(c.text_content().split()) for c in r.xpath("td")] for r in
           ours.xpath("//nav/table/tr[td]")]  # fmt: skip
    expected = [[" ".join(c.text_content().split()) for c in r.xpath("td")] for r in
                theirs.xpath("//nav/table/tr[td]")]  # fmt: skip
    assert toc == [row[:6] + row[7:] for row in expected]  # define.xml holds no record count
    assert toc[0][:2] == ["DM", "Demographics"]

    # every variable, value-level entry, method and comment: the same cells as define.html,
    # but the XPT width define.html gives (in brackets) an ISO 8601 variable, which has no
    # Length in define.xml
    mine, html_rows = _rows(ours), _rows(theirs)
    assert mine.keys() == html_rows.keys()
    for oid, cells in html_rows.items():
        assert mine[oid] == [re.sub(r"^\(\d+\)$", "", cell) for cell in cells], oid
    assert mine["IT.DM.SEX"][1:4] == ["SEX", "Sex", "text"]
    assert mine["IT.LB.LBORRES.NEUT.BLOOD"][:2] == [
        "LBTESTCD EQ NEUT and LBSPEC EQ BLOOD",
        "Neutrophils",
    ]
    assert mine["IT.LB.LBORRES.MCPROT.URINE"][0] == "LBTESTCD EQ MCPROT and LBSPEC EQ URINE"

    # the codelists: the same headings and terms (a term a reviewer looks up)
    assert ours.xpath("//h3/text()") == theirs.xpath("//h3/text()")
    sex = ours.xpath("//h3[@id='CL.SEX']/following-sibling::table[1]//td[1]/text()")
    assert "F" in sex and "M" in sex

"""The CDISC standards copied into the repo, their loader, and the script that copies them.

Nothing here reads /work/shared: facts are checked on the committed copies, and the script
runs on a tiny shared tree built in a temporary folder.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from transforms import standards
from transforms.standards import TERM_COLUMNS, UnknownCodelistError

ROOT = Path(__file__).resolve().parents[1]
STANDARDS = ROOT / "sdtm_specs" / "_standards"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    """scripts/import_standards.py as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "import_standards", ROOT / "scripts" / "import_standards.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- facts from the committed copies -----------------------------------------------------


def test_dm_variables_in_ig_order() -> None:
    dm = standards.ig_variables_of("DM")
    assert [(v.name, v.order) for v in dm[:5]] == [
        ("STUDYID", 1),
        ("DOMAIN", 2),
        ("USUBJID", 3),
        ("SUBJID", 4),
        ("RFSTDTC", 5),
    ]
    assert [v.order for v in dm] == list(range(1, len(dm) + 1))
    assert dm[-1].name == "DMDY"


def test_dm_age_and_sex() -> None:
    age = standards.ig_variable("DM", "AGE")
    assert age is not None
    assert (age.label, age.type, age.core, age.codelists) == ("Age", "Num", "Exp", ())
    sex = standards.ig_variable("dm", "sex")
    assert sex is not None
    assert (sex.type, sex.core, sex.codelists, sex.role) == (
        "Char",
        "Req",
        ("C66731",),
        "Record Qualifier",
    )
    assert standards.ig_variable("DM", "NOTAVAR") is None


def test_several_codelists_of_one_variable_are_split() -> None:
    dsdecod = standards.ig_variable("DS", "DSDECOD")
    assert dsdecod is not None
    assert dsdecod.codelists == ("C66727", "C114118", "C150811")


def test_supp_datasets_read_as_suppqual() -> None:
    assert [v.name for v in standards.ig_variables_of("SUPPDM")] == [
        "STUDYID",
        "RDOMAIN",
        "USUBJID",
        "IDVAR",
        "IDVARVAL",
        "QNAM",
        "QLABEL",
        "QVAL",
        "QORIG",
        "QEVAL",
    ]
    qnam = standards.ig_variable("SUPPAE", "QNAM")
    assert qnam is not None and (qnam.domain, qnam.core) == ("SUPPQUAL", "Req")
    suppdm = standards.ig_dataset("SUPPDM")
    assert suppdm is not None and (suppdm.name, suppdm.class_) == ("SUPPQUAL", "Relationship")


def test_ig_datasets() -> None:
    dm = standards.ig_dataset("DM")
    assert dm is not None
    assert (dm.label, dm.class_, dm.structure) == (
        "Demographics",
        "Special-Purpose",
        "One record per subject",
    )
    assert standards.ig_dataset("XX") is None
    assert standards.ig_variables_of("XX") == ()


def test_ig_role_falls_back_to_the_general_observation_class_role() -> None:
    # The domain table's role where it has the variable.
    assert standards.ig_role("AE", "AETERM") == "Topic"
    assert standards.ig_role("SUPPAE", "QVAL") == "Result Qualifier"
    # AEDTC and AEDY are not in the IG's AE table, VISITNUM/VISIT not in DS's, VISITDY not
    # in EX's: every domain table that has --DTC, --DY, VISITNUM, VISIT or VISITDY makes it
    # a Timing variable.
    assert standards.ig_variable("AE", "AEDTC") is None
    for domain, name in [("AE", "AEDTC"), ("AE", "AEDY"), ("DS", "VISITNUM"), ("DS", "VISIT"),
                         ("EX", "VISITDY")]:  # fmt: skip
        assert standards.ig_role(domain, name) == "Timing", name
    # --ORRES is a Result Qualifier in every Findings table; a name the IG never uses has none.
    assert standards.ig_role("XX", "XXORRES") == "Result Qualifier"
    assert standards.ig_role("XX", "XXFOO") is None


def test_ig_variable_tables() -> None:
    sdtm = standards.ig_variables("SDTMIG")
    assert sdtm["Variable Order"].dtype == "int64"
    assert len(sdtm) == 1917
    adam = standards.ig_variables("ADAMIG")
    adsl = adam[adam["Data Structure Name"] == "Subject-Level Analysis Dataset"]
    assert {"STUDYID", "USUBJID", "TRTxxP", "SAFFL"} <= set(adsl["Variable Name"])
    assert set(adam["Core"]) == {"Req", "Cond", "Perm"}
    # Each call returns a copy: a caller cannot spoil the cache.
    sdtm.loc[:, "Variable Label"] = "spoilt"
    assert (standards.ig_variables("SDTMIG")["Variable Label"] != "spoilt").all()


def test_sex_codelist() -> None:
    sex = standards.controlled_terms().codelist("C66731")
    assert (sex.name, sex.short_name, sex.extensible) == ("Sex", "SEX", False)
    assert {v: t.code for v, t in sex.terms.items()} == {
        "F": "C16576",
        "M": "C20197",
        "U": "C17998",
        "INTERSEX": "C45908",
    }
    assert sex.lookup("M") is not None and sex.lookup("Male") is None
    male = sex.find_by_synonym(" male ")
    assert male is not None and male.submission_value == "M"


def test_lbtestcd_has_neut_and_no_anc() -> None:
    lbtestcd = standards.controlled_terms().codelist("C65047")
    neut = lbtestcd.lookup("NEUT")
    assert neut is not None
    assert (neut.code, neut.preferred_term, neut.synonyms) == (
        "C63321",
        "Absolute Neutrophil Count",
        ("Neutrophils",),
    )
    assert lbtestcd.lookup("ANC") is None
    assert lbtestcd.find_by_synonym("ANC") is None


def test_find_by_synonym_prefers_exact_matches_and_refuses_ambiguity() -> None:
    lbtestcd = standards.controlled_terms().codelist("C65047")
    egfr = lbtestcd.find_by_synonym("eGFR")  # exact synonym of GFRE, not EGFR (a receptor)
    assert egfr is not None and egfr.submission_value == "GFRE"
    assert lbtestcd.find_by_synonym("egfr") is None  # EGFR's value and GFRE's synonym
    assert lbtestcd.find_by_synonym("Amphetamine") is None  # synonym of AMPEA and AMPHET
    neut = lbtestcd.find_by_synonym("NEUTROPHILS")
    assert neut is not None and neut.code == "C63321"


def test_oncrsr_is_case_sensitive() -> None:
    oncrsr = standards.controlled_terms().codelist("C96785")
    scr = oncrsr.lookup("sCR")
    assert scr is not None and scr.code == "C123614"
    assert oncrsr.lookup("SCR") is None
    assert oncrsr.lookup("VGPR") is not None and oncrsr.extensible


def test_epoch_is_extensible_and_ny_keeps_na() -> None:
    terms = standards.controlled_terms()
    epoch = terms.codelist("C99079")
    assert epoch.extensible and epoch.short_name == "EPOCH"
    assert epoch.lookup("SCREENING") is not None
    na = terms.codelist("C66742").lookup("NA")  # the text "NA", not a missing value
    assert na is not None and na.code == "C48660"


def test_unknown_codelist_names_the_code() -> None:
    with pytest.raises(UnknownCodelistError, match="C99999999") as err:
        standards.controlled_terms().codelist("C99999999")
    assert isinstance(err.value, KeyError)
    assert "import_standards.py" in str(err.value)


def test_adam_and_define_xml_terminology() -> None:
    datefl = standards.controlled_terms("ADaM").codelist("C81223")
    assert set(datefl.terms) == {"D", "M", "Y"} and datefl.short_name == "DATEFL"
    assert standards.controlled_terms("ADaM").codelist("C124296").short_name == "SBJTSTAT"
    origins = standards.controlled_terms("Define-XML").codelist("C170449")
    assert origins.lookup("Collected") is not None


# --- the committed CT subset is the script's output --------------------------------------


def test_committed_subset_holds_exactly_the_codelists_the_script_selects(
    script: ModuleType,
) -> None:
    variables = pd.read_csv(
        STANDARDS / "sdtmig-3.4" / "Variables.csv", dtype=str, keep_default_na=False
    )
    wanted = script.referenced_codelists(variables, script.SDTM_DOMAINS) | set(
        script.EXTRA_CODELISTS
    )
    subset = pd.read_csv(STANDARDS / standards.SDTM_CT, dtype=str, keep_default_na=False)
    assert tuple(subset.columns) == TERM_COLUMNS
    assert set(subset["codelist_code"]) == wanted
    assert len(wanted) == 102  # DD and PR (issue 17.2); ECOG; IE, MB, IS, GF, RP (issue 18)
    short = subset.drop_duplicates("codelist_code").set_index("codelist_code")[
        "codelist_submission_value"
    ]
    assert {c: short[c] for c in script.EXTRA_CODELISTS} == script.EXTRA_CODELISTS


def test_committed_subset_is_byte_identical_when_rewritten(
    script: ModuleType, tmp_path: Path
) -> None:
    path = STANDARDS / standards.SDTM_CT
    subset = pd.read_csv(path, dtype=str, keep_default_na=False)
    ordered = subset.sort_values(["codelist_code", "submission_value", "term_code"], kind="stable")
    assert ordered.index.equals(subset.index)
    script.write_table(subset, tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_bytes() == path.read_bytes()


def test_committed_copies_have_no_bom_and_are_documented() -> None:
    sources = (STANDARDS / "SOURCES.md").read_text(encoding="utf-8")
    for path in sorted(STANDARDS.rglob("*.csv")):
        assert not path.read_bytes().startswith(b"\xef\xbb\xbf"), path
        assert f"`{path.relative_to(STANDARDS).as_posix()}`" in sources
    assert "2025-03-28" in (STANDARDS / "ct" / "README.md").read_text(encoding="utf-8")


# --- the script on a tiny shared tree ----------------------------------------------------

VARIABLES_HEADER = (
    '"Version","Variable Order","Class","Dataset Name","Variable Name","Variable Label","Type",'
    '"CDISC CT Codelist Code(s)","Codelist Submission Values","Described Value Domain(s)",'
    '"Value List","Role","CDISC Notes","Core"\n'
)
NCI_HEADER = (
    "Code\tCodelist Code\tCodelist Extensible (Yes/No)\tCodelist Name\tCDISC Submission Value\t"
    "CDISC Synonym(s)\tCDISC Definition\tNCI Preferred Term\n"
)
NCI_CSV = (
    '"Code","Codelist Code","Codelist Extensible (Yes/No)","Codelist Name","CDISC Submission Value",'
    '"CDISC Synonym(s)","CDISC Definition","NCI Preferred Term","Standard and Date"\n'
    '"C81223",,"No","Date Imputation Flag","DATEFL","Date Imputation Flag","Flag.","DATEFL","ADaM CT"\n'
    '"C81209","C81223",,"Date Imputation Flag","D","Day","Day imputed.","Day Imputed","ADaM CT"\n'
)


def _row(*cells: str) -> str:
    return "\t".join(cells) + "\n"


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    """A shared tree with three IG variables, four codelists, one of them out of scope."""
    root = tmp_path / "shared" / "standards"
    for folder in ("sdtmig-3.4", "adamig-1.3", "ct"):
        (root / folder).mkdir(parents=True)
    (root / "sdtmig-3.4" / "Variables.csv").write_text(
        VARIABLES_HEADER
        + '"SDTMIG v3.4","21","Special-Purpose","DM","SEX","Sex","Char","C66731","",,"","Record Qualifier","Sex.","Req"\n'
        + '"SDTMIG v3.4","7","Events","DS","DSDECOD","Standardized Disposition Term","Char",'
        '"C66727; C114118","",,"","Synonym Qualifier","Term.","Req"\n'
        + '"SDTMIG v3.4","5","Findings","QS","QSTESTCD","Test Code","Char","C100000","",,"","Topic","Code.","Req"\n'
    )
    (root / "sdtmig-3.4" / "Datasets.csv").write_bytes(
        b'\xef\xbb\xbf"Version","Class","Dataset Name","Dataset Label","Structure"\n'
        b'"SDTMIG v3.4","Special-Purpose","DM","Demographics","One record per subject"\n'
    )
    (root / "adamig-1.3" / "Variables.csv").write_text(
        '"Version","Data Structure Name"\n"ADaMIG v1.3","ADSL"\n'
    )
    (root / "adamig-1.3" / "DataStructures.csv").write_text(
        '"Version","Data Structure Name"\n"ADaMIG v1.3","ADSL"'
    )
    (root / "ct" / "ADaM_CT_2025-09-26.csv").write_text(NCI_CSV)
    (root / "ct" / "Define-XML_CT_2025-09-26.csv").write_text(NCI_CSV)
    (root / "ct" / "SDTM_Terminology_2025-03-28.txt").write_text(
        NCI_HEADER
        + _row("C66731", "", "No", "Sex", "SEX", "Sex", "Sex.", "CDISC SDTM Sex Terminology")
        + _row("C20197", "C66731", "", "Sex", "M", "Male", "Male.", "Male")
        + _row("C16576", "C66731", "", "Sex", "F", "Female", 'A "female" person.', "Female")
        + _row("C66742", "", "No", "No Yes Response", "NY", "No Yes Response", "Y/N.", "NY")
        + _row(
            "C48660",
            "C66742",
            "",
            "No Yes Response",
            "NA",
            "NA; Not Applicable",
            "N/A.",
            "Not Applicable",
        )
        + _row(
            "C66727",
            "",
            "Yes",
            "Completion/Reason for Non-Completion",
            "NCOMPLT",
            "",
            "",
            "NCOMPLT",
        )
        + _row(
            "C25250",
            "C66727",
            "",
            "Completion/Reason for Non-Completion",
            "COMPLETED",
            "",
            "",
            "Completed",
        )
        + _row("C114118", "", "Yes", "Protocol Milestone", "PROTMLST", "", "", "PROTMLST")
        + _row("C114209", "C114118", "", "Protocol Milestone", "RANDOMIZED", "", "", "Randomized")
        + _row(
            "C16735",
            "C114118",
            "",
            "Protocol Milestone",
            "INFORMED CONSENT OBTAINED",
            "",
            "",
            "Consent",
        )
        + _row("C100000", "", "Yes", "QS Test Code", "QSTESTCD", "", "", "QS")
        + _row("C100001", "C100000", "", "QS Test Code", "QS01", "", "", "QS 01")
    )
    return tmp_path / "shared"


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_script_subsets_and_copies(script: ModuleType, shared: Path, tmp_path: Path) -> None:
    out = tmp_path / "specs" / "_standards"
    script.import_standards(shared, out, extra={"C66742": "NY"})
    subset = pd.read_csv(out / standards.SDTM_CT, dtype=str, keep_default_na=False)
    assert tuple(subset.columns) == TERM_COLUMNS
    # Referenced by DM/DS (two codes in one cell) plus the extra list; QS is out of scope.
    assert subset[
        ["codelist_submission_value", "submission_value", "term_code"]
    ].values.tolist() == [
        ["PROTMLST", "INFORMED CONSENT OBTAINED", "C16735"],
        ["PROTMLST", "RANDOMIZED", "C114209"],
        ["NCOMPLT", "COMPLETED", "C25250"],
        ["SEX", "F", "C16576"],
        ["SEX", "M", "C20197"],
        ["NY", "NA", "C48660"],
    ]
    sex = subset[subset["codelist_code"] == "C66731"].iloc[0]
    assert (sex["codelist_name"], sex["extensible"], sex["synonyms"]) == ("Sex", "No", "Female")
    assert subset.loc[subset["term_code"] == "C48660", "synonyms"].item() == "NA; Not Applicable"

    source = shared / "standards"
    datasets = (source / "sdtmig-3.4" / "Datasets.csv").read_bytes()
    assert (out / "sdtmig-3.4" / "Datasets.csv").read_bytes() == datasets.removeprefix(
        b"\xef\xbb\xbf"
    )
    for name, target in script.VERBATIM.items():
        if name != "sdtmig-3.4/Datasets.csv":
            assert (out / target).read_bytes() == (source / name).read_bytes(), name
    assert "C66731 | SEX | No | 2 | Sex" in (out / "ct" / "README.md").read_text()
    assert "`ct/sdtm_ct_2025-03-28.csv`" in (out / "SOURCES.md").read_text()

    first = _tree(out)
    script.import_standards(shared, out, extra={"C66742": "NY"})
    assert _tree(out) == first


def test_loader_reads_the_script_output(
    script: ModuleType, shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script.import_standards(shared, tmp_path / "specs" / "_standards", extra={})
    monkeypatch.setenv("CDISC_SPECS_DIR", str(tmp_path / "specs"))
    terms = standards.controlled_terms()
    assert set(terms.codelists) == {"C66731", "C66727", "C114118"}
    female = terms.codelist("C66731").find_by_synonym("FEMALE")
    assert female is not None and female.code == "C16576"
    assert standards.ig_variable("DS", "DSDECOD") is not None
    assert [v.name for v in standards.ig_variables_of("DS")] == ["DSDECOD"]
    assert standards.controlled_terms("ADaM").codelist("C81223").lookup("D") is not None
    monkeypatch.delenv("CDISC_SPECS_DIR")
    assert len(standards.controlled_terms().codelists) == 102


def test_script_refuses_unknown_or_misnamed_codes(
    script: ModuleType, shared: Path, tmp_path: Path
) -> None:
    with pytest.raises(SystemExit, match="C89970"):
        script.import_standards(shared, tmp_path / "a", extra={"C89970": "STYPE"})
    with pytest.raises(SystemExit, match="PCLAS"):
        script.import_standards(shared, tmp_path / "b", extra={"C66742": "PCLAS"})


def test_script_cli(script: ModuleType, shared: Path, tmp_path: Path) -> None:
    # The default extra list names codelists the tiny tree lacks: the run stops, naming them.
    with pytest.raises(SystemExit, match="C66790"):
        script.main(["--shared", str(shared), "--out", str(tmp_path / "out")])

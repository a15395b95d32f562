"""Nothing collected is lost (issue 17): every raw field is mapped by the specs or declared
not submitted in study.yaml with a reason, and every run says which in
reports/reconciliation_fields.csv. (A column the export gains overnight stops the run:
tests/robustness/cases.py, case extra-column, runs it through the whole job.)"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import ROOT
from tests.sdtm_algorithms.frames import DM, Env
from transforms.reconcile import MappedRows, reconcile, reconcile_fields
from transforms.sdtm.algorithms import CONDITION, KEY, VALUE, parse_rule, reads
from transforms.specs import FieldUse, SpecError, StudySpec, load_study
from transforms.studies import COMMON

# --- what a rule reads -----------------------------------------------------------------------


def _reads(rule: dict[str, Any], env: Env | None = None) -> set[tuple[str, str, str]]:
    parsed = parse_rule(rule, (env or Env()).scope())
    return {(r.form, r.column, r.how) for r in reads(parsed, "DM")}


def test_reads_a_column_as_a_value_and_a_condition_as_deciding() -> None:
    assert _reads({"column": "SEX", "upper": True}) == {("DM", "SEX", VALUE)}
    assert _reads({"algorithm": "iso8601", "date": {"column": "BRTHDAT"}}) == {
        ("DM", "BRTHDAT", VALUE)
    }
    case = {"algorithm": "condition",
            "cases": [{"when": {"column": "AGE", "not_null": True}, "then": {"column": "SEX"}}],
            "else": {"value": "U"}}  # fmt: skip
    assert _reads(case) == {("DM", "AGE", CONDITION), ("DM", "SEX", VALUE)}


def test_reads_a_merge_over_the_form_it_names_joined_on_keys_of_both() -> None:
    merge = {"algorithm": "merge", "form": "EX", "pick": "min",
             "where": {"column": "EXSTDAT", "ne": "01 MAR 2024"},
             "value": {"algorithm": "iso8601", "date": {"column": "EXSTDAT"}}}  # fmt: skip
    assert _reads(merge) == {
        ("EX", "EXSTDAT", VALUE),
        ("EX", "EXSTDAT", CONDITION),
        ("DM", "SUBJID", KEY),
        ("EX", "SUBJID", KEY),
    }
    # Inside a condition everything decides, keys included.
    decided = {"algorithm": "condition",
               "cases": [{"when": {**merge, "not_null": True}, "then": {"value": "Y"}}]}  # fmt: skip
    assert _reads(decided) == {
        ("EX", "EXSTDAT", CONDITION),
        ("DM", "SUBJID", CONDITION),
        ("EX", "SUBJID", CONDITION),
    }


def test_reads_the_subject_a_dm_value_and_an_unscheduled_visit_are_looked_up_by() -> None:
    built = Env(datasets={"DM": pd.DataFrame({"SUBJID": ["1001"], "RFSTDTC": ["2024-02-01"]})})
    assert _reads({"dm": "RFSTDTC"}, built) == {("DM", "SUBJID", KEY)}
    # Joined on a variable derived before: no raw column.
    on_var = Env(datasets=built.datasets, vars={"USUBJID": DM["SUBJID"]})
    assert _reads({"dm": "RFSTDTC", "by": "USUBJID"}, on_var) == set()
    visit = {"algorithm": "visit", "output": "number", "visit": {"column": "SEX"},
             "date": {"column": "BRTHDAT"}, "planned": {"Screening": 0}}  # fmt: skip
    assert ("DM", "SUBJID", KEY) not in _reads(visit)
    assert ("DM", "SUBJID", KEY) in _reads({**visit, "unscheduled": ["Unscheduled"]})


def test_the_pommaint_specs_map_what_the_issue_found_lost_or_only_deciding() -> None:
    uses = load_study("POMMAINT").field_uses
    of: dict[tuple[str, str], set[tuple[str, str]]] = {(u.form, u.field): set() for u in uses}
    for u in uses:
        of[(u.form, u.field)].add((u.target, u.how))
    # Issue 17.2: EXACN decided only whether EXADJ is kept, the other five no rule read.
    assert of[("EX", "EXACN")] == {("EX.EXADJ", CONDITION), ("SUPPEX.EXACN", VALUE)}
    assert of[("EOS", "DTHCAUS")] == {
        ("DD", CONDITION), ("DD.DDORRES", VALUE), ("DD.DDSTRESC", VALUE)
    }  # fmt: skip
    assert of[("COH", "ASCTDAT")] == {("PR", CONDITION), ("PR.PRSTDTC", VALUE)}
    # Issue 18: CM is per drug, from the prior and new therapy forms; the cohort form's end
    # of induction and the follow-up's new-therapy question and date only repeat them.
    assert of[("PRT", "PTENDAT")] == {("CM.CMENDTC", VALUE)}
    assert of[("NT", "NTSTDAT")] == {("CM.CMSTDTC", VALUE)}
    assert not {("COH", "INDENDAT"), ("SFU", "NEWTHER"), ("SFU", "NEWTHDAT")} & set(of)
    assert of[("CMED", "CMONGO")] == {("CM.CMENRTPT", CONDITION)}
    assert of[("DX", "DXISO")] == {("SUPPMH.MHISOTYP", VALUE)}
    assert of[("DX", "ISS")] == {("RS.RSORRES", VALUE), ("RS.RSSTRESC", VALUE)}
    assert of[("COH", "ASSIGNDAT")] == {("DS.DSSTDTC", VALUE)}
    assert of[("AE", "AEONGO")] == {("AE.AEENRTPT", VALUE)}
    # AEENTPT: the subject's end of study (the data cut-off comes from the run, not a form).
    assert ("AE.AEENTPT", VALUE) in of[("EOS", "EOSDAT")]
    assert ("AE.AEENTPT", KEY) in of[("EOS", "SUBJID")]
    assert ("SUPPRS.MRDMETH", VALUE) in of[("MRD", "MRDMETH")]
    assert {("DM.ARMCD", KEY), ("SUPPDM.TRNSINRS", KEY), ("PR.USUBJID", KEY)} <= of[
        ("COH", "SUBJID")
    ]
    # The study design's epochs read EOT.EOTDAT for every dataset's EPOCH.
    assert {("AE.EPOCH", VALUE), ("DS.DSSTDTC", VALUE)} <= of[("EOT", "EOTDAT")]
    assert FieldUse("LB", "LBND", "LB.LBSTAT", CONDITION) in uses


# --- the accounting ----------------------------------------------------------------------------


def test_reconcile_fields_on_a_small_export() -> None:
    """Golden: a mapped value, a key, a field read only as a condition (declared), one read
    by nothing (declared), one undeclared condition, one undeclared field, and a column the
    export holds but forms.yaml does not."""
    uses = [
        FieldUse("AE", "AETERM", "AE.AETERM", VALUE),
        FieldUse("AE", "SUBJID", "AE.USUBJID", KEY),
        FieldUse("AE", "SUBJID", "SUPPAE.AETRTEM", CONDITION),
        FieldUse("AE", "AESER", "AE.AESDTH", CONDITION),
        FieldUse("AE", "AESER", "AE.AESER", VALUE),
        FieldUse("EX", "EXACN", "EX.EXADJ", CONDITION),
        FieldUse("EX", "EXADJ", "EX.EXADJ", VALUE),
        FieldUse("EX", "CYCLE", "EX", CONDITION),
        FieldUse("EX", "SUBJID", "DM.RFXSTDTC", KEY),
        FieldUse("EX", "SUBJID", "EX.USUBJID", KEY),
        FieldUse("EX", "SUBJID", "DM.RFXSTDTC", VALUE),  # a value read wins over a key
    ]
    report = reconcile_fields(
        {"AE": ["SUBJID", "AETERM", "AESER", "AEONGO", "SITEID"],
         "EX": ["SUBJID", "EXACN", "EXADJ", "CYCLE", "QUERYSTATUS"]},
        {"AE": "ae.csv", "EX": "ex.csv"},
        {"AE": {"SUBJID", "AETERM", "AESER", "AEONGO", "SITEID"},
         "EX": {"SUBJID", "EXACN", "EXADJ", "CYCLE"}},
        uses,
        {"AE": {"AEONGO": "pending"}, "EX": {"EXACN": "dose action"}},
    )  # fmt: skip
    nothing, condition = "read by no rule", "read only as a condition"
    expected = [
        ["AE", "ae.csv", "SUBJID", "mapped", "AE.USUBJID (key)", "SUPPAE.AETRTEM", None],
        ["AE", "ae.csv", "AETERM", "mapped", "AE.AETERM", None, None],
        ["AE", "ae.csv", "AESER", "mapped", "AE.AESER", "AE.AESDTH", None],
        ["AE", "ae.csv", "AEONGO", "not_submitted", None, None, "pending"],
        ["AE", "ae.csv", "SITEID", "unaccounted", None, None, nothing],
        ["EX", "ex.csv", "SUBJID", "mapped", "DM.RFXSTDTC; EX.USUBJID (key)", None, None],
        ["EX", "ex.csv", "EXACN", "not_submitted", None, "EX.EXADJ", "dose action"],
        ["EX", "ex.csv", "EXADJ", "mapped", "EX.EXADJ", None, None],
        ["EX", "ex.csv", "CYCLE", "unaccounted", None, "EX", condition],
        ["EX", "ex.csv", "QUERYSTATUS", "unaccounted", None, None, "not in forms.yaml"],
    ]
    got = report.astype(object).where(report.notna(), None).to_numpy().tolist()
    for row in got:
        if row[3] == "unaccounted":
            row[6] = row[6].split(":")[0].split(", its")[0]
    assert list(report.columns) == ["form", "file", "field", "status", "targets", "used_in",
                                    "reason"]  # fmt: skip
    assert got == expected


def test_reconcile_lists_records_declared_not_mapped_with_their_reason() -> None:
    """Record level: a form's records no dataset maps are unaccounted (the run stops) unless
    study.yaml's not_mapped gives the reason (no POMMAINT form needs one since issue 17.2
    made the cohort form's records DS, PR and CM records)."""
    rows = np.array([2, 3])
    mapped = MappedRows()
    for dataset, form in [("DS", "ic.csv"), ("DS", "coh.csv"), ("PR", "coh.csv")]:
        mapped.add(dataset, form, np.array([2, 2]))  # two records of one raw row
    mapped.add("TS")  # a dataset no raw row is mapped to
    asked = []

    def subjects(oid: str) -> pd.Series:
        asked.append(oid)
        return pd.Series(["1001", "1002"])

    summary, lost = reconcile(
        {"IC": rows, "COH": rows}.items(),
        {"IC": "ic.csv", "COH": "coh.csv"},
        mapped,
        {"COH": "cohort assignment, mapped to DM.ARMCD"},
        subjects,
    )
    assert summary.to_dict("records") == [
        {"form": "ic.csv", "records_in": 2, "mapped_DS": 1, "mapped_PR": 0, "mapped_TS": 0,
         "not_mapped": 0, "reason": "", "unaccounted": 1},
        {"form": "coh.csv", "records_in": 2, "mapped_DS": 1, "mapped_PR": 1, "mapped_TS": 0,
         "not_mapped": 1, "reason": "cohort assignment, mapped to DM.ARMCD", "unaccounted": 0},
    ]  # fmt: skip
    assert lost.values.tolist() == [["ic.csv", 3, "1002"]]
    assert asked == ["IC"]  # the subjects of a form are read only when records are lost


def _export_of(study: StudySpec) -> dict[str, list[str]]:
    """The columns an export holds when it holds just what forms.yaml names."""
    return {oid: list(form.columns) for oid, form in study.forms.items()}


@pytest.mark.parametrize(
    ("study", "mapped", "not_submitted"), [("POMMAINT", 172, 31), ("CDISCPILOT01", 70, 17)]
)
def test_every_field_of_the_studies_is_mapped_or_declared(
    study: str, mapped: int, not_submitted: int
) -> None:
    spec = load_study(study)
    declared = {oid: form.columns.keys() for oid, form in spec.forms.items()}
    report = reconcile_fields(
        _export_of(spec), spec.form_files, declared, spec.field_uses, spec.not_submitted
    )
    assert report["status"].value_counts().to_dict() == {
        "mapped": mapped,
        "not_submitted": not_submitted,
    }
    assert report["reason"].notna().sum() == not_submitted


# --- the declaration in study.yaml ---------------------------------------------------------------


def _declared(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> str:
    """The SpecError of POMMAINT's specs with study.yaml's not_submitted edited."""
    root = tmp_path / f"specs{len(list(tmp_path.iterdir()))}"
    for folder in ("POMMAINT", COMMON):  # the study and the specs every study shares
        shutil.copytree(ROOT / "sdtm_specs" / folder, root / folder)
    path = root / "POMMAINT" / "study.yaml"
    meta = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(meta["not_submitted"])
    path.write_text(yaml.safe_dump(meta, sort_keys=False), encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_study.__wrapped__("POMMAINT", root)
    return str(err.value)


def test_a_declared_field_forms_yaml_does_not_know_is_a_spec_error(tmp_path: Path) -> None:
    message = _declared(tmp_path, lambda d: d["EOS"].update(DTHCAUSE="typo"))
    assert message.endswith(
        "POMMAINT/study.yaml: not_submitted.EOS.DTHCAUSE: not a column of form EOS in forms.yaml"
    )
    message = _declared(tmp_path, lambda d: d.update(EOX={"X": "no such form"}))
    assert "study.yaml: not_submitted.EOX: unknown form (forms: DM, IC, COH" in message


def test_a_field_both_mapped_and_declared_is_a_spec_error(tmp_path: Path) -> None:
    message = _declared(tmp_path, lambda d: d["AE"].update(AETERM="not wanted"))
    assert message.endswith(
        "study.yaml: not_submitted.AE.AETERM: declared not submitted, but the specs map it to "
        "AE.AETERM (a field is mapped or not submitted, not both)"
    )
    # A key counts as mapped: the record the value lands on is the one it names (the first
    # target in name order is named: COH's SUBJID is the key of DM, DS, PR and SUPPDM).
    message = _declared(tmp_path, lambda d: d["COH"].update(SUBJID="not wanted"))
    assert (
        "not_submitted.COH.SUBJID: declared not submitted, but the specs map it to DM.ARMCD"
        in message
    )


def test_a_declaration_needs_its_reason(tmp_path: Path) -> None:
    message = _declared(tmp_path, lambda d: d["EOS"].update(DTHCAUS=" "))
    assert message.endswith(
        "not_submitted.EOS.DTHCAUS: give the reason the field is not submitted, as text"
    )


# --- every run --------------------------------------------------------------------------------


def _rows(report: pd.DataFrame) -> dict[tuple[str, str], dict[str, str]]:
    """The report's rows by (form, field)."""
    return {
        (str(r["form"]), str(r["field"])): {str(k): str(v) for k, v in r.items()}
        for r in report.astype(str).to_dict("records")
    }


def test_the_published_run_accounts_for_every_field_of_the_export(published: Path) -> None:
    report = pd.read_csv(
        published / "reports" / "reconciliation_fields.csv", dtype=str, keep_default_na=False
    )
    export = {
        entry["form"]: pd.read_parquet(published / "raw" / f"{entry['form'].lower()}.parquet")
        for entry in pd.read_json(published / "raw" / "extract.json", typ="series")[
            "inputs"
        ].values()
    }
    # Every column of every form, once, in the export's order.
    assert report[["form", "field"]].values.tolist() == [
        [oid, c] for oid, frame in export.items() for c in frame.columns if c != "__ROW"
    ]
    # Issue 18: IC.ICVER, IENOTMET and SFDAT mapped (ELIGYN declared: it selects the screen
    # failures' records), the screening forms SER, CYTO, CBP and PREG (their SITEID and
    # CYTO.TP53ND declared), and the history forms DX, MH, PRT, NT, CMED, ECOG and VS; the
    # IMWG assessment's LB.LBENDAT (LBENDTC) and DX.DXMPROT/DXUPROT (LB at diagnosis).
    assert report["status"].value_counts().to_dict() == {"mapped": 172, "not_submitted": 31}
    row = _rows(report)
    # Issue 17.2: the six fields declared pending are mapped, none is left pending.
    assert not report["reason"].str.startswith("pending").any()
    assert {
        field: [row[field][c] for c in ("status", "targets", "used_in")]
        for field in [("EOS", "DTHCAUS"), ("COH", "ASSIGNDAT"), ("COH", "ASCTDAT"),
                      ("COH", "INDENDAT"), ("AE", "AEONGO"), ("EX", "EXACN")]
    } == {
        ("EOS", "DTHCAUS"): ["mapped", "DD.DDORRES; DD.DDSTRESC", "DD"],
        ("COH", "ASSIGNDAT"): ["mapped", "DS.DSSTDTC", ""],
        ("COH", "ASCTDAT"): ["mapped", "PR.PRSTDTC", "PR"],
        ("COH", "INDENDAT"): ["not_submitted", "", ""],  # repeats PRT.PTENDAT (issue 18)
        ("AE", "AEONGO"): ["mapped", "AE.AEENRTPT", ""],
        ("EX", "EXACN"): ["mapped", "SUPPEX.EXACN", "EX.EXADJ"],
    }  # fmt: skip
    assert [row["AE", "AETERM"][c] for c in ("status", "targets")] == ["mapped", "AE.AETERM"]
    assert row["DM", "RACEOTH"]["targets"] == "SUPPDM.RACEOTH"
    assert [row["COH", "COHORT"][c] for c in ("file", "targets")] == ["coh.csv", "DM.ARMCD"]
    assert "DM.ARMCD (key); DS.DSSTDY (key)" in row["COH", "SUBJID"]["targets"]
    assert [row["LB", "LBND"][c] for c in ("status", "used_in")] == ["not_submitted", "LB.LBSTAT"]
    manifest = pd.read_json(published / "manifest.json", typ="series")
    assert "reports/reconciliation_fields.csv" in manifest["outputs"]


class _Recording(pd.DataFrame):
    """A raw form that notes every column read from it (and from its row subsets)."""

    _metadata: ClassVar[list[str]] = ["form", "seen"]
    form: str
    seen: set[Any]

    @property
    def _constructor(self) -> type[_Recording]:
        return _Recording

    def __getitem__(self, key: Any) -> Any:
        seen = getattr(self, "seen", None)
        if seen is not None:
            names = [key] if isinstance(key, str) else key if isinstance(key, list) else []
            # A name the form lacks is not a read (an issue listing tries SUBJID, USUBJID).
            seen.update((self.form, k) for k in names if k in self.columns and k != "__ROW")
        return super().__getitem__(key)


def _columns_read_by_building(study: StudySpec, raw: dict[str, pd.DataFrame]) -> set[Any]:
    """Every (form, column) the dataset builder reads while it builds the study's datasets."""
    from transforms.issues import IssueLog
    from transforms.sdtm.build import build_dataset, study_facts
    from transforms.specs import STUDY_FORM

    seen: set[Any] = set()
    forms: dict[str, pd.DataFrame] = {STUDY_FORM: study_facts(study.id, None, "X")}
    for oid, frame in raw.items():
        recording = _Recording(frame)
        recording.form, recording.seen = oid, seen
        forms[oid] = recording
    built: dict[str, pd.DataFrame] = {}
    lineage: dict[str, pd.DataFrame] = {}
    for name, spec in study.datasets.items():  # in mapping order: what a spec reads is built
        done = build_dataset(spec, study, forms, IssueLog(), datasets=built, lineage=lineage)
        built[name], lineage[name] = done.data, done.sources
    return seen


def test_the_walk_names_every_column_the_builder_reads(published: Path) -> None:
    """What the walk of the specs reports is what runs: building every dataset of both
    studies reads exactly the raw columns the walk names (so a new algorithm that reads a
    column without declaring it fails here)."""
    from transforms.extract.readers import read_form

    pommaint, pilot = load_study("POMMAINT"), load_study("CDISCPILOT01")
    fixtures = ROOT / "tests" / "fixtures" / "cdiscpilot01_raw"
    studies = [
        (pommaint, {o: pd.read_parquet(published / "raw" / f"{o.lower()}.parquet")
                    for o in pommaint.forms}),
        (pilot, {o: read_form(fixtures / f"{f.file}.csv") for o, f in pilot.forms.items()}),
    ]  # fmt: skip
    for study, raw in studies:
        walked = {(u.form, u.field) for u in study.field_uses}
        assert _columns_read_by_building(study, raw) == walked, study.id

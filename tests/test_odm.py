"""The CDISC ODM 1.3.2 reader (transforms/extract/odm.py): whole-study files, transactions,
the study check, nesting, and the guards on what is read (regular files, bounded, tokens)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from transforms.extract import odm
from transforms.extract.exports import find_newest_complete
from transforms.extract.frames import ROW, RawFileError
from transforms.extract.odm import StudyLayout, read_odm_form, read_odm_study
from transforms.extract.readers import read_form
from transforms.extract.regular import open_regular_file

NA = pd.NA
LAYOUT = StudyLayout(
    "POMMAINT",
    {"DM": ["SITEID", "SUBJID", "SEX"], "LB": ["SITEID", "SUBJID", "VISIT", "LBTEST", "LBORRES"]},
    {"subject": "SUBJID", "site": "SITEID", "visit": "VISIT"},
)
META = """<?xml version="1.0" encoding="UTF-8"?>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" ODMVersion="1.3.2" FileType="{kind}" FileOID="T"
 CreationDateTime="2026-11-23T02:00:00Z">
 <Study OID="POMMAINT"><MetaDataVersion OID="MDV.1" Name="v1">
  <StudyEventDef OID="SE.COMMON" Name="Subject forms" Repeating="No" Type="Common"/>
  <StudyEventDef OID="SE.C1D1" Name="Cycle 1 Day 1" Repeating="No" Type="Scheduled"/>
  <StudyEventDef OID="SE.UNS" Name="Unscheduled" Repeating="Yes" Type="Unscheduled"/>
  <ItemGroupDef OID="IG.DM" Name="DM" Repeating="No"><ItemRef ItemOID="I.SEX"/></ItemGroupDef>
  <ItemGroupDef OID="IG.LB" Name="LB" Repeating="Yes">
   <ItemRef ItemOID="I.TEST"/><ItemRef ItemOID="I.RES"/></ItemGroupDef>
  <ItemDef OID="I.SEX" Name="SEX" DataType="text"/>
  <ItemDef OID="I.TEST" Name="LBTEST" DataType="text"/>
  <ItemDef OID="I.RES" Name="LBORRES" DataType="text"/>
 </MetaDataVersion></Study>
 <ClinicalData StudyOID="{study}" MetaDataVersionOID="MDV.1">
"""
TAIL = " </ClinicalData>\n</ODM>\n"


def lb(key: int, test: str, result: str, extra: str = "", items: str = "") -> str:
    return (
        f'<ItemGroupData ItemGroupOID="IG.LB" ItemGroupRepeatKey="{key}"{extra}>'
        f'<ItemData ItemOID="I.TEST" Value="{test}"/><ItemData ItemOID="I.RES" Value="{result}"/>'
        f"{items}</ItemGroupData>"
    )


def subject(key: str, *events: str, site: str = "01", extra: str = "") -> str:
    return f'<SubjectData SubjectKey="{key}"{extra}><SiteRef LocationOID="{site}"/>{"".join(events)}</SubjectData>\n'


def event(oid: str, *groups: str, form: str = "F.LB", repeat: str = "", extra: str = "") -> str:
    again = f' StudyEventRepeatKey="{repeat}"' if repeat else ""
    return (
        f'<StudyEventData StudyEventOID="{oid}"{again}{extra}><FormData FormOID="{form}">'
        f"{''.join(groups)}</FormData></StudyEventData>"
    )


def study_file(
    tmp_path: Path, *subjects: str, study: str = "POMMAINT", kind: str = "Snapshot"
) -> Path:
    path = tmp_path / "pommaint.xml"
    path.write_text(
        META.format(study=study, kind=kind) + "".join(subjects) + TAIL, encoding="utf-8"
    )
    return path


def read(path: Path) -> odm.OdmData:
    return read_odm_study(path, 1 << 30, LAYOUT)


def rows(frame: pd.DataFrame) -> list[list[object]]:
    return (
        frame.drop(columns=ROW)
        .astype(object)
        .where(frame.drop(columns=ROW).notna(), None)
        .values.tolist()
    )


DM = (
    '<ItemGroupData ItemGroupOID="IG.DM"><ItemData ItemOID="I.SEX" Value="Female"/></ItemGroupData>'
)
AUDIT = (
    '<AuditRecord><UserRef UserOID="U1"/><LocationRef LocationOID="01"/>'
    "<DateTimeStamp>2026-11-20T10:00:00Z</DateTimeStamp><ReasonForChange>typo</ReasonForChange>"
    "</AuditRecord>"
)


# --- a whole study in one file --------------------------------------------------------------


def test_subject_site_and_visit_come_from_the_structure(tmp_path: Path) -> None:
    path = study_file(
        tmp_path,
        subject(
            "1001",
            event("SE.COMMON", DM, form="F.DM"),
            event("SE.C1D1", lb(1, "Hb", "12.1"), lb(2, "WBC", "5")),
            event("SE.UNS", lb(1, "Hb", "9.8"), repeat="1"),
        ),
        subject("1002", event("SE.UNS", lb(1, "Hb", "11", items=AUDIT), repeat="2"), site="02"),
    )
    data = read(path)
    assert data.item_groups == 5 and data.removed == 0
    assert list(data.frames["DM"].columns) == [ROW, "SITEID", "SUBJID", "SEX"]
    assert rows(data.frames["DM"]) == [["01", "1001", "Female"]]
    lab = data.frames["LB"]
    assert list(lab.columns) == [ROW, "SITEID", "SUBJID", "VISIT", "LBTEST", "LBORRES"]
    assert rows(lab) == [
        ["01", "1001", "Cycle 1 Day 1", "Hb", "12.1"],
        ["01", "1001", "Cycle 1 Day 1", "WBC", "5"],
        ["01", "1001", "Unscheduled", "Hb", "9.8"],
        ["02", "1002", "Unscheduled", "Hb", "11"],
    ]
    assert lab[ROW].tolist() == [2, 3, 4, 5]  # the ItemGroupData's place in the document


def test_an_item_contradicting_the_structure_is_refused(tmp_path: Path) -> None:
    meta = META.replace(
        '<ItemRef ItemOID="I.SEX"/>', '<ItemRef ItemOID="I.SEX"/><ItemRef ItemOID="I.SUBJ"/>'
    )
    meta = meta.replace(
        " </MetaDataVersion>",
        '<ItemDef OID="I.SUBJ" Name="SUBJID" DataType="text"/></MetaDataVersion>',
    )
    group = DM.replace(
        "</ItemGroupData>", '<ItemData ItemOID="I.SUBJ" Value="1002"/></ItemGroupData>'
    )
    path = tmp_path / "pommaint.xml"
    path.write_text(
        meta.format(study="POMMAINT", kind="Snapshot")
        + subject("1001", event("SE.COMMON", group, form="F.DM"))
        + TAIL
    )
    with pytest.raises(
        RawFileError,
        match="ItemData SUBJID '1002' differs from its SubjectData's SubjectKey '1001'",
    ) as caught:
        read(path)
    assert (caught.value.record, caught.value.column) == (1, "SUBJID")


def test_an_item_group_that_is_no_form_is_refused(tmp_path: Path) -> None:
    path = study_file(tmp_path, subject("1001", event("SE.COMMON", DM, form="F.DM")))
    layout = StudyLayout("POMMAINT", {"DM": LAYOUT.forms["DM"]}, LAYOUT.structure)
    with pytest.raises(
        RawFileError, match=r"ItemGroupDef 'IG\.LB' \(Name 'LB'\) is no form of forms.yaml \(DM\)"
    ):
        read_odm_study(path, 1 << 30, layout)


def test_nesting_other_than_odm_s_is_refused(tmp_path: Path) -> None:
    flat = f'<SubjectData SubjectKey="1001">{lb(1, "Hb", "1")}</SubjectData>'
    with pytest.raises(
        RawFileError, match=r"record 1: ItemGroupData inside SubjectData: ODM 1.3.2 nests"
    ) as caught:
        read(study_file(tmp_path, flat))
    assert caught.value.rule == "RAW-ODM"


def test_another_study_s_data_is_refused_naming_file_and_study_oid(tmp_path: Path) -> None:
    path = study_file(
        tmp_path, subject("1001", event("SE.COMMON", DM, form="F.DM")), study="OTHER01"
    )
    with pytest.raises(RawFileError) as caught:
        read(path)
    assert str(caught.value) == (
        f"{path}: element ClinicalData, attribute StudyOID: 'OTHER01' is another study's data, "
        "not 'POMMAINT' (rule RAW-ODM-STUDY)"
    )


# --- TransactionType (ODM 1.3.2) -------------------------------------------------------------


def test_remove_takes_the_record_out(tmp_path: Path) -> None:
    path = study_file(
        tmp_path,
        subject(
            "1001",
            event("SE.C1D1", lb(1, "Hb", "12.1"), lb(2, "WBC", "5")),
            event("SE.C1D1", lb(2, "WBC", "", extra=' TransactionType="Remove"')),
            event("SE.UNS", lb(1, "Hb", "9", extra=' TransactionType="Remove"'), repeat="1"),
        ),
        subject("1002", event("SE.C1D1", lb(1, "Hb", "11")), extra=' TransactionType="Remove"'),
        kind="Transactional",
    )
    data = read(path)
    assert rows(data.frames["LB"]) == [["01", "1001", "Cycle 1 Day 1", "Hb", "12.1"]]
    assert data.item_groups == 5 and data.removed == 4  # WBC, its Remove, the UNS one, 1002's


def test_remove_of_a_visit_removes_the_records_given_before(tmp_path: Path) -> None:
    removal = '<StudyEventData StudyEventOID="SE.C1D1" TransactionType="Remove"/>'
    path = study_file(
        tmp_path,
        subject("1001", event("SE.C1D1", lb(1, "Hb", "12.1")), removal),
        kind="Transactional",
    )
    assert read(path).frames["LB"].empty


def test_remove_on_an_item_empties_it(tmp_path: Path) -> None:
    gone = '<ItemData ItemOID="I.RES" Value="5" TransactionType="Remove"/>'
    group = f'<ItemGroupData ItemGroupOID="IG.LB" ItemGroupRepeatKey="1"><ItemData ItemOID="I.TEST" Value="Hb"/>{gone}</ItemGroupData>'
    path = study_file(tmp_path, subject("1001", event("SE.C1D1", group)))
    assert rows(read(path).frames["LB"]) == [["01", "1001", "Cycle 1 Day 1", "Hb", None]]


def test_upsert_replaces_the_values_it_gives_or_inserts(tmp_path: Path) -> None:
    change = (
        '<ItemGroupData ItemGroupOID="IG.LB" ItemGroupRepeatKey="1" TransactionType="Upsert">'
        '<ItemData ItemOID="I.RES" Value="12.4"/></ItemGroupData>'
    )
    path = study_file(
        tmp_path,
        subject("1001", event("SE.C1D1", lb(1, "Hb", "12.1")), event("SE.C1D1", change),
                event("SE.C1D1", lb(2, "WBC", "5", extra=' TransactionType="Upsert"'))),
        kind="Transactional",
    )  # fmt: skip
    assert rows(read(path).frames["LB"]) == [
        ["01", "1001", "Cycle 1 Day 1", "Hb", "12.4"],
        ["01", "1001", "Cycle 1 Day 1", "WBC", "5"],
    ]


@pytest.mark.parametrize("kind", ["Update", "Context"])
def test_a_change_to_a_record_the_file_lacks_is_refused(tmp_path: Path, kind: str) -> None:
    path = study_file(
        tmp_path, subject("1001", event("SE.C1D1", lb(3, "Hb", "1", extra=f' TransactionType="{kind}"'))),
        kind="Transactional",
    )  # fmt: skip
    with pytest.raises(
        RawFileError,
        match=rf"record 1: ItemGroupData 'IG.LB' \(SubjectKey 1001, ItemGroupRepeatKey 3\), TransactionType {kind}: changes a record this file does not hold",
    ) as caught:
        read(path)
    assert caught.value.rule == "RAW-ODM-TRANSACTION"


@pytest.mark.parametrize("extra", ["", ' TransactionType="Insert"'])
def test_a_key_given_twice_is_refused(tmp_path: Path, extra: str) -> None:
    path = study_file(
        tmp_path, subject("1001", event("SE.C1D1", lb(1, "Hb", "1"), lb(1, "Hb", "2", extra=extra)))
    )
    with pytest.raises(
        RawFileError, match=r"record 2: .*ItemGroupRepeatKey 1\) given twice \(first as record 1\)"
    ) as caught:
        read(path)
    assert caught.value.rule == "RAW-ODM-KEY"


def test_an_unknown_transaction_type_is_refused(tmp_path: Path) -> None:
    path = study_file(
        tmp_path,
        subject("1001", event("SE.C1D1", lb(1, "Hb", "1", extra=' TransactionType="Delete"'))),
    )
    with pytest.raises(
        RawFileError,
        match=r"record 1: element ItemGroupData, attribute TransactionType: 'Delete' is not one of Insert, Update, Remove, Upsert, Context",
    ):
        read(path)


# --- what is read at all ----------------------------------------------------------------------


def test_a_fifo_named_like_a_form_is_refused_at_once(tmp_path: Path) -> None:
    for name in ("dm.xml", "dm.csv"):
        os.mkfifo(tmp_path / name)  # no writer: a plain open() would block for ever
        with pytest.raises(
            RawFileError, match=r"a FIFO \(named pipe\), not a regular file"
        ) as caught:
            read_form(tmp_path / name)
        assert caught.value.rule == "RAW-FILE"


def test_a_file_growing_past_the_limit_is_refused_while_read(tmp_path: Path) -> None:
    path = tmp_path / "dm.xml"
    path.write_bytes(b"x" * 100)
    with open_regular_file(path, 150) as source:
        path.write_bytes(b"x" * 200)  # grows after the size was checked: read stops at 151
        with pytest.raises(
            RawFileError, match=r"151 bytes or more, over the limit of 150"
        ) as caught:
            source.read()
    assert caught.value.rule == "RAW-SIZE"


def test_a_token_longer_than_any_odm_value_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(odm, "MAX_TOKEN_BYTES", 300_000)
    path = study_file(
        tmp_path, f"<!-- {'x' * 400_000} -->", subject("1001", event("SE.C1D1", lb(1, "Hb", "1")))
    )
    with pytest.raises(
        RawFileError,
        match=r"no element starts or ends in the 300001 bytes from byte 65536: one token",
    ) as caught:
        read(path)
    assert caught.value.rule == "RAW-XML-TOKEN"
    monkeypatch.setattr(odm, "MAX_TOKEN_BYTES", 500_000)  # under the limit: read
    assert len(read(path).frames["LB"]) == 1


def test_a_per_form_file_counts_removed_item_groups(tmp_path: Path) -> None:
    meta = META.replace(
        '  <ItemGroupDef OID="IG.DM" Name="DM" Repeating="No"><ItemRef ItemOID="I.SEX"/></ItemGroupDef>\n',
        "",
    )
    path = tmp_path / "lb.xml"
    body = subject(
        "1001",
        event("SE.C1D1", lb(1, "Hb", "1"), lb(2, "WBC", "2", extra=' TransactionType="Remove"')),
    )
    path.write_text(meta.format(study="POMMAINT", kind="Transactional") + body + TAIL)
    data = read_odm_form(path, 1 << 30, "POMMAINT")
    assert data.item_groups == 2 and rows(data.frames["IG.LB"]) == [["Hb", "1"]]
    with pytest.raises(RawFileError, match="'POMMAINT' is another study's data, not 'OTHER'"):
        read_odm_form(path, 1 << 30, "OTHER")


# --- an export that is one whole-study file -------------------------------------------------


def test_an_export_of_one_odm_file_is_found_with_or_without_manifest(tmp_path: Path) -> None:
    export = tmp_path / "POMMAINT" / "20261123T020000Z"
    export.mkdir(parents=True)
    study_file(export)
    found = find_newest_complete(tmp_path, "POMMAINT", ["dm", "lb"])
    assert found.study_file == export / "pommaint.xml"
    assert found.files == {"dm": export / "pommaint.xml", "lb": export / "pommaint.xml"}
    assert found.source("lb", "LB") == "pommaint.xml#LB"
    (export / "other.xml").write_text("<ODM/>")
    with pytest.raises(
        Exception, match=r"2 ODM files \(other.xml, pommaint.xml\) and no form file"
    ):
        find_newest_complete(tmp_path, "POMMAINT", ["dm", "lb"])


@pytest.mark.parametrize(
    ("odm_block", "error"),
    [
        ("odm: {subject: PATIENT}", r"forms.yaml: odm.subject: 'PATIENT' is a column of no form"),
        ("odm: {patient: SUBJID}", r"forms.yaml: odm: unknown key\(s\) \['patient'\]"),
    ],
)
def test_forms_yaml_odm_names_roles_and_real_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, odm_block: str, error: str
) -> None:
    from tests.conftest import copy_study_specs
    from transforms.specs import SpecError, load_study

    specs = copy_study_specs(tmp_path / "specs", "POMMAINT")
    forms = specs / "POMMAINT" / "forms.yaml"
    text = forms.read_text(encoding="utf-8")
    forms.write_text(text.replace("odm: {subject: SUBJID, site: SITEID, visit: VISIT}", odm_block))
    monkeypatch.setenv("CDISC_SPECS_DIR", str(specs))
    load_study.cache_clear()
    try:
        with pytest.raises(SpecError, match=error):
            load_study("POMMAINT")
    finally:
        load_study.cache_clear()


def test_a_record_inside_an_audit_record_is_refused(tmp_path: Path) -> None:
    audit = f"<AuditRecords><AuditRecord>{lb(1, 'Hb', '1')}</AuditRecord></AuditRecords>"
    with pytest.raises(RawFileError, match=r"record 1: ItemGroupData inside AuditRecord: ODM"):
        read(study_file(tmp_path, audit))

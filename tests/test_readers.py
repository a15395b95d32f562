"""Raw form readers: one text-only output shape for CSV, ODM, SAS7BDAT and XPT, and clear
refusals (file, line or record, rule) for files that break the rules."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from tests.conftest import FIXTURES
from transforms.extract import readers
from transforms.extract.readers import (
    MAX_FIELD_CHARS,
    ROW,
    RawFileError,
    read_form,
    read_form_frames,
)

SAS = FIXTURES / "sas7bdat"
NA = pd.NA


def values(df: pd.DataFrame, column: str) -> list[object]:
    """A column as a list with missing values as pd.NA (so == comparisons are exact)."""
    return [NA if pd.isna(v) else v for v in df[column]]


def assert_text_frame(df: pd.DataFrame) -> None:
    """The shared output contract: __ROW int64 first, every other column pandas string."""
    assert df.columns[0] == ROW
    assert df[ROW].dtype == np.int64
    for column in df.columns[1:]:
        dtype = df[column].dtype
        assert isinstance(dtype, pd.StringDtype), column
        assert dtype.na_value is pd.NA, column


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- SAS7BDAT (files written by SAS) ------------------------------------------------------


def test_sas_sample_values() -> None:
    df = read_form(SAS / "sample.sas7bdat")
    assert_text_frame(df)
    assert list(df.columns) == [
        ROW,
        "MYCHAR",
        "MYNUM",
        "MYDATE",
        "DTIME",
        "MYLABL",
        "MYORD",
        "MYTIME",
    ]
    assert df[ROW].tolist() == [1, 2, 3, 4, 5]
    assert values(df, "MYCHAR") == ["a", "b", "c", "d", "e"]
    assert values(df, "MYNUM") == ["1.1", "1.2", "-1000.3", "-1.4", "1000.3"]
    # BEST12 whole numbers: no float noise ("1", not "1.0").
    assert values(df, "MYLABL") == ["1", "2", "1", "2", "1"]
    assert values(df, "MYORD") == ["1", "2", "3", "1", "1"]
    assert values(df, "MYDATE") == ["2018-05-06", "1880-05-06", "1960-01-01", "1583-01-01", NA]
    assert values(df, "DTIME") == [
        "2018-05-06T10:10:10",
        "1880-05-06T10:10:10",
        "1960-01-01T00:00:00",
        "1583-01-01T00:00:00",
        NA,
    ]
    assert values(df, "MYTIME") == ["10:10:10", "23:10:10", "00:00:00", "16:10:10", NA]


def test_sas_compressed_equals_uncompressed() -> None:
    plain = read_form(SAS / "sample.sas7bdat")
    compressed = read_form(SAS / "sample_bincompressed.sas7bdat")
    pd.testing.assert_frame_equal(compressed, plain)


def test_sas_dates_datetimes_times() -> None:
    df = read_form(SAS / "dates.sas7bdat")
    assert_text_frame(df)
    assert list(df.columns) == [ROW, "DATE", "DTIME", "TIME"]
    assert len(df) == 50
    assert df.iloc[0].tolist() == [1, "2061-04-15", "2061-04-15T07:38:33", "07:38:33"]
    assert df.iloc[1].tolist() == [2, "1723-04-21", "1723-04-21T06:56:41", "06:56:41"]
    assert df.iloc[49].tolist() == [50, "2130-07-29", "2130-07-29T10:12:03", "10:12:03"]
    # Every datetime's date part is its DATE, as SAS wrote them.
    assert (df["DTIME"].str.slice(0, 10) == df["DATE"]).all()


def test_sas_special_missing_values_are_missing() -> None:
    df = read_form(SAS / "missing_test.sas7bdat")
    assert_text_frame(df)
    assert [f"VAR{i}" for i in range(1, 10)] == list(df.columns[1:])
    # .A .B .C .X .Y .Z ._ and plain . are all missing; only VAR9 holds a value.
    assert df.iloc[0, 1:9].isna().all()
    assert values(df, "VAR9") == ["1"]


def test_unreadable_sas_file(tmp_path: Path) -> None:
    path = write(tmp_path, "dm.sas7bdat", b"this is not a SAS dataset\n" * 100)
    with pytest.raises(RawFileError, match=r"dm\.sas7bdat: unreadable SAS file.*RAW-SAS"):
        read_form(path)


# --- XPT ----------------------------------------------------------------------------------


def test_xpt_round_trip(tmp_path: Path) -> None:
    source = pd.DataFrame(
        {
            "subjid": ["1001", "", "1003"],
            "dose": [2.0, np.nan, 0.1],
            "big": [123456789012.0, -0.0, 1000.3],
            "icdat": [21310.0, np.nan, 0.0],
        }
    )
    path = tmp_path / "ex.xpt"
    pyreadstat.write_xport(
        source, path, table_name="EX", file_format_version=5, variable_format={"icdat": "DATE9"}
    )
    df = read_form(path)
    assert_text_frame(df)
    assert list(df.columns) == [ROW, "SUBJID", "DOSE", "BIG", "ICDAT"]
    assert df[ROW].tolist() == [1, 2, 3]
    assert values(df, "SUBJID") == ["1001", NA, "1003"]
    assert values(df, "DOSE") == ["2", NA, "0.1"]
    assert values(df, "BIG") == ["123456789012", "0", "1000.3"]
    assert values(df, "ICDAT") == ["2018-05-06", NA, "1960-01-01"]


# --- CSV ----------------------------------------------------------------------------------


def test_csv_values_kept_raw(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "dm.csv",
        b'subjid,Sex,Raceoth,age\n1001, m ,"Sorbian, ""Wend""",061\n1002,F,,\n1003,"",   ,70\n',
    )
    df = read_form(path)
    assert_text_frame(df)
    assert list(df.columns) == [ROW, "SUBJID", "SEX", "RACEOTH", "AGE"]
    assert df[ROW].tolist() == [2, 3, 4]
    assert values(df, "SUBJID") == ["1001", "1002", "1003"]
    assert values(df, "SEX") == [" m ", "F", NA]  # spaces and case kept, "" is missing
    assert values(df, "RACEOTH") == ['Sorbian, "Wend"', NA, "   "]
    assert values(df, "AGE") == ["061", NA, "70"]  # text: leading zero kept


def test_csv_lone_quote_inside_unquoted_value_kept(tmp_path: Path) -> None:
    # An odd number of quotes only fails when the quoting is really broken.
    df = read_form(write(tmp_path, "vs.csv", b'SUBJID,HEIGHT\n1001,5\'10"\n1002,"6\'1"""\n'))
    assert values(df, "HEIGHT") == ["5'10\"", "6'1\""]


def test_csv_bom_crlf_and_line_breaks_in_values(tmp_path: Path) -> None:
    data = (
        b"\xef\xbb\xbfSUBJID,AETERM\r\n"
        b'1001,"Head-\r\nache"\r\n'
        b"1002,Nausea\r\n"
        b"\r\n"
        b'1003,"line 1\nline 2\nline 3"\r\n'
        b"1004,Fatigue \xc3\xa9\r\n"
    )
    df = read_form(write(tmp_path, "ae.csv", data))
    assert list(df.columns) == [ROW, "SUBJID", "AETERM"]  # BOM stripped from the first name
    # __ROW is the line each record starts on: the blank line 5 is skipped but counted.
    assert df[ROW].tolist() == [2, 4, 6, 9]
    assert values(df, "AETERM") == [
        "Head-\r\nache",
        "Nausea",
        "line 1\nline 2\nline 3",
        "Fatigue é",
    ]


def test_csv_header_only(tmp_path: Path) -> None:
    df = read_form(write(tmp_path, "eos.csv", b"SUBJID,EOSDAT\n"))
    assert_text_frame(df)
    assert list(df.columns) == [ROW, "SUBJID", "EOSDAT"]
    assert df.empty


@pytest.mark.parametrize(
    ("data", "line", "rule"),
    [
        # The export was cut in the middle of the last row.
        (b"SUBJID,SEX,AGE\n1001,F,61\n1002,M,70\n1003,F", 4, "RAW-FIELDS"),
        # A row with one field too many in the middle.
        (b"SUBJID,SEX,AGE\n1001,F,61\n1002,M,70,x\n1003,F,55\n", 3, "RAW-FIELDS"),
        # Line numbers count the physical lines of an earlier multi-line value.
        (b'SUBJID,SEX,AGE\n1001,"F\nx",61\n1002,M\n', 4, "RAW-FIELDS"),
        # Cut inside a quoted value: the quote is never closed.
        (b'SUBJID,SEX,AETERM\n1001,F,Fever\n1002,M,"Nause', 3, "RAW-QUOTE"),
    ],
)
def test_csv_broken_rows_name_the_line(tmp_path: Path, data: bytes, line: int, rule: str) -> None:
    path = write(tmp_path, "ae.csv", data)
    with pytest.raises(RawFileError) as caught:
        read_form(path)
    assert (caught.value.line, caught.value.rule) == (line, rule)
    column = ", column AGE" if rule == "RAW-FIELDS" else ""  # the first one lacking, or last
    assert str(caught.value).startswith(f"{path}, line {line}{column}: ")


def test_csv_latin1_bytes_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "dm.csv", b"SUBJID,COUNTRY\n1001,DEU\n1002,Espa\xf1a\n")
    with pytest.raises(
        RawFileError, match=r"dm\.csv, line 3, column COUNTRY: byte 0xF1 is not UTF-8"
    ) as caught:
        read_form(path)
    assert caught.value.rule == "RAW-ENCODING"


@pytest.mark.parametrize("delimiter", [b";", b"\t"])
def test_csv_not_comma_delimited(tmp_path: Path, delimiter: bytes) -> None:
    path = write(
        tmp_path, "dm.csv", delimiter.join([b"SUBJID", b"SEX"]) + b"\n1001" + delimiter + b"F\n"
    )
    with pytest.raises(
        RawFileError, match=re.escape(f"looks {delimiter.decode()!r}-delimited")
    ) as caught:
        read_form(path)
    assert (caught.value.line, caught.value.rule) == (1, "RAW-DELIMITER")


def test_csv_duplicate_column_names(tmp_path: Path) -> None:
    path = write(tmp_path, "dm.csv", b"SUBJID,SEX,subjid\n1001,F,1001\n")
    with pytest.raises(RawFileError, match=r"duplicate column name 'subjid'") as caught:
        read_form(path)
    assert (caught.value.line, caught.value.column, caught.value.rule) == (
        1,
        "SUBJID",
        "RAW-HEADER",
    )


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf"])
def test_csv_empty_file(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(RawFileError, match=r"empty file: no header line \(rule RAW-EMPTY\)"):
        read_form(write(tmp_path, "dm.csv", data))


# CSV files read a block and a frame at a time: each a few records, spanning blocks of 64
# bytes. Good ones (line breaks in values, blank lines, a BOM, an odd quote, no last line
# break, no record) and broken ones, the fault early or late in the file.
_RECORDS = b"".join(b'%d,"AE %d\nline 2",%s\n' % (n, n, b"x" * (n % 7)) for n in range(1001, 1401))
FRAMED_CSV = {
    "line breaks": b"SUBJID,AETERM,AEOUT\n" + _RECORDS,
    "blank lines, BOM, CRLF": b"\xef\xbb\xbfSUBJID,AETERM\r\n1,a\r\n\r\n,\r\n2,b\r\n" * 9,
    "odd quote": b"SUBJID,HEIGHT\n" + b"1001,5'10\"\n" + b"1002,6\n" * 30,
    "no last line break": b"SUBJID,AETERM,AEOUT\n" + _RECORDS + b"1401,a,b",
    "header only": b"SUBJID,AETERM\n",
    "blank only": b"SUBJID,AETERM\n,\n,\n",
    "cut short late": b"SUBJID,AETERM,AEOUT\n" + _RECORDS + b"1401,a\n",
    "not UTF-8 late": b"SUBJID,AETERM,AEOUT\n" + _RECORDS + b"1401,Espa\xf1a,b\n",
    "cut in a quote late": b"SUBJID,AETERM,AEOUT\n" + _RECORDS + b'1401,a,"b\n',
    "long value late": b"SUBJID,AETERM,AEOUT\n"
    + _RECORDS
    + b"1401,%s,b\n" % (b"y" * (MAX_FIELD_CHARS + 1)),
    "long value before a bad byte": b"SUBJID,AETERM\n1,%s\n" % (b"y" * (MAX_FIELD_CHARS + 1))
    + b"1002,a\n" * 40
    + b"3,\xff\n",
    "duplicate column": b"SUBJID,AETERM,subjid\n" + b"1,a,1\n" * 40,
    "empty": b"",
    "semicolons": b"SUBJID;AETERM\n1;a\n",
}


@pytest.mark.parametrize("case", list(FRAMED_CSV))
def test_csv_read_in_frames_is_the_whole_reading(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Frames of 3 records, from blocks of 64 bytes: concatenated, they are the file read
    whole (index: the records' positions); a broken file is refused with the same error."""
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 64)
    path = write(tmp_path, "ae.csv", FRAMED_CSV[case])
    try:
        whole = read_form(path)
    except RawFileError as exc:
        with pytest.raises(RawFileError) as caught:
            list(read_form_frames(path, 3))
        assert (str(caught.value), caught.value.rule) == (str(exc), exc.rule)
        return
    frames = list(read_form_frames(path, 3))
    assert all(len(f) <= 3 for f in frames)
    assert len(frames) >= max(1, len(whole) // 3)
    pd.testing.assert_frame_equal(pd.concat(frames), whole)


def test_unsupported_suffix(tmp_path: Path) -> None:
    with pytest.raises(RawFileError, match=r"dm\.xlsx: unsupported file type '\.xlsx'"):
        read_form(write(tmp_path, "dm.xlsx", b"PK"))


# --- CDISC ODM 1.3.2 ----------------------------------------------------------------------

ODM_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" ODMVersion="1.3.2" FileType="Snapshot" FileOID="T" CreationDateTime="2026-11-23T02:00:00Z">
 <Study OID="POMMAINT"><MetaDataVersion OID="MDV.1" Name="v1">
  <ItemGroupDef OID="IG.EOS" Name="EOS" Repeating="Yes">
   <ItemRef ItemOID="IT.SUBJID" Mandatory="Yes"/><ItemRef ItemOID="IT.EOSSTAT" Mandatory="Yes"/>
  </ItemGroupDef>
  <ItemDef OID="IT.SUBJID" Name="SUBJID" DataType="text"/>
  <ItemDef OID="IT.EOSSTAT" Name="EOSSTAT" DataType="text"/>
  <ItemDef OID="IT.OTHER" Name="OTHER" DataType="text"/>
 </MetaDataVersion></Study>
 <ClinicalData StudyOID="POMMAINT" MetaDataVersionOID="MDV.1">
"""
ODM_TAIL = " </ClinicalData>\n</ODM>\n"


def odm_rows(*items: str) -> str:
    """One subject per item list, each with one EOS ItemGroupData."""
    return "".join(
        f'<SubjectData SubjectKey="{1000 + i}"><StudyEventData StudyEventOID="SE.ALL">'
        f'<FormData FormOID="F.EOS"><ItemGroupData ItemGroupOID="IG.EOS">{body}'
        "</ItemGroupData></FormData></StudyEventData></SubjectData>\n"
        for i, body in enumerate(items, start=1)
    )


def test_odm_fixture_values() -> None:
    df = read_form(FIXTURES / "raw" / "dm.xml")
    assert_text_frame(df)
    assert list(df.columns) == [
        ROW, "SITEID", "SUBJID", "BRTHDAT", "AGE", "SEX", "RACE", "RACEOTH", "ETHNIC", "COUNTRY", "DMDAT",
    ]  # fmt: skip
    assert df[ROW].tolist() == [1, 2, 3]
    assert values(df, "SUBJID") == ["1001", "1002", "2001"]
    assert values(df, "SITEID") == ["01", "01", "02"]  # leading zero kept
    # Subject 1002 lists its items out of order and omits some: ItemRef order, omitted -> NA.
    assert df.iloc[1].tolist() == [
        2, "01", "1002", NA, NA, " m ", "Other", 'Sorbian & "Wend"', NA, "DEU", "05 mar 2026",
    ]  # fmt: skip
    assert values(df, "RACEOTH")[0] is NA  # Value="" is missing
    assert values(df, "BRTHDAT") == ["UN JAN 1956", NA, "14 FEB 1949"]


def test_odm_no_rows(tmp_path: Path) -> None:
    df = read_form(write(tmp_path, "eos.xml", (ODM_HEAD + ODM_TAIL).encode()))
    assert_text_frame(df)
    assert list(df.columns) == [ROW, "SUBJID", "EOSSTAT"]
    assert df.empty


def test_odm_undefined_item_refused(tmp_path: Path) -> None:
    body = odm_rows(
        '<ItemData ItemOID="IT.SUBJID" Value="1001"/><ItemData ItemOID="IT.EOSSTAT" Value="Completed"/>',
        '<ItemData ItemOID="IT.SUBJID" Value="1002"/><ItemData ItemOID="IT.NOPE" Value="x"/>',
    )
    path = write(tmp_path, "eos.xml", (ODM_HEAD + body + ODM_TAIL).encode())
    with pytest.raises(
        RawFileError, match=r"'IT\.NOPE' \(SubjectKey 1002\) is not defined"
    ) as caught:
        read_form(path)
    assert (caught.value.record, caught.value.column, caught.value.rule) == (
        2,
        "IT.NOPE",
        "RAW-ODM",
    )


def test_odm_item_outside_the_group_refused(tmp_path: Path) -> None:
    body = odm_rows('<ItemData ItemOID="IT.OTHER" Value="x"/>')
    path = write(tmp_path, "eos.xml", (ODM_HEAD + body + ODM_TAIL).encode())
    with pytest.raises(
        RawFileError, match=r"'IT\.OTHER' .* is not an item of ItemGroupDef 'IG\.EOS'"
    ):
        read_form(path)


def test_odm_xxe_refused(tmp_path: Path) -> None:
    payload = (
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
        + ODM_HEAD.split("\n", 1)[1]
        + odm_rows('<ItemData ItemOID="IT.SUBJID" Value="&e;"/>')
        + ODM_TAIL
    )
    path = write(tmp_path, "eos.xml", payload.encode())
    with pytest.raises(RawFileError, match=r"eos\.xml: forbidden XML construct .*DTD") as caught:
        read_form(path)
    assert caught.value.rule == "RAW-XML"
    assert "root:" not in str(caught.value)  # nothing of /etc/passwd leaks into the message


def test_odm_billion_laughs_refused(tmp_path: Path) -> None:
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    payload = f'<?xml version="1.0"?>\n<!DOCTYPE ODM [{entities}]>\n<ODM>&lol9;</ODM>\n'
    path = write(tmp_path, "eos.xml", payload.encode())
    with pytest.raises(RawFileError, match=r"eos\.xml: forbidden XML construct") as caught:
        read_form(path)
    assert caught.value.rule == "RAW-XML"


def test_odm_not_well_formed_names_the_line(tmp_path: Path) -> None:
    body = odm_rows('<ItemData ItemOID="IT.SUBJID" Value="1001">')  # never closed
    path = write(tmp_path, "eos.xml", (ODM_HEAD + body + ODM_TAIL).encode())
    with pytest.raises(RawFileError, match=r"eos\.xml, line 12: not well-formed XML") as caught:
        read_form(path)
    assert caught.value.rule == "RAW-XML"


def test_odm_wrong_root_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "eos.xml", b"<ODM><ClinicalData/></ODM>")
    with pytest.raises(RawFileError, match=r"root element 'ODM' is not a CDISC ODM 1\.3"):
        read_form(path)


# --- SAS dates in transport files (tests/fixtures/sas_dates, written by its script) --------

SAS_DATES = FIXTURES / "sas_dates"
MOMENTS = [
    "2024-02-05T10:30:00",
    "3025-02-26T23:59:59",
    "1663-05-11T00:00:00",
    "0001-01-01T00:00:01",
    "9999-12-31T12:00:00",
]


@pytest.mark.parametrize("version", [5, 8])
def test_sas_dated_xpt_read_as_dates_by_their_formats(version: int) -> None:
    """DATE9., YYMMDD10., E8601DA10., MMDDYY10. -> ISO dates; DATETIME20., E8601DT19. ->
    ISO date-times; TIME8., HHMM5. -> times; over the whole ISO 8601 year range."""
    df = read_form(SAS_DATES / f"dates_v{version}.xpt")
    assert_text_frame(df)
    for column in ("VISDAT", "BRTHDAT", "ISODAT", "MDYDAT"):
        assert values(df, column) == [m[:10] for m in MOMENTS] + [NA], column
    for column in ("VISDTM", "ISODTM"):
        assert values(df, column) == [*MOMENTS, NA], column
    for column in ("VISTIM", "HHMM"):
        assert values(df, column) == [m[11:] for m in MOMENTS] + [NA], column
    assert values(df, "EXDOSE") == ["2", "1.5", NA, "4", "10", "0"]


def test_sas_dated_fixtures_are_what_their_script_writes(tmp_path: Path) -> None:
    from tests.fixtures.sas_dates.make_fixtures import write

    for path in write(tmp_path):
        pd.testing.assert_frame_equal(read_form(path), read_form(SAS_DATES / path.name))


def test_sas_dates_are_read_by_the_mapping_in_the_form_format() -> None:
    """The ISO text of a SAS date is what the form's format would have given: DD MON YYYY
    and the layouts read it as itself; a datetime keeps its time."""
    from transforms.sdtm.algorithms import to_iso8601

    df = read_form(SAS_DATES / "dates_v5.xpt")
    for fmt in ("DD MON YYYY", "MM/DD/YYYY", "ISO"):
        iso, bad = to_iso8601(df["VISDAT"], fmt)
        assert values(pd.DataFrame({"x": iso}), "x") == [m[:10] for m in MOMENTS] + [NA]
        assert not bad.any()
        iso, bad = to_iso8601(df["VISDTM"], fmt)
        assert iso.tolist()[:5] == MOMENTS and not bad.any()


def test_sas_dates_outside_years_0001_9999_stay_numbers() -> None:
    """No ISO 8601 text for a count outside years 0001-9999 (nor a silent NaT or missing
    value): the number itself, which the raw gate lists as not a date."""
    from transforms.extract.readers import sas_number_text

    days = np.array([3e6, -3e6, np.inf, 23411.0, np.nan])
    assert values(pd.DataFrame({"x": sas_number_text(days, "DATE9.")}), "x") == [
        "3000000", "-3000000", "inf", "2024-02-05", NA,
    ]  # fmt: skip
    seconds = np.array([3e11, 23411 * 86400 + 1.5])
    assert sas_number_text(seconds, "DATETIME20.").tolist() == [
        "300000000000", "2024-02-05T00:00:01.500",
    ]  # fmt: skip
    assert sas_number_text(np.array([1e300, 37800.0]), "TIME8.").tolist() == ["1e+300", "10:30:00"]


def test_a_csv_form_read_in_frames_has_no_default_size_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read whole, a form over the default limit is refused unread (RAW-SIZE: memory grows
    with it); read a block at a time, as extract does, it is read, unless a limit is set."""
    from transforms.extract import frames

    path = write(tmp_path, "lb.csv", b"SUBJID,LBTEST\n" + b"1,Hemoglobin\n" * 40)
    monkeypatch.setattr(frames, "MAX_FORM_BYTES", 100)
    monkeypatch.delenv("CDISC_MAX_FORM_BYTES", raising=False)
    with pytest.raises(RawFileError, match=r"over the limit of 100 bytes") as whole:
        read_form(path)
    assert whole.value.rule == "RAW-SIZE"
    assert sum(len(f) for f in read_form_frames(path, 16)) == 40
    monkeypatch.setenv("CDISC_MAX_FORM_BYTES", "200")
    with pytest.raises(RawFileError, match=r"over the limit of 200 bytes per form file") as set_:
        list(read_form_frames(path, 16))
    assert set_.value.rule == "RAW-SIZE"

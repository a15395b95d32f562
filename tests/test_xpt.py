"""XPT v5 writer: byte layout against files SAS wrote, read-back with pyreadstat, every
validation rule's message, determinism, nulls, and the IBM 370 float conversion."""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms import xpt
from transforms.xpt import XptColumn, XptError, ibm_representable, ieee_to_ibm, write_xport

FIXTURES = Path(__file__).parent / "fixtures" / "xpt"
CREATED = datetime(2026, 11, 23, 2, 0, 0)
SAS_CREATED = {
    "dm.xpt": datetime(2020, 8, 21, 9, 14, 29),
    "adsl.xpt": datetime(2022, 4, 16, 20, 9, 3),
}
OS_FIELDS = (slice(112, 120), slice(432, 440))  # library and member header "OS name"
NAMESTR_START = 640  # 8 header records of 80 bytes
MISSING = bytes([0x2E]) + bytes(7)


def read(path: Path) -> tuple[pd.DataFrame, Any]:
    return pyreadstat.read_xport(str(path), disable_datetime_conversion=True)


def spec_from(meta: Any) -> list[XptColumn]:
    """Our column spec from what pyreadstat reports for a SAS file (formats get their dot)."""
    columns = []
    for name, label in zip(meta.column_names, meta.column_labels, strict=True):
        fmt = meta.original_variable_types[name]
        if meta.readstat_variable_types[name] == "double":
            columns.append(XptColumn(name, label or "", "Num", format=fmt and f"{fmt}."))
        else:
            columns.append(XptColumn(name, label or "", "Char", meta.variable_storage_width[name]))
    return columns


def ibm_word(value: float) -> int:
    return int(ieee_to_ibm(np.array([value]))[0])


def ibm_exact(word: int) -> Fraction:
    """Independent decoder: (-1)**s * 0.fraction(base 16) * 16**(exponent - 64), exactly."""
    sign = -1 if word >> 63 else 1
    exponent = (word >> 56) & 0x7F
    fraction = word & ((1 << 56) - 1)
    return sign * Fraction(fraction, 1 << 56) * Fraction(16) ** (exponent - 64)


def write(df: pd.DataFrame, folder: Path, columns: list[XptColumn], **kw: Any) -> xpt.XptResult:
    dataset = kw.pop("dataset", "XX")
    return write_xport(
        df,
        kw.pop("path", folder / f"{dataset.lower()}.xpt"),
        dataset=dataset,
        label=kw.pop("label", "Test dataset"),
        columns=columns,
        created=CREATED,
    )


def error_of(df: pd.DataFrame, folder: Path, columns: list[XptColumn], **kw: Any) -> XptError:
    with pytest.raises(XptError) as caught:
        write(df, folder, columns, **kw)
    assert list(folder.iterdir()) == [], "a refused dataset must leave no file behind"
    return caught.value


# --- against files SAS wrote ------------------------------------------------------------


@pytest.mark.parametrize("name", ["dm.xpt", "adsl.xpt"])
def test_rewriting_a_sas_file_gives_sas_bytes(name: str, tmp_path: Path) -> None:
    sas = (FIXTURES / name).read_bytes()
    df, meta = read(FIXTURES / name)
    out = tmp_path / name
    result = write_xport(
        df,
        out,
        dataset=meta.table_name,
        label=meta.file_label,
        columns=spec_from(meta),
        created=SAS_CREATED[name],
    )
    ours = out.read_bytes()
    assert len(ours) == len(sas) == result.bytes
    for field in OS_FIELDS:
        assert ours[field] == b"PYTHON  "
        assert sas[field] in (b"X64_10PR", b"Linux\0\0\0")
    masked_ours, masked_sas = bytearray(ours), bytearray(sas)
    for field in OS_FIELDS:
        masked_ours[field] = masked_sas[field] = bytes(8)
    # headers, every 140-byte NAMESTR, the padding and each IBM float / char cell agree
    assert bytes(masked_ours) == bytes(masked_sas)
    assert result.sha256 == hashlib.sha256(ours).hexdigest()


def test_namestr_layout_matches_sas(tmp_path: Path) -> None:
    df, meta = read(FIXTURES / "adsl.xpt")
    write_xport(
        df,
        tmp_path / "adsl.xpt",
        dataset="ADSL",
        label=meta.file_label,
        columns=spec_from(meta),
        created=CREATED,
    )
    ours, sas = (tmp_path / "adsl.xpt").read_bytes(), (FIXTURES / "adsl.xpt").read_bytes()
    layout = struct.Struct(">hhhh8s40s8shhh2s8shhi52s")
    trtsdt = 10  # the first DATE9. variable
    fields = layout.unpack_from(ours, NAMESTR_START + 140 * trtsdt)
    assert fields[:4] == (1, 0, 8, 11)
    assert fields[4:7] == (
        b"TRTSDT  ",
        b"Date of First Exposure to Treatment".ljust(40),
        b"DATE    ",
    )
    assert fields[7:10] == (9, 0, 0)
    assert fields[14] == 109  # byte position in the observation
    for number in range(49):
        start = NAMESTR_START + 140 * number
        assert ours[start : start + 140] == sas[start : start + 140]
    obs = NAMESTR_START + math.ceil(49 * 140 / 80) * 80
    assert ours[obs : obs + 80] == sas[obs : obs + 80]
    assert ours[obs : obs + 80].startswith(b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!")


@pytest.mark.parametrize("name", ["dm.xpt", "adsl.xpt"])
def test_round_trip_keeps_values_labels_formats_lengths(name: str, tmp_path: Path) -> None:
    df, meta = read(FIXTURES / name)
    result = write_xport(
        df,
        tmp_path / name,
        dataset=meta.table_name,
        label=meta.file_label,
        columns=spec_from(meta),
        created=CREATED,
    )
    back, back_meta = read(tmp_path / name)
    pd.testing.assert_frame_equal(back, df)
    assert back_meta.table_name == meta.table_name
    assert back_meta.file_label == meta.file_label
    assert back_meta.column_names == meta.column_names
    assert back_meta.column_labels == meta.column_labels
    assert back_meta.original_variable_types == meta.original_variable_types
    assert back_meta.readstat_variable_types == meta.readstat_variable_types
    assert back_meta.variable_storage_width == meta.variable_storage_width
    assert result.lengths == meta.variable_storage_width
    assert result.rows == meta.number_rows
    assert back_meta.creation_time == CREATED


# --- layout of a small file -------------------------------------------------------------


def test_small_file_layout(tmp_path: Path) -> None:
    df = pd.DataFrame({"AGE": [1.0, None], "SEX": ["F", None], "TRTSDT": [0, 366]})
    columns = [
        XptColumn("SEX", "Sex", "Char", 2),
        XptColumn("AGE", "Age", "Num", format="8.2"),
        XptColumn("TRTSDT", "Start", "Num", format="E8601DA."),
    ]
    result = write(df, tmp_path, columns, dataset="DM", label="Demographics")
    data = (tmp_path / "dm.xpt").read_bytes()
    assert len(data) % 80 == 0
    assert result.lengths == {"SEX": 2, "AGE": 8, "TRTSDT": 8}
    assert data[:80] == b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!" + b"0" * 30 + b"  "
    assert data[80:160] == (
        b"SAS     SAS     SASLIB  9.4     PYTHON  " + b" " * 24 + b"23NOV26:02:00:00"
    )
    assert data[400:416] == b"SAS     DM      "
    assert data[480:560] == b"23NOV26:02:00:00" + b" " * 16 + b"Demographics".ljust(48)
    assert data[560:640].startswith(b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!0000000003")
    sex, age, start = (data[640 + 140 * i : 640 + 140 * (i + 1)] for i in range(3))
    assert sex[:16] == b"\x00\x02\x00\x00\x00\x02\x00\x01SEX     "
    assert (
        age[:8] == b"\x00\x01\x00\x00\x00\x08\x00\x02"
        and age[56:70] == b"        \x00\x08\x00\x02\x00\x00"
    )
    assert start[56:66] == b"E8601DA \x00\x00" and start[84:88] == b"\x00\x00\x00\x0a"
    obs = 640 + 480  # 420 NAMESTR bytes padded to 480
    assert data[obs - 60 : obs] == b" " * 60
    assert data[obs : obs + 80].startswith(b"HEADER RECORD*******OBS     HEADER RECORD")
    rows = data[obs + 80 :]
    assert rows[:18] == b"F " + bytes.fromhex("4110000000000000") + bytes(8)
    assert rows[18:36] == b"  " + MISSING + bytes.fromhex("4316E00000000000")
    assert rows[36:] == b" " * 44
    back, meta = read(tmp_path / "dm.xpt")
    assert meta.original_variable_types == {"SEX": None, "AGE": "8.2", "TRTSDT": "E8601DA"}
    assert back.columns.tolist() == ["SEX", "AGE", "TRTSDT"]


def test_determinism_and_result(tmp_path: Path) -> None:
    df, meta = read(FIXTURES / "adsl.xpt")
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    results = [
        write_xport(
            df,
            folder / "adsl.xpt",
            dataset="ADSL",
            label="ADSL",
            columns=spec_from(meta),
            created=CREATED,
        )
        for folder in (first, second)
    ]
    one, two = (first / "adsl.xpt").read_bytes(), (second / "adsl.xpt").read_bytes()
    assert one == two
    assert results[0].sha256 == results[1].sha256 == hashlib.sha256(one).hexdigest()
    assert results[0].bytes == len(one) == 117840
    assert results[0].path == first / "adsl.xpt"
    assert results[0].rows == 254


def test_overwrites_atomically_and_leaves_no_temp_file(tmp_path: Path) -> None:
    df = pd.DataFrame({"A": ["x"]})
    write(df, tmp_path, [XptColumn("A", "a", "Char")])
    write(pd.DataFrame({"A": ["yy"]}), tmp_path, [XptColumn("A", "a", "Char")])
    assert [p.name for p in tmp_path.iterdir()] == ["xx.xpt"]
    assert read(tmp_path / "xx.xpt")[0]["A"].tolist() == ["yy"]


def test_empty_dataset(tmp_path: Path) -> None:
    df = pd.DataFrame({"A": pd.Series([], dtype="str"), "N": pd.Series([], dtype=float)})
    result = write(df, tmp_path, [XptColumn("A", "a", "Char"), XptColumn("N", "n", "Num")])
    back, meta = read(tmp_path / "xx.xpt")
    assert result.rows == 0 and len(back) == 0 and meta.column_names == ["A", "N"]
    assert result.lengths == {"A": 1, "N": 8}
    assert (
        (tmp_path / "xx.xpt")
        .read_bytes()
        .endswith(b"OBS     HEADER RECORD!!!!!!!" + b"0" * 30 + b"  ")
    )


# --- nulls, lengths, dtypes -------------------------------------------------------------


def test_nulls_become_blanks_and_sas_missing(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "C": pd.Series(["a  ", None, "", np.nan, "bc"], dtype=object),
            "S": pd.Series([None, "x", None, None, None], dtype="str"),
            "E": [None] * 5,
            "N": [1.5, np.nan, None, 2.0, 0.0],
            "I": pd.array([1, None, 3, None, 5], dtype="Int64"),
            "F": pd.array([None, 2.25, None, None, None], dtype="Float64"),
        }
    )
    columns = [
        XptColumn("C", "c", "Char"),
        XptColumn("S", "s", "Char", 3),
        XptColumn("E", "empty", "Char"),
        XptColumn("N", "n", "Num"),
        XptColumn("I", "i", "Num"),
        XptColumn("F", "f", "Num"),
    ]
    result = write(df, tmp_path, columns)
    assert result.lengths == {"C": 2, "S": 3, "E": 1, "N": 8, "I": 8, "F": 8}
    back, _ = read(tmp_path / "xx.xpt")
    assert back["C"].tolist() == ["a", "", "", "", "bc"]
    assert back["S"].tolist() == ["", "x", "", "", ""]
    assert back["E"].tolist() == [""] * 5
    assert back["N"].tolist()[::3] == [1.5, 2.0] and back["N"].isna().tolist() == [
        False,
        True,
        True,
        False,
        False,
    ]
    assert back["I"].isna().tolist() == [False, True, False, True, False]
    assert back["F"].isna().sum() == 4
    data = (tmp_path / "xx.xpt").read_bytes()
    observations = data.index(b"HEADER RECORD*******OBS ") + 80
    second = data[observations + 30 : observations + 60]  # rows are 2+3+1+8+8+8 bytes
    assert second == b"  " + b"x  " + b" " + MISSING + MISSING + bytes.fromhex("4124000000000000")


def test_numbers_from_any_numeric_dtype_read_back_exactly(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "O": pd.Series([1, 2.5, None, Decimal("0.1")], dtype=object),
            "F32": np.array([0.5, -1.25, 3.0, 1e-3], dtype=np.float32),
            "I64": np.array([2**53, -(2**53), 0, 21915], dtype=np.int64),
            "U8": np.array([0, 1, 2, 255], dtype=np.uint8),
        }
    )
    columns = [XptColumn(name, name, "Num") for name in df.columns]
    write(df, tmp_path, columns)
    back, _ = read(tmp_path / "xx.xpt")
    assert back["O"].tolist()[:2] == [1.0, 2.5] and math.isnan(back["O"][2]) and back["O"][3] == 0.1
    assert back["F32"].tolist() == [0.5, -1.25, 3.0, float(np.float32(1e-3))]
    assert back["I64"].tolist() == [2.0**53, -(2.0**53), 0.0, 21915.0]
    assert back["U8"].tolist() == [0.0, 1.0, 2.0, 255.0]


def test_columns_follow_spec_order_and_keep_fixed_length(tmp_path: Path) -> None:
    df = pd.DataFrame({"B": [1.0], "A": ["x"]})
    result = write(df, tmp_path, [XptColumn("A", "a", "Char", 200), XptColumn("B", "b", "Num")])
    meta = read(tmp_path / "xx.xpt")[1]
    assert meta.column_names == ["A", "B"]
    assert meta.variable_storage_width == {"A": 200, "B": 8}
    assert result.lengths == {"A": 200, "B": 8}
    assert result.bytes == 8 * 80 + 2 * 140 + 40 + 80 + 208 + 32


def test_index_does_not_matter_rows_are_positions(tmp_path: Path) -> None:
    df = pd.DataFrame({"A": ["ok", "ok", "é"]}, index=[10, 5, 99])
    error = error_of(df, tmp_path, [XptColumn("A", "a", "Char")])
    assert error.issues[0].rows == (3,)
    assert "row 3: 'é'" in str(error)


# --- error messages ---------------------------------------------------------------------


def test_chinese_text_is_refused_with_row_number(tmp_path: Path) -> None:
    df = pd.DataFrame({"AETERM": ["HEADACHE", "NAUSEA", "头痛", "RASH"], "AESEQ": [1, 2, 3, 4]})
    columns = [XptColumn("AETERM", "Reported Term", "Char"), XptColumn("AESEQ", "Seq", "Num")]
    error = error_of(df, tmp_path, columns, dataset="AE")
    message = str(error)
    assert message.startswith("ae.xpt (dataset AE): 1 problem(s), nothing written")
    assert "variable AETERM: character value must be printable ASCII (0x20-0x7E)" in message
    assert "1 row(s): row 3: '头痛'" in message
    assert error.issues[0].variable == "AETERM" and error.issues[0].rows == (3,)


def test_all_offending_rows_are_counted_first_ten_quoted(tmp_path: Path) -> None:
    values = ["ok"] * 5 + [" lead"] * 25
    error = error_of(pd.DataFrame({"A": values}), tmp_path, [XptColumn("A", "a", "Char")])
    (issue,) = error.issues
    assert issue.rows == tuple(range(6, 31))
    message = str(error)
    assert "character value has leading spaces -- 25 row(s): row 6: ' lead'" in message
    assert "row 15: ' lead', ... and 15 more" in message
    assert "row 16:" not in message


@pytest.mark.parametrize(
    ("column", "values", "expected"),
    [
        (
            XptColumn("A", "a", "Char"),
            ["x" * 200, "y" * 201],
            "longer than 200 bytes -- 1 row(s): row 2",
        ),
        (
            XptColumn("A", "a", "Char", 3),
            ["abc", "abcd", "ab"],
            "fixed length 3 -- 1 row(s): row 2: 'abcd'",
        ),
        (XptColumn("A", "a", "Char"), ["ok", " x", "y"], "leading spaces -- 1 row(s): row 2: ' x'"),
        (
            XptColumn("A", "a", "Char"),
            ["tab\there", "ok"],
            "printable ASCII (0x20-0x7E), no other characters -- 1 row(s): row 1: 'tab\\there'",
        ),
        (
            XptColumn("A", "a", "Char"),
            ["Größe", "ok"],
            "printable ASCII (0x20-0x7E), no other characters -- 1 row(s): row 1: 'Größe'",
        ),
        (
            XptColumn("A", "a", "Char"),
            pd.Series(["x", 5, None], dtype=object),
            "Char value must be text -- 1 row(s): row 2: 5",
        ),
        (
            XptColumn("A", "a", "Char"),
            [1, 2],
            "Char value must be text, column has dtype int64 -- 2 row(s): row 1: 1, row 2: 2",
        ),
        (
            XptColumn("A", "a", "Num"),
            pd.Series([1.0, "12", None], dtype=object),
            "Num value must be a number -- 1 row(s): row 2: '12'",
        ),
        (
            XptColumn("A", "a", "Num"),
            pd.Series(["1", None], dtype="str"),
            "Num value must be a number, column has dtype str -- 1 row(s): row 1: '1'",
        ),
        (XptColumn("A", "a", "Num"), [True, False], "column has dtype bool -- 2 row(s)"),
        (
            XptColumn("A", "a", "Num"),
            pd.to_datetime(["2020-01-01"]),
            "convert dates to SAS day counts",
        ),
        (
            XptColumn("A", "a", "Num"),
            [1.0, np.inf, -np.inf],
            "infinite value -- 2 row(s): row 2: inf, row 3: -inf",
        ),
        (
            XptColumn("A", "a", "Num"),
            [1e76, 1e-80, 5e-324, 7e75],
            "IBM float range [16**-65, 16**63) (about 5.4e-79 to 7.2e75) -- 3 row(s): "
            "row 1: 1e+76, row 2: 1e-80, row 3: 5e-324",
        ),
        (
            XptColumn("A", "a", "Num"),
            np.array([2**53 + 1, 2**60, 1]),
            "integer beyond 2**53 changes when stored as a SAS (double) number -- "
            "1 row(s): row 1: 9007199254740993",
        ),
    ],
)
def test_each_value_rule_names_variable_row_and_rule(
    column: XptColumn, values: Any, expected: str, tmp_path: Path
) -> None:
    error = error_of(pd.DataFrame({"A": values}), tmp_path, [column])
    assert "variable A: " in str(error)
    assert expected in str(error)


@pytest.mark.parametrize(
    ("kw", "columns", "expected"),
    [
        (
            {"dataset": "ADVERSEEV"},
            [XptColumn("A", "a", "Char")],
            "dataset: dataset name 'ADVERSEEV' must be 1-8 characters matching ^[A-Z][A-Z0-9_]*$",
        ),
        (
            {"dataset": "ae", "path": Path("ae.xpt")},
            [XptColumn("A", "a", "Char")],
            "dataset name 'ae' must be 1-8",
        ),
        (
            {"dataset": "AE", "path": Path("AE.xpt")},
            [XptColumn("A", "a", "Char")],
            "dataset: file name must be 'ae.xpt', got 'AE.xpt'",
        ),
        (
            {"label": "x" * 41},
            [XptColumn("A", "a", "Char")],
            "dataset label '" + "x" * 41 + "' is 41 bytes, more than 40",
        ),
        (
            {"label": "Données"},
            [XptColumn("A", "a", "Char")],
            "dataset label 'Données' must be printable ASCII",
        ),
        (
            {},
            [XptColumn("A", "L" * 41, "Char")],
            "variable A: label '" + "L" * 41 + "' is 41 bytes, more than 40",
        ),
        ({}, [XptColumn("A", "Âge", "Char")], "variable A: label 'Âge' must be printable ASCII"),
        (
            {},
            [XptColumn("A", "a", "Char"), XptColumn("B_TOO_LONG", "b", "Num")],
            "variable B_TOO_LONG: name 'B_TOO_LONG' must be 1-8",
        ),
        (
            {},
            [XptColumn("A", "a", "Char"), XptColumn("1B", "b", "Num")],
            "variable 1B: name '1B' must be 1-8",
        ),
        (
            {},
            [XptColumn("A", "a", "Num", format="date9.")],
            "variable A: format 'date9.' is not a SAS format",
        ),
        (
            {},
            [XptColumn("A", "a", "Num", format="DATE9")],
            "variable A: format 'DATE9' is not a SAS format",
        ),
        (
            {},
            [XptColumn("A", "a", "Num", format="$CHAR5.")],
            "format '$CHAR5.' does not suit a Num variable",
        ),
        (
            {},
            [XptColumn("A", "a", "Num", length=4)],
            "variable A: Num length must be 8 (or None), got 4",
        ),
        ({}, [XptColumn("A", "a", "Char", 201)], "variable A: Char length must be 1-200, got 201"),
        ({}, [XptColumn("A", "a", "char")], "variable A: type must be 'Char' or 'Num', got 'char'"),  # type: ignore[arg-type]
        ({}, [XptColumn("A", "a", "Char"), XptColumn("B", "b", "Num")], "frame lacks columns: B"),
        ({}, [], "needs 1-9999 columns, got 0"),
        (
            {},
            [XptColumn("A", "a", "Char"), XptColumn("A", "b", "Char")],
            "variables listed more than once: A",
        ),
    ],
)
def test_each_metadata_rule_is_reported(
    kw: dict[str, Any], columns: list[XptColumn], expected: str, tmp_path: Path
) -> None:
    if "path" in kw:
        kw["path"] = tmp_path / kw["path"]
    error = error_of(pd.DataFrame({"A": ["x"]}), tmp_path, columns, **kw)
    assert expected in str(error)


def test_extra_frame_columns_are_named(tmp_path: Path) -> None:
    df = pd.DataFrame({"A": ["x"], "EXTRA": [1], "MORE": [2]})
    error = error_of(df, tmp_path, [XptColumn("A", "a", "Char")])
    assert "dataset: frame has columns not in the spec: EXTRA, MORE" in str(error)


def test_every_broken_rule_is_reported_at_once(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "AETERM": ["头痛", " X", "OK"],
            "AGE": pd.Series([1, "old", np.inf], dtype=object),
            "AEDECOD": ["A", "B", "C"],
        }
    )
    columns = [
        XptColumn("AETERM", "Reported Term", "Char", 1),
        XptColumn("AGE", "Age", "Num"),
        XptColumn("AEDECOD", "Dictionary-Derived Term", "Char"),
        XptColumn("AESEV", "Severity", "Char"),
    ]
    error = error_of(df, tmp_path, columns, dataset="AE")
    assert [(issue.variable, issue.rows) for issue in error.issues] == [
        (None, ()),
        ("AETERM", (1,)),
        ("AETERM", (2,)),
        ("AETERM", (1, 2, 3)),
        ("AGE", (2,)),
        ("AGE", (3,)),
    ]
    assert "frame lacks columns: AESEV" in str(error)


def test_trailing_blank_rows_of_an_all_char_dataset_are_refused(tmp_path: Path) -> None:
    df = pd.DataFrame({"A": ["x", "", "y", None, ""], "B": ["", None, "", "  ", None]})
    error = error_of(df, tmp_path, [XptColumn("A", "a", "Char"), XptColumn("B", "b", "Char")])
    assert error.issues[0].rows == (4, 5)
    assert "trailing rows are blank in every variable" in str(error)
    write(df.iloc[:3], tmp_path, [XptColumn("A", "a", "Char"), XptColumn("B", "b", "Char")])
    assert read(tmp_path / "xx.xpt")[0]["A"].tolist() == ["x", "", "y"]


# --- self-verification ------------------------------------------------------------------


def test_read_back_mismatch_is_refused_and_leaves_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "xx.xpt"
    target.write_bytes(b"previous")

    def corrupt(values: np.ndarray) -> np.ndarray:
        words = ieee_to_ibm(values)
        words[1] = ieee_to_ibm(np.array([7.0]))[0]
        return words

    monkeypatch.setattr(xpt, "ieee_to_ibm", corrupt)
    df = pd.DataFrame({"LBSTRESN": [1.0, 2.0, 3.0]})
    with pytest.raises(XptError) as caught:
        write(df, tmp_path, [XptColumn("LBSTRESN", "Result", "Num")])
    assert "variable LBSTRESN: read-back value differs from the value written" in str(caught.value)
    assert "1 row(s): row 2: 2.0 read back as 7.0" in str(caught.value)
    assert [p.name for p in tmp_path.iterdir()] == ["xx.xpt"]
    assert target.read_bytes() == b"previous"


def test_reader_failure_is_an_xpt_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise pyreadstat.ReadstatError("Invalid file, or file has unsupported features")

    monkeypatch.setattr(pyreadstat, "read_xport", broken)
    with pytest.raises(XptError, match="read-back by pyreadstat failed: Invalid file"):
        write(pd.DataFrame({"A": ["x"]}), tmp_path, [XptColumn("A", "a", "Char")])
    assert list(tmp_path.iterdir()) == []


# --- IBM 370 floats ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "word"),
    [
        (0.0, 0x0000000000000000),
        (-0.0, 0x0000000000000000),
        (1.0, 0x4110000000000000),
        (-1.0, 0xC110000000000000),
        (0.5, 0x4080000000000000),
        (0.1, 0x401999999999999A),
        (100.0, 0x4264000000000000),
        (-118.5, 0xC276800000000000),
        (21915.0, 0x44559B0000000000),
        (2.0**-260, 0x0010000000000000),
        (math.nextafter(2.0**252, 0), 0x7FFFFFFFFFFFFFF8),
        (-(2.0**-260), 0x8010000000000000),
        (float("nan"), 0x2E00000000000000),
    ],
)
def test_ibm_known_words(value: float, word: int) -> None:
    assert ibm_word(value) == word


def test_ibm_range_limits() -> None:
    edges = np.array([2.0**-260, -(2.0**-260), math.nextafter(2.0**252, 0), 0.0, np.nan])
    outside = np.array([2.0**252, -(2.0**252), 2.0**-261, 5e-324, 1e308, np.inf, -np.inf])
    assert ibm_representable(edges).all()
    assert not ibm_representable(outside).any()
    with pytest.raises(ValueError, match="IBM float range"):
        ieee_to_ibm(np.array([1.0, 1e300]))


def test_ibm_output_is_big_endian_words() -> None:
    words = ieee_to_ibm(np.array([1.0, np.nan]))
    assert words.dtype == np.dtype(">u8")
    assert words.tobytes() == bytes.fromhex("4110000000000000") + MISSING


representable = st.one_of(
    st.builds(
        lambda mantissa, exponent, sign: sign * math.ldexp(mantissa, exponent),
        st.floats(1.0, 2.0, exclude_max=True),
        st.integers(-260, 251),
        st.sampled_from([1.0, -1.0]),
    ),
    st.integers(-(2**53), 2**53).map(float),
    st.integers(-200_000, 200_000).map(float),  # SAS dates / datetimes in days
    st.decimals(-10_000, 10_000, places=3).map(float),  # lab values
)


@settings(max_examples=500)
@given(representable)
def test_ibm_conversion_is_exact_and_normalised(value: float) -> None:
    word = ibm_word(value)
    assert ibm_exact(word) == Fraction(value)
    if value != 0:
        assert (word >> 52) & 0xF != 0, "first hex digit of the fraction must be non-zero"
        assert (word >> 63) == (value < 0)


@settings(max_examples=25, deadline=None)
@given(st.lists(representable, min_size=1, max_size=30))
def test_pyreadstat_reads_back_exactly(
    tmp_path_factory: pytest.TempPathFactory, values: list[float]
) -> None:
    folder = tmp_path_factory.mktemp("ibm")
    write(pd.DataFrame({"X": values}), folder, [XptColumn("X", "x", "Num")])
    assert read(folder / "xx.xpt")[0]["X"].tolist() == values


def test_vector_matches_scalar_conversion() -> None:
    rng = np.random.default_rng(20261123)
    values = np.concatenate(
        [
            rng.normal(0, 1e3, 5000).round(2),
            rng.integers(-(10**9), 10**9, 5000).astype(float),
            np.ldexp(rng.random(5000) + 0.5, rng.integers(-259, 252, 5000)),
        ]
    )
    words = ieee_to_ibm(values)
    assert all(ibm_exact(int(w)) == Fraction(float(v)) for w, v in zip(words, values, strict=True))


def test_ibm_decoder_inverts_the_encoder() -> None:
    rng = np.random.default_rng(7)
    values = np.concatenate(
        [
            rng.normal(0, 1e3, 2000).round(3),
            np.ldexp(rng.random(2000) + 0.5, rng.integers(-259, 252, 2000)),
            [0.0, -1.0, 2.0**-260, math.nextafter(2.0**252, 0), np.nan],
        ]
    )
    back = xpt.ibm_to_ieee(ieee_to_ibm(values).astype(np.uint64))
    assert np.array_equal(back, values, equal_nan=True)
    special = np.array([0x2E << 56, 0x41 << 56, 0x5F << 56], dtype=np.uint64)  # . .A ._
    assert np.isnan(xpt.ibm_to_ieee(special)).all()


# --- against pyreadstat's own writer ----------------------------------------------------

# What may differ from pyreadstat.write_xport's bytes: the created/modified stamps and the
# SAS version / OS name fields of the library and member headers, and the justification
# field (nfj) of Num NAMESTRs, which pyreadstat sets to 1 and SAS writes as 0 (the files SAS
# wrote above compare byte for byte with ours, nfj included).
HEADER_STAMPS = (slice(104, 160), slice(160, 176), slice(424, 480), slice(480, 496))


def _lb_like(rows: int, seed: int) -> tuple[pd.DataFrame, list[XptColumn]]:
    rng = np.random.default_rng(seed)
    tests = np.array(["Hemoglobin", "Platelets", "Kappa Light Chain, Free", "A"], dtype=object)
    result = rng.normal(100, 40, rows).round(2)
    result[rng.random(rows) < 0.1] = np.nan
    text = np.where(np.isnan(result), "", result.astype(str)).astype(object)
    df = pd.DataFrame(
        {
            "STUDYID": ["POMMAINT"] * rows,
            "USUBJID": [f"POMMAINT-01-{1000 + i // 40}" for i in range(rows)],
            "LBSEQ": np.arange(1, rows + 1, dtype=np.float64),
            "LBTEST": tests[rng.integers(0, 4, rows)],
            "LBORRES": text,
            "LBSTRESN": result,
            "LBNRIND": pd.array(
                ["HIGH" if u < 0.5 else None for u in rng.random(rows)], dtype="str"
            ),
            "LBDY": rng.integers(-30, 1200, rows).astype(np.float64),
        }
    )
    columns = [
        XptColumn("STUDYID", "Study Identifier", "Char"),
        XptColumn("USUBJID", "Unique Subject Identifier", "Char"),
        XptColumn("LBSEQ", "Sequence Number", "Num"),
        XptColumn("LBTEST", "Lab Test or Examination Name", "Char"),
        XptColumn("LBORRES", "Result or Finding in Original Units", "Char"),
        XptColumn("LBSTRESN", "Numeric Result/Finding in Standard Units", "Num"),
        XptColumn("LBNRIND", "Reference Range Indicator", "Char"),
        XptColumn("LBDY", "Study Day of Specimen Collection", "Num"),
    ]
    return df, columns


def _masked(data: bytes, columns: list[XptColumn]) -> bytes:
    out = bytearray(data)
    for field in HEADER_STAMPS:
        out[field] = bytes(field.stop - field.start)
    for number, column in enumerate(columns):
        if column.type == "Num":
            nfj = NAMESTR_START + 140 * number + 68
            out[nfj : nfj + 2] = bytes(2)
    return bytes(out)


@pytest.mark.parametrize("rows", [1, 37, 2_500])
def test_bytes_equal_pyreadstat_writer_output(rows: int, tmp_path: Path) -> None:
    df, columns = _lb_like(rows, seed=rows)
    ours = write(df, tmp_path, columns, dataset="LB", label="Laboratory Test Results")
    theirs = tmp_path / "theirs.xpt"
    pyreadstat.write_xport(
        df.astype({c.name: object for c in columns if c.type == "Char"}),
        str(theirs),
        file_label="Laboratory Test Results",
        column_labels=[c.label for c in columns],
        table_name="LB",
        file_format_version=5,
    )
    mine = (tmp_path / "lb.xpt").read_bytes()
    assert len(mine) == theirs.stat().st_size == ours.bytes
    assert _masked(mine, columns) == _masked(theirs.read_bytes(), columns)


def test_large_file_is_decoded_whole_and_sampled_by_pyreadstat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(xpt, "VERIFY_ROWS", 60)
    df, columns = _lb_like(3_000, seed=3)
    assert xpt._sample_rows(3_000).size == 60
    calls: list[int] = []
    read_xport = pyreadstat.read_xport

    def counting(path: str, **kwargs: Any) -> Any:
        back, meta = read_xport(path, **kwargs)
        calls.append(len(back["LBSEQ"]))
        return back, meta

    monkeypatch.setattr(pyreadstat, "read_xport", counting)
    write(df, tmp_path, columns, dataset="LB", label="Laboratory Test Results")
    assert calls == [60], "pyreadstat reads the header and the sampled records only"
    monkeypatch.undo()
    back, _ = read(tmp_path / "lb.xpt")
    assert len(back) == 3_000
    assert back["LBSTRESN"].tolist() == pytest.approx(df["LBSTRESN"].tolist(), nan_ok=True)
    assert back["LBTEST"].tolist() == df["LBTEST"].tolist()


@pytest.mark.parametrize(("variable", "offset"), [("LBSTRESN", 3), ("LBTEST", 0)])
def test_large_file_cell_outside_the_sample_is_checked(
    variable: str, offset: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(xpt, "VERIFY_ROWS", 60)
    df, columns = _lb_like(3_000, seed=5)
    row = 1_234  # not among the sampled rows
    assert row not in set(xpt._sample_rows(3_000).tolist())
    monkeypatch.setattr(xpt, "CHUNK_ROWS", 1_000)  # the damaged row is in the second block
    encode = xpt._observation_blocks

    def damaged(prepared: list[Any], rows: int) -> Iterator[memoryview]:
        position = next(p for _, c, p in xpt._layout(prepared) if c.spec.name == variable)
        width = sum(c.length for c in prepared)
        for number, block in enumerate(encode(prepared, rows)):
            if number == row // 1_000:
                cells = np.frombuffer(block, dtype=np.uint8).reshape(-1, width).copy()
                cells[row % 1_000, position + offset] ^= 0x01
                block = cells.reshape(-1).data
            yield block

    monkeypatch.setattr(xpt, "_observation_blocks", damaged)
    target = tmp_path / "lb.xpt"
    with pytest.raises(XptError) as caught:
        write(df, tmp_path, columns, dataset="LB", label="Laboratory Test Results")
    message = str(caught.value)
    assert f"variable {variable}: decoded value differs from the value written" in message
    assert f"1 row(s): row {row + 1}:" in message
    assert not target.exists() and list(tmp_path.iterdir()) == []


# --- frame by frame ---------------------------------------------------------------------


def _frames(df: pd.DataFrame, bounds: list[int]) -> xpt.Frames:
    """`df` cut at the row numbers `bounds`, index restarting at 0 as a Parquet batch's."""
    cuts = [0, *bounds, len(df)]
    return lambda: (df.iloc[a:b].reset_index(drop=True) for a, b in pairwise(cuts))


def write_frames(frames: xpt.Frames, folder: Path, columns: list[XptColumn]) -> xpt.XptResult:
    return xpt.write_xport(
        frames, folder / "lb.xpt", dataset="LB", label="Lab", columns=columns, created=CREATED
    )


@pytest.mark.parametrize(("rows", "verify_rows"), [(300, 20_000), (3_000, 60)])
def test_frames_give_the_bytes_of_the_whole_frame(
    rows: int, verify_rows: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(xpt, "VERIFY_ROWS", verify_rows)  # 3,000 rows: the large-file read-back
    df, columns = _lb_like(rows, seed=11)
    df.loc[rows - 2, "LBTEST"] = "Longest test name of all, in a later frame"
    whole, chunked = tmp_path / "whole", tmp_path / "chunked"
    whole.mkdir()
    chunked.mkdir()
    one = write_frames(lambda: (df,), whole, columns)
    bounds = [1, rows // 3, rows // 3, rows - 1]  # a 1-row frame, an empty one, the last row
    many = write_frames(_frames(df, bounds), chunked, columns)
    assert (chunked / "lb.xpt").read_bytes() == (whole / "lb.xpt").read_bytes()
    assert many == xpt.XptResult(chunked / "lb.xpt", rows, one.lengths, one.bytes, one.sha256)
    assert many.lengths["LBTEST"] == len("Longest test name of all, in a later frame")
    back, _ = read(chunked / "lb.xpt")
    assert back["LBTEST"].tolist() == df["LBTEST"].tolist()


def test_frames_issues_name_rows_of_the_whole_dataset_in_rule_order(tmp_path: Path) -> None:
    df = pd.DataFrame({"A": ["ok", "ok", " lead", "x" * 201, " also"], "N": [1.0] * 5})
    columns = [XptColumn("A", "a", "Char"), XptColumn("N", "n", "Num")]
    whole = error_of(df, tmp_path, columns, dataset="LB")
    with pytest.raises(XptError) as caught:
        write_frames(_frames(df, [2, 4]), tmp_path, columns)  # [ok ok] [lead long] [also]
    assert str(caught.value) == str(whole)
    assert [(i.rule, i.rows) for i in caught.value.issues] == [
        ("character value has leading spaces", (3, 5)),
        ("character value longer than 200 bytes", (4,)),
    ]
    # a later frame's rule that a whole frame checks first still comes first
    df = pd.DataFrame({"A": ["ok", " lead", "\u00e9"], "N": [1.0] * 3})
    whole = error_of(df, tmp_path, columns, dataset="LB")
    with pytest.raises(XptError) as caught:
        write_frames(_frames(df, [2]), tmp_path, columns)
    assert str(caught.value) == str(whole)
    assert caught.value.issues[0].rule.startswith("character value must be printable ASCII")
    assert caught.value.issues[0].rows == (3,)


def test_frames_blank_trailing_rows_span_frames(tmp_path: Path) -> None:
    df = pd.DataFrame({"A": ["x", "", None, ""], "B": ["y", None, "", ""]})
    columns = [XptColumn("A", "a", "Char"), XptColumn("B", "b", "Char")]
    with pytest.raises(XptError) as caught:
        write_frames(_frames(df, [1, 3]), tmp_path, columns)
    [issue] = caught.value.issues
    assert issue.rule.startswith("trailing rows are blank") and issue.rows == (2, 3, 4)


def test_frames_cell_damaged_in_a_later_frame_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(xpt, "VERIFY_ROWS", 60)
    df, columns = _lb_like(3_000, seed=5)
    encode = xpt._observation_blocks
    calls = []

    def damaged(prepared: list[Any], rows: int) -> Iterator[memoryview]:
        calls.append(rows)
        for block in encode(prepared, rows):
            if len(calls) == 2:  # the second frame (rows 1,001-3,000): its row 235
                cells = np.frombuffer(block, dtype=np.uint8).copy()
                cells[234 * (len(cells) // rows) + 20] ^= 0x01  # inside USUBJID
                block = cells.data
            yield block

    monkeypatch.setattr(xpt, "_observation_blocks", damaged)
    with pytest.raises(XptError) as caught:
        write_frames(_frames(df, [1_000]), tmp_path, columns)
    assert calls == [1_000, 2_000]
    message = str(caught.value)
    assert "variable USUBJID: decoded value differs from the value written" in message
    assert f"1 row(s): row 1235: {df['USUBJID'][1234]!r}" in message
    assert list(tmp_path.iterdir()) == []

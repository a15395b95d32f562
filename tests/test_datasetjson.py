"""Dataset-JSON v1.1: XPT conversion against the files CDISC published for the same SAS data,
schema validity, non-ASCII text, nulls, numbers and dates, determinism, and the command."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pyreadstat
import pytest

from transforms import __version__
from transforms.cli import main
from transforms.datasetjson import (
    SCHEMA_PATH,
    DatasetJsonError,
    JsonColumn,
    kinds_data_type,
    text_data_type,
    text_kinds,
    write_dataset_json,
    xpt_to_dataset_json,
)
from transforms.xpt import XptColumn, write_xport

FIXTURES = Path(__file__).parent / "fixtures" / "datasetjson"
PAIRS = ("dm", "ae", "adsl", "adtte")
CDISC = Path(sys.executable).parent / "cdisc"
CREATED = datetime(2026, 11, 23, 2, 0, 0)

# The published files were written from the study's Define-XML as well as the data; an XPT
# file carries none of the following, so a converter reading only the XPT legitimately differs:
#   top level: fileOID, studyOID, metaDataVersionOID, metaDataRef (Define references),
#     originator and sourceSystem (who wrote the file: here this pipeline, there SAS),
#     datasetJSONCreationDateTime (ours: the XPT header's creation time, for determinism);
#   columns: keySequence (key variables are Define metadata);
#   cells: SAS writes a blank character value as "", we write null (a blank is missing).
# Every other attribute must be equal, except these Define-XML values (ours, published):
DATASET_LABELS = {
    "adsl": ("Subject-Level Analysis Dataset", "Subject-Level Analysis"),
    "adtte": ("", "AE Time To 1st Derm. Event Analysis"),  # the XPT has no dataset label
}
COLUMN_DIFFERENCES = {
    # Every CUMDOSE value is whole: without Define-XML nothing says "float".
    ("adsl", "CUMDOSE", "dataType"): ("integer", "float"),
    # Dates only ("2014-01-02"), declared datetime in the Define-XML.
    ("adsl", "RFSTDTC", "dataType"): ("date", "datetime"),
    ("adsl", "RFENDTC", "dataType"): ("date", "datetime"),
    # The XPT stores 32 and 4 bytes; the Define-XML declares 100 and 8.
    ("adtte", "PARAM", "length"): (32, 100),
    ("adtte", "PARAMCD", "length"): (4, 8),
    ("adtte", "STARTDT", "label"): (
        "Time-to-Event Origin Date for Subject",
        "Time to Event Origin Date for Subject",
    ),
    ("adtte", "SRCDOM", "label"): ("Source Data", "Source Domain"),
}
COMPARED = ("itemOID", "name", "label", "dataType", "targetDataType", "displayFormat", "length")


def assert_valid(document: dict[str, Any]) -> None:
    """The document satisfies the official Dataset-JSON v1.1 schema (the project's copy)."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator(schema).iter_errors(document)
    ]
    assert not errors, errors


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def column(name: str, data_type: Any, **extra: Any) -> JsonColumn:
    return JsonColumn(f"IT.T.{name}", name, f"{name} label", data_type, **extra)


def write(df: pd.DataFrame, columns: list[JsonColumn], path: Path) -> dict[str, Any]:
    write_dataset_json(
        df, path, name="T", label="Test", columns=columns, item_group_oid="IG.T", created=CREATED
    )
    document = load(path)
    assert_valid(document)
    return document


# --- the published CDISC pilot files ----------------------------------------------------------


@pytest.mark.parametrize("name", PAIRS)
def test_xpt_conversion_matches_the_published_json(name: str, tmp_path: Path) -> None:
    ours = load(xpt_to_dataset_json(FIXTURES / f"{name}.xpt", tmp_path / f"{name}.json"))
    published = load(FIXTURES / f"{name}.json")
    _, meta = pyreadstat.read_xport(FIXTURES / f"{name}.xpt", metadataonly=True)
    assert_valid(ours)

    assert ours["datasetJSONVersion"] == published["datasetJSONVersion"] == "1.1.0"
    assert meta.creation_time is not None
    assert ours["datasetJSONCreationDateTime"] == meta.creation_time.isoformat()
    assert ours["dbLastModifiedDateTime"] == published["dbLastModifiedDateTime"]
    assert ours["originator"] == "cdisc-pipeline"
    assert ours["sourceSystem"] == {"name": "cdisc-pipeline", "version": __version__}
    for attribute in ("itemGroupOID", "name", "records"):
        assert ours[attribute] == published[attribute], attribute
    label = DATASET_LABELS.get(name, (published["label"], published["label"]))
    assert (ours["label"], published["label"]) == label
    assert not {"fileOID", "studyOID", "metaDataVersionOID", "metaDataRef"} & ours.keys()

    assert [c["name"] for c in ours["columns"]] == [c["name"] for c in published["columns"]]
    differences = {}
    for mine, theirs in zip(ours["columns"], published["columns"], strict=True):
        assert "keySequence" not in mine
        for attribute in COMPARED:
            if attribute == "length" and "length" not in theirs:
                continue  # ours keeps the XPT length of character dates; theirs omits it
            if mine.get(attribute) != theirs.get(attribute):
                differences[name, mine["name"], attribute] = (
                    mine.get(attribute),
                    theirs.get(attribute),
                )
        assert ("length" in mine) == (meta.readstat_variable_types[mine["name"]] == "string")
    assert differences == {k: v for k, v in COLUMN_DIFFERENCES.items() if k[0] == name}

    assert ours["records"] == len(ours["rows"]) == len(published["rows"])
    blank_as_null = [[None if v == "" else v for v in row] for row in published["rows"]]
    assert ours["rows"] == blank_as_null  # numbers compare numerically (0 == 0.0), all exact
    integers = [i for i, c in enumerate(ours["columns"]) if c["dataType"] == "integer"]
    assert all(type(row[i]) is int for row in ours["rows"] for i in integers if row[i] is not None)


@pytest.mark.parametrize(
    "breakage",
    [
        {"datasetJSONVersion": "1.0.0"},
        {"records": -1},
        {"columns": [{"itemOID": "IT.DM.A", "name": "A", "label": "A", "dataType": "number"}]},
        {"extra": 1},
    ],
)
def test_the_schema_check_rejects_broken_documents(
    breakage: dict[str, Any], tmp_path: Path
) -> None:
    document = load(xpt_to_dataset_json(FIXTURES / "dm.xpt", tmp_path / "dm.json"))
    with pytest.raises(AssertionError):
        assert_valid(document | breakage)


def test_adam_numeric_dates_become_iso_text(tmp_path: Path) -> None:
    ours = load(xpt_to_dataset_json(FIXTURES / "adsl.xpt", tmp_path / "adsl.json"))
    trtsdt = next(c for c in ours["columns"] if c["name"] == "TRTSDT")
    assert trtsdt == {
        "itemOID": "IT.ADSL.TRTSDT",
        "name": "TRTSDT",
        "label": "Date of First Exposure to Treatment",
        "dataType": "date",
        "targetDataType": "integer",
        "displayFormat": "DATE9.",
    }
    position = ours["columns"].index(trtsdt)
    assert ours["rows"][0][position] == "2014-01-02"


def test_conversion_is_deterministic(tmp_path: Path) -> None:
    first = xpt_to_dataset_json(FIXTURES / "ae.xpt", tmp_path / "a.json").read_bytes()
    second = xpt_to_dataset_json(FIXTURES / "ae.xpt", tmp_path / "b.json").read_bytes()
    assert first == second
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    stamped = load(xpt_to_dataset_json(FIXTURES / "ae.xpt", tmp_path / "c.json", created=created))
    assert stamped["datasetJSONCreationDateTime"] == "2026-01-02T03:04:05+00:00"
    assert "dbLastModifiedDateTime" not in stamped  # a zoneless XPT time is not comparable


# --- XPT files with other SAS formats ---------------------------------------------------------


def test_sas_formats_map_to_data_types(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "DTM": [0.0, 1_893_553_445.0, np.nan],  # 2020-01-02T03:04:05
            "TM": [0.0, 45_296.0, np.nan],
            "DUR": [0.0, 90_000.0, np.nan],  # TIME8. beyond 24:00:00: not an ISO time
            "PCT": [1.0, 2.0, np.nan],  # 8.2: a decimal format, so float though whole
            "N": [1.0, -2.0, np.nan],
            "X": [0.5, 2.0, np.nan],
            "DTC": pd.Series(["2020-01-02T03:04:05", "2020-01-02T03:04", None], dtype="string"),
            "TXT": pd.Series(["a", "", None], dtype="string"),
        }
    )
    columns = [
        XptColumn("DTM", "Datetime", "Num", format="DATETIME20."),
        XptColumn("TM", "Time", "Num", format="TIME8."),
        XptColumn("DUR", "Duration", "Num", format="TIME8."),
        XptColumn("PCT", "Percent", "Num", format="8.2"),
        XptColumn("N", "Whole", "Num"),
        XptColumn("X", "Fraction", "Num"),
        XptColumn("DTC", "Char datetime", "Char", length=19),
        XptColumn("TXT", "Text", "Char", length=3),
    ]
    write_xport(df, tmp_path / "fmt.xpt", dataset="FMT", label="Formats", columns=columns,
                created=CREATED)  # fmt: skip
    document = load(xpt_to_dataset_json(tmp_path / "fmt.xpt", tmp_path / "fmt.json"))
    assert_valid(document)
    assert document["datasetJSONCreationDateTime"] == "2026-11-23T02:00:00"
    assert [
        (c["dataType"], c.get("targetDataType"), c.get("displayFormat"), c.get("length"))
        for c in document["columns"]
    ] == [
        ("datetime", "integer", "DATETIME20.", None),
        ("time", "integer", "TIME8.", None),
        ("integer", None, None, None),
        ("float", None, "8.2", None),
        ("integer", None, None, None),
        ("float", None, None, None),
        ("datetime", None, None, 19),
        ("string", None, None, 3),
    ]
    assert document["rows"] == [
        ["1960-01-01T00:00:00", "00:00:00", 0, 1.0, 1, 0.5, "2020-01-02T03:04:05", "a"],
        ["2020-01-02T03:04:05", "12:34:56", 90000, 2.0, -2, 2.0, "2020-01-02T03:04", None],
        [None] * 8,
    ]


@pytest.mark.parametrize(
    ("name", "values", "expected"),
    [
        # CDISC's pilot DM types BRTHDTC "1928" (the year only) as a date.
        ("BRTHDTC", ["1928", "1947", None], "date"),
        ("AESTDTC", ["2014-03", "2014-03-02", "2014", ""], "date"),
        ("LBDTC", ["2014-03-02T10", "2014-03-02", "2014-03-02T10:15:30"], "datetime"),
        ("DTHDTC", [None, ""], "string"),  # nothing present: nothing says date
        ("AESTDTC", ["2014-03-02", "UNK"], "string"),
        ("AESTDTC", ["2003-12-15T-:15"], "string"),  # a missing middle part: not a datetime
        # reduced precision only in a --DTC: elsewhere "1928" may be any number as text
        ("BIRTHYR", ["1928", "1947"], "string"),
        ("VISITDAT", ["2014-03-02", "2014-03-04"], "date"),
        ("TIME", ["10:15", "23:59:59"], "time"),
    ],
)
def test_partial_iso_dates_of_a_dtc_are_dates(
    name: str, values: list[str | None], expected: str
) -> None:
    assert text_data_type(pd.Series(values, name=name, dtype="string")) == expected


# --- the writer ---------------------------------------------------------------------------------


def test_non_ascii_text_is_kept_as_utf8(tmp_path: Path) -> None:
    df = pd.DataFrame({"TERM": pd.Series(["头痛", "Übelkeit", "naïve"], dtype="string")})
    columns = [JsonColumn("IT.T.TERM", "TERM", "不良事件 term", "string", length=8)]
    document = write(df, columns, tmp_path / "t.json")
    raw = (tmp_path / "t.json").read_bytes()
    assert "头痛".encode() in raw and b"\\u" not in raw
    assert [row[0] for row in document["rows"]] == ["头痛", "Übelkeit", "naïve"]
    assert document["columns"][0]["label"] == "不良事件 term"


def test_missing_values_are_null_never_empty_text(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "S": pd.Series(["x", "", None], dtype="string"),
            "I": pd.Series([1, None, 3], dtype="Int64"),
            "F": [1.5, np.nan, None],
            "D": [0.0, np.nan, 19_000.0],
            "C": pd.Series(["2020-01-02", "", None], dtype="string"),
            "B": pd.Series([True, None, False], dtype="boolean"),
        }
    )
    columns = [
        column("S", "string", length=1),
        column("I", "integer"),
        column("F", "float"),
        column("D", "date", target_data_type="integer", display_format="E8601DA."),
        column("C", "date"),
        column("B", "boolean"),
    ]
    document = write(df, columns, tmp_path / "t.json")
    assert document["rows"] == [
        ["x", 1, 1.5, "1960-01-01", "2020-01-02", True],
        [None, None, None, None, None, None],
        [None, 3, None, "2012-01-08", None, False],
    ]
    assert '""' not in (tmp_path / "t.json").read_text(encoding="utf-8")


def test_integers_are_written_without_a_fraction(tmp_path: Path) -> None:
    df = pd.DataFrame({"I": [1.0, -2.0, 2.0**53], "F": [1.0, 2.5, 3.0]})
    write(df, [column("I", "integer"), column("F", "double")], tmp_path / "t.json")
    assert "\n[1,1.0],\n[-2,2.5],\n[9007199254740992,3.0]\n" in (tmp_path / "t.json").read_text()


def test_numeric_datetimes_and_times(tmp_path: Path) -> None:
    df = pd.DataFrame({"DT": [86_400.5, np.nan], "TM": [3_661.0, 86_399.0]})
    columns = [
        column("DT", "datetime", target_data_type="decimal"),
        column("TM", "time", target_data_type="integer"),
    ]
    document = write(df, columns, tmp_path / "t.json")
    assert document["rows"] == [["1960-01-02T00:00:00.500", "01:01:01"], [None, "23:59:59"]]


def test_layout_is_exact_and_repeatable(tmp_path: Path) -> None:
    df = pd.DataFrame({"A": pd.Series(["x", "y"], dtype="string"), "N": [1, 2]})
    columns = [column("A", "string", length=1, key_sequence=1), column("N", "integer")]
    write_dataset_json(
        df, tmp_path / "a.json", name="T", label="Test", columns=columns, item_group_oid="IG.T",
        study_oid="S", metadata_version_oid="MDV.1", metadata_ref="define.xml", created=CREATED,
        db_last_modified=datetime(2026, 11, 22), originator="Sponsor", source_system=None,
    )  # fmt: skip
    text = (tmp_path / "a.json").read_text(encoding="utf-8")
    assert text == (
        '{"datasetJSONCreationDateTime":"2026-11-23T02:00:00","datasetJSONVersion":"1.1.0",'
        '"dbLastModifiedDateTime":"2026-11-22T00:00:00","originator":"Sponsor","studyOID":"S",'
        '"metaDataVersionOID":"MDV.1","metaDataRef":"define.xml","itemGroupOID":"IG.T",'
        '"records":2,"name":"T","label":"Test","columns":[\n'
        '{"itemOID":"IT.T.A","name":"A","label":"A label","dataType":"string","length":1,'
        '"keySequence":1},\n'
        '{"itemOID":"IT.T.N","name":"N","label":"N label","dataType":"integer"}\n'
        '],"rows":[\n["x",1],\n["y",2]\n]}\n'
    )
    assert_valid(json.loads(text))
    write(df, columns, tmp_path / "b.json")
    write(df, columns, tmp_path / "c.json")
    assert (tmp_path / "b.json").read_bytes() == (tmp_path / "c.json").read_bytes()


def test_empty_frame_is_metadata_only(tmp_path: Path) -> None:
    df = pd.DataFrame({"A": pd.Series([], dtype="string")})
    document = write(df, [column("A", "string", length=1)], tmp_path / "t.json")
    assert document["records"] == 0
    assert document["rows"] == []


def test_chunk_boundaries_do_not_change_the_bytes(tmp_path: Path) -> None:
    rows = 23
    seconds = np.arange(rows) * 86_400.0
    seconds[-1] += 0.25  # one fraction, in the last chunk only: every datetime gets its ms
    df = pd.DataFrame(
        {
            "S": pd.Series(
                ["a", "", None, "头痛", 'q"b\\c', "t\tn\nx\x01\x7f", "\u2028 😀"] * 3 + ["z", "y"],
                dtype="string",
            ),
            "I": pd.Series([1, None, -3] * 7 + [2**62, 0], dtype="Int64"),
            "W": [1.0, np.nan, -2.0] * 7 + [2.0**53, 0.0],
            "F": [0.1, np.nan, -0.0, 1e16, 1e-5, 100.0, 2.5e-7, 1 / 3] * 2 + [0.0] * 7,
            "B": pd.Series([True, None, False] * 7 + [True, None], dtype="boolean"),
            "D": [0.0, np.nan] * 11 + [19_000.0],
            "DT": np.where(np.arange(rows) % 5 == 1, np.nan, seconds),
            "TM": [float(i) for i in range(rows)],
            "C": pd.Series(["2020-01-02", "", None] * 7 + ["2021-12-31", None], dtype="str"),
        }
    )
    columns = [
        column("S", "string", length=8),
        column("I", "integer"),
        column("W", "integer"),
        column("F", "double"),
        column("B", "boolean"),
        column("D", "date", target_data_type="integer", display_format="DATE9."),
        column("DT", "datetime", target_data_type="decimal"),
        column("TM", "time", target_data_type="integer"),
        column("C", "date"),
    ]
    written = {}
    for chunk_rows in (1, 7, rows, 1000):
        path = tmp_path / f"{chunk_rows}.json"
        write_dataset_json(
            df, path, name="T", label="Test", columns=columns, item_group_oid="IG.T",
            created=CREATED, chunk_rows=chunk_rows,
        )  # fmt: skip
        written[chunk_rows] = path.read_bytes()
        assert_valid(load(path))
    assert len(set(written.values())) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1.json", "1000.json", "23.json",
                                                          "7.json"]  # fmt: skip
    text = written[1].decode("utf-8")
    assert text.count("\n") == len(columns) + rows + 3  # one row per line
    document = json.loads(text)
    assert document["records"] == len(document["rows"]) == rows
    assert document["rows"][4][0] == 'q"b\\c' and document["rows"][5][0] == "t\tn\nx\x01\x7f"
    assert '"t\\tn\\nx\\u0001\x7f"' in text and "头痛" in text  # escaped as json.dumps does
    assert document["rows"][0][6] == "1960-01-01T00:00:00.000"
    assert document["rows"][-1][6] == "1960-01-23T00:00:00.250"
    assert [row[3] for row in document["rows"][:8]] == [0.1, None, -0.0, 1e16, 1e-5, 100.0,
                                                      2.5e-7, 1 / 3]  # fmt: skip
    floats = [json.dumps(row[3]) for row in document["rows"][:8]]
    assert floats == ["0.1", "null", "-0.0", "1e+16", "1e-05", "100.0", "2.5e-07",
                      "0.3333333333333333"]  # fmt: skip
    assert all(f",{f}," in text for f in floats if f != "null")


def test_frames_give_the_bytes_of_the_whole_frame(tmp_path: Path) -> None:
    rows = 9
    seconds = np.arange(rows) * 86_400.0
    seconds[-1] += 0.25  # a fraction in the last frame only: every datetime gets its ms
    df = pd.DataFrame(
        {
            "S": pd.Series(["a", "", None, 'q"b', "头痛", "x", "y", "z", "w"], dtype="string"),
            "W": [1.0, np.nan, -2.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
            "DT": seconds,
            "LBDTC": pd.Series(["2020-01-02", None, "2020", "", "2021-12", "2021-12-31"] * 1
                               + ["2020-01-01"] * 3, dtype="str"),
        }
    )  # fmt: skip
    columns = [
        column("S", "string", length=8),
        column("W", "integer"),
        column("DT", "datetime", target_data_type="decimal"),
        column("LBDTC", "date"),
    ]
    whole = write(df, columns, tmp_path / "whole.json")
    cuts = [0, 2, 2, 5, 9]  # one frame is empty

    def frames() -> Iterator[pd.DataFrame]:
        for a, b in pairwise(cuts):
            yield df.iloc[a:b].reset_index(drop=True)

    for chunk_rows in (1, 2, 1000):
        path = tmp_path / f"frames_{chunk_rows}.json"
        write_dataset_json(
            frames, path, name="T", label="Test", columns=columns, item_group_oid="IG.T",
            created=CREATED, chunk_rows=chunk_rows,
        )  # fmt: skip
        assert path.read_bytes() == (tmp_path / "whole.json").read_bytes()
    assert whole["rows"][0][2] == "1960-01-01T00:00:00.000"
    with pytest.raises(ValueError, match="W: integer column has non-whole values"):
        bad = df.assign(W=[1.0] * 8 + [1.5])
        write_dataset_json(
            lambda: (bad.iloc[:4], bad.iloc[4:]), tmp_path / "bad.json", name="T", label="T",
            columns=columns, item_group_oid="IG.T", created=CREATED,
        )  # fmt: skip
    assert not (tmp_path / "bad.json").exists()


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (["2020-01-02"], ["2014"]),  # complete and reduced dates: a date
        (["2020-01-02T10:00"], ["2014-03"]),  # a datetime, reduced in part
        (["2020-01-02T10:00Z"], ["2014-03"]),  # a zone is no reduced datetime: a string
        (["10:00"], ["2020-01-02"]),  # a time and a date: a string
        ([None, ""], ["2020-01-02T10:00:00"]),  # a frame without values says nothing
        ([None], [""]),
    ],
)
def test_text_kinds_of_frames_give_the_type_of_the_whole(
    first: list[str | None], second: list[str | None]
) -> None:
    parts = [pd.Series(values, name="XXDTC", dtype="string") for values in (first, second)]
    whole = text_data_type(pd.concat(parts, ignore_index=True))
    kinds = [text_kinds(part) for part in parts]
    shared = kinds[0] if kinds[1] is None else kinds[1] if kinds[0] is None else kinds[0] & kinds[1]
    assert kinds_data_type(shared) == whole


def test_floats_are_written_as_python_writes_them(tmp_path: Path) -> None:
    rng = np.random.default_rng(20261123)
    bits = rng.integers(0, 2**64, 60_000, dtype=np.uint64).view(np.float64)
    scales = 10.0 ** rng.uniform(-6, 18, 60_000) * rng.choice([-1.0, 1.0], 60_000)
    edges = np.array([1e-4, 1e16, 1e15, 0.1, 0.0, -0.0, 5e-324, 2.0**53])
    values = np.concatenate([bits, scales, np.round(scales, 3), edges, np.nextafter(edges, 1)])
    values = values[np.isfinite(values)]
    df = pd.DataFrame({"F": values})
    path = tmp_path / "t.json"
    write_dataset_json(
        df, path, name="T", label="T", columns=[column("F", "double")], item_group_oid="IG.T",
        created=CREATED, chunk_rows=50_000,
    )  # fmt: skip
    rows = path.read_text(encoding="utf-8").split('"rows":[\n', 1)[1].split(",\n")
    rows[-1] = rows[-1].removesuffix("\n]}\n")
    assert rows == [f"[{value!r}]" for value in values.tolist()]


def test_chunk_rows_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="chunk_rows"):
        write_dataset_json(
            pd.DataFrame(), tmp_path / "t.json", name="T", label="T", columns=[],
            item_group_oid="IG.T", created=CREATED, chunk_rows=0,
        )  # fmt: skip
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("df", "columns", "message"),
    [
        (pd.DataFrame({"A": [1.5]}), [column("A", "integer")], "non-whole"),
        (pd.DataFrame({"A": [np.inf]}), [column("A", "float")], "infinite"),
        (pd.DataFrame({"A": ["1"]}), [column("A", "float")], "must be numbers"),
        (pd.DataFrame({"A": [1.0]}), [column("A", "date")], "need a target_data_type"),
        (
            pd.DataFrame({"A": [3_000_000.0]}),
            [column("A", "date", target_data_type="integer")],
            "outside",
        ),
        (
            pd.DataFrame({"A": [0.5]}),
            [column("A", "datetime", target_data_type="integer")],
            "fractions",
        ),
        (
            pd.DataFrame({"A": [90_000.0]}),
            [column("A", "time", target_data_type="integer")],
            "outside",
        ),
        (
            pd.DataFrame({"A": pd.to_datetime(["2020-01-01"])}),
            [column("A", "date")],
            "ISO 8601 text",
        ),
        (pd.DataFrame({"A": [1], "B": [2]}), [column("A", "integer")], "not described: B"),
        (pd.DataFrame({"A": [1]}), [column("A", "integer"), column("C", "string")], "C"),
        (pd.DataFrame({"A": [1]}), [column("A", "number")], "unknown dataType"),
        (pd.DataFrame({"A": ["x"]}), [column("A", "string", length=0)], "at least 1"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(
    df: pd.DataFrame, columns: list[JsonColumn], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=message):
        write_dataset_json(
            df, tmp_path / "t.json", name="T", label="T", columns=columns, item_group_oid="IG.T",
            created=CREATED,
        )  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_db_last_modified_after_creation_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="after created"):
        write_dataset_json(
            pd.DataFrame(), tmp_path / "t.json", name="T", label="T", columns=[],
            item_group_oid="IG.T", created=CREATED, db_last_modified=datetime(2027, 1, 1),
        )  # fmt: skip


# --- unreadable input and the command -----------------------------------------------------------


def latin1_xpt(path: Path) -> Path:
    """An XPT file whose text is Latin-1 (pyreadstat writes UTF-8; one value is re-encoded)."""
    pyreadstat.write_xport(pd.DataFrame({"A": ["café"]}), str(path))
    path.write_bytes(path.read_bytes().replace("café".encode(), "café ".encode("latin-1")))
    return path


def test_encoding_of_legacy_xpt_files(tmp_path: Path) -> None:
    xpt = latin1_xpt(tmp_path / "l.xpt")
    with pytest.raises(DatasetJsonError, match="not UTF-8"):
        xpt_to_dataset_json(xpt, tmp_path / "l.json")
    document = load(xpt_to_dataset_json(xpt, tmp_path / "l.json", encoding="latin1"))
    assert document["rows"] == [["café"]]


def test_command_converts_and_prints_the_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "dm.json"
    assert main(["to-dataset-json", str(FIXTURES / "dm.xpt"), str(out)]) == 0
    assert f"Dataset-JSON written: {out}" in capsys.readouterr().out
    expected = xpt_to_dataset_json(FIXTURES / "dm.xpt", tmp_path / "api.json").read_bytes()
    assert out.read_bytes() == expected
    code = main(["to-dataset-json", str(FIXTURES / "dm.xpt"), str(out), "--created",
                 "2026-11-23T02:00:00Z"])  # fmt: skip
    assert code == 0
    assert load(out)["datasetJSONCreationDateTime"] == "2026-11-23T02:00:00+00:00"


def test_command_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["to-dataset-json", "--help"])
    assert exit_.value.code == 0
    assert "usage: cdisc to-dataset-json" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "no such file"),
        ("corrupt", "not a readable SAS XPT file"),
        ("latin1", "give its encoding"),
        ("unwritable", "cannot write"),
    ],
)
def test_command_errors_are_one_clear_line(
    case: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    xpt, out = tmp_path / "in.xpt", tmp_path / "out.json"
    if case == "corrupt":
        xpt.write_bytes(b"HEADER RECORD" + bytes(range(256)) * 4)
    elif case == "latin1":
        latin1_xpt(xpt)
    elif case == "unwritable":
        xpt, out = FIXTURES / "dm.xpt", tmp_path / "no" / "such" / "out.json"
    assert main(["to-dataset-json", str(xpt), str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cdisc to-dataset-json: error: ") and message in err
    assert len(err.splitlines()) == 1
    assert not out.exists()


def test_installed_command_has_no_traceback(tmp_path: Path) -> None:
    run = subprocess.run(
        [CDISC, "to-dataset-json", tmp_path / "missing.xpt", tmp_path / "out.json"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.startswith("cdisc to-dataset-json: error: ")
    assert "Traceback" not in run.stderr

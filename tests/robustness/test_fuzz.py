"""Property-based fuzzing (hypothesis) of the date reader, the unit converter, the XPT
writer's checks and the ODM reader: anything accepted round-trips exactly, anything refused
is refused with a message naming where. Example counts are bounded (100 per property, 60 for
the XPT writer, which writes and reads back a file per example, 150 small ODM documents;
about 25 s in all). The properties of the
standard date format alone are in tests/test_dates_properties.py."""

from __future__ import annotations

import json
import math
import re
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.extract.exports import load_manifest
from transforms.extract.frames import RawFileError
from transforms.extract.odm import StudyLayout, read_odm_study
from transforms.issues import IssueLog
from transforms.sdtm.algorithms import Context, Scope, parse_rule, to_iso8601
from transforms.sdtm.dates import MONTHS
from transforms.xpt import XptColumn, XptError, write_xport

CHEAP = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ISO = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$|^\d{4}---\d{2}$")
NAMES = {int(v): k for k, v in MONTHS.items()}
LAYOUTS = {
    "DD MON YYYY": lambda d: f"{d.day:02d} {NAMES[d.month]} {d.year}",
    "MM/DD/YYYY": lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}",
    "DD.MM.YYYY": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "YYYY-MM-DD": lambda d: d.isoformat(),
    "DD-MON-YYYY": lambda d: f"{d.day}-{NAMES[d.month]}-{d.year}",
    "ISO": lambda d: d.isoformat(),
}
date_text = st.one_of(
    st.text(max_size=16),
    st.from_regex(r"\A(\d{1,2}|UN|UNK)[ /.-]([A-Za-z]{3}|\d{1,2}|UNK)[ /.-]\d{2,4}\Z"),
    st.from_regex(r"\A\d{4}(-\d{1,2}(-\d{1,2})?)?\Z"),
)


# --- dates -----------------------------------------------------------------------------------


@CHEAP
@given(
    st.dates(min_value=date(1800, 1, 1), max_value=date(2200, 12, 31)),
    st.sampled_from(sorted(LAYOUTS)),
)
def test_every_real_date_in_every_layout_reads_back(d: date, layout: str) -> None:
    iso, bad = to_iso8601(pd.Series([LAYOUTS[layout](d)], dtype="string"), layout)
    assert iso[0] == d.isoformat() and not bad[0]


@CHEAP
@given(date_text, st.sampled_from(sorted(LAYOUTS)))
def test_any_text_is_read_as_a_real_date_or_flagged(raw: str, layout: str) -> None:
    iso, bad = to_iso8601(pd.Series([raw], dtype="string"), layout)
    if pd.isna(iso[0]):  # refused: flagged unless empty (nothing silently dropped)
        assert bool(bad[0]) == (raw.strip() != "")
        return
    assert not bad[0] and ISO.match(iso[0]), (raw, iso[0])
    year, month, day = [*iso[0].replace("---", "-UN-").split("-"), "", ""][:3]
    if month and month != "UN":
        assert 1 <= int(month) <= 12
    if day and month != "UN":
        date(int(year), int(month), int(day))  # a real calendar day, never shifted
    # accepted partial dates round-trip through the standard format
    standard = f"{day or 'UN'} {NAMES[int(month)] if month and month != 'UN' else 'UNK'} {year}"
    again, _ = to_iso8601(pd.Series([standard], dtype="string"), "DD MON YYYY")
    assert again[0] == iso[0]


# --- the unit converter (standardise) -------------------------------------------------------

UNITS = {
    "GLUC": {"unit": "mmol/L", "from": {"mg/dL": "1/18", "mmol/L": 1}, "round": 3},
    "TEMP": {"unit": "C", "from": {"F": {"factor": "5/9", "offset": "-160/9"}, "C": 1}, "round": 3},
}
FACTORS = {("GLUC", "mg/dL"): (1 / 18, 0.0), ("GLUC", "mmol/L"): (1.0, 0.0),
           ("TEMP", "F"): (5 / 9, -160 / 9), ("TEMP", "C"): (1.0, 0.0)}  # fmt: skip
number_text = st.one_of(
    st.decimals(min_value=-1e6, max_value=1e6, allow_nan=False, places=3).map(str),
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(["<0.05", ">= 10", "1,5", "2 mg", "NOT DONE", "", " 7.2 ", "1e3", "-.5"]),
    st.text(max_size=8),
)


def _standardise(
    tests: list[str], values: list[str], units: list[str], output: str
) -> tuple[pd.Series, IssueLog]:
    frame = pd.DataFrame(
        {"__ROW": range(2, len(tests) + 2), "TEST": tests, "VALUE": values, "UNIT": units},
        dtype="string",
    ).astype({"__ROW": "int64"})
    columns = frozenset(frame.columns)
    scope = Scope("lb.yaml: LB.X", "LB", columns, {"LB": columns}, frozenset())
    rule = parse_rule(
        {"algorithm": "standardise", "output": output, "test": {"column": "TEST"},
         "value": {"column": "VALUE"}, "unit": {"column": "UNIT"}, "units": UNITS},
        scope,
    )  # fmt: skip
    issues = IssueLog()
    ctx = Context(frame, "LB", "LB", "LBSTRESN", {"LB": frame}, {}, {}, issues)
    return rule.evaluate(ctx), issues


@CHEAP
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["GLUC", "TEMP"]),
            number_text,
            st.sampled_from(["mg/dL", "mmol/L", "F", "C", "", "g/L"]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_standardise_converts_exactly_or_lists_the_unit(rows: list[tuple[str, str, str]]) -> None:
    tests, values, units = (list(c) for c in zip(*rows, strict=True))
    number, issues = _standardise(tests, values, units, "number")
    text, _ = _standardise(tests, values, units, "text")
    listed = issues.frame()
    for i, (test, raw, unit) in enumerate(rows):
        plain = re.fullmatch(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)", raw.strip())
        conversion = FACTORS.get((test, unit))
        refused = listed[(listed["row"] == i + 2) & (listed["rule"] == "UNIT")]
        if plain and conversion is None:  # a number in a unit the spec cannot convert
            assert pd.isna(number[i]) and pd.isna(text[i]) and len(refused) == 1
            assert refused["value"].iloc[0] == (unit or "(no unit)")
        elif plain and conversion is not None:
            factor, offset = conversion
            exact = float(raw) * factor + offset
            # To the declared 3 decimals, shown with at most 8 significant digits: the
            # number is the one the text shows, close to the exact conversion.
            assert number[i] == float(f"{round(exact, 3):.8g}") == float(text[i])
            assert math.isclose(number[i], exact, rel_tol=1e-7, abs_tol=5e-4)
            assert refused.empty
        elif not re.match(r"^[<>]=?", raw.strip()):  # text results: kept as text, no number
            assert pd.isna(number[i])
            if raw.strip():  # upper-cased (Unicode case maps differ: compare casefolded)
                kept = raw.strip().upper() if raw.isascii() else raw.strip().casefold()
                got = text[i] if raw.isascii() else str(text[i]).casefold()
                assert got == kept or refused.shape[0] == 1


# --- the XPT writer's checks -----------------------------------------------------------------

char = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12),
    st.text(max_size=6),  # any Unicode, control characters included
    st.text(alphabet="ab ", min_size=195, max_size=205),
)
num = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e70, max_value=1e70),
    st.integers(-(2**60), 2**60),
)
CREATED = datetime(2026, 11, 23, 2, tzinfo=UTC)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(char, num), max_size=8))
def test_xpt_accepts_and_reads_back_exactly_or_names_every_refusal(
    rows: list[tuple[str | None, float | int | None]],
) -> None:
    frame = pd.DataFrame(
        {"TEXT": pd.Series([r[0] for r in rows], dtype="string"),
         "NUM": pd.Series([r[1] for r in rows], dtype="object")}
    )  # fmt: skip
    columns = [XptColumn("TEXT", "Some text", "Char"), XptColumn("NUM", "A number", "Num")]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fz.xpt"
        try:
            write_xport(frame, path, dataset="FZ", label="Fuzz", columns=columns, created=CREATED)
        except XptError as refused:
            assert not path.exists()
            assert refused.issues and all(i.variable in ("TEXT", "NUM") for i in refused.issues)
            for issue in refused.issues:
                assert issue.rows and issue.rule and f"variable {issue.variable}" in str(refused)
                for row in issue.rows:  # every row named really breaks a rule
                    text, number = rows[row - 1]
                    assert _breaks(text if issue.variable == "TEXT" else number)
            return
        back, _ = pyreadstat.read_xport(path)
    assert len(back) == len(rows)
    for i, (text, number) in enumerate(rows):
        assert back["TEXT"].iloc[i] == ("" if text is None else text.rstrip(" "))
        if number is None or (isinstance(number, float) and math.isnan(number)):
            assert np.isnan(back["NUM"].iloc[i])
        else:
            assert back["NUM"].iloc[i] == float(number)


def _breaks(value: str | float | int | None) -> bool:
    """Whether a cell breaks one of the writer's value rules."""
    if value is None:
        return False
    if isinstance(value, str):
        data = value.rstrip(" ").encode("utf-8")
        return any(b < 0x20 or b > 0x7E for b in data) or len(data) > 200 or data[:1] == b" "
    number = float(value)
    if isinstance(value, int) and abs(value) >= 2**53 and int(number) != value:
        return True
    return math.isinf(number) or (
        number != 0 and not math.isnan(number) and not 16.0**-65 <= abs(number) < 16.0**63
    )


# --- hostile CDISC ODM documents (issue 23.6): parse level, no pipeline run -----------------

ODM_FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ODM_LAYOUT = StudyLayout(
    "POMMAINT",
    {"DM": ["SITEID", "SUBJID", "SEX"], "LB": ["SITEID", "SUBJID", "VISIT", "LBTEST", "LBORRES"]},
    {"subject": "SUBJID", "site": "SITEID", "visit": "VISIT"},
)
ODM_EVENTS = {"SE.C1D1": "Cycle 1 Day 1", "SE.UNS": "Unscheduled"}
ODM_ITEMS = {"I.TEST": 3, "I.RES": 4}  # ItemOID -> column of the LB row (after the structure)
ODM_META = (
    '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" ODMVersion="1.3.2" FileType="Transactional"'
    ' FileOID="F" CreationDateTime="2026-11-23T02:00:00Z"><Study OID="{study}">'
    '<MetaDataVersion OID="MDV.1" Name="v1">'
    '<StudyEventDef OID="SE.C1D1" Name="Cycle 1 Day 1" Repeating="No" Type="Common"/>'
    '<StudyEventDef OID="SE.UNS" Name="Unscheduled" Repeating="Yes" Type="Common"/>'
    '<ItemGroupDef OID="IG.DM" Name="DM" Repeating="No"><ItemRef ItemOID="I.SEX"/></ItemGroupDef>'
    '<ItemGroupDef OID="IG.LB" Name="LB" Repeating="Yes"><ItemRef ItemOID="I.TEST"/>'
    '<ItemRef ItemOID="I.RES"/></ItemGroupDef><ItemDef OID="I.SEX" Name="SEX" DataType="text"/>'
    '<ItemDef OID="I.TEST" Name="LBTEST" DataType="text"/>'
    '<ItemDef OID="I.RES" Name="LBORRES" DataType="text"/></MetaDataVersion></Study>'
    '<ClinicalData StudyOID="{study}" MetaDataVersionOID="MDV.1">'
)
TRANSACTION = st.sampled_from([None, None, "Insert", "Update", "Remove", "Upsert", "Context"])
odm_value = st.text(st.characters(codec="utf-8"), max_size=12)  # any but surrogates
odm_item = st.tuples(
    st.sampled_from(["I.TEST", "I.RES", "I.RES", "I.NOPE", "I.SEX"]), odm_value, TRANSACTION
)
odm_record = st.fixed_dictionaries(
    {
        "subject": st.sampled_from(["1001", "1002", "1003"]),
        "event": st.sampled_from(["SE.C1D1", "SE.UNS"]),
        "repeat": st.sampled_from(["1", "2", ""]),
        "transaction": TRANSACTION,
        "items": st.lists(odm_item, max_size=3),
        "subject_removed": st.sampled_from([False] * 7 + [True]),
        "hazard": st.sampled_from(
            [None] * 14
            + ["group", "no group oid", "no item oid", "nesting", "typed", "transaction"]
            + ["subject key", "event", "audit"]
        ),
    }
)


def _xml_attr(text: str) -> str:
    """Escaped for an attribute value, line breaks and tabs as character references."""
    for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"),
                     ("\t", "&#9;"), ("\n", "&#10;"), ("\r", "&#13;")):  # fmt: skip
        text = text.replace(old, new)
    return text


def _xml_char(c: str) -> bool:
    """Whether XML 1.0 allows the character at all (escaped or not)."""
    n = ord(c)
    return n in (9, 10, 13) or 0x20 <= n <= 0xD7FF or 0xE000 <= n <= 0xFFFD or n >= 0x10000


def _odm_document(study: str, records: list[dict[str, object]]) -> str:
    parts = [ODM_META.format(study=study)]
    for r in records:
        hazard = r["hazard"]
        items = "".join(
            f"<{'ItemDataString' if hazard == 'typed' else 'ItemData'}"
            + ("" if hazard == "no item oid" else f' ItemOID="{oid}"')
            + f" "
            f'Value="{_xml_attr(value)}"' + (f' TransactionType="{kind}"' if kind else "") + "/>"
            for oid, value, kind in r["items"]  # type: ignore[attr-defined]
        )
        kind = "Delete" if hazard == "transaction" else r["transaction"]
        group = (
            "<ItemGroupData"
            + {"group": ' ItemGroupOID="IG.NOPE"', "no group oid": ""}.get(
                str(hazard), ' ItemGroupOID="IG.LB"'
            )
            + (f' ItemGroupRepeatKey="{r["repeat"]}"' if r["repeat"] else "")
            + (f' TransactionType="{kind}"' if kind else "")
            + f">{items}</ItemGroupData>"
        )
        key = "" if hazard == "subject key" else f' SubjectKey="{r["subject"]}"'
        removed = ' TransactionType="Remove"' if r["subject_removed"] else ""
        event = "SE.NOPE" if hazard == "event" else r["event"]
        if hazard == "audit":  # the record inside an AuditRecord of its FormData
            group = f"<AuditRecord>{group}</AuditRecord>"
        inner = (
            group
            if hazard == "nesting"
            else f'<StudyEventData StudyEventOID="{event}"><FormData FormOID="F.LB">{group}'
            "</FormData></StudyEventData>"
        )
        parts.append(f'<SubjectData{key}{removed}><SiteRef LocationOID="01"/>{inner}</SubjectData>')
    return "".join(parts) + "</ClinicalData></ODM>"


def _odm_model(records: list[dict[str, object]]) -> list[list[str | None]] | str:
    """The LB rows ODM 1.3.2's transactions give (module transforms.extract.odm's rule), or
    the rule a valid document breaks (RAW-ODM-KEY, RAW-ODM-TRANSACTION)."""
    rows: dict[tuple[str, ...], list[str | None]] = {}
    for r in records:
        subject, event = str(r["subject"]), str(r["event"])
        given: dict[int, str | None] = {}
        for oid, value, kind in r["items"]:  # type: ignore[attr-defined]
            if ODM_ITEMS[oid] in given:  # checked in a removed record too
                return "RAW-ODM-KEY"
            given[ODM_ITEMS[oid]] = None if kind == "Remove" or value == "" else value
        if r["subject_removed"]:
            rows = {k: v for k, v in rows.items() if k[0] != subject}
            continue
        key = (subject, event, str(r["repeat"]))
        if r["transaction"] == "Remove":
            rows.pop(key, None)
            continue
        if key not in rows:
            if r["transaction"] in ("Update", "Context"):
                return "RAW-ODM-TRANSACTION"
            rows[key] = ["01", subject, ODM_EVENTS[event], None, None]
        elif r["transaction"] not in ("Upsert", "Update", "Context"):
            return "RAW-ODM-KEY"
        for slot, value in given.items():
            rows[key][slot] = value
    return list(rows.values())


@ODM_FUZZ
@given(
    st.sampled_from(["POMMAINT", "POMMAINT", "OTHER01", ""]),
    st.lists(odm_record, max_size=6),
    st.sampled_from(["utf-8", "utf-16", "iso-8859-1", "mismatch"]),
)
def test_a_hostile_odm_document_is_read_exactly_or_refused_by_name(
    study: str, records: list[dict[str, object]], encoding: str
) -> None:
    text = _odm_document(study, records)
    declared = "utf-8" if encoding == "mismatch" else encoding
    document = f'<?xml version="1.0" encoding="{declared}"?>\n' + text
    data = document.encode(
        "iso-8859-1" if encoding == "mismatch" else encoding, "xmlcharrefreplace"
    )
    values = [v for r in records for _, v, _ in r["items"]]  # type: ignore[attr-defined]
    valid = (
        study == "POMMAINT"
        and not any(  # a hazard on items counts where there are items
            r["hazard"] and (r["items"] or r["hazard"] not in ("typed", "no item oid"))
            for r in records
        )
        and all(_xml_char(c) for v in values for c in v)
        and not any(oid in ("I.NOPE", "I.SEX") for r in records for oid, _, _ in r["items"])  # type: ignore[attr-defined]
        and not (encoding == "mismatch" and any("\x80" <= c <= "\xff" for v in values for c in v))
    )
    expected = _odm_model(records) if valid else None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pommaint.xml"
        path.write_bytes(data)
        try:
            read = read_odm_study(path, 1 << 20, ODM_LAYOUT)
        except RawFileError as refused:  # one message: the file, where, the rule
            assert str(refused).startswith(f"{path}") and str(refused).endswith(
                f"(rule {refused.rule})"
            )
            assert not valid or refused.rule == expected, (refused, expected)
            return
    assert valid and not isinstance(expected, str), f"read, where it should be refused ({expected})"
    lab = read.frames["LB"].drop(columns="__ROW")
    assert lab.astype(object).where(lab.notna(), None).values.tolist() == expected  # no loss
    assert read.frames["DM"].empty and read.item_groups == len(records)


# --- export.json manifests (issue 23.6) ------------------------------------------------------

EXPORT = "20261124T020000Z"
json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.integers(min_value=10**4000, max_value=10**4400),  # beyond Python's 4300-digit parse
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["5281", "", "N/A", "2026-11-15", "2026-11-15T00:00:00Z", "0" * 64]),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
file_name = st.one_of(
    st.sampled_from(["dm.csv", "lb.csv", "../dm.csv", "a/b.csv", ".", "", "x\x00.csv", "\ud800"]),
    st.text(max_size=10),
)
file_entry = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "sha256": st.one_of(
                st.text(alphabet="0123456789abcdefABCDEF", min_size=64, max_size=64), json_value
            ),
            "rows": st.one_of(st.integers(min_value=-5, max_value=10**20), json_value),
            "records": json_value,
        },
    ),
    json_value,
)
created = st.one_of(
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat().replace("+00:00", "Z")),
    st.datetimes().map(lambda d: d.isoformat()),
    json_value,
)
cutoff = st.one_of(
    st.dates().map(date.isoformat), st.datetimes().map(datetime.isoformat), json_value
)
manifest = st.fixed_dictionaries(
    {"study": st.one_of(st.just("POMMAINT"), json_value)},
    optional={
        "export_id": st.one_of(st.just(EXPORT), json_value),
        "created": created,
        "data_cutoff": cutoff,
        "files": st.one_of(st.dictionaries(file_name, file_entry, max_size=3), json_value),
        "source_system": json_value,  # the EDC's own keys: not read
    },
)


def _encoded(value: object, encoding: str, depth: int, indent: int | None) -> bytes:
    """`value` as export.json bytes: JSON (ASCII-escaped or not) in an encoding, perhaps
    wrapped `depth` lists deep."""
    text = json.dumps(value, indent=indent, ensure_ascii=encoding == "ascii")
    text = "[" * depth + text + "]" * depth
    return text.encode("utf-8" if encoding == "ascii" else encoding, errors="surrogatepass")


def _real(value: object, pattern: str) -> bool:
    """`value` is text of the ISO 8601 form `pattern` (year, month, day, then hour, minute,
    second groups) naming a real date and time."""
    found = re.fullmatch(pattern, value) if isinstance(value, str) else None
    if found is None:
        return False
    y, mo, d, h, mi, sec = (int(g or 0) for g in [*found.groups(), None, None, None][:6])
    try:
        datetime(y, mo, d, h, mi, sec)
    except ValueError:
        return False
    return True


def _accepted(value: object) -> bool:
    """The contract, independently: what export.json must be to be read."""
    if not isinstance(value, dict) or value.get("study") != "POMMAINT":
        return False
    if value.get("export_id", EXPORT) != EXPORT:
        return False
    stamp = r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d)(?:\.\d{1,6})?)?(?:Z|[+-]\d\d:\d\d)"
    if "created" in value and not _real(value["created"], stamp):
        return False
    if "data_cutoff" in value and not _real(value["data_cutoff"], r"(\d{4})-(\d\d)-(\d\d)"):
        return False
    files = value.get("files", {})
    if not isinstance(files, dict):
        return False
    for name, entry in files.items():
        if name in ("", ".", "..") or "/" in name or "\x00" in name or not isinstance(entry, dict):
            return False
        if any(0xD800 <= ord(c) <= 0xDFFF for c in name) or set(entry) - {"sha256", "rows"}:
            return False
        rows, digest = entry.get("rows", 0), entry.get("sha256", "0" * 64)
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            return False
        if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", digest):
            return False
    return True


def _parsed(data: bytes) -> object:
    """export.json bytes as the contract reads them (UTF-8, BOM allowed), else None."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(manifest, json_value, st.binary(max_size=80)),
    st.sampled_from(["utf-8", "ascii", "utf-8-sig", "utf-16", "latin-1"]),
    st.one_of(st.just(0), st.integers(min_value=1, max_value=3), st.just(100_000)),
    st.sampled_from([None, 2]),
)
def test_any_manifest_is_read_as_written_or_refused_naming_its_cause(
    value: object, encoding: str, depth: int, indent: int | None
) -> None:
    """Never a traceback, a hang or a silent loss: accepted exactly when the contract holds
    (and then as written, key for key), else refused naming export.json, field and rule."""
    try:
        data = value if isinstance(value, bytes) else _encoded(value, encoding, depth, indent)
    except (UnicodeEncodeError, ValueError):  # latin-1 cannot hold it; a too-long integer
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.json"
        path.write_bytes(data)
        read, problems = load_manifest(path, "POMMAINT", EXPORT)
    for problem in problems:
        assert problem.startswith("export.json ") and "(rule " in problem, problem
    parsed = _parsed(data)
    if _accepted(parsed):
        assert problems == [], problems
        assert json.dumps(read, sort_keys=True) == json.dumps(parsed, sort_keys=True)  # all kept
    else:
        assert problems, (value, encoding, depth)


def _leaves(value: object) -> list[object]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]

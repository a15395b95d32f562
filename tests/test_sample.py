"""Sample EDC export generator: layout, manifest, form contract, determinism, clinical course."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import samplegen as sample
from samplegen import generate_export, writers

ROOT = Path(__file__).parents[1]
FORMS: dict[str, Any] = yaml.safe_load(
    (ROOT / "sdtm_specs" / "POMMAINT" / "forms.yaml").read_text(encoding="utf-8")
)["forms"]
EXPORT_TIME = datetime(2026, 11, 16, 2, 30, 5, tzinfo=UTC)
EXPORT_ID = "20261116T023005Z"
CUTOFF = date(2026, 11, 15)
ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
PARTIAL = re.compile(r"^UN (?:[A-Z]{3}|UNK) \d{4}$")
PARTIAL_COLUMNS = {("DM", "BRTHDAT"), ("AE", "AESTDAT"), ("AE", "AEENDAT"), ("SFU", "NEWTHDAT"),
                   ("MH", "MHSTDAT"), ("MH", "MHENDAT"), ("NT", "NTSTDAT")}  # fmt: skip
Rows = list[dict[str, str]]


def read_csv(path: Path) -> Rows:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def read_export(folder: Path) -> dict[str, Rows]:
    return {form: read_csv(folder / f"{spec['file']}.csv") for form, spec in FORMS.items()}


def read_odm(path: Path) -> list[dict[str, str]]:
    """Rows of an ODM form file, missing items as ""; checks the SubjectData grouping."""
    form = path.stem.upper()
    columns = list(FORMS[form]["columns"])
    rows = []
    clinical = ET.parse(path).getroot().find(f"{ODM}ClinicalData")
    assert clinical is not None
    for subject in clinical.findall(f"{ODM}SubjectData"):
        groups = subject.findall(f"{ODM}StudyEventData/{ODM}FormData/{ODM}ItemGroupData")
        assert [g.get("ItemGroupRepeatKey") for g in groups] == [
            str(i) for i in range(1, len(groups) + 1)
        ]
        for group in groups:
            items = {i.get("ItemOID"): i.get("Value") for i in group.findall(f"{ODM}ItemData")}
            row = {c: items.pop(f"IT.{form}.{c}", None) or "" for c in columns}
            assert not items, f"unexpected items {items}"
            assert row["SUBJID"] == subject.get("SubjectKey")
            site = subject.find(f"{ODM}SiteRef")
            assert site is not None and site.get("LocationOID") == row["SITEID"]
            rows.append(row)
    return rows


def parse_date(text: str) -> date:
    return datetime.strptime(text, "%d %b %Y").date()


def earliest(text: str) -> date | None:
    """The earliest day a raw (possibly partial) date can mean; None when empty."""
    if not text:
        return None
    if text.startswith("UN UNK"):
        return date(int(text[-4:]), 1, 1)
    if text.startswith("UN "):
        return parse_date("01" + text[2:])
    return parse_date(text)


@pytest.fixture(scope="module")
def out_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sample")


@pytest.fixture(scope="module")
def csv_export(out_root: Path) -> Path:
    return generate_export("POMMAINT", out=out_root, export_time=EXPORT_TIME)


@pytest.fixture(scope="module")
def data(csv_export: Path) -> dict[str, Rows]:
    return read_export(csv_export)


def test_layout_and_atomic_rename(out_root: Path, csv_export: Path) -> None:
    assert csv_export == out_root / "POMMAINT" / EXPORT_ID
    expected = {f"{spec['file']}.csv" for spec in FORMS.values()} | {"export.json"}
    assert {p.name for p in csv_export.iterdir()} == expected
    assert [p.name for p in (out_root / "POMMAINT").iterdir()] == [EXPORT_ID]  # no .tmp left


def test_manifest(csv_export: Path) -> None:
    text = (csv_export / "export.json").read_text(encoding="utf-8")
    manifest = json.loads(text)
    assert text == json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    files = manifest.pop("files")
    assert manifest == {
        "study": "POMMAINT",
        "export_id": EXPORT_ID,
        "created": "2026-11-16T02:30:05Z",
        "data_cutoff": "2026-11-15",
        "format": "csv",
        "source_system": "cdisc-pipeline sample generator",
        "seed": 20261123,
        "subjects": 15,
        "night": 1,
    }
    assert set(files) == {f"{spec['file']}.csv" for spec in FORMS.values()}
    for name, entry in files.items():
        raw = (csv_export / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(raw).hexdigest()
        assert entry["rows"] == len(read_csv(csv_export / name))
    assert files["dm.csv"]["rows"] == 18  # 15 enrolled, 3 screen failures (issue 18)


def test_csv_format_and_columns(csv_export: Path, data: dict[str, Rows]) -> None:
    for form, spec in FORMS.items():
        raw = (csv_export / f"{spec['file']}.csv").read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw
        assert raw.decode("utf-8").split("\n", 1)[0] == ",".join(spec["columns"])
        assert raw.endswith(b"\n")
        assert data[form], f"{form} has no rows"
        for row in data[form]:
            assert list(row) == list(spec["columns"]) and None not in row.values()
            for column, meta in spec["columns"].items():
                if meta.get("required"):
                    assert row[column] != "", f"{form}.{column} empty"
                if meta["type"] == "integer" and row[column]:
                    assert re.fullmatch(r"\d+", row[column]), (form, column, row[column])
                if meta["type"] == "decimal" and row[column]:
                    float(row[column])


def test_keys_unique(data: dict[str, Rows]) -> None:
    for form, spec in FORMS.items():
        keys = Counter(tuple(row[k] for k in spec["keys"]) for row in data[form])
        assert max(keys.values()) == 1, f"{form} duplicate keys"


def test_dates_valid_and_not_after_cutoff(data: dict[str, Rows]) -> None:
    partial_seen = set()
    for form, spec in FORMS.items():
        for column, meta in spec["columns"].items():
            if meta["type"] != "date":
                continue
            for row in data[form]:
                text = row[column]
                if PARTIAL.match(text):
                    assert (form, column) in PARTIAL_COLUMNS, (form, column, text)
                    partial_seen.add((form, column))
                day = earliest(text)  # raises on anything but DD MON YYYY / UN forms
                assert day is None or day <= CUTOFF, (form, column, text)
                if text and not text.startswith("UN"):
                    assert text == text.upper() and len(text) == 11
    assert partial_seen == PARTIAL_COLUMNS


def test_subject_ids_and_demographics(data: dict[str, Rows]) -> None:
    ids = [row["SUBJID"] for row in data["DM"]]
    # 15 enrolled, then the screen failures (issue 18: about 17 % of those screened).
    assert ids == [str(1000 + i) for i in range(1, 16)] + ["2001", "2002", "2003"]
    assert {row["SITEID"] for form in data.values() for row in form} == {"01"}
    for row in data["DM"]:
        age = int(row["AGE"])
        assert 18 <= age <= 80
        if not row["BRTHDAT"].startswith("UN"):
            born, signed = parse_date(row["BRTHDAT"]), parse_date(row["DMDAT"])
            before_birthday = (signed.month, signed.day) < (born.month, born.day)
            assert signed.year - born.year - before_birthday == age
    assert {row["SEX"] for row in data["DM"]} == {"Male", "Female", "male", "FEMALE "}
    assert {row["COUNTRY"] for row in data["DM"]} == {"China"}
    consents = [parse_date(row["ICDAT"]) for row in data["IC"]]
    assert consents[:15] == sorted(consents[:15]) and min(consents) < date(2023, 11, 1)
    assert consents[15:] == sorted(consents[15:])
    cohorts = Counter(row["COHORT"].lower() for row in data["COH"])
    assert cohorts == {"transplant eligible": 9, "transplant ineligible": 6}


def test_clinical_course_minima(data: dict[str, Rows]) -> None:
    reasons = Counter(row["EOTREAS"] for row in data["EOT"])
    progressed = {r["SUBJID"] for r in data["RS"] if r["RSORRES"].strip().upper() == "PD"}
    dead = {r["SUBJID"] for r in data["EOS"] if r["EOSSTAT"] == "Death" and r["DTHDAT"]}
    on_treatment = {r["SUBJID"] for r in data["DM"]} - {r["SUBJID"] for r in data["EOT"]}
    assert len(progressed) >= 3 and reasons["Progressive disease"] == len(progressed)
    assert len(dead) >= 2
    assert len(on_treatment) >= 1
    assert reasons["Adverse event"] >= 1
    withdrawn = {r["SUBJID"] for r in data["AE"] if r["AEACN"] == "Drug withdrawn"}
    assert {r["SUBJID"] for r in data["EOT"] if r["EOTREAS"] == "Adverse event"} <= withdrawn
    assert {r["EXACN"] for r in data["EX"]} == {"", "Drug interrupted", "Dose reduced"}
    assert {r["EXDOSE"] for r in data["EX"]} == {"2", "1"}


def test_dates_consistent_per_subject(data: dict[str, Rows]) -> None:
    consent = {r["SUBJID"]: parse_date(r["ICDAT"]) for r in data["IC"]}
    first_dose: dict[str, date] = {}
    for row in data["EX"]:
        start = parse_date(row["EXSTDAT"])
        first_dose.setdefault(row["SUBJID"], start)
        if row["EXENDAT"]:
            assert start <= parse_date(row["EXENDAT"])
    assert all(consent[s] < d for s, d in first_dose.items())
    for row in data["EOT"]:
        ends = [r["EXENDAT"] for r in data["EX"] if r["SUBJID"] == row["SUBJID"]]
        assert row["LSTDOSDAT"] == max(ends, key=parse_date)
        assert parse_date(row["EOTDAT"]) > parse_date(row["LSTDOSDAT"])
    for row in data["AE"]:
        onset = earliest(row["AESTDAT"])
        assert onset is not None and onset >= consent[row["SUBJID"]]
        assert (row["AEONGO"] == "Yes") == (row["AEENDAT"] == "")
        if row["AESER"] == "Yes":
            assert "Yes" in [row[c] for c in ("AESDTH", "AESLIFE", "AESHOSP", "AESMIE")]
        if row["AESDTH"] == "Yes":
            assert (row["AETOXGR"], row["AEOUT"]) == ("5", "Fatal")
    # Death is the last event: no subject date after it.
    death = {r["SUBJID"]: parse_date(r["DTHDAT"]) for r in data["EOS"] if r["DTHDAT"]}
    for form, spec in FORMS.items():
        dates = [c for c, meta in spec["columns"].items() if meta["type"] == "date"]
        for row in data[form]:
            if row["SUBJID"] in death:
                for column in dates:
                    day = earliest(row[column])
                    assert day is None or day <= death[row["SUBJID"]], (form, column)


def test_value_sets(data: dict[str, Rows]) -> None:
    def values(form: str, column: str) -> set[str]:
        return {row[column] for row in data[form]}

    assert values("AE", "AEACN") <= {
        "Dose not changed", "Drug interrupted", "Dose reduced", "Drug withdrawn", "Not applicable"
    }  # fmt: skip
    assert values("AE", "AEOUT") <= {
        "Recovered/resolved", "Recovering/resolving", "Not recovered/not resolved",
        "Recovered/resolved with sequelae", "Fatal", "Unknown",
    }  # fmt: skip
    assert values("AE", "AEREL") <= {
        "Related", "Possibly related", "Unlikely related", "Not related"
    }  # fmt: skip
    assert values("AE", "AETOXGR") <= {"1", "2", "3", "4", "5"}
    assert {r["RSORRES"].strip().upper() for r in data["RS"]} <= {
        "SCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE", ""
    }  # fmt: skip
    assert any(r["RSORRES"] != r["RSORRES"].strip() for r in data["RS"])
    assert values("RS", "RSND") == {"", "Not done"}
    assert values("LB", "LBCAT") == {"Hematology", "Chemistry", "Disease assessment"}
    # 18 tests plus the IMWG assessment's urine M-protein and immunofixation and the three
    # immunoglobulins (issue 18).
    assert len(values("LB", "LBTEST")) == 23
    urine = {r["LBORRES"].strip() for r in data["LB"] if r["LBTEST"] == "Urine immunofixation"}
    assert urine - {""} <= {"Negative", "Kappa light chain", "Lambda light chain"}
    ends = {r["LBTEST"] for r in data["LB"] if r["LBENDAT"]}
    assert ends == {"Urine M-protein", "Urine immunofixation"}  # 24-hour collections only
    assert {"<0.05", "Negative"} <= values("LB", "LBORRES")
    # Immunofixation gives the monoclonal protein's isotype (heavy and light chain).
    isotypes = {r["LBORRES"].strip() for r in data["LB"] if r["LBTEST"] == "Immunofixation"}
    assert isotypes - {""} <= {"Negative", "IgG kappa", "IgG lambda", "IgA kappa", "IgA lambda"}
    assert len(isotypes - {"", "Negative"}) >= 2 and "Negative" in isotypes
    assert values("LB", "LBND") == {"", "Not done"}
    units = {(r["LBTEST"], r["LBORRESU"]) for r in data["LB"] if r["LBORRESU"]}
    assert {("Creatinine", "mg/dL"), ("Creatinine", "umol/L")} <= units
    assert values("MRD", "MRDRES") <= {"Negative", "Positive"}
    assert values("EOS", "EOSSTAT") <= {"Completed", "Discontinued", "Death"}
    assert values("SFU", "SFUSTAT") <= {"Alive", "Dead"}
    # MedDRA coding is consistent per preferred term.
    coding = {(r["AEDECOD"], r["AEPTCD"], r["AEHLTCD"], r["AESOCCD"]) for r in data["AE"]}
    assert len(coding) == len({c[0] for c in coding})
    assert ("Neutropenia", "10029354") in {c[:2] for c in coding}


def test_deterministic(tmp_path: Path, csv_export: Path) -> None:
    later = datetime(2026, 11, 17, 2, 0, 0, tzinfo=UTC)
    again = generate_export("POMMAINT", out=tmp_path, export_time=later)
    other = generate_export("POMMAINT", out=tmp_path / "other", seed=7, export_time=later)
    for spec in FORMS.values():
        name = f"{spec['file']}.csv"
        assert (again / name).read_bytes() == (csv_export / name).read_bytes()
    assert (other / "lb.csv").read_bytes() != (csv_export / "lb.csv").read_bytes()
    manifest = json.loads((again / "export.json").read_text(encoding="utf-8"))
    assert manifest["export_id"] == "20261117T020000Z"


def test_odm_carries_the_csv_values(
    tmp_path: Path, data: dict[str, Rows], monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(writers, "_CHUNK_ROWS", 700)  # several chunks for LB, RS and EX
        folder = generate_export("POMMAINT", out=tmp_path, fmt="odm", export_time=EXPORT_TIME)
    manifest = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "odm"
    for form, spec in FORMS.items():
        path = folder / f"{spec['file']}.xml"
        assert path.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<ODM ')
        root = ET.parse(path).getroot()
        assert root.tag == f"{ODM}ODM"
        assert root.get("FileOID") == f"POMMAINT.{EXPORT_ID}.{form}"
        assert root.get("CreationDateTime") == "2026-11-16T02:30:05Z"
        items = root.findall(f"{ODM}Study/{ODM}MetaDataVersion/{ODM}ItemDef")
        assert [i.get("Name") for i in items] == list(spec["columns"])
        assert read_odm(path) == data[form], form
        assert manifest["files"][path.name]["rows"] == len(data[form])
    again = generate_export("POMMAINT", out=tmp_path / "again", fmt="odm", export_time=EXPORT_TIME)
    for spec in FORMS.values():
        name = f"{spec['file']}.xml"
        assert (again / name).read_bytes() == (folder / name).read_bytes()


def test_refuses_overwrite_and_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = generate_export("POMMAINT", subjects=3, out=tmp_path, export_time=EXPORT_TIME)
    before = (folder / "export.json").read_bytes()
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        generate_export("POMMAINT", subjects=3, out=tmp_path, export_time=EXPORT_TIME)
    assert (folder / "export.json").read_bytes() == before

    def broken(*args: object, **kwargs: object) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(sample, "write_csv", broken)
    later = datetime(2026, 11, 18, tzinfo=UTC)
    with pytest.raises(OSError, match="disk full"):
        generate_export("POMMAINT", subjects=3, out=tmp_path, export_time=later)
    assert sorted(p.name for p in (tmp_path / "POMMAINT").iterdir()) == [EXPORT_ID]

    (tmp_path / "POMMAINT" / ".20261118T000000Z.tmp").mkdir()
    with pytest.raises(FileExistsError, match="being written"):
        generate_export("POMMAINT", subjects=3, out=tmp_path, export_time=later)


def test_rejects_unknown_study_and_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="known studies: POMMAINT"):
        generate_export("OTHER", out=tmp_path)
    with pytest.raises(ValueError, match="unknown format"):
        generate_export("POMMAINT", out=tmp_path, fmt="sas")  # type: ignore[arg-type]
    assert not (tmp_path / "OTHER").exists()


def test_scaled_subject_ids() -> None:
    forms = sample.STUDIES["POMMAINT"][0](1000, 1, CUTOFF)
    ids = forms["DM"]["SUBJID"].tolist()
    assert ids[0] == "10001" and ids[999] == "11000" and ids == sorted(set(ids))
    assert ids[1000] == "20001" and ids[-1] == "20200"  # the 200 screen failures


def test_odm_escapes_values(tmp_path: Path) -> None:
    spec = {
        "label": "Tricky",
        "columns": {
            "SITEID": {"label": "Site", "type": "text", "required": True},
            "SUBJID": {"label": "Subject", "type": "text", "required": True},
            "VAL": {"label": "Value", "type": "decimal"},
            "TXT": {"label": "Text", "type": "text"},
        },
    }
    tricky = ["a & b <c> \"q\" 's'", "line\nbreak", "Müller ", ""]
    frame = pd.DataFrame(
        {"SITEID": ["01"] * 4, "SUBJID": ["S&1", "S&1", "S<2", "S<2"],
         "VAL": ["1.5", "", "<0.05", "2"], "TXT": tricky}, dtype="str",
    )  # fmt: skip
    path = tmp_path / "x.xml"
    rows = writers.write_odm(
        frame, path, form="X", spec=spec, study="ST", description="D & <d>",
        file_oid="ST.1.X", created="2026-11-16T00:00:00Z",
    )  # fmt: skip
    assert rows == 4
    root = ET.parse(path).getroot()
    types = [i.get("DataType") for i in root.iter(f"{ODM}ItemDef")]
    assert types == ["text", "text", "float", "text"]
    subjects = root.findall(f"{ODM}ClinicalData/{ODM}SubjectData")
    assert [s.get("SubjectKey") for s in subjects] == ["S&1", "S<2"]
    values = [
        {i.get("ItemOID"): i.get("Value") for i in g.iter(f"{ODM}ItemData")}
        for g in root.iter(f"{ODM}ItemGroupData")
    ]
    assert [v.get("IT.X.TXT") for v in values] == [*tricky[:3], None]
    assert [v.get("IT.X.VAL") for v in values] == ["1.5", None, "<0.05", "2"]
    with pytest.raises(ValueError, match="contiguous"):
        writers.write_odm(
            frame.iloc[[0, 2, 1]], path, form="X", spec=spec, study="ST", description="D",
            file_oid="ST.1.X", created="2026-11-16T00:00:00Z",
        )  # fmt: skip


def test_night_two_carries_exactly_the_late_correction(tmp_path: Path) -> None:
    first = generate_export(
        "POMMAINT", out=tmp_path, export_time=datetime(2026, 11, 23, 2, tzinfo=UTC)
    )
    second = generate_export(
        "POMMAINT", out=tmp_path, export_time=datetime(2026, 11, 24, 2, tzinfo=UTC), night=2
    )
    changed = {
        p.name for p in first.glob("*.csv") if p.read_bytes() != (second / p.name).read_bytes()
    }
    assert changed == {"lb.csv", "ae.csv"}
    for name, before, after in (
        ("lb.csv", ",Hemoglobin,Blood,,100,g/dL,", ",Hemoglobin,Blood,,10.0,g/dL,"),
        ("ae.csv", "Yes,2,No,,,,,,,Unlikely related,Dose not changed,Recovering/resolving",
         "No,2,No,,,,,,,Unlikely related,Dose not changed,Recovered/resolved"),
    ):  # fmt: skip
        old = (first / name).read_text().splitlines()
        new = (second / name).read_text().splitlines()
        diff = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
        assert len(diff) == 1
        assert before in diff[0][0] and after in diff[0][1]


def test_the_command_and_the_module_are_one_entry_point(tmp_path: Path) -> None:
    """`cdisc-sample` (installed by `make env`) and `python -m samplegen` run the same CLI."""
    bin_dir = Path(sys.executable).parent
    helps = [
        subprocess.run([*cmd, "--help"], capture_output=True, text=True, check=True).stdout
        for cmd in ([str(bin_dir / "cdisc-sample")], [sys.executable, "-m", "samplegen"])
    ]
    assert helps[0] == helps[1] and helps[0].startswith("usage: cdisc-sample")
    for flag in ("--study", "--subjects", "--seed", "--out", "--format", "--export-time",
                 "--cutoff", "--night", "--dirty", "--profile"):  # fmt: skip
        assert flag in helps[0]
    done = subprocess.run(
        [sys.executable, "-m", "samplegen", "--study", "POMMAINT", "--subjects", "2",
         "--out", str(tmp_path), "--format", "odm", "--export-time", "2026-11-20T02:00:00Z"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout == f"sample export written: {tmp_path / 'POMMAINT' / '20261120T020000Z'}\n"
    assert (tmp_path / "POMMAINT" / "20261120T020000Z" / "dm.xml").exists()

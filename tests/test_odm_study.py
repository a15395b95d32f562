"""A whole-study CDISC ODM 1.3.2 export (one file holding every form) publishes the same SDTM
as the CSV export of the same sample, and its fields are accounted for by form and field.

Cost: one full SDTM night (the CSV night is the session's `published`)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest

from samplegen import generate_export
from tests.conftest import EXPORT_TIME
from transforms.extract.exports import MANIFEST, sha256_file
from transforms.jobs import sdtm
from transforms.jobs.plan import Place
from transforms.jobs.runner import run_sdtm
from transforms.specs import load_study

STUDY = "POMMAINT"


@pytest.fixture(scope="module")
def odm_night(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The default sample as one ODM file (with export.json), run; its export and current."""
    root = tmp_path_factory.mktemp("odm_study")
    export = generate_export(STUDY, out=root / "landing", fmt="odm-study", export_time=EXPORT_TIME)
    return export, run_sdtm(STUDY, root / "landing", root / "store")


def test_the_sample_writes_one_odm_file(odm_night: tuple[Path, Path]) -> None:
    export, _ = odm_night
    assert sorted(p.name for p in export.iterdir()) == [MANIFEST, "pommaint.xml"]
    text = (export / "pommaint.xml").read_text(encoding="utf-8")
    assert 'StudyEventOID="SE.V1"' in text and 'StudyEventRepeatKey="2"' in text
    assert 'ItemOID="IT.LB.SUBJID"' not in text  # the subject is the structure, not an item


def test_it_publishes_the_same_sdtm_as_the_csv_night(
    odm_night: tuple[Path, Path], published: Path
) -> None:
    _, current = odm_night
    names = sorted(p.relative_to(published).as_posix() for p in (published / "sdtm").rglob("*"))
    assert names == sorted(p.relative_to(current).as_posix() for p in (current / "sdtm").rglob("*"))
    assert len(names) > 40
    for name in names:  # every dataset (XPT, Parquet, Dataset-JSON) and define.xml
        if (published / name).is_file():
            assert sha256_file(current / name) == sha256_file(published / name), name


def test_every_field_is_accounted_for_by_form_and_field(
    odm_night: tuple[Path, Path], published: Path
) -> None:
    _, current = odm_night
    fields = pd.read_csv(current / "reports" / "reconciliation_fields.csv", dtype=str)
    csv = pd.read_csv(published / "reports" / "reconciliation_fields.csv", dtype=str)
    assert (fields["file"] == "pommaint.xml#" + fields["form"]).all()
    assert fields.drop(columns="file").equals(csv.drop(columns="file"))
    assert (fields["status"] != "unaccounted").all()
    records = pd.read_csv(current / "reports" / "reconciliation.csv").set_index("form")
    before = pd.read_csv(published / "reports" / "reconciliation.csv").set_index("form")
    lb = before["records_in"].to_dict()["lb.csv"]
    assert records["records_in"].to_dict()["pommaint.xml#LB"] == lb
    assert lb == 7119  # the sample's LB, IMWG tests included


def test_without_a_manifest_it_is_read_once_settled(tmp_path: Path) -> None:
    export = generate_export(
        STUDY, out=tmp_path / "landing", fmt="odm-study", export_time=EXPORT_TIME
    )
    (export / MANIFEST).unlink()
    an_hour_ago = time.time() - 3600
    for path in (export / "pommaint.xml", export):
        os.utime(path, (an_hour_ago, an_hour_ago))
    run = sdtm.extract(load_study(STUDY), Place(tmp_path / "store", tmp_path / "landing"))
    inputs = run.info["inputs"]
    assert inputs["pommaint.xml#DM"]["rows"] == 18 and inputs["pommaint.xml#LB"]["rows"] == 7119
    assert {entry["sha256"] for entry in inputs.values()} == {sha256_file(export / "pommaint.xml")}

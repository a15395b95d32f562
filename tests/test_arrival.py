"""The wait for the night's export (``export_arrived``, poked every 5 minutes until the
deadline) reads no byte of the published export while nothing new came: it tells "the
same export, as its run read it" from the files' sizes, recorded at extract, and times."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from transforms.extract import exports
from transforms.extract.exports import sha256_file
from transforms.jobs import sdtm
from transforms.jobs.plan import Place
from transforms.jobs.sdtm import export_arrived
from transforms.specs import StudySpec, load_study

STUDY = "POMMAINT"
EXPORT = "20261123T020000Z"


def _age(path: Path, seconds: float) -> None:
    """Set `path`'s times `seconds` back (older than the study's settle time)."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def _land(landing: Path, study: StudySpec, export_id: str) -> Path:
    """An export without export.json: one small file per form file, settled an hour ago."""
    folder = landing / STUDY / export_id
    folder.mkdir(parents=True)
    for stem in sorted({f.file for f in study.forms.values()}):
        (folder / f"{stem}.csv").write_text(f"{stem}\n1\n", encoding="utf-8")
        _age(folder / f"{stem}.csv", 3600)
    _age(folder, 3600)
    return folder


def _publish(store: Path, study: StudySpec, folder: Path, *, sizes: bool = True) -> None:
    """A publication of `folder`, its manifest as extract and publish write it."""
    run = store / STUDY / "runs" / "r1"
    run.mkdir(parents=True)
    inputs = {}
    for oid, form in study.forms.items():
        path = folder / f"{form.file}.csv"
        entry = {"form": oid, "rows": 1, "sha256": sha256_file(path)}
        inputs[path.name] = {**entry, **({"bytes": path.stat().st_size} if sizes else {})}
    started = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    manifest = {"study": STUDY, "export_id": folder.name, "started": started, "inputs": inputs}
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (store / STUDY / "current").symlink_to(Path("runs") / "r1")


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file sha256_file reads (in extract and in the export finder)."""
    seen: list[Path] = []

    def spy(real: Callable[[Path], str]) -> Callable[[Path], str]:
        def digest(path: Path) -> str:
            seen.append(path)
            return real(path)

        return digest

    monkeypatch.setattr(sdtm, "sha256_file", spy(sdtm.sha256_file))
    monkeypatch.setattr(exports, "sha256_file", spy(exports.sha256_file))
    return seen


def test_the_waiting_poke_hashes_nothing(tmp_path: Path, hashed: list[Path]) -> None:
    study = load_study(STUDY)
    folder = _land(tmp_path / "landing", study, EXPORT)
    _publish(tmp_path / "store", study, folder)
    place = Place(tmp_path / "store", tmp_path / "landing")
    hashed.clear()
    assert export_arrived(study, place) is False
    assert hashed == []
    # a newer export arrives: told by its id, still nothing hashed (extract hashes it)
    _land(tmp_path / "landing", study, "20261124T020000Z")
    assert export_arrived(study, place) is True
    assert hashed == []


def test_a_file_of_the_published_export_replaced_is_seen(
    tmp_path: Path, hashed: list[Path]
) -> None:
    study = load_study(STUDY)
    folder = _land(tmp_path / "landing", study, EXPORT)
    _publish(tmp_path / "store", study, folder)
    place = Place(tmp_path / "store", tmp_path / "landing")
    ae = folder / "ae.csv"
    ae.write_text("ae\n2\n", encoding="utf-8")  # the same size, other bytes, modified now
    _age(ae, 150)  # settled (120 s), but after the published run began reading (30 min ago)
    hashed.clear()
    assert export_arrived(study, place) is True
    assert ae in hashed  # the sizes agree, the time does not: the digests decide
    # another size: changed, told without a digest
    ae.write_text("ae\n22\n", encoding="utf-8")
    _age(ae, 3600)
    hashed.clear()
    assert export_arrived(study, place) is True
    assert hashed == []
    # the same size with its time set back to before the run (cp -p of another copy):
    # passed as read by the wait (documented); extract, which always hashes, tells it
    ae.write_text("ae\n3\n", encoding="utf-8")
    _age(ae, 3600)
    assert export_arrived(study, place) is False


def test_a_publication_without_sizes_is_hashed_as_before(
    tmp_path: Path, hashed: list[Path]
) -> None:
    study = load_study(STUDY)
    folder = _land(tmp_path / "landing", study, EXPORT)
    _publish(tmp_path / "store", study, folder, sizes=False)
    hashed.clear()
    assert export_arrived(study, Place(tmp_path / "store", tmp_path / "landing")) is False
    assert sorted(hashed) == sorted(folder.iterdir())  # each file once


def test_a_whole_study_odm_export_is_told_without_a_digest_too(
    tmp_path: Path, hashed: list[Path]
) -> None:
    """One ODM file holding every form: each form's input names it (pommaint.xml#AE)."""
    study = load_study(STUDY)
    folder = tmp_path / "landing" / STUDY / EXPORT
    folder.mkdir(parents=True)
    odm = folder / "pommaint.xml"
    odm.write_text("<ODM/>\n", encoding="utf-8")
    _age(odm, 3600)
    _age(folder, 3600)
    run = tmp_path / "store" / STUDY / "runs" / "r1"
    run.mkdir(parents=True)
    entry = {"rows": 1, "sha256": sha256_file(odm), "bytes": 7}
    inputs = {f"pommaint.xml#{oid}": {"form": oid, **entry} for oid in study.forms}
    started = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    manifest = {"study": STUDY, "export_id": EXPORT, "started": started, "inputs": inputs}
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (tmp_path / "store" / STUDY / "current").symlink_to(Path("runs") / "r1")
    place = Place(tmp_path / "store", tmp_path / "landing")
    hashed.clear()
    assert export_arrived(study, place) is False
    assert hashed == []
    odm.write_text("<ODM/>\n\n", encoding="utf-8")  # grew: changed, and still no digest
    _age(odm, 3600)
    assert export_arrived(study, place) is True
    assert hashed == []

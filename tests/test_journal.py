"""Which run folder a rerun of ``cdisc run`` goes on in (transforms/jobs/journal.py), on
run folders made by hand: the kill chains (tests/test_kill.py) go on in real killed runs."""

from __future__ import annotations

import fcntl
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from transforms.jobs import journal
from transforms.specs import StudySpec, load_study
from transforms.store import RunFolder, new_run, remove_leftovers

STUDY = "POMMAINT"


@pytest.fixture(scope="module")
def study() -> StudySpec:
    return load_study(STUDY)


@pytest.fixture
def died(tmp_path: Path, study: StudySpec) -> Iterator[RunFolder]:
    """A run folder whose process died after three steps (its lock let go)."""
    run = new_run(tmp_path, STUDY, "20261206T010000Z-20261205T020000Z")
    journal.begin(run, study, "sdtm", "extract")
    journal.finished(run, "reconcile_fields")
    journal.finished(run, "validate_raw")
    journal.release(run)
    yield run
    journal.release(run)


def _resumable(run: RunFolder, study: StudySpec, same: bool = True) -> RunFolder | None:
    return journal.resumable(run.store, study, "sdtm", lambda r: same and r == run)


def test_a_run_whose_process_died_is_gone_on_in_after_its_finished_steps(
    died: RunFolder, study: StudySpec
) -> None:
    assert journal.steps_done(died) == ["extract", "reconcile_fields", "validate_raw"]
    assert _resumable(died, study) == died
    assert died.running.read_text(encoding="utf-8").startswith("pid ")


def test_not_gone_on_in_when_the_input_differs(died: RunFolder, study: StudySpec) -> None:
    assert _resumable(died, study, same=False) is None


def test_not_gone_on_in_when_it_failed(died: RunFolder, study: StudySpec) -> None:
    journal.failed(died, "validate_raw")
    assert journal.unfinished(died.store, STUDY, "sdtm") is None
    assert _resumable(died, study) is None


def test_not_gone_on_in_when_it_was_published(died: RunFolder, study: StudySpec) -> None:
    died.manifest_path.write_text("{}", encoding="utf-8")
    assert _resumable(died, study) is None


def test_not_gone_on_in_by_the_other_job(died: RunFolder, study: StudySpec) -> None:
    assert journal.resumable(died.store, study, "adam", lambda r: True) is None


def test_not_gone_on_in_when_made_by_another_engine_or_specs(
    died: RunFolder, study: StudySpec
) -> None:
    path = died.journal
    made = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**made, "fingerprint": "0" * 64}), encoding="utf-8")
    assert _resumable(died, study) is None


def test_not_gone_on_in_while_a_live_process_holds_it(died: RunFolder, study: StudySpec) -> None:
    with died.running.open("a") as held:  # as the live run's lock would
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert _resumable(died, study) is None
    assert _resumable(died, study) == died


def test_only_the_newest_unfinished_run_is_gone_on_in(died: RunFolder, study: StudySpec) -> None:
    later = new_run(died.store, STUDY, "20261206T020000Z-20261205T020000Z")
    journal.begin(later, study, "sdtm", "extract")
    journal.failed(later, "validate_raw")
    journal.release(later)
    assert journal.newest(died.store, STUDY, "sdtm") == later
    assert _resumable(died, study) is None  # the newest failed: the next run starts anew


def test_the_fingerprint_follows_every_spec_file(tmp_path: Path, study: StudySpec) -> None:
    shutil.copytree(ROOT / "sdtm_specs", tmp_path / "specs")
    copy = load_study(STUDY, tmp_path / "specs")
    assert journal.fingerprint(copy) == journal.fingerprint(study)
    lb = copy.path / "sdtm" / "lb.yaml"
    lb.write_text(lb.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert journal.fingerprint(copy) != journal.fingerprint(study)


def test_publishing_removes_what_a_killed_write_left(died: RunFolder) -> None:
    """A step killed mid-write leaves its temporaries (a retry writes its outputs anew):
    publishing removes them, so that the manifest lists none; nothing else is touched."""
    left = [died.sdtm / ".ae.xpt.0a1b2c.tmp", died.sdtm / ".ae.xpt.0a1b2c.tmp.sample",
            died.reports / ".changes.csv.9f8e7d.tmp", died.path / "manifest.json.tmp"]  # fmt: skip
    staging = died.path / ".submission.5d4c3b.tmp" / "m5" / "datasets"
    staging.mkdir(parents=True)
    kept = [died.sdtm / "ae.xpt", died.running, died.journal]
    for path in [*left, *kept, staging / "ae.xpt"]:
        path.touch()
    assert remove_leftovers(died) == sorted([*left, staging.parent.parent])
    assert not any(p.exists() for p in [*left, staging.parent.parent])
    assert all(p.exists() for p in kept)


def test_not_gone_on_in_when_its_facts_cannot_be_read(died: RunFolder, study: StudySpec) -> None:
    """A folder whose extract facts are gone (deleted by hand) is left alone, not an error."""
    assert journal.resumable(died.store, study, "sdtm", lambda r: bool(r.info)) is None

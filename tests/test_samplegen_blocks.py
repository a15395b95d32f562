"""The sample generator in blocks of subjects (samplegen.blocks): a study larger than one
block is generated and written a block at a time, with unique, consecutive subject ids, every
form for every subject, the study-wide rules kept, and the same bytes every time."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from samplegen import generate_export
from samplegen.blocks import BLOCK_SUBJECTS, Block, block_seed, blocks

ROOT = Path(__file__).parents[1]
FORMS: dict[str, Any] = yaml.safe_load(
    (ROOT / "sdtm_specs" / "POMMAINT" / "forms.yaml").read_text(encoding="utf-8")
)["forms"]
EXPORT_TIME = datetime(2026, 11, 16, 2, 30, 5, tzinfo=UTC)
SUBJECTS, BLOCK = 15, 7  # three blocks: 7, 7 and 1 subjects
Rows = list[dict[str, str]]


def read_export(folder: Path) -> dict[str, Rows]:
    forms = {}
    for form, spec in FORMS.items():
        with (folder / f"{spec['file']}.csv").open(encoding="utf-8", newline="") as fh:
            forms[form] = list(csv.DictReader(fh))
    return forms


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("blocks")


@pytest.fixture(scope="module")
def blocked(root: Path) -> Path:
    return generate_export("POMMAINT", subjects=SUBJECTS, out=root / "blocked",
                           export_time=EXPORT_TIME, block_subjects=BLOCK)  # fmt: skip


@pytest.fixture(scope="module")
def whole(root: Path) -> Path:
    return generate_export("POMMAINT", subjects=SUBJECTS, out=root / "whole",
                           export_time=EXPORT_TIME)  # fmt: skip


def test_blocks_cover_the_study_once() -> None:
    assert blocks(SUBJECTS, BLOCK) == [
        Block(0, 0, 7, 15), Block(1, 7, 7, 15), Block(2, 14, 1, 15)
    ]  # fmt: skip
    assert blocks(BLOCK_SUBJECTS) == [Block(0, 0, BLOCK_SUBJECTS, BLOCK_SUBJECTS)]
    with pytest.raises(ValueError, match="at least 1"):
        blocks(SUBJECTS, 0)


def test_block_zero_keeps_the_seed_later_blocks_get_their_own() -> None:
    first, second, third = blocks(SUBJECTS, BLOCK)
    assert block_seed(20261123, first) == 20261123
    seeds = {block_seed(20261123, second), block_seed(20261123, third), 20261123}
    assert len(seeds) == 3
    assert block_seed(20261123, second) == block_seed(20261123, Block(1, 0, 1, 1))
    assert block_seed(7, second) != block_seed(20261123, second)


def test_subject_ids_unique_and_consecutive(blocked: Path) -> None:
    data = read_export(blocked)
    ids = [row["SUBJID"] for row in data["DM"]]
    assert len(ids) == len(set(ids))
    enrolled = [i for i in ids if i.startswith("1")]
    failed = [i for i in ids if i.startswith("2")]
    assert enrolled == [f"1{i:03d}" for i in range(1, SUBJECTS + 1)]
    # round(0.2 * N) screen failures for the study: 1 + 2 + 0 over the three blocks
    assert sorted(failed) == [f"2{i:03d}" for i in range(1, round(0.2 * SUBJECTS) + 1)]
    assert {row["SITEID"] for form in data.values() for row in form} == {"01"}
    for form, spec in FORMS.items():
        keys = Counter(tuple(row[k] for k in spec["keys"]) for row in data[form])
        assert max(keys.values(), default=1) == 1, f"{form} duplicate keys"
        assert {row["SUBJID"] for row in data[form]} <= set(ids), form


def forms_everyone_has(data: dict[str, Rows], eligible: str) -> set[str]:
    """The forms with rows for every enrolled (`eligible` "Yes") or screen-failed ("No")
    subject."""
    group = {row["SUBJID"] for row in data["IC"] if row["ELIGYN"] == eligible}
    return {form for form, rows in data.items() if {row["SUBJID"] for row in rows} >= group}


def test_every_form_for_every_subject(blocked: Path, whole: Path) -> None:
    """The forms every enrolled subject (every screen failure) has in a study of one block,
    every one has in blocks; no subject's rows of a form are split across the file."""
    data, reference = read_export(blocked), read_export(whole)
    for eligible in ("Yes", "No"):
        everyone = forms_everyone_has(reference, eligible)
        assert {"DM", "IC", "LB"} <= everyone
        assert forms_everyone_has(data, eligible) >= everyone, eligible
    for form in FORMS:
        subjects = [row["SUBJID"] for row in data[form]]
        runs = [s for i, s in enumerate(subjects) if i == 0 or subjects[i - 1] != s]
        assert len(runs) == len(set(runs)), f"{form}: a subject's rows are not together"


def test_enrolment_spread_over_the_whole_study(blocked: Path) -> None:
    """Consent dates rise with the subject number across the blocks (one enrolment window)."""
    ic = [row for row in read_export(blocked)["IC"] if row["ELIGYN"] == "Yes"]
    days = [datetime.strptime(row["ICDAT"], "%d %b %Y") for row in ic]
    assert [row["SUBJID"] for row in ic] == sorted(row["SUBJID"] for row in ic)
    assert days == sorted(days)
    assert (days[-1] - days[0]).days > 365


def test_manifest_counts_every_block(blocked: Path) -> None:
    manifest = json.loads((blocked / "export.json").read_text(encoding="utf-8"))
    assert manifest["subjects"] == SUBJECTS
    data = read_export(blocked)
    for form, spec in FORMS.items():
        entry = manifest["files"][f"{spec['file']}.csv"]
        path = blocked / f"{spec['file']}.csv"
        assert entry["rows"] == len(data[form])
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        header = path.read_text(encoding="utf-8").splitlines()[0]
        assert path.read_text(encoding="utf-8").splitlines().count(header) == 1


def test_deterministic_and_not_the_one_block_study(root: Path, blocked: Path, whole: Path) -> None:
    again = generate_export("POMMAINT", subjects=SUBJECTS, out=root / "again",
                            export_time=EXPORT_TIME, block_subjects=BLOCK)  # fmt: skip
    for spec in FORMS.values():
        name = f"{spec['file']}.csv"
        assert (again / name).read_bytes() == (blocked / name).read_bytes(), name
    assert (blocked / "lb.csv").read_bytes() != (whole / "lb.csv").read_bytes()


def test_night_two_corrects_the_first_subject_only(root: Path, blocked: Path) -> None:
    second = generate_export("POMMAINT", subjects=SUBJECTS, out=root / "night2", night=2,
                             export_time=EXPORT_TIME, block_subjects=BLOCK)  # fmt: skip
    changed = []
    for spec in FORMS.values():
        name = f"{spec['file']}.csv"
        old = (blocked / name).read_text(encoding="utf-8").splitlines()
        new = (second / name).read_text(encoding="utf-8").splitlines()
        diff = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
        assert len(diff) <= 1 and all(a.startswith("01,1001,") for a, _ in diff), name
        changed += [name] * len(diff)
    assert changed and set(changed) <= {"lb.csv", "ae.csv"}


def test_odm_refused_beyond_one_block(tmp_path: Path) -> None:
    for fmt in ("odm", "odm-study"):
        with pytest.raises(ValueError, match="whole study at once"):
            generate_export("POMMAINT", subjects=SUBJECTS, out=tmp_path, fmt=fmt,
                            export_time=EXPORT_TIME, block_subjects=BLOCK)  # fmt: skip
    assert not any(tmp_path.rglob("*"))

"""The night log (``<store>/<STUDY>/nights.jsonl``) keeps its newest lines only, rewritten
atomically, and ``cdisc status`` still reads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from transforms import store
from transforms.status import nights
from transforms.store import nights_log, record_night

STUDY = "POMMAINT"


def _stages(path: Path) -> list[str]:
    return [json.loads(line)["stage"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_night_log_keeps_its_newest_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "NIGHTS_KEPT", 3)
    for n in range(5):
        record_night(tmp_path, STUDY, {"job": "sdtm", "state": "skipped", "stage": f"s{n}"})
    path = nights_log(tmp_path, STUDY)
    assert _stages(path) == ["s2", "s3", "s4"]
    # rewritten beside itself and renamed: no temporary file is left
    assert sorted(p.name for p in path.parent.iterdir()) == [".nights.lock", "nights.jsonl"]
    # what `cdisc status` lists (nothing published: every night kept, oldest first)
    _, listed = nights(tmp_path, STUDY)
    assert [n.stage for n in listed] == ["s2", "s3", "s4"]


def test_a_line_cut_short_by_a_crash_does_not_swallow_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "NIGHTS_KEPT", 3)
    path = nights_log(tmp_path, STUDY)
    path.parent.mkdir(parents=True)
    path.write_text('{"stage": "s0"}\n{"stage": "s1', encoding="utf-8")
    record_night(tmp_path, STUDY, {"stage": "s2"})
    lines = path.read_text(encoding="utf-8").splitlines()
    assert (
        lines[:2] == ['{"stage": "s0"}', '{"stage": "s1'] and json.loads(lines[2])["stage"] == "s2"
    )
    record_night(tmp_path, STUDY, {"stage": "s3"})  # past the cap: rewritten, s0 dropped
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == '{"stage": "s1'
    assert [json.loads(x)["stage"] for x in lines[1:]] == ["s2", "s3"]

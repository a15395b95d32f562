"""Extract reads and checks a form a frame of records at a time (issue 22: memory bounded
by design) and writes the raw snapshot in fixed row groups: the snapshot and the issue
listing are those of the forms read whole.

The default sample's LB (about 1,300 records) is given two records sharing a key, far
apart (in different frames), and a record lacking a required value; extracted with
frames of the default size (one frame a form) and of 50 records, in row groups of 200
records, every raw Parquet file and the issue listing must be the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from transforms.extract import readers
from transforms.extract.readers import read_form
from transforms.jobs import kit, sdtm
from transforms.jobs.kit import FRAME_ROWS_ENV
from transforms.jobs.plan import Place
from transforms.specs import load_study


def _broken_landing(landing: Path, root: Path) -> Path:
    """A copy of the sample export whose LB repeats its 3rd record (line 4) at the end and
    lacks the site of its 10th (line 11); the manifest says so."""
    copy = root / "landing"
    shutil.copytree(landing, copy)
    export = next(copy.glob("POMMAINT/*/export.json")).parent
    lb = export / "lb.csv"
    lines = lb.read_bytes().split(b"\n")
    assert lines[-1] == b""
    lines[10] = b"," + lines[10].split(b",", 1)[1]  # the first column, SITEID, empty
    lines.insert(-1, lines[3])
    lb.write_bytes(b"\n".join(lines))
    manifest = json.loads((export / "export.json").read_text())
    manifest["files"]["lb.csv"] = {"sha256": hashlib.sha256(lb.read_bytes()).hexdigest(),
                                   "rows": len(lines) - 2}  # fmt: skip
    (export / "export.json").write_text(json.dumps(manifest))
    return copy


def test_extract_in_frames_writes_the_snapshot_and_issues_of_one_reading(
    landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = load_study("POMMAINT")
    copy = _broken_landing(landing, tmp_path)
    monkeypatch.setattr(kit, "ROW_GROUP_ROWS", 200)
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 4096)
    frames: list[int] = []

    def counted(path: Path, rows: int) -> Iterator[pd.DataFrame]:
        for frame in readers.read_form_frames(path, rows):
            frames.append(len(frame))
            yield frame

    monkeypatch.setattr(sdtm, "read_form_frames", counted)
    runs = {}
    for rows in ("", "50"):
        monkeypatch.setenv(FRAME_ROWS_ENV, rows)
        frames.clear()
        runs[rows] = sdtm.extract(study, Place(tmp_path / f"store{rows}", copy), "r")
    assert max(frames) == 50 and len(frames) > 40  # LB alone: 27 frames
    whole, framed = runs[""], runs["50"]
    for path in sorted(whole.raw.glob("*.parquet")):
        assert (framed.raw / path.name).read_bytes() == path.read_bytes(), path.name
    listing = whole.issues("RAW")
    assert framed.issues("RAW").read_bytes() == listing.read_bytes()
    assert framed.info["inputs"] == whole.info["inputs"]

    lb_csv = next(copy.glob("POMMAINT/*/lb.csv"))
    snapshot = pd.read_parquet(framed.raw_form("LB"))
    pd.testing.assert_frame_equal(snapshot, read_form(lb_csv))
    assert framed.info["inputs"]["lb.csv"]["rows"] == len(snapshot)
    issues = pd.read_csv(listing, dtype=str)
    lb = issues[issues["file"] == "lb.csv"]
    last = str(snapshot["__ROW"].iloc[-1])
    assert lb[lb["rule"] == "KEY"]["row"].tolist() == ["4", last]  # in the first, last frame
    assert lb[lb["rule"] == "REQUIRED"][["row", "variable"]].values.tolist() == [["11", "SITEID"]]

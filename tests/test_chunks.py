"""A dataset mapped a group of subjects at a time (issue 22): the same files as one mapping.

The session's POMMAINT night (`published`, every dataset mapped in one group: 15 subjects
are far fewer raw rows than a frame) is mapped again from its raw snapshot with frames of
300 raw rows, so LB (about 90 rows a subject) is mapped in many groups of a few subjects
each; every SDTM Parquet, XPT and Dataset-JSON file, lineage and issue listing must be the
same bytes.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transforms.issues import IssueLog
from transforms.jobs.kit import FRAME_ROWS_ENV, ParquetAppender
from transforms.jobs.runner import run_step, study_job
from transforms.specs import load_study
from transforms.store import RunFolder


def _remap(current: Path, root: Path) -> RunFolder:
    """The map, complete and xpt steps of the SDTM job again, on a copy of the raw
    snapshot of the published run `current`."""
    run = RunFolder(root / "S" / "runs" / "remap")
    shutil.copytree(current / "raw", run.raw)
    run.sdtm.mkdir()
    run.reports.mkdir()
    study = load_study(run.info["study"])
    plan = study_job(study, "sdtm")
    for step in plan.steps:
        if step.name in ("map", "complete", "xpt"):
            run_step(plan, step, study, None, run)
    return run


def test_groups_of_subjects_write_the_files_of_one_mapping(
    published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    monkeypatch.setenv(FRAME_ROWS_ENV, "300")
    with caplog.at_level(logging.INFO, logger="cdisc"):
        run = _remap(published, tmp_path)
    groups = {m.split(":")[0]: m for m in caplog.messages if "groups of subjects" in m}
    # LB: 15 subjects' ~1,300 records, at most ~300 raw rows a group (whole subjects)
    assert groups["LB"] == "LB: mapped in 14 groups of subjects"
    assert {"RS", "VS"} <= set(groups)
    written = sorted(p.name for p in [*run.sdtm.iterdir(), *run.reports.iterdir()])
    assert {"lb.parquet", "lb.xpt", "lb.json", "issues_lb.csv", "lineage_lb.parquet"} <= set(
        written
    )
    assert "issues_rs.csv" in written  # 144 warnings, in the order of one mapping
    differ = [
        name
        for name in written
        if (run.path / ("sdtm" if (run.sdtm / name).exists() else "reports") / name).read_bytes()
        != (published / ("sdtm" if (run.sdtm / name).exists() else "reports") / name).read_bytes()
    ]
    assert differ == []


def test_issue_logs_of_groups_merge_in_the_order_of_one_log() -> None:
    frame = pd.DataFrame({"__ROW": [2, 3, 4, 5], "SUBJID": ["B", "A", "B", "A"]})
    one = IssueLog()
    kinds = {"severity": "error", "dataset": "XX", "form": "xx.csv", "rule": "R", "message": "m"}
    one.add(frame, frame["SUBJID"] != "", column="V1", values=frame["SUBJID"], **kinds)
    one.add(frame, frame["__ROW"] > 3, column="V2", values=frame["SUBJID"], **kinds)
    groups = []
    for subject in ("A", "B"):  # the rows of each subject, as a group is read: positions kept
        rows = frame[frame["SUBJID"] == subject]
        log = IssueLog()
        log.add(rows, rows["SUBJID"] != "", column="V1", values=rows["SUBJID"], **kinds)
        log.add(rows, rows["__ROW"] > 3, column="V2", values=rows["SUBJID"], **kinds)
        groups.append(log)
    merged = IssueLog.merged(groups).frame()
    assert merged[["variable", "row"]].values.tolist() == [
        ["V1", 2], ["V1", 3], ["V1", 4], ["V1", 5], ["V2", 4], ["V2", 5]
    ]  # fmt: skip
    assert merged.equals(one.frame())


def test_parquet_appender_cuts_row_groups_whatever_the_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq

    from transforms.jobs import kit

    monkeypatch.setattr(kit, "ROW_GROUP_ROWS", 4)
    frame = pd.DataFrame({"A": pd.array(list("abcdefghij"), dtype="string"),
                          "N": np.arange(10, dtype="float64")})  # fmt: skip
    outputs: list[bytes] = []
    for cuts in ([10], [3, 3, 0, 4], [1, 9]):
        path = tmp_path / f"{len(outputs)}.parquet"
        table = ParquetAppender(path)
        at = 0
        for size in cuts:
            table.append(frame.iloc[at : at + size])
            at += size
        table.close()
        assert table.rows == 10
        assert [pq.ParquetFile(path).metadata.row_group(i).num_rows for i in range(3)] == [4, 4, 2]
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    assert pd.read_parquet(tmp_path / "0.parquet").equals(frame)

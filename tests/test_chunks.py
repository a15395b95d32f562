"""A dataset mapped a group of subjects at a time (issue 22): the same files as one mapping.

The session's nights of both studies (POMMAINT's `published`, CDISCPILOT01's `pilot_run`:
every dataset mapped in one group, the studies being far fewer raw rows than a frame) are
mapped again from their raw snapshots with groups of 100 and 4,000 raw rows, so LB
(POMMAINT, about 90 rows a subject) is mapped in 16 groups of one or two subjects and VS
(the pilot) in 4; every SDTM Parquet, XPT and Dataset-JSON file, lineage and issue listing
must be the same bytes.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.test_cdiscpilot import pilot_run  # noqa: F401 (the pilot's night, a fixture)
from transforms.issues import IssueLog
from transforms.jobs.kit import FRAME_ROWS_ENV, ParquetAppender, TableReader
from transforms.jobs.runner import run_step, study_job
from transforms.sdtm.chunks import GroupRows, SubjectRows
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


def logged_groups(messages: list[str]) -> dict[str, int]:
    """The datasets a stage's log says were made in groups of subjects, and how many."""
    found = [m.split(" ") for m in messages if m.endswith("groups of subjects")]
    return {m[0].rstrip(":"): int(m[3]) for m in found}


# Per night: the raw rows a group holds, and the datasets then mapped in more than one
# group (how many; a dataset's rows are those of every form it reads: the pilot's AE reads
# VS's dates for its epochs).
GROUPS = {
    "published": (100, {"CM": 2, "EX": 3, "LB": 16, "RS": 7, "VS": 4}),  # POMMAINT, 15
    "pilot_run": (4000, {"AE": 4, "DS": 4, "EX": 4, "VS": 4}),  # CDISCPILOT01, 306 subjects
}


@pytest.mark.parametrize("night", list(GROUPS))
def test_groups_of_subjects_write_the_files_of_one_mapping(
    night: str, request: pytest.FixtureRequest, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    published = request.getfixturevalue(night)
    rows, groups = GROUPS[night]
    monkeypatch.setenv(FRAME_ROWS_ENV, str(rows))
    with caplog.at_level(logging.INFO, logger="cdisc"):
        run = _remap(published, tmp_path)
    assert logged_groups(caplog.messages) == groups
    written = sorted(p.relative_to(run.path) for p in run.path.glob("[rs]*/*") if p.is_file())
    assert {"sdtm/vs.parquet", "sdtm/vs.xpt", "sdtm/vs.json", "reports/issues_vs.csv",
            "reports/lineage_vs.parquet"} <= {str(p) for p in written}  # fmt: skip
    differ = [p for p in written if p.parts[0] != "raw" and
              (run.path / p).read_bytes() != (published / p).read_bytes()]  # fmt: skip
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


def test_issue_logs_chained_list_each_log_in_turn() -> None:
    """Extract's listing: each form's log (merged from its frames) after the one before."""
    frame = pd.DataFrame({"__ROW": [2, 3], "SUBJID": ["A", "B"]})
    kinds = {"severity": "error", "dataset": "RAW", "rule": "R", "message": "m"}
    logs = []
    for form, column in (("ae.csv", "V1"), ("dm.csv", "V2"), ("lb.csv", "V3")):
        log = IssueLog()
        hit = frame["SUBJID"] == ("B" if form != "dm.csv" else "none")
        log.add(frame, hit, column=column, values=frame["SUBJID"], form=form, **kinds)
        log.add(frame, frame["__ROW"] > 0, column="W", values=frame["SUBJID"], form=form, **kinds)
        logs.append(log)
    chained = IssueLog.chained(logs)
    assert chained.frame()[["file", "variable", "row"]].values.tolist() == [
        ["ae.csv", "V1", 3], ["ae.csv", "W", 2], ["ae.csv", "W", 3], ["dm.csv", "W", 2],
        ["dm.csv", "W", 3], ["lb.csv", "V3", 3], ["lb.csv", "W", 2], ["lb.csv", "W", 3],
    ]  # fmt: skip
    again = IssueLog.chained([chained, logs[0]]).frame()
    assert again.equals(pd.concat([chained.frame(), logs[0].frame()], ignore_index=True))
    assert IssueLog.chained([]).frame().empty


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


def test_a_group_of_subjects_is_read_from_the_row_groups_holding_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq

    frame = pd.DataFrame({"SUBJID": list("aabbbccd"), "V": [f"v{i}" for i in range(8)]})
    path = tmp_path / "form.parquet"
    frame.to_parquet(path, index=False, row_group_size=3)  # a a b | b b c | c d
    read: list[tuple[int, list[str] | None]] = []
    real = pq.ParquetFile.read_row_group

    def read_row_group(self: pq.ParquetFile, group: int, **kwargs: Any) -> Any:
        read.append((group, kwargs.get("columns")))
        return real(self, group, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", read_row_group)
    keep = frame["SUBJID"].isin(["b"]).to_numpy()
    rows = TableReader({"F": path}, "raw form").read_rows("F", keep)
    assert read == [(0, None), (1, None)]  # not the third row group, which holds no b
    assert rows.equals(pd.read_parquet(path)[keep])  # the same rows, types and positions
    assert rows.index.tolist() == [2, 3, 4]

    # A group's rows: a column asked of them all read once from the row groups holding
    # them, then kept.
    read.clear()
    groups = np.array([0, 0, 1, 1, 1, 2, 2, np.nan])  # d: a subject of no group
    rows_of = GroupRows({"F": groups})
    assert [rows_of.positions("F", n).tolist() for n in range(4)] == [[0, 1], [2, 3, 4], [5, 6], []]
    group = SubjectRows(TableReader({"F": path}, "raw form"), rows_of, 1)
    assert group.read_columns("F", ["V"])["V"].tolist() == ["v2", "v3", "v4"]
    later = group.read_rows("F", np.array([False, True, True]), ["SUBJID", "V"])
    assert later.equals(pd.read_parquet(path).iloc[[3, 4]])
    assert group["F"].equals(pd.read_parquet(path).iloc[[2, 3, 4]])
    assert read == [
        (0, ["V"]), (1, ["V"]),  # the group's column asked: kept
        (1, ["SUBJID", "V"]),  # some rows, of a column not kept: those alone
        (0, ["SUBJID"]), (1, ["SUBJID"]),  # every column: the one not kept yet
    ]  # fmt: skip
    assert group.read_rows("F", np.array([True, False, True]), ["V"]).index.tolist() == [2, 4]
    assert len(read) == 5  # from what the group holds

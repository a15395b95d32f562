"""An ADaM dataset derived a group of subjects at a time (issue 22): the files of one
derivation of all the subjects, and what decides whether a dataset may be.

The session's ADaM runs of both studies (POMMAINT's `adam_published`, CDISCPILOT01's
`pilot_run`: every dataset derived whole, the samples being far fewer rows than a frame)
are derived again from their SDTM with groups of 10 and 100 records, so that every ADaM
dataset of both studies is derived in several groups (ADRS by the IMWG verbs, ADTTE by
tte, whose unassigned listing then comes group after group and whose SRCSEQ points at
ADRS's ASEQ); every ADaM Parquet, XPT and Dataset-JSON file and listing must be the same
bytes.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.adam_verbs.frames import ADSL, AE
from tests.test_cdiscpilot import pilot_run  # noqa: F401 (the pilot's night, a fixture)
from tests.test_chunks import logged_groups
from transforms.adam import chunks
from transforms.adam.chunks import per_subject, subject_inputs
from transforms.adam.spec import AdamSpec, load_adam_spec
from transforms.adam.verbs.base import condition
from transforms.adam.verbs.summary import MergeSummary
from transforms.adam.vocabulary import Inputs, Verb, Where, build, parse_steps
from transforms.jobs.kit import FRAME_ROWS_ENV, TableReader
from transforms.jobs.runner import run_step, study_job
from transforms.sdtm.chunks import Tables
from transforms.specs import load_study
from transforms.store import RunFolder


def _rederive(current: Path, root: Path) -> RunFolder:
    """The build steps of the ADaM job again, on a copy of the SDTM of the published run."""
    run = RunFolder(root / "S" / "runs" / "rederive")
    for sub in ("raw", "sdtm"):
        shutil.copytree(current / sub, run.path / sub)
    run.adam.mkdir()
    run.reports.mkdir()
    study = load_study(run.info["study"])
    plan = study_job(study, "adam")
    for step in plan.steps:
        if step.name == "build":
            run_step(plan, step, study, None, run)
    return run


# Per night: the rows a group holds, and the datasets then derived in more than one group
# (sized by the rows of what they make records of and read by subject: ADAE's AE and ADSL).
GROUPS = {
    "adam_published": (  # POMMAINT, 15 subjects
        10,
        {"ADAE": 9, "ADEX": 17, "ADLB": 18, "ADRS": 3, "ADSL": 4, "ADTTE": 3},
    ),
    "pilot_run": (100, {"ADAE": 14, "ADSL": 4, "ADTTE": 15}),  # CDISCPILOT01, 306 subjects
}
# A subject of the POMMAINT sample has hundreds of the rows ADRS (RS, LB) and ADTTE (ADRS)
# are made of, and ADSL reads (LB's dates; the pilot's VS): groups of 10 would be a group
# per subject, each a whole derivation (about 0.5 s): these are cut into a few instead.
COARSE = {
    "adam_published": {"ADRS": 3000, "ADTTE": 300, "ADSL": 3000},
    "pilot_run": {"ADSL": 8000},
}


@pytest.mark.parametrize("night", list(GROUPS))
def test_groups_of_subjects_derive_the_files_of_one_derivation(
    night: str, request: pytest.FixtureRequest, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    rows, groups = GROUPS[night]
    monkeypatch.setenv(FRAME_ROWS_ENV, str(rows))
    sizes, whole = COARSE.get(night, {}), chunks.subject_inputs

    def coarse(spec: AdamSpec, sdtm: Tables, adam: Tables, rows: int) -> Iterator[Inputs]:
        return whole(spec, sdtm, adam, sizes.get(spec.name, rows))

    monkeypatch.setattr(chunks, "subject_inputs", coarse)
    published = request.getfixturevalue(night)
    with caplog.at_level(logging.INFO, logger="cdisc"):
        run = _rederive(published, tmp_path)
    assert logged_groups(caplog.messages) == groups
    outputs = [p.relative_to(run.path) for p in run.adam.glob("*") if p.is_file()]
    assert {"adam/adsl.parquet", "adam/adsl.xpt", "adam/adae.json"} <= {str(p) for p in outputs}
    outputs += [p.relative_to(run.path) for p in run.reports.glob("unassigned_*.csv")]
    assert night == "pilot_run" or "reports/unassigned_adtte.csv" in {str(p) for p in outputs}
    changed = [p for p in outputs if (run.path / p).read_bytes() != (published / p).read_bytes()]
    assert changed == []


def _steps(text: str) -> tuple[Verb, ...]:
    return parse_steps(yaml.safe_load(text), Where("test.yaml", "ADXX"))


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ("[{verb: seq, var: ASEQ, order: [AESEQ]}]", True),  # by USUBJID
        ("[{verb: seq, var: ASEQ, order: [AESEQ], by: [AEBODSYS]}]", False),  # over the dataset
        ("[{verb: flag_extreme, var: F, by: [USUBJID, AEBODSYS], order: [AESEQ]}]", True),
        ("[{verb: flag_extreme, var: F, by: [AEBODSYS], order: [AESEQ]}]", False),
        ("[{verb: assign, var: X, else: 1}]", True),
        ("[{verb: merge_vars, from: {dataset: ADSL}, vars: [AGE]}]", True),
        ("[{verb: merge_vars, from: {dataset: ADSL}, vars: [AGE], by: [ARM]}]", False),
        # a source's own step numbering across subjects
        (
            "[{verb: merge_vars, from: {dataset: ADSL, derive: [{verb: seq, var: N, "
            "order: [AGE], by: [ARM]}]}, vars: [N]}]",
            False,
        ),
    ],
)
def test_a_verb_declares_whether_it_works_within_a_subject(steps: str, expected: bool) -> None:
    (step,) = _steps(steps)
    assert step.per_subject is expected


def test_a_dataset_is_derived_by_subject_only_when_every_step_is_and_keys_lead_by_subject(
    tmp_path: Path,
) -> None:
    study = load_study("POMMAINT")
    adlb = load_adam_spec(study.adam_spec_path("ADLB"))
    adrs = load_adam_spec(study.adam_spec_path("ADRS"))
    adtte = load_adam_spec(study.adam_spec_path("ADTTE"))
    assert per_subject(adlb)
    # The IMWG verbs and tte make a subject's records of its own records, and say of what.
    assert per_subject(adrs) and per_subject(adtte)
    assert {n for s in adrs.derivations for n in s.records_from} == {"ADSL", "LB", "RS"}
    assert [s.records_from for s in adtte.derivations if s.name == "tte"] == [("ADRS", "ADSL")]
    (across,) = _steps(
        "[{verb: tte, subject_keys: [STUDYID, SUBJID], sources: {death: {dataset: ADSL, "
        "date: DTHDT, evntdesc: Death}, end: {dataset: ADSL, date: RFENDT, evntdesc: End}}, "
        "parameters: [{paramcd: T, param: T, start: {date: TRTSDT}, events: [death], "
        "censors: [end]}]}]"
    )
    assert not across.per_subject  # records by other keys than USUBJID
    paths = {}
    for name, frame in {"AE": AE, "ADSL": ADSL}.items():
        paths[name] = tmp_path / f"{name}.parquet"
        frame.to_parquet(paths[name], index=False)
    sdtm = TableReader({"AE": paths["AE"]}, "SDTM")
    adam = TableReader({"ADSL": paths["ADSL"]}, "ADaM")
    # ADLB's records come from LB, which these tables lack: one group, the tables whole
    (whole,) = subject_inputs(adlb, sdtm, adam, 1)
    assert whole.sdtm is sdtm and whole.adam is adam
    ae = load_adam_spec(study.adam_spec_path("ADAE"))
    parts = list(subject_inputs(ae, sdtm, adam, 1))  # a group per subject of AE (1 and 2)
    assert [p.sdtm["AE"]["USUBJID"].unique().tolist() for p in parts] == [["1"], ["2"]]
    assert [p.adam["ADSL"]["USUBJID"].tolist() for p in parts] == [["1"], ["2"]]
    assert parts[1].sdtm["AE"].index.tolist() == [3]  # indexed by their positions in AE
    # A step's columns and rows of a group's subjects alone, as of the whole table.
    where = Where("test.yaml", "ADXX")
    cond = condition({"var": "AEBODSYS", "eq": "GI"}, where)
    for part in parts:
        read = part.subset("AE", where, ["USUBJID", "AESEQ"], cond)
        mine = AE[AE["USUBJID"].isin(part.adam["ADSL"]["USUBJID"]) & (AE["AEBODSYS"] == "GI")]
        assert read.equals(mine[["USUBJID", "AESEQ"]])


def test_a_source_reads_only_the_columns_and_rows_it_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "AE.parquet"
    AE.to_parquet(path, index=False)
    steps = _steps(
        "[{verb: records, from: {dataset: ADSL}}, {verb: merge_summary, var: N, function: count,"
        " from: {dataset: AE, where: {var: AEBODSYS, eq: GI}}}]"
    )
    on_file = Inputs(sdtm=TableReader({"AE": path}, "SDTM"), adam={"ADSL": ADSL})
    in_memory = Inputs(sdtm={"AE": AE}, adam={"ADSL": ADSL})

    def whole(self: TableReader, name: str) -> pd.DataFrame:
        raise AssertionError(f"{name} read whole")

    monkeypatch.setattr(TableReader, "__getitem__", whole)
    assert build(steps, on_file).equals(build(steps, in_memory))
    where = Where("test.yaml", "ADXX")
    summary = steps[1]
    assert isinstance(summary, MergeSummary)
    cond = summary.from_.where_
    read = on_file.subset("AE", where, ["USUBJID", "AESEQ", "NOSUCH"], cond)
    assert read.columns.tolist() == ["USUBJID", "AESEQ"]  # what AE has of them
    assert read.index.tolist() == [0, 1, 3]  # the GI rows, by their positions
    assert read.equals(in_memory.subset("AE", where, ["USUBJID", "AESEQ", "NOSUCH"], cond))

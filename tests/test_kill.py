"""SIGKILL of a real `cdisc run` at seeded points in every stage, each followed by a normal
rerun: `current` is always a complete run, and the rerun's output equals an uninterrupted
run's, byte for byte.

Night 1 is published first; night 2 (the site's late correction) is the run that is killed,
so a kill during publishing must leave night 1 (or, after the switch, night 2) whole.

Cost: the killed run is a process of its own (it has to be, to be killed), forked from a
server that imported the engine once per worker (tests/killable.py); the reruns and the
uninterrupted reference run call the same CLI entry point in the test process. Night 1 is
the session's published sample, night 2 the session's `night_two`. A kill point in the ADaM job starts from the store as the
ADaM job finds it (night 2's SDTM published, night 1's ADaM): `cdisc run` then has no SDTM
work and goes straight to the ADaM job, as after any published SDTM night, so neither the
killed run nor the rerun repeats the SDTM job first. The kill points are independent
tests: pytest-xdist spreads them over the workers.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tests import killable
from tests.conftest import ROOT, NightTwo
from transforms.cli import main
from transforms.extract.exports import sha256_file
from transforms.jobs.plan import jobs
from transforms.studies import read_study_info

KILLS = 20
SPECS = ROOT / "sdtm_specs" / "POMMAINT"
SEED = 20261201


def _argv(landing: Path, store: Path) -> list[str]:
    return ["run", "--study", "POMMAINT", "--landing", str(landing), "--store", str(store)]


def _outputs(store: Path) -> dict[str, str]:
    """SHA-256 of every published dataset file (sdtm/ and adam/)."""
    current = store / "POMMAINT" / "current"
    return {
        str(p.relative_to(current)): sha256_file(p)
        for sub in ("sdtm", "adam")
        for p in sorted((current / sub).glob("*"))
    }


def _assert_complete(store: Path) -> None:
    """`current` (if any) is a run whose manifest lists files that all exist, unchanged."""
    current = store / "POMMAINT" / "current"
    if not current.is_symlink():
        return
    manifest = json.loads((current / "manifest.json").read_text(encoding="utf-8"))
    for name, entry in manifest["outputs"].items():
        assert sha256_file(current / name) == entry["sha256"], name
    assert (current / "sdtm" / "dm.xpt").exists()


def _run(landing: Path, store: Path) -> None:
    """`cdisc run` in this process: the same entry point, without paying its imports again."""
    assert main(["-q", *_argv(landing, store)]) == 0


@dataclass(frozen=True)
class Nights:
    landing: Path  # nights 1 and 2
    baseline: Path  # a store with night 1 published (SDTM and ADaM)
    sdtm_done: Path  # that store after night 2's SDTM job: what the ADaM job starts from
    expected: dict[str, str]  # night 2's published outputs, uninterrupted


@pytest.fixture(scope="module")
def nights(night_two: NightTwo) -> Nights:
    """Night 1 is the session's sample and its SDTM + ADaM publication (what `cdisc run`
    makes of it), night 2 the session's `night_two` (its SDTM job and uninterrupted outputs
    computed once per session), all shared read-only."""
    expected = _outputs(night_two.published.parent.parent)
    return Nights(night_two.landing, night_two.baseline, night_two.sdtm_done, expected)


def _kill_points() -> list[tuple[str, int, float]]:
    """(job, its progress lines to wait for, then seconds before SIGKILL): every step of
    the study's SDTM and ADaM jobs (one progress line each) that is not one dataset's map,
    xpt or build, then seeded per-dataset steps up to KILLS points."""
    plans = jobs(read_study_info(SPECS / "study.yaml"), SPECS.parent)
    steps = [(j.kind, i, s) for j in plans for i, s in enumerate(j.steps)]
    per_dataset = [(kind, i) for kind, i, s in steps if s.group is not None]
    stages = [(kind, i) for kind, i, s in steps if s.group is None]
    rng = random.Random(SEED)
    points = stages + rng.sample(per_dataset, KILLS - len(stages))
    return [
        (kind, n, rng.uniform(0.0, 0.15))
        for kind, n in sorted(points, key=lambda p: (p[0] != "sdtm", p[1]))
    ]


@pytest.mark.parametrize("job, lines, delay", _kill_points())
def test_killed_run_then_rerun(
    nights: Nights, tmp_path: Path, job: str, lines: int, delay: float
) -> None:
    landing, expected = nights.landing, nights.expected
    store = tmp_path / "store"
    shutil.copytree(nights.baseline if job == "sdtm" else nights.sdtm_done, store, symlinks=True)
    log = tmp_path / "killed.log"
    with killable.launched(killable.cdisc, _argv(landing, store), log=log) as proc:
        progress, seen = killable.lines(proc, log), 0
        while seen < lines:
            line = next(progress, None)
            if line is None:
                break  # the run ended before the kill point
            seen += " s wall " in line
        time.sleep(delay)
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
    _assert_complete(store)

    _run(landing, store)  # the rerun
    _assert_complete(store)
    assert _outputs(store) == expected


def test_a_task_retried_after_a_crash_neither_duplicates_nor_loses(
    nights: Nights, tmp_path: Path
) -> None:
    """The DAG's tasks, in the job graph's order, run as Airflow would retry them: map LB
    killed mid-task, then retried; publish run twice (a retry after the switch). The
    outputs equal a clean run's."""
    from transforms.jobs.plan import Place
    from transforms.jobs.runner import run_adam, run_step, study_job
    from transforms.specs import load_study

    landing, expected = nights.landing, nights.expected
    store = tmp_path / "store"
    shutil.copytree(nights.baseline, store, symlinks=True)
    study = load_study("POMMAINT")
    plan, place = study_job(study, "sdtm"), Place(store, landing)
    run = None
    for step in plan.steps:
        if step.id == "lb.map":  # the attempt that dies half-way: lineage written, data not yet
            assert run is not None
            lineage = run.lineage("LB")
            log = tmp_path / "map_lb.log"
            with killable.launched(
                killable.map_dataset, str(run.path), "POMMAINT", "LB", log=log
            ) as proc:
                while not lineage.exists() and proc.is_alive():
                    time.sleep(0.005)
                assert proc.is_alive(), f"map LB ended before the kill ({proc.exitcode}): {log}"
                os.kill(proc.pid, signal.SIGKILL)
            assert proc.exitcode == -signal.SIGKILL
        run = run_step(plan, step, study, place, run)
        if step.id == plan.publishing:  # retried after it had switched
            assert (store / "POMMAINT" / "current").resolve() == run.path
            run_step(plan, step, study, place, run)
            assert (store / "POMMAINT" / "current").resolve() == run.path
    _assert_complete(store)
    run_adam(store, "POMMAINT")
    _assert_complete(store)
    assert _outputs(store) == expected
    lb = pd.read_parquet(store / "POMMAINT" / "current" / "sdtm" / "lb.parquet")
    assert not lb.duplicated(["USUBJID", "LBSEQ"]).any()

"""SIGKILL of a real `cdisc run` at seeded points in every stage, then a normal rerun:
`current` is always a complete run, and the rerun's output equals an uninterrupted run's,
byte for byte.

Night 1 is published first; night 2 (the site's late correction) is the run that is killed,
so a kill during publishing must leave night 1 (or, after the switch, night 2) whole.

The kill points form chains (three: the SDTM job's points dealt in turn to two, the ADaM
job's in one), each in the order of its job: the run after a kill is the next point's run,
a rerun that must get past the leftovers of every kill before it (a lock, half-written run
folders) to reach its own point, where it is killed in turn; after each kill `current` is
checked whole, and the last kill is followed by a complete rerun whose outputs must equal an
uninterrupted night's. Every point is still a SIGKILL of a real `cdisc run` in its stage;
a full rerun after every point (twenty full nights) cost more than half the suite's CPU.

Cost: the killed run is a process of its own (it has to be, to be killed), forked from a
server that imported the engine once per worker (tests/killable.py); the final rerun and the
uninterrupted reference run call the same CLI entry point in the test process. Night 1 is
the session's published sample. A chain in the ADaM job starts from the store as the ADaM
job finds it (night 2's SDTM published, night 1's ADaM): `cdisc run` then has no SDTM work
and goes straight to the ADaM job, as after any published SDTM night, so neither the killed
runs nor the rerun repeat the SDTM job first. The chains are independent tests: pytest-xdist
spreads them over the workers.
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
from transforms.jobs import journal
from transforms.jobs.plan import jobs
from transforms.store import RunFolder
from transforms.studies import read_study_info

KILLS = 20
SDTM_CHAINS = 2  # the SDTM job's kill points, dealt in turn to this many chains
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


def kill_chains() -> dict[str, list[tuple[str, int, float]]]:
    """The kill points (`_kill_points`, in their order) by chain: ``sdtm-1``, ``sdtm-2``, ...
    (the SDTM job's points dealt in turn, so each chain has early, middle and late ones) and
    ``adam``."""
    chains: dict[str, list[tuple[str, int, float]]] = {}
    sdtm = 0
    for point in _kill_points():
        if point[0] == "sdtm":
            name, sdtm = f"sdtm-{sdtm % SDTM_CHAINS + 1}", sdtm + 1
        else:
            name = point[0]
        chains.setdefault(name, []).append(point)
    return chains


def _kill(landing: Path, store: Path, lines: int, delay: float, log: Path) -> int | None:
    """A `cdisc run` SIGKILLed after `lines` progress lines and `delay` seconds; its exit
    code (``-SIGKILL`` when it was killed, else how it ended before its kill point)."""
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
    code: int | None = proc.exitcode
    return code


def _lines_left(store: Path, kind: str, lines: int) -> int:
    """The progress lines a rerun prints before the point an uninterrupted run reaches
    after `lines`: a rerun that goes on in a killed run's folder prints its first step's
    line, then one for each step it runs (those after the finished ones). The fingerprint
    and the input are the same in these tests: an unfinished run is gone on in."""
    run = journal.unfinished(store, "POMMAINT", kind)
    done = len(journal.steps_done(run)) if run is not None else 0
    return lines if done == 0 else max(lines - done, 0) + 1


@pytest.mark.parametrize("chain", sorted(kill_chains()))
def test_killed_runs_then_rerun(nights: Nights, tmp_path: Path, chain: str) -> None:
    """Each point of the chain kills a rerun after the kills before it; every run but the
    last must live to its kill point (the last may end first: a kill after publishing's
    switch, in that stage's last hundredths of a second); `current` is whole after each.
    A rerun goes on in the killed run's folder where that run had got to (the step cut
    short is run again), so the kill points are reached by way of every stage's retry."""
    landing, expected = nights.landing, nights.expected
    points = kill_chains()[chain]
    store = tmp_path / "store"
    start = nights.baseline if points[0][0] == "sdtm" else nights.sdtm_done
    shutil.copytree(start, store, symlinks=True)
    for n, (kind, lines, delay) in enumerate(points, start=1):
        log = tmp_path / f"killed_{n}.log"
        code = _kill(landing, store, _lines_left(store, kind, lines), delay, log)
        last = n == len(points)
        assert code == -signal.SIGKILL or (last and code == 0), (
            f"{chain} point {n} (after {lines} lines): the run ended before its kill point "
            f"with exit code {code}: {log.read_text(encoding='utf-8')[-3000:]}"
        )
        _assert_complete(store)

    killed = journal.unfinished(store, "POMMAINT", points[-1][0])
    _run(landing, store)  # the rerun
    _assert_complete(store)
    assert _outputs(store) == expected
    if killed is not None:  # it went on in the killed run's folder, not in a new one
        published = (store / "POMMAINT" / "current").resolve()
        made = published if points[-1][0] == "adam" else store / "POMMAINT" / "runs" / (
            RunFolder(published).manifest()["sdtm_run"])  # fmt: skip
        assert made == killed.path


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

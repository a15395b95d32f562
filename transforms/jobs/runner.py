"""Run a job outside Airflow: its steps one after another, in the plan's order, in this
process (``cdisc run``, the benchmark, the tests). The Airflow tasks call :func:`run_step`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from transforms.errors import RECORDED, NothingNew, UserError
from transforms.jobs import journal
from transforms.jobs.kit import log, thaw
from transforms.jobs.plan import Job, JobKind, Place, Step, job
from transforms.specs import StudySpec, load_study
from transforms.store import RunFolder, record_night, store_fault
from transforms.studies import read_study_info


def _callable(step: Step) -> Callable[..., Any]:
    module, _, name = step.call.partition(":")
    fn: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return fn


def _record(plan: Job, step: Step, place: Place, exc: Exception) -> None:
    state = "skipped" if isinstance(exc, NothingNew) else "failed"
    record_night(place.store, plan.study, {"job": plan.kind, "state": state, "stage": step.id,
                 "error": type(exc).__name__, "message": str(exc)})  # fmt: skip


def run_step(
    plan: Job, step: Step, study: StudySpec, place: Place | None, run: RunFolder | None
) -> RunFolder:
    """Call one step; return the run folder the next steps work in. The first step makes
    it (and may raise NothingNew); the others are given it."""
    fn = _callable(step)
    if step is plan.first:
        if place is None:
            raise ValueError(f"{plan.dag_id}: the first step {step.id} needs a Place")
        try:
            made: RunFolder = _faults_named(fn, study, place)
        except (NothingNew, UserError) as exc:
            if not any(note.startswith(RECORDED) for note in getattr(exc, "__notes__", ())):
                _record(plan, step, place, exc)  # no run folder says why: the night log does
            raise
        return made
    if run is None:
        raise ValueError(f"{plan.dag_id}: step {step.id} needs the run folder")
    _faults_named(fn, run, study, *step.args)
    return run


def _faults_named(fn: Callable[..., Any], *args: Any) -> Any:
    """Call `fn`; a file-system fault a person must fix (full, read-only: outside any stage,
    as when a run folder is made) becomes the StoreFault naming path and fault."""
    try:
        return fn(*args)
    except OSError as exc:
        fault = store_fault(exc)
        if fault is None:
            raise
        raise fault from exc


Failed = Callable[[Step, Exception, RunFolder | None], None]
"""Told of a step that failed (not of NothingNew): the step, its error and the run folder
(None when the first step failed before making it), after the run recorded the failure."""


def run_job(
    plan: Job, place: Place, study: StudySpec | None = None, failed: Failed | None = None
) -> Path:
    """Every step of the job in order; returns the published ``current`` link. Raises
    NothingNew (from the first step) when there is nothing to do, and any step's error
    (`failed` told of it first)."""
    study = study or load_study(plan.study)
    place = replace(place, resume=True)
    run: RunFolder | None = None
    done: list[str] = []
    try:
        for step in plan.steps:
            if step.id in done:
                continue  # finished by an earlier run of this folder, whose process died
            try:
                run = run_step(plan, step, study, place, run)
            except NothingNew:
                raise
            except Exception as exc:
                if run is not None:
                    journal.failed(run, step.id)
                if failed is not None:
                    failed(step, exc, run)
                raise
            if step is not plan.first:
                journal.finished(run, step.id)
            elif done := journal.steps_done(run):
                log.info("%s: going on in %s after its %d finished steps (%s)", plan.dag_id,
                         run.run_id, len(done), ", ".join(done))  # fmt: skip
            else:
                journal.begin(run, study, plan.kind, step.id)
    finally:
        thaw()
        if run is not None:
            journal.release(run)
    assert run is not None
    return run.study_dir / "current"


def study_job(study: StudySpec, kind: JobKind) -> Job:
    """The plan of one of a loaded study's jobs."""
    return job(read_study_info(study.path / "study.yaml"), kind, study.path.parent)


def run_sdtm(study_id: str, landing: Path, store: Path, force: bool = False) -> Path:
    """The nightly SDTM job of a study; returns the published ``current`` link."""
    study = load_study(study_id)
    return run_job(study_job(study, "sdtm"), Place(store, landing, force), study)


def run_adam(store: Path, study_id: str, force: bool = False) -> Path:
    """The ADaM job of a study on its published SDTM; returns the ``current`` link."""
    study = load_study(study_id)
    return run_job(study_job(study, "adam"), Place(store, force=force), study)

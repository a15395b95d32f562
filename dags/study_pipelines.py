"""The DAGs of every study folder in ``sdtm_specs/``: one per job of the study's plan (the
nightly SDTM load; the ADaM build that each SDTM publication triggers through an Asset).

This file only renders the engine's job graph (:mod:`transforms.jobs.plan`): one task per
step, a task group per dataset, wired by each step's ``after``. It names no stage and no
dataset, so a new dataset spec is a new task with no code change here, and ``cdisc run``
walks the very same graph. Nothing heavy is imported while the file is parsed (the engine
is imported inside the task).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from airflow.sdk import Asset, TaskGroup, dag, task

from transforms.jobs.plan import Job, jobs
from transforms.studies import StudyInfo, list_studies

DOC = {
    "sdtm": """
### {study}: nightly SDTM load

{title}

Picks the newest complete EDC export under `$CDISC_LANDING/{study}/`, snapshots it, maps
{datasets} ({first} first), writes verified XPT v5 files and publishes the run to
`$CDISC_STORE/{study}/current` only when every step has passed. A failed run leaves the
last good publication untouched; its listings are in the run folder's `reports/`.
Publishing emits the Asset `{emits}`, which schedules the study's ADaM DAG.
""",
    "adam": """
### {study}: ADaM from the published SDTM

Runs whenever the study's SDTM DAG publishes (Asset `{trigger}`). Makes a new run folder
from the published SDTM run, derives {datasets} into its `adam/` (XPT v5, Dataset-JSON and
Parquet) in the order of what each spec reads, writes the endpoint summary into
`reports/`, and switches `$CDISC_STORE/{study}/current` to it, unless a newer SDTM run was
published meanwhile (then it ends as skipped).
""",
}

DEFAULT_ARGS: dict[str, Any] = {
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "execution_timeout": timedelta(hours=2),
}


def _place() -> Any:
    from transforms.jobs.plan import Place

    return Place(
        store=Path(os.environ.get("CDISC_STORE", "data/store")),
        landing=Path(os.environ.get("CDISC_LANDING", "data/landing")),
    )


def _on_failure(study: str, context: Any) -> None:
    """Task failure callback: hand the essentials to the user's hook (CDISC_ON_FAILURE)."""
    from transforms.notify import notify_failure

    ti = context.get("ti")
    notify_failure(
        {
            "study": study,
            "dag_id": getattr(ti, "dag_id", None),
            "task_id": getattr(ti, "task_id", None),
            "run_id": getattr(ti, "run_id", None),
            "error": str(context.get("exception")),
        }
    )


@task
def run_step(study_id: str, kind: str, step_id: str, run_dir: str | None = None) -> str:
    """One step of a study's job; returns the run folder the next steps work in. A job
    with nothing to do (its input already published, or superseded) ends as skipped.

    Bad data or a bad spec (a gate's errors, conformance Reject/Error, a spec error, a
    broken export) fails the task at once: a retry would read the same input and fail the
    same way, only later. Anything else (the store's disk, the database, the network, an
    export still arriving) is retried as ``DEFAULT_ARGS`` say."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from transforms.errors import NothingNew, retry_helps
    from transforms.jobs.runner import run_step as run
    from transforms.jobs.runner import study_job
    from transforms.specs import load_study
    from transforms.store import RunFolder

    study = load_study(study_id)
    plan = study_job(study, "adam" if kind == "adam" else "sdtm")
    folder = RunFolder(Path(run_dir)) if run_dir else None
    try:
        return str(run(plan, plan.step(step_id), study, _place(), folder).path)
    except NothingNew as done:
        raise AirflowSkipException(f"nothing new: {done}") from done
    except Exception as exc:
        if retry_helps(exc):
            raise
        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc


def build_dag(study: StudyInfo, job: Job) -> object:
    @dag(
        dag_id=job.dag_id,
        schedule=[Asset(job.trigger)] if job.trigger else job.schedule,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        tags=["cdisc", job.kind, study.id],
        doc_md=DOC[job.kind].format(
            study=study.id,
            title=study.title,
            datasets=", ".join(job.datasets),
            first=job.datasets[0] if job.datasets else "-",
            emits=job.emits,
            trigger=job.trigger,
        ),
        default_args={**DEFAULT_ARGS, "on_failure_callback": partial(_on_failure, study.id)},
    )
    def render() -> None:
        groups: dict[str, TaskGroup] = {}
        tasks: dict[str, Any] = {}
        run_dir = None
        for step in job.steps:
            options: dict[str, Any] = {"task_id": step.name}
            if step.group is not None:
                if step.group not in groups:
                    groups[step.group] = TaskGroup(group_id=step.group)
                options["task_group"] = groups[step.group]
            if step.id == job.publishing and job.emits:
                options["outlets"] = [Asset(job.emits)]
            tasks[step.id] = run_step.override(**options)(study.id, job.kind, step.id, run_dir)
            if run_dir is None:  # the first step makes the run folder every other step uses
                run_dir = tasks[step.id]
            for upstream in step.after:
                tasks[upstream] >> tasks[step.id]

    return render()


for _study in list_studies():
    for _job in jobs(_study):
        globals()[_job.dag_id] = build_dag(_study, _job)

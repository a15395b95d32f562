"""The DAGs of every study folder in ``sdtm_specs/``: one per job of the study's plan (the
nightly SDTM load; the ADaM build that each SDTM publication triggers through an Asset).

This file only renders the engine's job graph (:mod:`transforms.jobs.plan`): one task per
step, a task group per dataset, wired by each step's ``after``. It names no stage and no
dataset, so a new dataset spec is a new task with no code change here, and ``cdisc run``
walks the very same graph. Nothing heavy is imported while the file is parsed (the engine
is imported inside the task).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import Asset, BaseSensorOperator, TaskGroup, dag, get_parsing_context, task

from transforms.alerts import night_start
from transforms.jobs.plan import FIRST_STEP, Job, Unplanned, every_job
from transforms.notifier import StudyAlert
from transforms.studies import Deadline, StudyInfo

log = logging.getLogger(__name__)

DOC = {
    "sdtm": """
### {study}: nightly SDTM load

{title}

{wait}Picks the newest complete EDC export under `$CDISC_LANDING/{study}/`, snapshots it, maps
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


class WaitForExport(BaseSensorOperator):
    """The night waits for a new complete export until the study's deadline (study.yaml
    ``deadline:``), then fails at once (no retry) and its notifier alerts: no export came.
    A night whose export another run published after the night began (a run triggered by
    hand before the scheduled one ran) has had its export: it goes on, and ends skipped.
    Rescheduled between pokes, so it holds no worker slot while it waits."""

    def __init__(self, *, study_id: str, deadline: Deadline, **kwargs: Any) -> None:
        kwargs.setdefault("mode", "reschedule")
        kwargs.setdefault("poke_interval", timedelta(minutes=5))
        kwargs.setdefault("timeout", timedelta(hours=24))
        super().__init__(**kwargs)
        self.study_id, self.deadline = study_id, deadline

    def poke(self, context: Any) -> bool:
        from airflow.sdk.exceptions import AirflowSensorTimeout

        from transforms.jobs.sdtm import export_arrived, published_since
        from transforms.specs import load_study

        study, place, start = load_study(self.study_id), _place(), night_start(context)
        if export_arrived(study, place) or published_since(study, place, start):
            return True  # (the latter: extract then ends as skipped, nothing new)
        due = self.deadline.after(start)
        if datetime.now(UTC) >= due:
            when = f"{self.deadline} ({due:%Y-%m-%d %H:%M} UTC)"
            raise AirflowSensorTimeout(f"{self.study_id}: no new complete export by {when}")
        return False


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


def _job_dag(
    dag_id: str, kind: str, study: str, schedule: str | None, trigger: str | None
) -> dict[str, Any]:
    """What the DAG of every job has: its id, its clock or the Asset that triggers it, one
    run at a time, no catching up."""
    return {
        "dag_id": dag_id,
        "schedule": [Asset(trigger)] if trigger else schedule,
        "start_date": datetime(2026, 1, 1, tzinfo=UTC),
        "catchup": False,
        "max_active_runs": 1,
        "tags": ["cdisc", kind, study],
    }


def build_dag(study: StudyInfo, job: Job) -> object:
    @dag(
        **_job_dag(job.dag_id, job.kind, study.id, job.schedule, job.trigger),
        doc_md=DOC[job.kind].format(
            study=study.id,
            title=study.title,
            datasets=", ".join(job.datasets),
            first=job.datasets[0] if job.datasets else "-",
            emits=job.emits,
            trigger=job.trigger,
            wait=(
                f"Waits for a new complete export until {study.deadline} (`wait_for_export`), "
                "then fails and alerts.\n"
                if study.deadline
                else ""
            ),
        ),
        # Alerts (transforms.notifier, transforms.alerts): on a failed task, and on a
        # publication with warnings.
        default_args={**DEFAULT_ARGS, "on_failure_callback": StudyAlert(study.id, "failure")},
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
            if step.id == job.publishing:
                options["on_success_callback"] = StudyAlert(study.id, "warnings")
                if job.emits:
                    options["outlets"] = [Asset(job.emits)]
            tasks[step.id] = run_step.override(**options)(study.id, job.kind, step.id, run_dir)
            if run_dir is None:  # the first step makes the run folder every other step uses
                run_dir = tasks[step.id]
                if job.kind == "sdtm" and study.deadline is not None:
                    WaitForExport(
                        task_id="wait_for_export", study_id=study.id, deadline=study.deadline,
                        on_failure_callback=StudyAlert(study.id, "deadline", study.deadline),
                    ) >> tasks[step.id]  # fmt: skip
            for upstream in step.after:
                tasks[upstream] >> tasks[step.id]

    return render()


@task
def cannot_plan(problem: str) -> None:
    """The one task of a job whose specs make no job graph: fails with what is wrong."""
    from airflow.sdk.exceptions import AirflowFailException

    raise AirflowFailException(problem)


def build_unplanned_dag(job: Unplanned) -> object:
    """The DAG of a job whose specs make no job graph: its id and clock or trigger kept, one
    task (the job's first step's id) that fails with the spec error and alerts."""

    @dag(
        **_job_dag(job.dag_id, job.kind, job.study, job.schedule, job.trigger),
        doc_md=f"### {job.study}: the specs make no job graph\n\n{job.problem}\n",
        default_args={"on_failure_callback": StudyAlert(job.study, "failure")},
    )
    def render() -> None:
        cannot_plan.override(task_id=FIRST_STEP[job.kind])(job.problem)

    return render()


# A worker running a task parses this file for that task's DAG alone (Airflow sets the
# parsing context): the other studies' and jobs' specs are not read. The DAG processor,
# with no context, makes every DAG; a study whose specs make no job graph costs its own
# DAG its tasks, not the other studies their DAGs.
for _made in every_job(get_parsing_context().dag_id):
    if isinstance(_made, Unplanned):
        log.error("%s: %s", _made.dag_id, _made.problem)
        globals()[_made.dag_id] = build_unplanned_dag(_made)
    else:
        globals()[_made[1].dag_id] = build_dag(*_made)

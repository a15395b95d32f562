"""Two DAGs per study, generated from ``sdtm_specs/<STUDY>/study.yaml``: the nightly SDTM
load, and the ADaM build that each SDTM publication triggers through an Asset.

Thin on purpose: each task calls one stage of ``transforms.pipeline`` and passes the run
folder on. Nothing heavy is imported while the file is parsed (pandas and the engine are
imported inside the tasks), so adding a study is adding specs, never DAG code.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from airflow.sdk import Asset, dag, task

from transforms.studies import StudyInfo, list_studies, sdtm_asset

DOC = """
### {id}: nightly SDTM load

{title}

Picks the newest complete EDC export under `$CDISC_LANDING/{id}/`, snapshots it, maps the
SDTM datasets ({datasets}; DM first), writes verified XPT v5 files and publishes the run to
`$CDISC_STORE/{id}/current` only when every stage has passed. A failed run leaves the last
good publication untouched; its issue listing is in the run folder's `reports/`.
Publishing emits the Asset `{asset}`, which schedules the study's ADaM DAG.
"""


def _landing() -> Path:
    return Path(os.environ.get("CDISC_LANDING", "data/landing"))


def _store() -> Path:
    return Path(os.environ.get("CDISC_STORE", "data/store"))


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


DEFAULT_ARGS: dict[str, Any] = {
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "execution_timeout": timedelta(hours=2),
}


def build_dag(study: StudyInfo) -> object:
    @dag(
        dag_id=f"{study.id.lower()}_sdtm_nightly",
        schedule=study.schedule,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        tags=["cdisc", "sdtm", study.id],
        doc_md=DOC.format(
            id=study.id,
            title=study.title,
            datasets=", ".join(study.sdtm),
            asset=sdtm_asset(study.id),
        ),
        default_args={**DEFAULT_ARGS, "on_failure_callback": partial(_on_failure, study.id)},
    )
    def nightly() -> None:
        @task
        def extract() -> str:
            from airflow.sdk.exceptions import AirflowSkipException

            from transforms import pipeline

            try:
                return str(pipeline.extract(study.id, _landing(), _store()))
            except pipeline.NothingNew as done:  # the run ends cleanly, nothing republished
                raise AirflowSkipException(f"nothing new: {done}") from done

        @task
        def validate(run_dir: str, gate: str) -> str:
            """A Great Expectations gate; its summary is in the log and reports/."""
            from transforms import pipeline

            pipeline.validate(Path(run_dir), "raw" if gate == "raw" else "sdtm")
            return run_dir

        @task
        def map_sdtm(run_dir: str, dataset: str) -> str:
            from transforms import pipeline

            pipeline.map_dataset(Path(run_dir), dataset)
            return run_dir

        @task
        def write_xpt(run_dir: str, dataset: str) -> list[str]:
            from transforms import pipeline

            return pipeline.write_xpt(Path(run_dir), dataset)

        @task
        def reconcile(run_dir: str) -> str:
            from transforms import pipeline

            pipeline.reconcile_run(Path(run_dir))
            return run_dir

        @task
        def define(run_dir: str) -> str:
            from transforms import pipeline

            pipeline.document_run(Path(run_dir))
            return run_dir

        @task(outlets=[Asset(sdtm_asset(study.id))])
        def publish(run_dir: str) -> str:
            from transforms import pipeline

            return str(pipeline.publish_run(Path(run_dir)))

        run_dir = validate.override(task_id="validate_raw")(extract(), "raw")
        first, *others = study.sdtm
        dm = map_sdtm.override(task_id=f"map_{first.lower()}")(run_dir, first)
        written = [write_xpt.override(task_id=f"xpt_{first.lower()}")(dm, first)]
        for name in others:
            mapped = map_sdtm.override(task_id=f"map_{name.lower()}")(dm, name)
            written.append(write_xpt.override(task_id=f"xpt_{name.lower()}")(mapped, name))
        accounted = reconcile(run_dir)
        for w in written:
            w >> accounted
        checked = validate.override(task_id="validate_sdtm")(accounted, "sdtm")
        publish(define(checked))

    return nightly()


ADAM_DOC = """
### {id}: ADaM from the published SDTM

Runs whenever the study's SDTM DAG publishes (Asset `{asset}`). Makes a new run folder from
the published SDTM run, derives {datasets} into its `adam/` (XPT v5, Dataset-JSON and
Parquet), writes the endpoint summary into `reports/`, and switches `$CDISC_STORE/{id}/current`
to it, unless a newer SDTM run was published meanwhile (then it ends as skipped).
"""


def build_adam_dag(study: StudyInfo) -> object:
    @dag(
        dag_id=f"{study.id.lower()}_adam",
        schedule=[Asset(sdtm_asset(study.id))],
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        tags=["cdisc", "adam", study.id],
        doc_md=ADAM_DOC.format(
            id=study.id, asset=sdtm_asset(study.id), datasets=", ".join(study.adam)
        ),
        default_args={**DEFAULT_ARGS, "on_failure_callback": partial(_on_failure, study.id)},
    )
    def adam() -> None:
        @task
        def start() -> str:
            from airflow.sdk.exceptions import AirflowSkipException

            from transforms.adam import stages
            from transforms.pipeline import NothingNew

            try:
                return str(stages.start(_store(), study.id))
            except NothingNew as done:
                raise AirflowSkipException(f"nothing new: {done}") from done

        @task
        def build(run_dir: str, dataset: str) -> str:
            from transforms.adam import stages

            stages.build(Path(run_dir), dataset)
            return run_dir

        @task
        def endpoints(run_dir: str) -> str:
            from transforms.adam import stages

            stages.endpoints(Path(run_dir))
            return run_dir

        @task
        def document(run_dir: str) -> str:
            from transforms.adam import stages

            stages.document(Path(run_dir))
            return run_dir

        @task
        def publish(run_dir: str) -> str:
            from airflow.sdk.exceptions import AirflowSkipException

            from transforms.adam import stages

            try:
                return str(stages.publish_run(Path(run_dir)))
            except stages.Superseded as stale:
                raise AirflowSkipException(str(stale)) from stale

        # ADSL first; time-to-event datasets (named ADTTE*) last, after what they read.
        run_dir = start()
        first, *others = study.adam
        done = build.override(task_id=f"build_{first.lower()}")(run_dir, first)
        middle = [n for n in others if not n.startswith("ADTTE")]
        last = [n for n in others if n.startswith("ADTTE")]
        built = [build.override(task_id=f"build_{n.lower()}")(done, n) for n in middle]
        final = [build.override(task_id=f"build_{n.lower()}")(done, n) for n in last]
        for upstream in built:
            for downstream in final:
                upstream >> downstream
        summarised = endpoints(run_dir)
        for task_ in [done, *built, *final]:
            task_ >> summarised
        publish(document(summarised))

    return adam()


for _study in list_studies():
    globals()[f"{_study.id.lower()}_sdtm_nightly"] = build_dag(_study)
    if _study.adam:
        globals()[f"{_study.id.lower()}_adam"] = build_adam_dag(_study)

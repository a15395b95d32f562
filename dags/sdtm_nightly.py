"""One nightly SDTM DAG per study, generated from ``sdtm_specs/<STUDY>/study.yaml``.

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

from airflow.sdk import dag, task

from transforms.studies import StudyInfo, list_studies

DOC = """
### {id}: nightly SDTM load

{title}

Picks the newest complete EDC export under `$CDISC_LANDING/{id}/`, snapshots it, maps the
SDTM datasets ({datasets}; DM first), writes verified XPT v5 files and publishes the run to
`$CDISC_STORE/{id}/current` only when every stage has passed. A failed run leaves the last
good publication untouched; its issue listing is in the run folder's `reports/`.
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


def build_dag(study: StudyInfo) -> object:
    @dag(
        dag_id=f"{study.id.lower()}_sdtm_nightly",
        schedule=study.schedule,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        tags=["cdisc", "sdtm", study.id],
        doc_md=DOC.format(id=study.id, title=study.title, datasets=", ".join(study.sdtm)),
        default_args={
            "retries": 2,
            "retry_delay": timedelta(minutes=2),
            "retry_exponential_backoff": True,
            "execution_timeout": timedelta(hours=2),
            "on_failure_callback": partial(_on_failure, study.id),
        },
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
        def publish(run_dir: str) -> str:
            from transforms import pipeline

            return str(pipeline.publish_run(Path(run_dir)))

        run_dir = extract()
        first, *others = study.sdtm
        dm = map_sdtm.override(task_id=f"map_{first.lower()}")(run_dir, first)
        written = [write_xpt.override(task_id=f"xpt_{first.lower()}")(dm, first)]
        for name in others:
            mapped = map_sdtm.override(task_id=f"map_{name.lower()}")(dm, name)
            written.append(write_xpt.override(task_id=f"xpt_{name.lower()}")(mapped, name))
        accounted = reconcile(run_dir)
        for w in written:
            w >> accounted
        publish(accounted)

    return nightly()


for _study in list_studies():
    globals()[f"{_study.id.lower()}_sdtm_nightly"] = build_dag(_study)

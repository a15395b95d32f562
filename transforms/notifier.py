"""Airflow's notifier of a study's alerts (:mod:`transforms.alerts` says what and
where): the DAGs' task callbacks. Apart from :mod:`transforms.alerts` so that ``cdisc run``
sends the same alerts without importing Airflow."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from airflow.sdk import BaseNotifier

from transforms.alerts import (
    announce,
    announce_failure,
    announce_warnings,
    deadline_alert,
    night_start,
)
from transforms.studies import Deadline


def _timed_out(context: Mapping[str, Any]) -> bool:
    """Whether the failure is the wait's deadline passing (not, say, the store's disk)."""
    from airflow.sdk.exceptions import AirflowSensorTimeout

    error = context.get("exception")
    return error is None or isinstance(error, AirflowSensorTimeout)


# --- the Airflow notifier ----------------------------------------------------------------


class StudyAlert(BaseNotifier):
    """Airflow's notifier of a study's alerts, for a task's callbacks: ``failure`` (on
    failure), ``warnings`` (on the publishing task's success: sent only when the published
    run has warnings), ``deadline`` (on failure of the wait for the night's export: its
    deadline passed; any other error of the wait is a failure alert). The
    store is $CDISC_STORE, read when the alert is sent."""

    def __init__(self, study: str, kind: str, deadline: Deadline | None = None) -> None:
        super().__init__()
        if kind not in ("failure", "warnings", "deadline"):
            raise ValueError(f"unknown alert kind {kind!r}")
        self.study, self.kind, self.deadline = study, kind, deadline

    def __repr__(self) -> str:
        return f"StudyAlert({self.study}, {self.kind})"

    def notify(self, context: Any) -> None:
        store = Path(os.environ.get("CDISC_STORE", "data/store"))
        ti = context.get("ti")
        if self.kind == "warnings":
            run_dir = ti.xcom_pull(task_ids=ti.task_id) if ti is not None else None
            if run_dir:
                announce_warnings(self.study, Path(run_dir), context)
        elif self.kind == "deadline" and self.deadline is not None and _timed_out(context):
            due = self.deadline.after(night_start(context))
            announce(deadline_alert(self.study, self.deadline, due, store), context)
        else:  # the alert, and the Python hook of CDISC_ON_FAILURE, if set
            announce_failure(
                self.study, store, dag_id=str(getattr(ti, "dag_id", "")),
                task_id=str(getattr(ti, "task_id", "")), run_id=str(getattr(ti, "run_id", "")),
                error=str(context.get("exception") or ""), context=context,
            )  # fmt: skip

"""What a data manager is told, and through which channels: a failed night, a publication
with warnings, no new export by the study's deadline (issue 21.3).

Each alert is a subject and the one-screen text (the quality gates' summaries and the
nights since the publication, :mod:`transforms.status`). The channels are Airflow
connections, named in the environment (``.env`` in compose); nothing configured, nothing
sent:

- ``CDISC_ALERT_EMAIL_TO`` (comma-separated addresses): e-mail through the SMTP provider's
  ``SmtpNotifier`` over the connection ``CDISC_ALERT_SMTP_CONN_ID`` (default
  ``smtp_default``), from ``CDISC_ALERT_EMAIL_FROM`` (default: the connection's sender);
- ``CDISC_ALERT_SLACK_CONN_ID``: Slack through the Slack provider's
  ``SlackWebhookNotifier`` over that incoming-webhook connection.

Imports nothing heavy (no Airflow, no pandas, no provider until an alert is sent): the DAG
file builds its notifiers (:class:`transforms.notifier.StudyAlert`) from it while it is
parsed, and ``cdisc run`` (no Airflow) sends the same alerts through :func:`announce_failure`
and :func:`announce_warnings`; the providers, and through them Airflow, are imported only to
send, so their connections (``AIRFLOW_CONN_<ID>`` in the environment, or Airflow's database)
serve the command too.
"""

from __future__ import annotations

import csv
import html
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from transforms.notify import notify_failure, redact
from transforms.studies import Deadline

log = logging.getLogger("cdisc.alerts")

GATES = ("raw", "sdtm")
LISTINGS = ("quality_raw.csv", "quality_sdtm.csv", "conformance.csv")
ERROR_LINES = 20  # of a failure's message (the first rows it names)


@dataclass(frozen=True)
class Alert:
    subject: str
    text: str


# --- what is said ------------------------------------------------------------------------


def gate_summaries(run_dir: Path) -> str:
    """The quality gates' one-screen summaries a run wrote (reports/quality_<gate>.txt)."""
    texts = [
        path.read_text(encoding="utf-8").rstrip()
        for gate in GATES
        for path in [run_dir / "reports" / f"quality_{gate}.txt"]
        if path.exists()
    ]
    return "\n\n".join(texts)


def warning_count(run_dir: Path) -> dict[str, int]:
    """Per listing (quality gates, conformance), its warning rows; listings without any
    left out."""
    counts: dict[str, int] = {}
    for name in LISTINGS:
        path = run_dir / "reports" / name
        if not path.exists():
            continue
        with path.open(encoding="utf-8", newline="") as handle:
            found = sum(
                1 for row in csv.DictReader(handle) if row.get("severity", "").lower() == "warning"
            )
        if found:
            counts[name] = found
    return counts


def _failed_run(study: str, store: Path) -> Path | None:
    """The run folder of the study's newest night, when that night failed."""
    from transforms.status import nights

    _, since = nights(store, study)
    last = since[-1] if since else None
    if last is None or last.state != "failed" or not last.run:
        return None
    return store / study / "runs" / last.run


def failure_alert(
    study: str, store: Path, *, dag_id: str, task_id: str, run_id: str, error: str
) -> Alert:
    """A task failed: where, why (the first lines of its message), the failed run's gate
    summaries and the nights since the publication (which stays untouched)."""
    lines = error.strip().splitlines() or ["(no message)"]
    reason = "\n".join(lines[:ERROR_LINES])
    if len(lines) > ERROR_LINES:
        reason += f"\n... ({len(lines) - ERROR_LINES} more line(s) in the task log)"
    parts = [
        f"{study}: {dag_id} failed at {task_id} (DAG run {run_id}). The published outputs "
        "are untouched.",
        f"reason:\n{reason}",
    ]
    from transforms.status import describe

    failed = _failed_run(study, store)
    if failed is not None and (summaries := gate_summaries(failed)):
        parts.append(summaries)
    parts.append(describe(study, store))
    return Alert(f"[cdisc] {study}: {dag_id} failed at {task_id}", "\n\n".join(parts))


def warnings_alert(study: str, run_dir: Path) -> Alert | None:
    """A publication with warnings (quality gates or conformance): what and where; None
    when it has none."""
    counts = warning_count(run_dir)
    if not counts:
        return None
    listed = ", ".join(f"{name} {n}" for name, n in counts.items())
    parts = [
        f"{study}: run {run_dir.name} is published with warnings (rows: {listed}); "
        f"listings in {run_dir / 'reports'}.",
    ]
    if summaries := gate_summaries(run_dir):
        parts.append(summaries)
    return Alert(f"[cdisc] {study}: published with warnings", "\n\n".join(parts))


def deadline_alert(study: str, deadline: Deadline, due: datetime, store: Path) -> Alert:
    """No new complete export by the deadline: the night did not run."""
    from transforms.status import describe

    text = (
        f"{study}: no new complete export had arrived by {deadline} ({due:%Y-%m-%d %H:%M} "
        "UTC); the night did not run and the published outputs are unchanged. An export "
        "that arrives later is taken by the next night (or a manual run).\n\n"
        + describe(study, store)
    )
    return Alert(f"[cdisc] {study}: no export by {deadline}", text)


def night_start(context: Mapping[str, Any]) -> datetime:
    """When a DAG run's night began: the end of its data interval (a nightly run's
    scheduled time), else its logical date, else now (a run triggered by hand)."""
    start = context.get("data_interval_end") or context.get("logical_date")
    return start if isinstance(start, datetime) else datetime.now(UTC)


# --- where it goes -----------------------------------------------------------------------

Channel = Callable[[Alert, Mapping[str, Any]], None]


def _email(to: list[str], conn_id: str, sender: str | None) -> Channel:
    def send(alert: Alert, context: Mapping[str, Any]) -> None:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        body = f"<pre>{html.escape(alert.text)}</pre>"
        notifier = SmtpNotifier(to=to, from_email=sender, subject=alert.subject,
                                html_content=body, smtp_conn_id=conn_id)  # fmt: skip
        notifier.notify(dict(context))  # type: ignore[arg-type]

    return send


def _slack(conn_id: str) -> Channel:
    def send(alert: Alert, context: Mapping[str, Any]) -> None:
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        text = f"*{alert.subject}*\n```\n{alert.text}\n```"
        SlackWebhookNotifier(slack_webhook_conn_id=conn_id, text=text).notify(dict(context))

    return send


def channels() -> dict[str, Channel]:
    """The configured channels by name (empty: no alert is sent)."""
    found: dict[str, Channel] = {}
    to = [a.strip() for a in os.environ.get("CDISC_ALERT_EMAIL_TO", "").split(",") if a.strip()]
    if to:
        conn = os.environ.get("CDISC_ALERT_SMTP_CONN_ID", "").strip() or "smtp_default"
        sender = os.environ.get("CDISC_ALERT_EMAIL_FROM", "").strip() or None
        found[f"email {conn}"] = _email(to, conn, sender)
    if slack := os.environ.get("CDISC_ALERT_SLACK_CONN_ID", "").strip():
        found[f"slack {slack}"] = _slack(slack)
    return found


def configured() -> bool:
    """Whether a failure is told anywhere: a channel, or the ``CDISC_ON_FAILURE`` hook."""
    return bool(channels()) or bool(os.environ.get("CDISC_ON_FAILURE", "").strip())


def send(alert: Alert, context: Mapping[str, Any] | None = None) -> list[str]:
    """Send `alert` through every configured channel; the names of those that took it. A
    channel that fails is logged (credentials masked), never raised: an alert must not
    hide, or replace, the failure it reports."""
    sent = []
    for name, channel in channels().items():
        try:
            channel(alert, context or {})
            sent.append(name)
        except Exception as exc:  # noqa: BLE001  any error of a provider or its server
            log.error("alert %r not sent through %s: %s", alert.subject, name, redact(str(exc)))
    return sent


def announce(alert: Alert, context: Mapping[str, Any] | None = None) -> list[str]:
    """:func:`send`, and log through which channels."""
    sent = send(alert, context)
    log.info("alert %r sent through %s", alert.subject, ", ".join(sent) or "no channel")
    return sent


def announce_failure(
    study: str, store: Path, *, dag_id: str, task_id: str, run_id: str, error: str,
    context: Mapping[str, Any] | None = None,
) -> Alert:  # fmt: skip
    """A failed step: its :func:`failure_alert` through every channel, and the event (with
    that text as ``summary``) to the ``CDISC_ON_FAILURE`` hook. Returns the alert."""
    alert = failure_alert(study, store, dag_id=dag_id, task_id=task_id, run_id=run_id,
                          error=error)  # fmt: skip
    announce(alert, context)
    notify_failure({"study": study, "dag_id": dag_id, "task_id": task_id, "run_id": run_id,
                    "error": error, "summary": alert.text})  # fmt: skip
    return alert


def announce_warnings(
    study: str, run_dir: Path, context: Mapping[str, Any] | None = None
) -> Alert | None:
    """A publication: its :func:`warnings_alert` through every channel, if it has
    warnings. Returns the alert (None: none)."""
    alert = warnings_alert(study, run_dir)
    if alert is not None:
        announce(alert, context)
    return alert

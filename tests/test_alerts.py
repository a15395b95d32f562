"""Alerts (issue 21.3): the deadline a study declares, and what the Airflow notifier sends
through the SMTP and Slack providers' notifiers, over fake connections whose clients
record what they were given instead of reaching a server."""

from __future__ import annotations

import email
import html
import json
import logging
from datetime import UTC, datetime, time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from tests.conftest import ROOT, copy_study_specs
from transforms.alerts import channels, send, warnings_alert
from transforms.errors import SpecError
from transforms.notifier import StudyAlert
from transforms.studies import Deadline, list_studies, read_deadline
from transforms.yamlfile import Entry

STUDY = "POMMAINT"
RUN = "20261123T020500Z-20261123T020000Z"
GATE_SUMMARY = (
    "Quality gate raw - POMMAINT run " + RUN + "\n"
    "FAILED: 1 error and 0 warning expectation(s) failed (0.4 s)\n"
    "failed:\n  error   AE     AESEV  AESEV  2 row(s)  not a term of codelist C66769"
)
WARN_SUMMARY = "Quality gate sdtm - POMMAINT\nPASSED: 0 error and 1 warning expectation(s) failed"
LISTING_HEAD = "source,severity,rule,dataset,file,row,seq,subject,site,variable,value,message\n"


# --- the deadline of study.yaml ----------------------------------------------------------


def test_deadline_is_read_and_follows_summer_time() -> None:
    where = Entry("study.yaml") / "deadline"
    paris = read_deadline({"time": "06:00", "timezone": "Europe/Paris"}, where)
    assert paris == Deadline(time(6, 0), "Europe/Paris")
    assert str(paris) == "06:00 Europe/Paris"
    # a 02:00 UTC night: 06:00 in Paris is 05:00 UTC in winter (CET), 04:00 in summer (CEST)
    assert paris.after(datetime(2026, 1, 15, 2, tzinfo=UTC)) == datetime(2026, 1, 15, 5, tzinfo=UTC)
    assert paris.after(datetime(2026, 7, 15, 2, tzinfo=UTC)) == datetime(2026, 7, 15, 4, tzinfo=UTC)
    # started after the day's deadline: the next day's
    assert paris.after(datetime(2026, 1, 15, 6, tzinfo=UTC)) == datetime(2026, 1, 16, 5, tzinfo=UTC)
    assert read_deadline(None, where) is None


@pytest.mark.parametrize(
    ("value", "entry", "says"),
    [
        ({"time": "6:00", "timezone": "UTC"}, "deadline.time", "HH:MM"),
        ({"time": "24:00", "timezone": "UTC"}, "deadline.time", "HH:MM"),
        ({"time": 600, "timezone": "UTC"}, "deadline.time", "HH:MM"),
        ({"time": "06:00", "timezone": "Mars/Olympus"}, "deadline.timezone", "IANA time zone"),
        ({"time": "06:00"}, "deadline", "timezone"),
        ({"time": "06:00", "timezone": "UTC", "grace": 5}, "deadline", "grace"),
        ("06:00", "deadline", "mapping"),
    ],
)
def test_a_bad_deadline_is_named(value: object, entry: str, says: str) -> None:
    with pytest.raises(SpecError) as raised:
        read_deadline(value, Entry("sdtm_specs/X/study.yaml") / "deadline")
    assert f"sdtm_specs/X/study.yaml: {entry}" in str(raised.value)
    assert says in str(raised.value)


def test_the_study_specs_declare_and_check_the_deadline(tmp_path: Path) -> None:
    pommaint = {s.id: s for s in list_studies()}[STUDY]
    assert pommaint.deadline == Deadline(time(12, 0), "Asia/Shanghai")
    root = copy_study_specs(tmp_path, STUDY)
    path = root / STUDY / "study.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('time: "12:00"', 'time: "12h00"'), encoding="utf-8")
    with pytest.raises(SpecError, match=r"study.yaml: deadline.time: '12h00' must be"):
        list_studies(root)


# --- the notifier, over fake connections ---------------------------------------------------


class FakeSMTP:
    """smtplib.SMTP as the SMTP hook uses it; records the messages instead of sending."""

    sent: ClassVar[list[tuple[str, list[str], str]]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def login(self, user: str, password: str) -> None:
        pass

    def sendmail(self, from_addr: str, to_addrs: list[str], msg: str) -> None:
        FakeSMTP.sent.append((from_addr, to_addrs, msg))

    def close(self) -> None:
        pass


@pytest.fixture
def outbox(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """E-mail and Slack configured through Airflow connections in the environment, their
    clients replaced: what each would have sent."""
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook
    from airflow.providers.smtp.hooks import smtp

    smtp_conn = {"conn_type": "smtp", "host": "127.0.0.1", "port": 2525, "login": "dm",
                 "password": "pw", "extra": {"disable_ssl": True, "disable_tls": True}}  # fmt: skip
    slack_conn = {"conn_type": "slackwebhook", "password": "https://hooks.slack.invalid/T/B/x"}
    monkeypatch.setenv("AIRFLOW_CONN_CDISC_SMTP", json.dumps(smtp_conn))
    monkeypatch.setenv("AIRFLOW_CONN_CDISC_SLACK", json.dumps(slack_conn))
    monkeypatch.setenv("CDISC_ALERT_SMTP_CONN_ID", "cdisc_smtp")
    monkeypatch.setenv("CDISC_ALERT_EMAIL_TO", "dm@example.org, lead@example.org")
    monkeypatch.setenv("CDISC_ALERT_EMAIL_FROM", "pipeline@example.org")
    monkeypatch.setenv("CDISC_ALERT_SLACK_CONN_ID", "cdisc_slack")
    FakeSMTP.sent = []
    monkeypatch.setattr(smtp.smtplib, "SMTP", FakeSMTP)
    slack: list[dict[str, Any]] = []

    def post(self: SlackWebhookHook, **kwargs: Any) -> Any:
        slack.append({"conn": self.slack_webhook_conn_id, **kwargs})
        return SimpleNamespace(status_code=200, api_url="fake")

    monkeypatch.setattr(SlackWebhookHook, "send", post)
    return {"email": FakeSMTP.sent, "slack": slack}


def _failed_night(store: Path) -> Path:
    run = store / STUDY / "runs" / RUN
    (run / "reports").mkdir(parents=True)
    (run / "reports" / "quality_raw.txt").write_text(GATE_SUMMARY + "\n", encoding="utf-8")
    failure = {"stage": "validate raw", "error": "QualityGateError", "message": "1 error"}
    (run / "reports" / "failure.json").write_text(json.dumps(failure), encoding="utf-8")
    return run


def test_a_failure_alert_carries_the_summary_by_email_and_slack(
    outbox: dict[str, list[Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    _failed_night(store)
    monkeypatch.setenv("CDISC_STORE", str(store))
    ti = SimpleNamespace(dag_id="pommaint_sdtm_nightly", task_id="validate_raw", run_id="r1")
    error = "quality gate raw: 1 error expectation(s) failed\nae.csv row 3 column AESEV"
    StudyAlert(STUDY, "failure").notify({"ti": ti, "exception": RuntimeError(error)})

    [(sender, to, message)] = outbox["email"]
    assert sender == "pipeline@example.org"
    assert to == ["dm@example.org", "lead@example.org"]
    assert "Subject: [cdisc] POMMAINT: pommaint_sdtm_nightly failed at validate_raw" in message
    [part] = [
        p for p in email.message_from_string(message).walk() if p.get_content_type() == "text/html"
    ]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    body = payload.decode("utf-8")
    assert html.escape(GATE_SUMMARY) in body and "ae.csv row 3 column AESEV" in body
    [posted] = outbox["slack"]
    assert posted["conn"] == "cdisc_slack"
    text = posted["text"]
    assert text.startswith("*[cdisc] POMMAINT: pommaint_sdtm_nightly failed at validate_raw*")
    assert "ae.csv row 3 column AESEV" in text  # the reason
    assert GATE_SUMMARY in text  # the failed run's gate summary
    assert f"{RUN}\n      at validate raw: QualityGateError: 1 error" in text  # the nights


def test_a_publication_with_warnings_is_announced_and_one_without_is_not(
    outbox: dict[str, list[Any]], tmp_path: Path
) -> None:
    run = tmp_path / RUN
    (run / "reports").mkdir(parents=True)
    (run / "reports" / "quality_sdtm.txt").write_text(WARN_SUMMARY, encoding="utf-8")
    clean = LISTING_HEAD + "sdtm-gate,error,KEY,AE,sdtm/ae.parquet,4,,S1,1,AESEQ,1,dup\n"
    (run / "reports" / "quality_sdtm.csv").write_text(clean, encoding="utf-8")
    ti = SimpleNamespace(task_id="publish", xcom_pull=lambda task_ids: str(run))
    StudyAlert(STUDY, "warnings").notify({"ti": ti})
    assert outbox == {"email": [], "slack": []}  # an error row is no warning

    warned = LISTING_HEAD + "".join(
        f"conformance,Warning,CT2002,RS,,{n},,S1,,RSORRES,ISS,extensible codelist\n" for n in (1, 2)
    )
    (run / "reports" / "conformance.csv").write_text(warned, encoding="utf-8")
    StudyAlert(STUDY, "warnings").notify({"ti": ti})
    [posted] = outbox["slack"]
    assert f"run {RUN} is published with warnings (rows: conformance.csv 2)" in posted["text"]
    assert WARN_SUMMARY in posted["text"]
    assert "Subject: [cdisc] POMMAINT: published with warnings" in outbox["email"][0][2]


def test_the_deadline_alert_says_by_when(outbox: dict[str, list[Any]], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("CDISC_STORE", str(tmp_path))
    deadline = Deadline(time(12, 0), "Asia/Shanghai")
    night = datetime(2026, 11, 23, 2, tzinfo=UTC)
    StudyAlert(STUDY, "deadline", deadline).notify({"data_interval_end": night, "ti": None})
    text = outbox["slack"][0]["text"]
    assert "*[cdisc] POMMAINT: no export by 12:00 Asia/Shanghai*" in text
    assert "by 12:00 Asia/Shanghai (2026-11-23 04:00 UTC)" in text
    # the wait failing otherwise (the landing's disk) is not reported as a missed deadline
    ti = SimpleNamespace(dag_id="pommaint_sdtm_nightly", task_id="wait_for_export", run_id="r")
    context = {"data_interval_end": night, "ti": ti, "exception": OSError(5, "I/O error")}
    StudyAlert(STUDY, "deadline", deadline).notify(context)
    assert outbox["slack"][1]["text"].startswith(
        "*[cdisc] POMMAINT: pommaint_sdtm_nightly failed at wait_for_export*"
    )


def test_nothing_configured_nothing_sent(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("CDISC_ALERT_EMAIL_TO", "CDISC_ALERT_SLACK_CONN_ID", "CDISC_ON_FAILURE"):
        monkeypatch.delenv(name, raising=False)
    assert channels() == {}
    run = tmp_path / RUN
    (run / "reports").mkdir(parents=True)
    (run / "reports" / "quality_sdtm.csv").write_text(
        LISTING_HEAD + "sdtm-gate,warning,KEY,AE,f,1,,S1,1,V,1,m\n", encoding="utf-8"
    )
    alert = warnings_alert(STUDY, run)
    assert alert is not None and send(alert) == []


def test_a_channel_that_fails_is_logged_not_raised(
    outbox: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

    def down(self: SlackWebhookHook, **kwargs: Any) -> Any:
        raise ConnectionError("https://user:secret@hooks.slack.invalid unreachable")

    monkeypatch.setattr(SlackWebhookHook, "send", down)
    alert = warnings_alert(STUDY, ROOT / "no such run")
    assert alert is None
    from transforms.alerts import Alert

    with caplog.at_level(logging.ERROR, logger="cdisc.alerts"):
        assert send(Alert("s", "t")) == ["email cdisc_smtp"]
    assert "not sent through slack cdisc_slack" in caplog.text
    assert "secret" not in caplog.text

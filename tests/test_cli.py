"""The `cdisc` command: help everywhere, progress lines, clear errors, no tracebacks."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from transforms import __version__
from transforms.cli import main
from transforms.specs import load_study

CDISC = Path(sys.executable).parent / "cdisc"
CDISC_SAMPLE = Path(sys.executable).parent / "cdisc-sample"


@pytest.mark.parametrize("args", [[], ["run"], ["where"], ["status"], ["to-dataset-json"]])
def test_help_everywhere(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--help"])
    assert exit_.value.code == 0
    assert "usage: cdisc" in capsys.readouterr().out


def test_sample_then_run_with_progress_lines(tmp_path: Path) -> None:
    landing, store = tmp_path / "landing", tmp_path / "store"
    sample = subprocess.run(
        [CDISC_SAMPLE, "--study", "POMMAINT", "--subjects", "4", "--seed", "3",
         "--out", landing, "--export-time", "2026-11-20T02:00:00Z"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert (landing / "POMMAINT" / "20261120T020000Z" / "export.json").exists()
    assert "20261120T020000Z" in sample.stdout
    run = subprocess.run(
        [CDISC, "run", "--study", "POMMAINT", "--landing", landing, "--store", store],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    progress = [line for line in run.stderr.splitlines() if " s wall " in line]
    stages = [line.split()[1] for line in progress]
    # DM first; once the other datasets are mapped, DM is completed (RFPENDTC) and written,
    # and SE (its last element ends at RFPENDTC) mapped; SV after the datasets with visits.
    assert stages == [
        "extract", "reconcile", "validate", "map", *["map", "xpt"] * 22, "map", "complete",
        "xpt", "map", "xpt", "xpt", "reconcile", "validate", "define", "conformance", "publish",
        "start", *["adam"] * 6, "endpoints", "define", "conformance", "publish",
    ]  # fmt: skip
    # each line says what it counts: records for datasets, expectations for the gates
    assert " map AE       records      in " in run.stderr
    assert re.search(r" validate raw expectations in +\d+  passed +\d+ ", run.stderr)
    assert f"published: {store / 'POMMAINT' / 'current'}" in run.stdout
    # each gate's summary once: at the end, after where the outputs are
    for gate in ("raw", "sdtm"):
        assert run.stdout.count(f"Quality gate {gate} - POMMAINT") == 1
        assert f"Quality gate {gate} - POMMAINT" not in run.stderr
    assert run.stdout.rstrip().endswith("gx_docs/sdtm/index.html")
    where = subprocess.run(
        [CDISC, "where", "--study", "POMMAINT", "--store", store],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "dm.xpt" in where.stdout


def test_failure_is_one_clear_message(tmp_path: Path) -> None:
    (tmp_path / "landing" / "POMMAINT").mkdir(parents=True)
    run = subprocess.run(
        [CDISC, "run", "--study", "POMMAINT", "--landing", tmp_path / "landing",
         "--store", tmp_path / "store"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.startswith("cdisc run: error: ")
    assert "Traceback" not in run.stderr


def test_where_before_any_publication(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["where", "--study", "POMMAINT", "--store", str(tmp_path)]) == 1
    assert "nothing published yet" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "where", "status"])
def test_unknown_study_lists_the_known_ones(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--study", "NOPE", "--store", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"cdisc {command}: error: no specs for study NOPE (known: CDISCPILOT01, POMMAINT)\n"
    )


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"cdisc {__version__}\n"


def test_an_unknown_flag_after_the_command_is_named_by_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["status", "--study", "POMMAINT", "--colour"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("usage: cdisc status ")
    assert err[-1] == "cdisc status: error: unrecognized arguments: --colour"


@pytest.mark.parametrize(
    "argv, message",
    [
        ([CDISC_SAMPLE, "--study", "POMMAINT", "--subjects", "0", "--out", "x"],
         "cdisc-sample: error: argument --subjects: must be at least 1, got 0"),
        ([CDISC_SAMPLE, "--study", "POMMAINT", "--night", "two", "--out", "x"],
         "cdisc-sample: error: argument --night: 'two' is not a whole number"),
        ([CDISC_SAMPLE, "--study", "POMMAINT", "--subjects", "1", "--out", "/dev/null/x"],
         "cdisc-sample: error: [Errno 20] Not a directory: '/dev/null/x/POMMAINT'"),
        ([CDISC, "run", "--study", "POMMAINT", "--force", "--verbose"],
         "cdisc run: error: unrecognized arguments: --verbose"),
    ],
)  # fmt: skip
def test_bad_arguments_are_one_line_never_a_traceback(argv: list[str], message: str) -> None:
    run = subprocess.run(argv, capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.splitlines()[-1] == message
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("argv, code", [([CDISC, "status", "--study", "POMMAINT"], 1),
                                        ([CDISC, "--help"], 0), ([CDISC_SAMPLE, "--help"], 0)])  # fmt: skip
def test_output_into_a_closed_pipe_ends_quietly(argv: list[str], code: int, tmp_path: Path) -> None:
    """`cdisc ... | head -0`: the reader is gone before the first line is written (argparse
    itself ignores a closed pipe when it prints help)."""
    proc = subprocess.Popen(
        [*argv, "--store", tmp_path] if "status" in argv else argv,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == code
    assert err == ""


@pytest.fixture
def alerts(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The alerts `cdisc run` sends, through a fake channel standing for those the
    environment names (CDISC_ALERT_EMAIL_TO, CDISC_ALERT_SLACK_CONN_ID)."""
    from transforms import alerts as module

    sent: list[Any] = []
    monkeypatch.setattr(module, "channels", lambda: {"fake": lambda a, _: sent.append(a)})
    return sent


def test_a_failing_run_sends_the_dags_failure_alert(
    tmp_path: Path, alerts: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "landing" / "POMMAINT").mkdir(parents=True)  # no export
    code = main(["run", "--study", "POMMAINT", "--landing", str(tmp_path / "landing"),
                 "--store", str(tmp_path / "store")])  # fmt: skip
    assert code == 2 and capsys.readouterr().err.startswith("cdisc run: error: ")
    [alert] = alerts
    assert alert.subject == "[cdisc] POMMAINT: pommaint_sdtm_nightly failed at extract"
    assert alert.text.startswith(
        "POMMAINT: pommaint_sdtm_nightly failed at extract (DAG run cdisc run, no run folder). "
        "The published outputs are untouched.\n\nreason:\nExportNotReady: no export of POMMAINT"
    )
    # the nights since the publication, as `cdisc status` (the night log's line of it)
    assert "POMMAINT: nothing published yet under" in alert.text
    assert "SDTM  failed      (no run folder)\n      at extract: ExportNotReady" in alert.text


def test_a_spec_that_cannot_be_read_sends_the_failure_alert(
    tmp_path: Path,
    alerts: list[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A spec edit that breaks the study (here a dataset spec's YAML): `cdisc run` fails
    before any step, and says so through the alerts, as the DAG's first task would."""
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "sdtm_specs", specs)
    (specs / "POMMAINT" / "sdtm" / "ae.yaml").write_text("variables: [\n", encoding="utf-8")
    monkeypatch.setenv("CDISC_SPECS_DIR", str(specs))
    (tmp_path / "landing" / "POMMAINT").mkdir(parents=True)
    load_study.cache_clear()
    try:
        code = main(["run", "--study", "POMMAINT", "--landing", str(tmp_path / "landing"),
                     "--store", str(tmp_path / "store")])  # fmt: skip
    finally:
        load_study.cache_clear()
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("cdisc run: error: ") and "ae.yaml" in err
    [alert] = alerts
    assert alert.subject == "[cdisc] POMMAINT: pommaint_sdtm_nightly failed at extract"
    reason = alert.text.split("reason:\n", 1)[1]
    assert reason.startswith("SpecError: ") and "ae.yaml" in reason.splitlines()[0]


def _published_with_warnings(store: Path) -> Path:
    run = store / "POMMAINT" / "runs" / "r1"
    for sub in ("sdtm", "adam", "reports"):
        (run / sub).mkdir(parents=True)
    (run / "reports" / "conformance.csv").write_text(
        "source,severity,rule\nconformance,Warning,CT2002\n", encoding="utf-8"
    )
    (store / "POMMAINT" / "current").symlink_to(Path("runs") / "r1")
    return store / "POMMAINT" / "current"


def test_a_publication_with_warnings_is_announced_only_when_alerts_are_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each job's publication as the DAG's publishing task's callback says it; with no
    alert setting, nothing is sent (nor looked at)."""
    from transforms import alerts as module
    from transforms.jobs import runner

    link = _published_with_warnings(tmp_path / "store")
    monkeypatch.setattr(runner, "run_job", lambda *args: link)  # each job publishes r1
    for name in ("CDISC_ALERT_EMAIL_TO", "CDISC_ALERT_SLACK_CONN_ID", "CDISC_ON_FAILURE"):
        monkeypatch.delenv(name, raising=False)
    calls: list[Any] = []
    real_send = module.send

    def spy(*args: Any) -> list[str]:
        calls.append(args)
        return real_send(*args)

    monkeypatch.setattr(module, "send", spy)
    argv = ["run", "--study", "POMMAINT", "--store", str(tmp_path / "store")]
    assert main(argv) == 0
    assert calls == []
    sent: list[Any] = []
    monkeypatch.setattr(module, "channels", lambda: {"fake": lambda a, _: sent.append(a)})
    assert main(argv) == 0
    assert [a.subject for a in sent] == ["[cdisc] POMMAINT: published with warnings"] * 2
    assert "run r1 is published with warnings (rows: conformance.csv 1)" in sent[0].text
    capsys.readouterr()

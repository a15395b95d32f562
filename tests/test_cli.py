"""The `cdisc` command: help everywhere, progress lines, clear errors, no tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from transforms.cli import main

CDISC = Path(sys.executable).parent / "cdisc"
CDISC_SAMPLE = Path(sys.executable).parent / "cdisc-sample"


@pytest.mark.parametrize("args", [[], ["run"], ["where"], ["to-dataset-json"]])
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
    progress = [line for line in run.stderr.splitlines() if " rows in " in line]
    stages = [line.split()[1] for line in progress]
    # DM first; once the other datasets are mapped, DM is completed (RFPENDTC) and written,
    # and SE (its last element ends at RFPENDTC) mapped; SV after the datasets with visits.
    assert stages == [
        "extract", "reconcile", "validate", "map", *["map", "xpt"] * 16, "map", "complete",
        "xpt", "map", "xpt", "xpt", "reconcile", "validate", "define", "conformance", "publish",
        *["adam"] * 4, "endpoints", "define", "conformance", "publish",
    ]  # fmt: skip
    assert "rows in" in run.stderr and " s wall" in run.stderr
    assert f"published: {store / 'POMMAINT' / 'current'}" in run.stdout
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


def test_unknown_study_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--study", "NOPE", "--landing", str(tmp_path), "--store", str(tmp_path)])
    assert code == 2
    assert "no specs for study NOPE" in capsys.readouterr().err

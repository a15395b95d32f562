"""The nightly DAG: cheap to parse, generated per study, and runs end to end in Airflow."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.bench import airflow_env
from tests.conftest import EXPORT_TIME, ROOT

BIN = Path(sys.executable).parent
PARSE = """
import runpy, sys
ns = runpy.run_path("dags/study_pipelines.py")
heavy = sorted(m for m in ("pandas", "great_expectations", "numpy", "pyarrow", "pyreadstat")
               if m in sys.modules)
dags = {k: v for k, v in ns.items()
        if k.startswith("pommaint_") and k.endswith(("_sdtm_nightly", "_adam"))}
print(heavy)
for name, d in sorted(dags.items()):
    print(name, d.schedule, d.max_active_runs, d.catchup, sorted(d.task_dict))
"""


def _python(code: str, home: Path) -> list[str]:
    """The lines `code` prints, run by this Python in the repo with Airflow at `home`."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=airflow_env(home, home, home),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()


def test_parsing_imports_nothing_heavy(tmp_path: Path) -> None:
    out = _python(PARSE, tmp_path)
    assert out[0] == "[]", f"DAG parsing imported {out[0]}"
    assert out[1].startswith("pommaint_adam [Asset(name='pommaint_sdtm_published'")
    assert out[1].endswith(
        "1 False ['adae.build', 'adex.build', 'adlb.build', 'adrs.build', 'adsl.build', "
        "'adtte.build', 'conformance', 'define', 'endpoints', 'publish', 'start']"
    )
    assert out[2:] == [
        "pommaint_sdtm_nightly 0 2 * * * 1 False ['ae.map', 'ae.xpt', 'cm.map', 'cm.xpt', "
        "'conformance', 'dd.map', 'dd.xpt', 'define', 'dm.complete', 'dm.map', 'dm.xpt', "
        "'ds.map', 'ds.xpt', 'ex.map', 'ex.xpt', 'extract', 'gf.map', 'gf.xpt', 'ie.map', "
        "'ie.xpt', 'is.map', 'is.xpt', 'lb.map', 'lb.xpt', 'mb.map', 'mb.xpt', 'mh.map', "
        "'mh.xpt', 'pr.map', 'pr.xpt', 'publish', 'reconcile', 'reconcile_fields', "
        "'relrec.map', 'relrec.xpt', 'rp.map', 'rp.xpt', 'rs.map', 'rs.xpt', 'se.map', 'se.xpt', 'ss.map', 'ss.xpt', 'sv.map', "
        "'sv.xpt', 'ta.map', 'ta.xpt', 'te.map', 'te.xpt', 'ti.map', 'ti.xpt', 'ts.map', "
        "'ts.xpt', 'tv.map', 'tv.xpt', 'validate_raw', 'validate_sdtm', 'vs.map', 'vs.xpt', "
        "'wait_for_export']"
    ]


ONE_DAG = """
import runpy, sys
from airflow.sdk.definitions._internal.dag_parsing_context import (
    _airflow_parsing_context_manager,
)
from airflow.sdk import DAG
import transforms.yamlfile as yamlfile
read = []
load = yamlfile.load
yamlfile.load = lambda path: read.append(str(path)) or load(path)
with _airflow_parsing_context_manager(dag_id=sys.argv[1] or None):
    ns = runpy.run_path("dags/study_pipelines.py")
dags = {k: v for k, v in ns.items() if isinstance(v, DAG)}
print(sorted(dags))
print(sorted({p.split("sdtm_specs/", 1)[1].split("/")[0] for p in read}))
print(sorted({p.split("/")[-2] for p in read if "/POMMAINT/" in p}))
for name, d in sorted(dags.items()):
    print(name, sorted(d.task_dict))
"""


def test_a_task_parses_the_dag_file_for_its_own_dag_alone(tmp_path: Path) -> None:
    """A worker running a task of pommaint_adam (Airflow's parsing context names the DAG)
    builds that DAG alone, the same as the DAG processor builds it, and reads no SDTM spec
    and no other study's spec beyond its study.yaml; with no context every DAG is built."""
    everything = _python(ONE_DAG.replace("sys.argv[1]", "''"), tmp_path)
    assert everything[0] == (
        "['cdiscpilot01_adam', 'cdiscpilot01_sdtm_nightly', 'pommaint_adam', "
        "'pommaint_sdtm_nightly']"
    )
    assert everything[1] == "['CDISCPILOT01', 'POMMAINT', '_common']"
    assert everything[2] == "['POMMAINT', 'adam', 'sdtm']"
    one = _python(ONE_DAG.replace("sys.argv[1]", "'pommaint_adam'"), tmp_path)
    assert one[0] == "['pommaint_adam']"
    assert one[1] == "['CDISCPILOT01', 'POMMAINT']"  # study.yaml of each: which DAGs exist
    assert one[2] == "['POMMAINT', 'adam']"  # its study.yaml and its ADaM specs
    assert one[3] == next(line for line in everything if line.startswith("pommaint_adam "))


def test_make_ui_starts_the_demo_airflow_on_the_chosen_port() -> None:
    """`make ui PORT=9999` (printed, not run): Airflow standalone with the demo's exported
    settings (one AIRFLOW_HOME and SQLite database for both), its API server and the tasks'
    execution API on that port, the venv's `airflow` first on PATH (standalone starts its
    components by that name)."""
    out = subprocess.run(
        ["make", "-n", "-p", "ui", "PORT=9999"], cwd=ROOT, capture_output=True, text=True,
        check=True,
    ).stdout.splitlines()  # fmt: skip
    assert (
        f"PATH={ROOT}/.venv/bin:$PATH AIRFLOW__API__PORT=9999 "
        "AIRFLOW__API__BASE_URL=http://localhost:9999 .venv/bin/airflow standalone"
    ) in out
    assert f"mkdir -p {ROOT}/.airflow" in out
    assert f"AIRFLOW_HOME := {ROOT}/.airflow" in out
    assert f"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN := sqlite:///{ROOT}/.airflow/airflow.db" in out
    assert "AIRFLOW__CORE__EXECUTOR := LocalExecutor" in out


WIRING = """
import runpy
ns = runpy.run_path("dags/study_pipelines.py")
nightly, adam = ns["pommaint_sdtm_nightly"], ns["pommaint_adam"]
wait = nightly.task_dict["wait_for_export"]
print(wait.deadline, wait.mode, wait.poke_interval, sorted(wait.downstream_task_ids),
      sorted(wait.upstream_task_ids), wait.on_failure_callback)
print(nightly.task_dict["extract"].on_failure_callback,
      nightly.task_dict["publish"].on_success_callback, adam.task_dict["publish"].on_success_callback)
print("wait_for_export" in adam.task_dict)
"""


def test_the_deadline_of_the_spec_is_wired_into_the_dag(tmp_path: Path) -> None:
    """study.yaml's deadline (12:00 Asia/Shanghai) becomes the nightly DAG's first task, a
    rescheduling sensor with the deadline alert; every task alerts on failure and the
    publishing tasks on warnings; the ADaM DAG (started by the publication) waits for
    nothing."""
    assert _python(WIRING, tmp_path) == [
        "12:00 Asia/Shanghai reschedule 300.0 ['extract'] [] [StudyAlert(POMMAINT, deadline)]",
        "[StudyAlert(POMMAINT, failure)] [StudyAlert(POMMAINT, warnings)] "
        "[StudyAlert(POMMAINT, warnings)]",
        "False",
    ]


POKE = """
import runpy
from datetime import UTC, datetime, timedelta
from airflow.sdk.exceptions import AirflowSensorTimeout
wait = runpy.run_path("dags/study_pipelines.py")["pommaint_sdtm_nightly"].task_dict["wait_for_export"]
now = datetime.now(UTC)
print(wait.poke({"data_interval_end": now}))
try:
    print(wait.poke({"data_interval_end": now - timedelta(days=2)}))
except AirflowSensorTimeout as late:
    print(late)
"""


def test_the_night_waits_for_an_export_until_its_deadline(landing: Path, tmp_path: Path) -> None:
    """No export: the sensor waits (False) before the deadline, and past it fails with
    the reason its alert gives; a new complete export lets the night go on at once."""
    empty, store = tmp_path / "landing", tmp_path / "store"
    (empty / "POMMAINT").mkdir(parents=True)
    waiting = subprocess.run(
        [sys.executable, "-c", POKE], cwd=ROOT, env=airflow_env(tmp_path, empty, store),
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert waiting[0] == "False"
    assert waiting[1].startswith("POMMAINT: no new complete export by 12:00 Asia/Shanghai (")
    arrived = subprocess.run(
        [sys.executable, "-c", POKE], cwd=ROOT, env=airflow_env(tmp_path, landing, store),
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert arrived == ["True", "True"]


def test_a_night_whose_export_was_published_by_another_run_has_had_it(tmp_path: Path) -> None:
    """The scheduled night comes after a run triggered by hand took the export: nothing
    new in the landing, but a publication finished after the night began, so the sensor
    lets the night go on (extract then ends skipped) instead of alerting past the deadline.
    A publication from before the night does not count."""
    empty, store = tmp_path / "landing", tmp_path / "store"
    (empty / "POMMAINT").mkdir(parents=True)
    run = store / "POMMAINT" / "runs" / "r1"
    run.mkdir(parents=True)
    (store / "POMMAINT" / "current").symlink_to(Path("runs") / "r1")
    env = airflow_env(tmp_path, empty, store)
    seen = []
    for finished in (datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) - timedelta(days=3)):
        (run / "manifest.json").write_text(json.dumps({"finished": finished.isoformat()}))
        poked = subprocess.run(
            [sys.executable, "-c", POKE], cwd=ROOT, env=env,
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        seen.append(poked.stdout.splitlines())
    # night now: published a day before it -> waits; night two days ago: published after it
    assert seen[0] == ["False", "True"]
    # published three days ago: before both nights -> waits, then past the deadline
    assert seen[1][0] == "False"
    assert seen[1][1].startswith("POMMAINT: no new complete export by 12:00 Asia/Shanghai (")


RETRY = """
import runpy
import transforms.jobs.runner as runner
from transforms.errors import NothingNew, PipelineError, SpecError
from transforms.extract.exports import ExportNotReady, NoExportError
from transforms.quality.gates import QualityGateError
from transforms.store import LockTimeout
task = runpy.run_path("dags/study_pipelines.py")["run_step"].function
for error in (
    QualityGateError("raw gate: 3 errors", None), SpecError("dm.yaml: bad"),
    PipelineError("conformance: 2 Reject"), NoExportError("export.json: SHA-256 differs"),
    OSError(28, "No space left on device"), ExportNotReady("no export yet"),
    LockTimeout("busy"), NothingNew("already published"),
):
    def fail(*args, error=error):
        raise error
    runner.run_step = fail
    try:
        task("POMMAINT", "sdtm", "extract")
    except BaseException as raised:
        print(type(error).__name__, type(raised).__name__, raised)
"""


def test_data_errors_fail_at_once_and_infrastructure_errors_retry(tmp_path: Path) -> None:
    """The task body: a data rejection becomes AirflowFailException (no retry), an OSError
    or an export still arriving is raised as is (retried), nothing new is a skip."""
    assert _python(RETRY, tmp_path) == [
        "QualityGateError AirflowFailException QualityGateError: raw gate: 3 errors",
        "SpecError AirflowFailException SpecError: dm.yaml: bad",
        "PipelineError AirflowFailException PipelineError: conformance: 2 Reject",
        "NoExportError AirflowFailException NoExportError: export.json: SHA-256 differs",
        "OSError OSError [Errno 28] No space left on device",
        "ExportNotReady ExportNotReady no export yet",
        "LockTimeout LockTimeout busy",
        "NothingNew AirflowSkipException nothing new: already published",
    ]


@pytest.mark.airflow
def test_airflow_dags_test_publishes_sdtm_then_adam(landing: Path, tmp_path: Path) -> None:
    """`airflow dags test` on the sample: SQLite metadata, real task runs, published XPT."""
    store = tmp_path / "store"
    env = airflow_env(tmp_path / "airflow", landing, store)
    (tmp_path / "airflow").mkdir()
    subprocess.run(
        [BIN / "airflow", "db", "migrate"], env=env, check=True, capture_output=True, cwd=ROOT
    )
    run = subprocess.run(
        [BIN / "airflow", "dags", "test", "pommaint_sdtm_nightly", EXPORT_TIME.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    current = store / "POMMAINT" / "current"
    assert current.is_symlink()
    dm = pd.read_sas(current / "sdtm" / "dm.xpt", format="xport", encoding="ascii")
    assert len(dm) == 18  # 15 enrolled, 3 screen failures
    assert set(dm["ARMCD"].fillna("")) == {"TE", "TI", ""}  # a screen failure has no arm
    assert (dm["ARMNRS"] == "SCREEN FAILURE").sum() == 3
    assert (current / "manifest.json").exists()
    # The ADaM DAG (scheduled by the SDTM DAG's Asset) builds on that publication.
    sdtm_run = current.resolve().name
    run = subprocess.run(
        [BIN / "airflow", "dags", "test", "pommaint_adam", EXPORT_TIME.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert current.resolve().name.startswith(f"{sdtm_run}-adam-")
    adtte = pd.read_sas(current / "adam" / "adtte.xpt", format="xport", encoding="ascii")
    # seven parameters, a record per subject each (every subject of the 15 responded: DOR)
    assert sorted(set(adtte["PARAMCD"])) == ["DOR", "OS", "PFS", "PFS2", "PFSMA", "PFSNT", "TTNT"]
    assert len(adtte) == 7 * 15

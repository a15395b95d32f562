"""The benchmark script runs at its smallest size, so it cannot rot (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.bench import aims, merged
from benchmarks.celery_two import manifest_differences, workloads
from benchmarks.celery_two import markdown as celery_markdown
from tests.conftest import ROOT

STAGES = {"extract", "validate raw", "map DM", "map LB", "xpt LB", "validate sdtm", "define",
          "publish", "adam ADSL", "adam ADTTE", "endpoints", "publish adam"}  # fmt: skip


ISSUE_AIMS = ("ratio_at_2000_le_10", "peak_rss_at_10000_le_3072_mib",
              "peak_rss_at_50000_le_4096_mib", "growth_10000_to_50000_le_5_5")  # fmt: skip


def _size(subjects: int, wall: float, rss: float, ratio: float) -> dict[str, float]:
    return {"subjects": subjects, "engine_wall_s": wall, "peak_rss_mib": rss, "ratio": ratio}


def test_aims_are_met_or_missed_by_how_much_or_null() -> None:
    report = {
        "sizes": [_size(2000, 80.0, 1500.0, 12.5), _size(10000, 300.0, 2900.0, 11.0)],
        "failed": [{"subjects": 50000, "error": "engine above 12 GiB; last: map LB"}],
    }
    assert aims(report) == {
        "ratio_at_2000_le_10": {"value": 12.5, "limit": 10.0, "met": False, "margin": -2.5},
        "peak_rss_at_10000_le_3072_mib": {"value": 2900.0, "limit": 3072.0, "met": True,
                                          "margin": 172.0},
        "peak_rss_at_50000_le_4096_mib": {"value": None, "limit": 4096.0, "met": False,
                                          "margin": None, "why": "engine above 12 GiB"},
        "growth_10000_to_50000_le_5_5": {"value": None, "limit": 5.5, "met": False,
                                         "margin": None, "why": "engine above 12 GiB"},
    }  # fmt: skip
    report = {"sizes": [_size(10000, 300.0, 2900.0, 11.0), _size(50000, 1500.0, 3000.0, 9.0)]}
    found = aims(report)
    assert found["ratio_at_2000_le_10"] is None
    assert found["growth_10000_to_50000_le_5_5"] == {"value": 5.0, "limit": 5.5, "met": True,
                                                     "margin": 0.5}  # fmt: skip


def test_reports_of_runs_side_by_side_merge_into_one() -> None:
    """Sizes run in two processes (each on a core of its own) make one report: every
    size, a size that failed in one run and ran in a later one counted as run, a measure
    one run skipped taken from the run that made it, the aims computed over all of them."""
    base = {"schema": 1, "study": "POMMAINT", "profile": "realistic", "seed": 1,
            "machine": {"cpus": 2}}  # fmt: skip
    first = {**base, "started": "2026-12-06T07:00", "finished": "2026-12-06T07:30",
             "sizes": [_size(2000, 80.0, 1500.0, 12.5), _size(10000, 300.0, 2900.0, 11.0)],
             "failed": [{"subjects": 50000, "error": "worker exit 1; last: RAW-SIZE"}],
             "xpt": {"rows": 1}, "dag_parse": {"skipped": "--no-airflow given"}}  # fmt: skip
    second = {**base, "started": "2026-12-06T07:01", "finished": "2026-12-06T08:40",
              "sizes": [_size(50000, 1800.0, 3500.0, 9.0)],
              "dag_parse": {"dags/study_pipelines.py": {"median_ms": 170.0}}}  # fmt: skip
    report = merged([first, second], celery={"skipped": "no PostgreSQL"})
    assert [s["subjects"] for s in report["sizes"]] == [2000, 10000, 50000]
    assert "failed" not in report and report["xpt"] == {"rows": 1}
    assert report["dag_parse"] == {"dags/study_pipelines.py": {"median_ms": 170.0}}  # not the skip
    assert report["celery"] == {"skipped": "no PostgreSQL"}
    assert (report["started"], report["finished"]) == ("2026-12-06T07:00", "2026-12-06T08:40")
    assert [r["sizes"] for r in report["runs"]] == [[2000, 10000], [50000]]
    assert report["aims"]["growth_10000_to_50000_le_5_5"] == {
        "value": 6.0,
        "limit": 5.5,
        "met": False,
        "margin": -0.5,
    }
    assert report["aims"]["peak_rss_at_50000_le_4096_mib"]["met"] is True


def test_benchmark_smallest_size(tmp_path: Path) -> None:
    results = tmp_path / "results"
    subprocess.run(
        [sys.executable, "benchmarks/bench.py", "--sizes", "15", "--no-r", "--no-airflow",
         "--profile", "standard", "--cache", str(tmp_path / "cache"), "--results", str(results),
         "--xpt-rows", "0"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    report = json.loads((results / "latest.json").read_text(encoding="utf-8"))
    assert report["schema"] == 1 and report["profile"] == "standard"
    assert {"cpus", "memory_mib", "packages", "load_average_start", "reference_s_start",
            "reference_s_end"} <= set(report["machine"])  # fmt: skip
    [size] = report["sizes"]
    assert size["subjects"] == 15 and size["raw_rows"] > 0
    assert size["raw_rows_per_subject"] == round(size["raw_rows"] / 15, 1)
    names = [s["name"] for s in size["stages"]]
    assert set(names) >= STAGES and len(names) == len(set(names))
    fields = {
        "wall_s",
        "cpu_s",
        "rows_in",
        "rows_out",
        "rows_per_s",
        "peak_rss_mib",
        "rss_after_mib",
    }
    for stage in size["stages"]:
        assert set(stage) >= fields
    lb = next(s for s in size["stages"] if s["name"] == "map LB")
    # LB reads the LB form and DX (the diagnosis M-protein, a record only where it was
    # measured: not for the screen failures, 3 of the 15, whose 2 rules make none).
    assert lb["rows_in"] - lb["rows_out"] == 3 * 2 and lb["rows_out"] > 0
    assert size["peak_rss_mib"] > 0 and size["engine_wall_s"] > 0
    assert size["floor"]["read_rows"] == size["raw_rows"] and size["floor"]["write_bytes"] > 0
    assert size["ratio"] > 0
    parts = {"import", "context", "prepare", "distinct", "per_expectation", "per_row",
             "results_store", "data_docs", "listing", "other"}  # fmt: skip
    # the POMMAINT forms; its datasets (RELREC too) and SUPP--
    for gate, suites in (("raw", 22), ("sdtm", 32)):
        gx = size["gx_parts"][gate]
        assert set(gx["cpu_s"]) == parts and gx["suites"] == suites
        assert gx["cpu_s"]["import"] > 0 and gx["cpu_s"]["per_row"] > 0
        assert gx["gate_cpu_s"] == pytest.approx(sum(gx["cpu_s"].values()) - gx["cpu_s"]["import"],
                                                 abs=0.01)  # fmt: skip
        assert gx["expectations"] > gx["suites"] and gx["rows"] > 0 and gx["docs_pages"] > 0
    assert "Great Expectations gates, CPU seconds per part" in (results / "latest.md").read_text(
        encoding="utf-8"
    )
    writers = report["xpt"]["writers"]
    assert writers["ours"]["mb_per_s"] > 0 and writers["pyreadstat"]["mb_per_s"] > 0
    assert "skipped" in writers["haven"]
    assert report["dag_parse"] == {"skipped": "--no-airflow given"}
    aims = report["aims"]  # issue 22's: none of their sizes ran, so each is null
    assert {name: aims[name] for name in ISSUE_AIMS} == dict.fromkeys(ISSUE_AIMS)
    assert "| map LB |" in (results / "latest.md").read_text(encoding="utf-8")
    assert (results / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- the two-study Celery night: its parts that need no services ------------------------

WORKLOAD_LINE = (
    "2026-12-05T21:21:04.209578Z [info     ] [1911fbf4-eccc-454c-a8d7-e7c601caed3a] Executing "
    "workload in Celery: dag_rel_path=PurePosixPath('study_pipelines.py') bundle_info=BundleInfo("
    "name='dags-folder', version=None) log_path='dag_id=pommaint_sdtm_nightly/run_id=bench_"
    "pommaint/task_id=wait_for_export/attempt=1.log' ti=TaskInstanceDTO(id=UUID('01a24814-f056-"
    "76eb-a843-d550b1cf568d'), task_id='{task}', dag_id='{dag}', run_id='{run}', try_number="
    "{attempt}, dag_version_id=UUID('01a24814-c709-7dca-bf1d-61fadbdf0336'), map_index={index}, "
    "hostname='', queue='cdisc_bench_1cd1d2e9_queue', pool_slots=1, priority_weight=60) "
    "type='ExecuteTask' [airflow.providers.celery.executors.celery_executor_utils]"
)


def test_workloads_are_the_tasks_a_worker_log_says_it_executed() -> None:
    log = "\n".join([
        WORKLOAD_LINE.format(task="wait_for_export", dag="pommaint_sdtm_nightly",
                             run="bench_pommaint", attempt=1, index=-1),
        "2026-12-05T21:21:05Z [info     ] Task finished [celery.app.trace]",
        WORKLOAD_LINE.format(task="lb.map", dag="cdiscpilot01_adam", run="asset_1",
                             attempt=2, index=3),
    ])  # fmt: skip
    assert workloads(log) == [
        ("pommaint_sdtm_nightly", "bench_pommaint", "wait_for_export", 1),
        ("cdiscpilot01_adam", "asset_1", "lb.map[3]", 2),
    ]


def _published(outputs: dict[str, str], rows: int) -> dict[str, object]:
    return {"outputs": {p: {"sha256": h, "bytes": 1} for p, h in outputs.items()},
            "rows": {"DM": rows}, "adam": {"rows": {"ADSL": rows}}}  # fmt: skip


def test_manifests_differ_only_where_a_run_stamp_does_not_explain_it() -> None:
    ours = _published({"sdtm/dm.xpt": "a", "adam/adsl.xpt": "b", "reports/issues_dm.csv": "c",
                       "reports/quality_sdtm.html": "x1", "reports/findings.xlsx": "y1",
                       "reports/gx_docs/sdtm/index.html": "z1"}, 18)  # fmt: skip
    same = _published({"sdtm/dm.xpt": "a", "adam/adsl.xpt": "b", "reports/issues_dm.csv": "c",
                       "reports/quality_sdtm.html": "x2", "reports/findings.xlsx": "y2",
                       "reports/gx_docs/sdtm/index.html": "z2"}, 18)  # fmt: skip
    assert manifest_differences(ours, same) == []
    other = _published({"sdtm/dm.xpt": "A", "adam/adsl.xpt": "b", "sdtm/ae.xpt": "d"}, 17)
    assert manifest_differences(ours, other) == [
        "reports/issues_dm.csv", "sdtm/ae.xpt", "sdtm/dm.xpt", "rows", "adam.rows"]  # fmt: skip


def test_celery_markdown_names_each_worker_and_the_verdict_per_study() -> None:
    worker = {"tasks": 55, "task_s": 507.2, "idle_tree_rss_mib": 460.9,
              "peak_tree_rss_mib": 983.8, "peak_process_hwm_mib": 503.5,
              "by_dag": {"pommaint_adam": 7, "pommaint_sdtm_nightly": 31}}  # fmt: skip
    result = {
        "studies": ["POMMAINT", "CDISCPILOT01"], "concurrency": 1, "parallelism": 2,
        "wall_s": 730.4, "load_average_before": [7.96, 6.0, 4.0],
        "runs": [{"dag_id": "pommaint_adam", "run_id": "r1", "run_type": "asset_triggered",
                  "wall_s": 111.2, "tasks_run": 11, "tasks_skipped": 0}],
        "workers": {"w1": worker},
        "outputs": {"POMMAINT": {"differences": [], "compared": 229, "outputs": 386},
                    "CDISCPILOT01": {"differences": ["sdtm/dm.xpt", "rows"], "compared": 114,
                                     "outputs": 197}},
    }  # fmt: skip
    lines = celery_markdown(result)
    assert lines[1] == (
        "Two studies' nights at once on the Celery topology (POMMAINT and CDISCPILOT01, SDTM "
        "then ADaM; 1 workers of concurrency 1, parallelism 2): 730 s from the triggers to the "
        "end of the last DAG run (1-minute load average 8.0 before)."
    )
    assert "| pommaint_adam r1 | asset_triggered | 111 | 11 | 0 |" in lines
    assert (
        "| w1 | 55 | 507 | 461 | 984 | 504 | pommaint_adam 7, pommaint_sdtm_nightly 31 |" in lines
    )
    assert lines[-1] == (
        "Published outputs against `cdisc run` on the same exports: POMMAINT identical (229 of "
        "386 outputs compared); CDISCPILOT01 DIFFERS: sdtm/dm.xpt, rows (114 of 197 outputs "
        "compared)."
    )

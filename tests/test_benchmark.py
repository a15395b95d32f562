"""The benchmark script runs at its smallest size, so it cannot rot (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

STAGES = {"extract", "validate raw", "map DM", "map LB", "xpt LB", "validate sdtm", "define",
          "publish", "adam ADSL", "adam ADTTE", "endpoints", "publish adam"}  # fmt: skip


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
    assert {"cpus", "memory_mib", "packages", "load_average_start"} <= set(report["machine"])
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
    assert lb["rows_in"] == lb["rows_out"] > 0
    assert size["peak_rss_mib"] > 0 and size["engine_wall_s"] > 0
    assert size["floor"]["read_rows"] == size["raw_rows"] and size["floor"]["write_bytes"] > 0
    assert size["ratio"] > 0
    parts = {"import", "context", "prepare", "per_expectation", "per_row", "results_store",
             "data_docs", "listing", "other"}  # fmt: skip
    for gate, suites in (("raw", 22), ("sdtm", 31)):  # the POMMAINT forms; datasets and SUPP--
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
    assert "| map LB |" in (results / "latest.md").read_text(encoding="utf-8")
    assert (results / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

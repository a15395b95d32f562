"""A pytest plugin: CPU and wall seconds of each test, a JSON line per test per worker.

CPU is the test process's own and that of the children it waited for (Airflow components,
`cdisc` subprocesses), so a test that runs a night counts the night. Where a suite's time
goes (issue 15: `make test` within 12 minutes):

    PYTHONPATH=scripts CPU_PER_TEST=/tmp/cpu .venv/bin/pytest -p cpu_per_test -n 3
    cat /tmp/cpu/*.jsonl | jq -s 'sort_by(-.cpu) | .[:20]'

Each line also has the test's start (Unix time), so a worker's timeline, and where it sat
idle, can be drawn from its file.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Generator
from pathlib import Path

import pytest


def _cpu() -> float:
    own, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                      resource.RUSAGE_CHILDREN))  # fmt: skip
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    started, wall, cpu = time.time(), time.monotonic(), _cpu()
    try:
        return (yield)
    finally:
        folder = Path(os.environ.get("CPU_PER_TEST", "cpu_per_test"))
        folder.mkdir(parents=True, exist_ok=True)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        line = {"id": item.nodeid, "cpu": round(_cpu() - cpu, 3), "started": round(started, 3),
                "wall": round(time.monotonic() - wall, 3)}  # fmt: skip
        with (folder / f"{worker}.jsonl").open("a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")

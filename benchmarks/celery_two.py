"""Two studies' nights at once on the Celery topology with two workers (issue 22.4).

The compose file's components run as local processes against the local PostgreSQL and
Redis (:mod:`benchmarks.topology`, the machinery of ``tests/test_services.py``), with two
Celery workers instead of one. Both studies' exports land in one landing area (the
POMMAINT sample export of the benchmark's cache and the CDISCPILOT01 raw export of
``tests/fixtures/cdiscpilot01_raw``); both SDTM nights are triggered through the REST API
at once, and each publication schedules its study's ADaM DAG. Measured: the wall time from
the triggers to the end of the last DAG run, each DAG run's wall time (the scheduler's start and
end), each worker's peak memory (the RSS of its whole process tree, summed, sampled every
half second: Celery forks a pool process and each task its own), the tasks each worker ran
(from the workers' logs) and their seconds (from the REST API's task instances).

Then each study runs once more with ``cdisc run`` (the engine walking the very same job
graph in one process) on the same landing area, and the published manifests are compared:
every output must be byte-identical except the reports that print their run's id or time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # bench.py run as a script: benchmarks/ is sys.path[0]
    import topology
else:
    from benchmarks import topology

ROOT = topology.ROOT
PILOT = "CDISCPILOT01"
PILOT_RAW = ROOT / "tests" / "fixtures" / "cdiscpilot01_raw"
PILOT_EXPORT_ID = "20240101T000000Z"
WORKERS = ("cdisc-bench-worker-1", "cdisc-bench-worker-2")
# One task at a time per worker: the local topology runs with parallelism 2 (the two cores,
# topology.local_env), so two workers of concurrency 1 are the two slots, one each, and
# each worker's peak is the peak of one task at a time. With compose's concurrency 2 the
# first worker to fetch could take both slots while the other idles, and four pool
# processes would share two cores.
OVERRIDES = {"AIRFLOW__CELERY__WORKER_CONCURRENCY": "1"}
SAMPLE_EVERY_S = 0.5
MIB = 1024 * 1024
# Reports that print their run's id or time (GX Data Docs, the HTML and text renderings,
# the workbook, the submission manifest's Markdown page): they differ between any two runs.
RUN_STAMPED = re.compile(r"^reports/(gx_docs/.*|[^/]*\.(html|txt|xlsx|md))$")
WORKLOAD = "Executing workload in Celery"


def land_pilot_export(landing: Path) -> Path:
    """CDISCPILOT01's raw export (the five pharmaverseraw CSVs, no export.json) as a
    finished copy under ``landing/CDISCPILOT01/<export id>/``; returns that folder."""
    export = landing / PILOT / PILOT_EXPORT_ID
    export.mkdir(parents=True)
    for path in sorted(PILOT_RAW.glob("*.csv")):
        shutil.copyfile(path, export / path.name)
        os.utime(export / path.name, (time.time() - 3600,) * 2)  # a finished copy
    return export


# --- memory of a worker's process tree ------------------------------------------------------


class TreeMemory(threading.Thread):
    """Samples, every `every` seconds, the RSS of each worker's process tree (summed) and
    keeps the peak, with the largest VmHWM any single process of the tree reported (a
    task's own peak, even one between two samples)."""

    def __init__(
        self, workers: Iterable[topology.Component], every: float = SAMPLE_EVERY_S
    ) -> None:
        super().__init__(daemon=True)
        self.workers = list(workers)
        self.every = every
        self.peak_kib = dict.fromkeys((w.name for w in self.workers), 0)
        self.hwm_kib = dict.fromkeys((w.name for w in self.workers), 0)
        self.now_kib = dict.fromkeys((w.name for w in self.workers), 0)
        self.stopped = threading.Event()

    def sample(self) -> None:
        import psutil

        for worker in self.workers:
            try:
                root = psutil.Process(worker.proc.pid)
                tree = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            total = 0
            for proc in tree:
                status = _status_kib(proc.pid)
                total += status.get("VmRSS", 0)
                self.hwm_kib[worker.name] = max(self.hwm_kib[worker.name],
                                                status.get("VmHWM", 0))  # fmt: skip
            self.now_kib[worker.name] = total
            self.peak_kib[worker.name] = max(self.peak_kib[worker.name], total)

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            self.sample()

    def stop(self) -> None:
        self.stopped.set()
        self.join()


def _status_kib(pid: int) -> dict[str, int]:
    """The kB fields of /proc/<pid>/status ({} when the process is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {
        line.split(":")[0]: int(line.split()[1])
        for line in lines
        if line.startswith(("VmRSS", "VmHWM"))
    }


# --- who ran what ---------------------------------------------------------------------------


def workloads(log: str) -> list[tuple[str, str, str, int]]:
    """(dag_id, run_id, task key, try number) of each task a Celery worker's log says it
    executed (the provider's ``Executing workload in Celery: <workload>`` line)."""
    found = []
    for line in log.splitlines():
        if WORKLOAD not in line:
            continue
        fields = dict(re.findall(r"\b(dag_id|run_id|task_id)='([^']*)'", line))
        numbers = {k: int(v) for k, v in re.findall(r"\b(map_index|try_number)=(-?\d+)", line)}
        if len(fields) < 3:
            continue
        index = numbers.get("map_index", -1)
        task = fields["task_id"] + (f"[{index}]" if index >= 0 else "")
        found.append((fields["dag_id"], fields["run_id"], task, numbers.get("try_number", 1)))
    return found


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return round((_when(end) - _when(start)).total_seconds(), 2)


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


# --- outputs --------------------------------------------------------------------------------


def manifest_differences(ours: Mapping[str, Any], reference: Mapping[str, Any]) -> list[str]:
    """What differs between two publications of the same export: each output (path) whose
    SHA-256 differs or that only one has, run-stamped reports apart, and the record counts
    (SDTM ``rows``, ADaM ``adam.rows``)."""
    a, b = ours["outputs"], reference["outputs"]
    paths = sorted(p for p in set(a) | set(b) if not RUN_STAMPED.match(p))
    found = [p for p in paths if (a.get(p) or {}).get("sha256") != (b.get(p) or {}).get("sha256")]
    if ours.get("rows") != reference.get("rows"):
        found.append("rows")
    if (ours.get("adam") or {}).get("rows") != (reference.get("adam") or {}).get("rows"):
        found.append("adam.rows")
    return found


def _manifest(store: Path, study: str) -> dict[str, Any]:
    import json

    path = store / study / "current" / "manifest.json"
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def reference_run(landing: Path, store: Path, studies: Iterable[str], log: Path) -> None:
    """``cdisc run`` of each study (SDTM, then ADaM) on `landing`, in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CDISC_"))}
    env["GX_ANALYTICS_ENABLED"] = "False"
    with log.open("w", encoding="utf-8") as out:
        for study in studies:
            subprocess.run([str(topology.BIN / "cdisc"), "-q", "run", "--study", study,
                            "--landing", str(landing), "--store", str(store)],
                           env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                           check=True)  # fmt: skip


# --- the measure ----------------------------------------------------------------------------


def two_studies(pommaint: Path, work: Path, timeout: float = 3600) -> dict[str, Any]:
    """The two nights at once (`pommaint`: a landing root holding a POMMAINT export), in
    `work`; the figures, and the comparison with ``cdisc run``."""
    from transforms.jobs.plan import jobs
    from transforms.studies import list_studies

    studies = ("POMMAINT", PILOT)
    landing, store, ref_store = work / "landing", work / "store", work / "reference"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(pommaint / "POMMAINT", landing / "POMMAINT")
    land_pilot_export(landing)
    store.mkdir()
    dag_ids = {s.id: [j.dag_id for j in jobs(s)] for s in list_studies() if s.id in studies}
    result: dict[str, Any] = {"studies": list(studies), "workers": {}, "runs": []}
    with (
        topology.fresh_database("cdisc_bench") as database,
        topology.running(database, work, landing, store, WORKERS, OVERRIDES) as live,
    ):
        memory = TreeMemory(live.workers())
        memory.start()
        result["concurrency"] = int(live.env["AIRFLOW__CELERY__WORKER_CONCURRENCY"])
        result["parallelism"] = int(live.env["AIRFLOW__CORE__PARALLELISM"])
        try:
            topology.wait_for_dags(live, [d for ids in dag_ids.values() for d in ids])
            memory.sample()
            idle = dict(memory.now_kib)
            # An earlier run_after puts the triggered runs before the nightly run that
            # unpausing queues (catchup=False); that one then finds nothing new.
            run_after = (datetime.now(UTC) - timedelta(days=2)).isoformat()
            triggered = datetime.now(UTC)
            for study in studies:
                sdtm = dag_ids[study][0]
                live.api.json("POST", f"/dags/{sdtm}/dagRuns", {
                    "dag_run_id": f"bench_{study.lower()}", "logical_date": None,
                    "run_after": run_after})  # fmt: skip
            for ids in dag_ids.values():
                for dag_id in ids:
                    live.api.json("PATCH", f"/dags/{dag_id}", {"is_paused": False})
            for study in studies:
                sdtm, *adam = dag_ids[study]
                topology.wait_for_runs(live, sdtm, timeout, include=f"bench_{study.lower()}")
                for dag_id in adam:
                    topology.wait_for_a_run(live, dag_id)
                    topology.wait_for_runs(live, dag_id, timeout)
        finally:
            memory.stop()
        durations: dict[tuple[str, str, str, int], float] = {}
        ends = []
        for ids in dag_ids.values():
            for dag_id in ids:
                for run in topology.dag_runs(live.api, dag_id):
                    tis = topology.task_instances(live.api, dag_id, run["dag_run_id"])
                    # executed by a worker (a task the scheduler skipped has try 0)
                    ran = [ti for ti in tis if (ti.get("try_number") or 0) > 0]
                    for ti in ran:
                        key = (dag_id, run["dag_run_id"], topology.task_key(ti), ti["try_number"])
                        durations[key] = float(ti.get("duration") or 0.0)
                    result["runs"].append({
                        "dag_id": dag_id, "run_id": run["dag_run_id"],
                        "run_type": run.get("run_type"), "state": run["state"],
                        "wall_s": _seconds(run.get("start_date"), run.get("end_date")),
                        "tasks_run": len(ran),
                        "tasks_skipped": sum(ti["state"] == "skipped" for ti in tis)})  # fmt: skip
                    ends.append(_when(run["end_date"]))
        assigned: set[tuple[str, str, str, int]] = set()
        for worker in live.workers():
            ran = workloads(worker.log.read_text(encoding="utf-8", errors="replace"))
            assigned.update(ran)
            name = worker.name.removeprefix("worker-")
            result["workers"][name] = {
                "tasks": len(ran),
                "task_s": round(sum(durations.get(key, 0.0) for key in ran), 1),
                "by_dag": {d: sum(k[0] == d for k in ran) for d in sorted({k[0] for k in ran})},
                "ran": [f"{d} {r} {t}" for d, r, t, _ in ran],
                "idle_tree_rss_mib": round(idle[worker.name] / 1024, 1),
                "peak_tree_rss_mib": round(memory.peak_kib[worker.name] / 1024, 1),
                "peak_process_hwm_mib": round(memory.hwm_kib[worker.name] / 1024, 1),
            }
    result["wall_s"] = round((max(ends) - triggered).total_seconds(), 1)
    result["tasks_not_in_worker_logs"] = sorted(
        " ".join(map(str, k)) for k in set(durations) - assigned
    )
    reference_run(landing, ref_store, studies, work / "reference.log")
    result["outputs"] = {}
    for study in studies:
        ours, ref = _manifest(store, study), _manifest(ref_store, study)
        result["outputs"][study] = {
            "published": ours["run_id"],
            "adam_published": "-adam-" in ours["run_id"],
            "outputs": len(ours["outputs"]),
            "compared": sum(not RUN_STAMPED.match(p) for p in ours["outputs"]),
            "differences": manifest_differences(ours, ref),
        }
    return result


def markdown(result: Mapping[str, Any]) -> list[str]:
    """The measure as lines of the benchmark's Markdown report."""
    lines = [
        "",
        f"Two studies' nights at once on the Celery topology ({' and '.join(result['studies'])},"
        f" SDTM then ADaM; {len(result['workers'])} workers of concurrency "
        f"{result['concurrency']}, parallelism {result['parallelism']}): "
        f"{result['wall_s']:.0f} s from the triggers to the end of the last DAG run"
        + _load(result.get("load_average_before"))
        + ".",
        "",
        "| DAG run | type | wall s | tasks run | skipped |",
        "|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        wall = "" if run["wall_s"] is None else f"{run['wall_s']:.0f}"
        lines.append(f"| {run['dag_id']} {run['run_id']} | {run['run_type']} | {wall} | "
                     f"{run['tasks_run']} | {run['tasks_skipped']} |")  # fmt: skip
    head = ("| worker | tasks | task s | tree RSS idle MiB | tree RSS peak MiB | largest process"
            " peak MiB | tasks per DAG |")  # fmt: skip
    lines += ["", head, "|---|---|---|---|---|---|---|"]
    for name, w in result["workers"].items():
        per_dag = ", ".join(f"{d} {n}" for d, n in w["by_dag"].items())
        lines.append(f"| {name} | {w['tasks']} | {w['task_s']:.0f} | {w['idle_tree_rss_mib']:.0f}"
                     f" | {w['peak_tree_rss_mib']:.0f} | {w['peak_process_hwm_mib']:.0f} | "
                     f"{per_dag} |")  # fmt: skip
    checks = [
        f"{study} {_verdict(o['differences'])} ({o['compared']} of {o['outputs']} outputs compared)"
        for study, o in result["outputs"].items()
    ]
    lines += ["", "Published outputs against `cdisc run` on the same exports: "
              + "; ".join(checks) + "."]  # fmt: skip
    return lines


def _verdict(differences: list[str]) -> str:
    return "DIFFERS: " + ", ".join(differences[:5]) if differences else "identical"


def _load(before: list[float] | None) -> str:
    return f" (1-minute load average {before[0]:.1f} before)" if before else ""

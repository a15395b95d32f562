"""Benchmark of the nightly load: per-stage throughput at several study sizes, the I/O floor,
XPT writers side by side, DAG parse time and ``airflow dags test``.

    .venv/bin/python benchmarks/bench.py [--sizes 15 500 2000 10000] [--no-r] [--no-airflow]

For each size a sample export (``cdisc-sample --profile realistic``) is generated once and
cached under ``--cache`` (default ``.bench/``). The engine then runs outside Airflow (SDTM
``run_all`` and ADaM ``run_all``, as ``cdisc run`` does) in a fresh Python process per size,
which reports each stage's wall and CPU seconds, rows in/out and its peak RSS so far. In the
same run: the floor (pyarrow reads the raw files, one sequential write of as many bytes as
the run wrote, timed on up to 2 GiB of them), the XPT writers on the largest size's LB
(ours, pyreadstat, R haven when ``Rscript`` with haven is installed), the DAG files' parse
time and ``airflow dags test``.

After each size's engine run, each Great Expectations gate runs again on its run folder in
a fresh process, with a CPU timer per part (``gx_parts`` of the size; see
:mod:`benchmarks.gx_parts`), up to ``--gx-parts-max`` subjects.

With ``--celery`` (or alone: ``bench.py celery``), two studies' nights run at once on the
compose topology with two Celery workers against the local PostgreSQL and Redis: wall
time, each DAG run's, each worker's peak RSS and tasks, and the published outputs compared
with ``cdisc run`` (:mod:`benchmarks.celery_two`).

Results: ``--results`` (default ``benchmarks/results/``) gets ``latest.json``, ``latest.md``
and ``latest.png`` (seconds vs subjects per stage, log-log). Nothing here asserts speed.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: benchmarks/ is sys.path[0]
    import celery_two
    import topology
    from gx_parts import gx_parts
else:
    from benchmarks import celery_two, topology
    from benchmarks.gx_parts import gx_parts

ROOT = Path(__file__).resolve().parents[1]
STUDY = "POMMAINT"
EXPORT_TIME = "2026-11-16T02:00:00Z"
DEFAULT_SIZES = (15, 500, 2000, 10000)
PACKAGES = ("pandas", "pyarrow", "numpy", "pyreadstat", "great-expectations", "apache-airflow")
SCHEMA_VERSION = 1
MIB = 1024 * 1024


# --- worker: one size, in its own process ---------------------------------------------------


def _memory_mib() -> tuple[float, float]:
    """(resident now, peak resident since the last reset) of this process, from /proc."""
    fields = {
        line.split(":")[0]: int(line.split()[1])
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith(("VmRSS", "VmHWM"))
    }
    return fields.get("VmRSS", 0) / 1024, fields.get("VmHWM", 0) / 1024


def _reset_peak() -> None:
    """Start a new peak-RSS window (Linux: writing 5 to clear_refs resets VmHWM)."""
    with contextlib.suppress(OSError):  # not Linux, or not allowed: the peak accumulates
        Path("/proc/self/clear_refs").write_text("5")


class _StageRecorder(logging.Handler):
    """Collects the numbers each engine stage attaches to its progress line, with the stage's
    own peak RSS, and rewrites `out` after every stage so a worker stopped for its memory
    still reports how far it got and where the memory went."""

    def __init__(self, out: Path) -> None:
        super().__init__(logging.INFO)
        self.out = out
        self.stages: list[dict[str, Any]] = []
        self.peak_mib = 0.0

    def emit(self, record: logging.LogRecord) -> None:
        numbers = getattr(record, "cdisc_stage", None)
        if numbers is None:
            return
        name = numbers["name"]
        if any(s["name"] == name for s in self.stages):  # e.g. conformance of SDTM, of ADaM
            name = f"{name} adam"
        rows = max(numbers["rows_in"], numbers["rows_out"])
        rss, stage_peak = _memory_mib()
        self.peak_mib = max(self.peak_mib, stage_peak)
        self.stages.append(
            {
                "name": name,
                "wall_s": round(numbers["wall"], 4),
                "cpu_s": round(numbers["cpu"], 4),
                "rows_in": int(numbers["rows_in"]),
                "rows_out": int(numbers["rows_out"]),
                "rows_per_s": round(rows / numbers["wall"], 1) if numbers["wall"] > 0 else None,
                "peak_rss_mib": round(stage_peak, 1),
                "rss_after_mib": round(rss, 1),
            }
        )
        self.write({"stages": self.stages, "peak_rss_mib": round(self.peak_mib, 1)})

    def add(self, name: str, wall: float, cpu: float) -> None:
        """A stage measured outside the engine's progress lines (no rows)."""
        record = logging.LogRecord("cdisc", logging.INFO, __file__, 0, name, None, None)
        record.cdisc_stage = {"name": name, "wall": wall, "cpu": cpu, "rows_in": 0, "rows_out": 0}
        self.emit(record)

    def write(self, result: dict[str, Any]) -> None:
        self.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def worker(landing: Path, store: Path, out: Path) -> None:
    """Run the SDTM and ADaM jobs on the export under `landing`; write the stages to `out`."""
    recorder = _StageRecorder(out)
    # Progress lines to stderr (the size's worker log), so a failed size shows its last stage.
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s", stream=sys.stderr)
    engine_log = logging.getLogger("cdisc")
    engine_log.setLevel(logging.INFO)
    engine_log.addHandler(recorder)
    from transforms.jobs import kit
    from transforms.jobs.runner import run_adam, run_sdtm

    # Each stage starts by handing back what the earlier ones freed (release_memory); its
    # own peak window starts right after, so a stage is not charged with its predecessor's.
    release = kit.release_memory

    def release_then_reset() -> None:
        release()
        _reset_peak()

    kit.release_memory = release_then_reset
    rss_start = _memory_mib()[1]
    t0, c0 = time.perf_counter(), time.process_time()
    # As each Celery worker does once, before its pool forks the night's steps: the engine's
    # modules, Great Expectations and the CDISC terminology loaded (transforms.jobs.warm), a
    # stage of its own; else the first gate is charged with importing GX (~5 s).
    _reset_peak()
    importlib.import_module("transforms.jobs.warm")
    recorder.add("warm", time.perf_counter() - t0, time.process_time() - c0)
    run_sdtm(STUDY, landing, store, force=True)
    t1 = time.perf_counter()
    run_adam(store, STUDY, force=True)
    t2, c2 = time.perf_counter(), time.process_time()
    recorder.write(
        {
            "stages": recorder.stages,
            "sdtm_wall_s": round(t1 - t0, 3),
            "adam_wall_s": round(t2 - t1, 3),
            "engine_wall_s": round(t2 - t0, 3),
            "engine_cpu_s": round(c2 - c0, 3),
            "peak_rss_mib": round(max(recorder.peak_mib, rss_start), 1),
            "rss_after_imports_mib": round(rss_start, 1),
        }
    )


# --- inputs ---------------------------------------------------------------------------------


def ensure_export(cache: Path, subjects: int, seed: int, profile: str) -> Path:
    """The cached landing root holding the sample export of this size (generated once)."""
    landing = cache / "exports" / f"{STUDY}-{profile}-{subjects}-s{seed}"
    if not list(landing.glob(f"{STUDY}/*/export.json")):
        shutil.rmtree(landing, ignore_errors=True)
        cmd = [sys.executable, "-m", "samplegen", "--study", STUDY,
               "--subjects", str(subjects), "--seed", str(seed), "--out", str(landing),
               "--export-time", EXPORT_TIME, "--profile", profile]  # fmt: skip
        print(f"generating {subjects}-subject export ...", flush=True)
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return landing


def _raw_files(landing: Path) -> list[Path]:
    export = sorted(landing.glob(f"{STUDY}/*/export.json"))[-1].parent
    return sorted(export.glob("*.csv"))


def _written_bytes(store: Path) -> int:
    """Bytes the runs wrote: every file under the study's run folders, hard links once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for path in (store / STUDY / "runs").rglob("*"):
        st = path.lstat()
        if path.is_file() and not path.is_symlink() and (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total


FLOOR_WRITE_MAX = 2048 * MIB


def floor(raw: list[Path], nbytes: int, scratch: Path) -> dict[str, Any]:
    """The physical I/O of the job: pyarrow reads the raw files; one sequential write (with
    fsync) of `nbytes`, timed on the first FLOOR_WRITE_MAX of them and scaled to all (a
    50,000-subject night writes some 50 GB: the disk need not hold the run twice). The raw
    files are in the page cache, as they are for the engine."""
    from pyarrow import csv

    t0 = time.perf_counter()
    rows = sum(csv.read_csv(path).num_rows for path in raw)
    read_s = time.perf_counter() - t0
    chunk = b"\0" * (8 * MIB)
    target = scratch / "floor.bin"
    timed = min(nbytes, FLOOR_WRITE_MAX)
    t0 = time.perf_counter()
    with target.open("wb") as fh:
        left = timed
        while left > 0:
            left -= fh.write(chunk[: min(left, len(chunk))])
        fh.flush()
        os.fsync(fh.fileno())
    write_s = (time.perf_counter() - t0) * (nbytes / timed if timed else 1.0)
    target.unlink()
    return {
        "read_s": round(read_s, 4),
        "read_bytes": sum(p.stat().st_size for p in raw),
        "read_rows": rows,
        "write_s": round(write_s, 4),
        "write_bytes": nbytes,
        "write_timed_bytes": timed,
        "seconds": round(read_s + write_s, 4),
    }


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status")
    try:
        line = next(x for x in status.read_text().splitlines() if x.startswith("VmRSS"))
    except (OSError, StopIteration):
        return 0
    return int(line.split()[1])


class SizeFailed(RuntimeError):
    """A size's worker did not finish; `partial` holds the stages it reported before."""

    def __init__(self, message: str, partial: dict[str, Any]) -> None:
        super().__init__(message)
        self.partial = partial


def run_size(
    subjects: int,
    landing: Path,
    work: Path,
    *,
    max_rss_gib: float = 12.0,
    gx_parts_max: int = 0,
    gx_profile: bool = False,
) -> tuple[dict[str, Any], Path]:
    """One size: the engine in a fresh process, then the floor; returns (result, store)."""
    store = work / f"store-{subjects}"
    shutil.rmtree(store, ignore_errors=True)
    store.mkdir(parents=True)
    out = work / f"worker-{subjects}.json"
    load_before = os.getloadavg()
    print(f"running the engine on {subjects} subjects ...", flush=True)
    t0 = time.perf_counter()
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "False", "PYTHONHASHSEED": "0"}
    log_path = work.parent / f"worker-{subjects}.log"
    stopped = ""
    with log_path.open("w", encoding="utf-8") as log_file:
        worker = subprocess.Popen(
            [sys.executable, __file__, "worker", "--landing", str(landing), "--store",
             str(store), "--out", str(out)],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
        sampled = 0  # the worker's RSS sampled every second: a check on its own figures
        while worker.poll() is None:  # guard the machine: stop a worker that grows too big
            rss = _rss_kib(worker.pid)
            sampled = max(sampled, rss)
            if rss > max_rss_gib * MIB:
                stopped = f"stopped at {rss / MIB:.1f} GiB RSS (limit {max_rss_gib} GiB); "
                worker.terminate()
                worker.wait()
                break
            time.sleep(1)
    process_s = time.perf_counter() - t0
    if worker.returncode:
        tail = log_path.read_text(encoding="utf-8").splitlines()[-3:]
        code = worker.returncode
        partial = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
        raise SizeFailed(f"{subjects} subjects: {stopped}worker exit {code}; last: {tail}", partial)
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["sampled_peak_rss_mib"] = round(sampled / 1024, 1)
    result["peak_rss_mib"] = max(result["peak_rss_mib"], result["sampled_peak_rss_mib"])
    raw = _raw_files(landing)
    result["floor"] = floor(raw, _written_bytes(store), work)
    result["ratio"] = round(result["engine_wall_s"] / result["floor"]["seconds"], 2)
    result["subjects"] = subjects
    result["raw_rows"] = result["floor"]["read_rows"]
    result["raw_rows_per_subject"] = round(result["raw_rows"] / subjects, 1)  # the sample's volume
    result["process_wall_s"] = round(process_s, 3)
    if subjects <= gx_parts_max:
        print(f"  the GX gates per part on {subjects} subjects ...", flush=True)
        sdtm_run = sorted((store / STUDY / "runs").glob("*"))[0]
        result["gx_parts"] = gx_parts(sdtm_run, work, profile=gx_profile)
    result["load_average_before"] = [round(x, 2) for x in load_before]
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(
        f"  {subjects} subjects: engine {result['engine_wall_s']:.1f} s, floor "
        f"{result['floor']['seconds']:.2f} s, ratio {result['ratio']}, peak RSS "
        f"{result['peak_rss_mib']:.0f} MiB",
        flush=True,
    )
    return result, store


# --- XPT writers side by side ---------------------------------------------------------------


def _lb_frame(store: Path, rows: int) -> tuple[Any, list[Any], str]:
    import pandas as pd

    from transforms.specs import load_study
    from transforms.xpt import XptColumn

    published = sorted((store / STUDY / "runs").glob("*"))[0]
    df = pd.read_parquet(published / "sdtm" / "lb.parquet")
    if rows:
        df = df.head(rows).reset_index(drop=True)
    spec = load_study(STUDY).datasets["LB"]
    columns = [
        XptColumn(v.name, v.label, "Num" if v.type == "Num" else "Char", v.length, v.format)
        for v in spec.output_variables()
    ]
    return df[[c.name for c in columns]], columns, spec.label


def _best(seconds: list[float]) -> float:
    return round(min(seconds), 4)


def xpt_writers(store: Path, rows: int, work: Path, with_r: bool) -> dict[str, Any]:
    """Write the same LB table with our writer, pyreadstat and (if installed) R haven."""
    import pyreadstat

    from transforms.xpt import write_xport

    df, columns, label = _lb_frame(store, rows)
    folder = work / "xpt"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    created = datetime(2026, 11, 16, 2, 0, 0)
    writers: dict[str, Any] = {}

    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        result = write_xport(df, folder / "lb.xpt", dataset="LB", label=label, columns=columns,
                             created=created)  # fmt: skip
        times.append(time.perf_counter() - t0)
    note = "checks, encode, write, fsync and read-back verification"
    writers["ours"] = {"seconds": _best(times), "bytes": result.bytes, "runs": 3, "note": note}

    chars = [c.name for c in columns if c.type == "Char"]
    as_object = df.astype(dict.fromkeys(chars, object))  # pyreadstat's fast path
    t0 = time.perf_counter()
    pyreadstat.write_xport(as_object, str(folder / "pyreadstat.xpt"), file_label=label,
                           column_labels=[c.label for c in columns], table_name="LB",
                           file_format_version=5)  # fmt: skip
    seconds = time.perf_counter() - t0
    writers["pyreadstat"] = {"seconds": round(seconds, 4), "runs": 1,
                             "bytes": (folder / "pyreadstat.xpt").stat().st_size,
                             "note": "object-dtype text columns (its faster input)"}  # fmt: skip

    writers["haven"] = _haven(df, columns, folder) if with_r else {"skipped": "--no-r given"}
    for entry in writers.values():
        if "seconds" in entry:
            entry["mb_per_s"] = round(entry["bytes"] / 1e6 / entry["seconds"], 1)
    shutil.rmtree(folder, ignore_errors=True)
    return {"dataset": "LB", "rows": len(df), "columns": len(columns), "writers": writers}


HAVEN = """
suppressMessages(library(haven))
args <- commandArgs(TRUE)
classes <- strsplit(args[3], ",")[[1]]
df <- read.csv(args[1], colClasses = classes, na.strings = "", check.names = FALSE)
best <- Inf
for (i in 1:3) {
  t <- system.time(write_xpt(df, args[2], version = 5, name = "LB"))[["elapsed"]]
  best <- min(best, t)
}
cat(best, file.size(args[2]), as.character(packageVersion("haven")), R.version$version.string,
    "\\n", sep = "\\t")
"""


def _haven(df: Any, columns: list[Any], folder: Path) -> dict[str, Any]:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return {"skipped": "R is not installed (apt-get install r-base-core r-cran-haven)"}
    probe = subprocess.run([rscript, "-e", "library(haven)"], capture_output=True, text=True)
    if probe.returncode != 0:
        return {"skipped": "R package haven is not installed (apt-get install r-cran-haven)"}
    csv_path, script = folder / "lb.csv", folder / "haven.R"
    df.to_csv(csv_path, index=False)
    script.write_text(HAVEN, encoding="utf-8")
    classes = ",".join("numeric" if c.type == "Num" else "character" for c in columns)
    done = subprocess.run([rscript, str(script), str(csv_path), str(folder / "haven.xpt"),
                           classes], capture_output=True, text=True, check=True)  # fmt: skip
    seconds, size, version, r_version = done.stdout.strip().split("\t")[:4]
    note = "write_xpt(version = 5) alone, timed inside R"
    return {"seconds": float(seconds), "bytes": int(size), "runs": 3, "haven": version,
            "r": r_version.strip(), "note": note}  # fmt: skip


# --- Airflow --------------------------------------------------------------------------------


def airflow_env(home: Path, landing: Path, store: Path) -> dict[str, str]:
    """The embedded Airflow of `make demo` (SQLite, LocalExecutor) in `home`, for a
    subprocess; the tests use it too."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        CDISC_LANDING=str(landing),
        CDISC_STORE=str(store),
        GX_ANALYTICS_ENABLED="False",
    )
    return env


PARSE = """
import json, statistics, sys, time
from airflow.dag_processing.dagbag import DagBag
out = {}
for path in sys.argv[2:]:
    times = []
    for _ in range(int(sys.argv[1]) + 1):
        t0 = time.perf_counter()
        bag = DagBag(dag_folder=path, safe_mode=False)
        times.append(time.perf_counter() - t0)
        assert not bag.import_errors, bag.import_errors
    out[path] = {"first_ms": round(times[0] * 1000, 1),
                 "median_ms": round(statistics.median(times[1:]) * 1000, 1),
                 "repeats": len(times) - 1, "dags": len(bag.dags)}
print(json.dumps(out))
"""


def dag_parse(home: Path, repeats: int) -> dict[str, Any]:
    """Median of repeated DagBag loads of each DAG file (the first, cold load apart)."""
    files = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "dags").glob("*.py"))]
    done = subprocess.run(
        [sys.executable, "-c", PARSE, str(repeats), *files], cwd=ROOT, check=True,
        env=airflow_env(home, home, home), capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def dags_test(cache: Path, seed: int) -> dict[str, Any]:
    """Wall time of ``airflow dags test`` of both DAGs on the 15-subject sample."""
    home = cache / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    landing = ensure_export(cache, 15, seed, "standard")
    store = cache / "dags-test-store"
    shutil.rmtree(store, ignore_errors=True)
    env = airflow_env(home, landing, store)
    airflow = str(Path(sys.executable).parent / "airflow")
    stamp = home / ".migrated"
    if not stamp.exists():
        subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
        stamp.touch()
    result: dict[str, Any] = {"subjects": 15}
    for dag in (f"{STUDY.lower()}_sdtm_nightly", f"{STUDY.lower()}_adam"):
        t0 = time.perf_counter()
        done = subprocess.run([airflow, "dags", "test", dag], env=env, capture_output=True,
                              text=True, cwd=ROOT)  # fmt: skip
        result[dag] = {"seconds": round(time.perf_counter() - t0, 2), "ok": done.returncode == 0}
        if done.returncode:
            (cache / f"{dag}.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    return result


def celery_night(cache: Path, subjects: int, seed: int, profile: str) -> dict[str, Any]:
    """Two studies' nights at once on the Celery topology (the POMMAINT export of
    `subjects`, and CDISCPILOT01), or why not (no local PostgreSQL or Redis)."""
    problem = topology.postgres_problem() or topology.redis_problem()
    if problem:
        return {"skipped": problem}
    landing = ensure_export(cache, subjects, seed, profile)
    work = cache / "celery"
    print(f"two studies on the Celery topology ({subjects} POMMAINT subjects) ...", flush=True)
    load_before = os.getloadavg()
    result = celery_two.two_studies(landing, work)
    result["load_average_before"] = [round(x, 2) for x in load_before]
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    for data in ("landing", "store", "reference"):  # the components' logs stay in `work`
        shutil.rmtree(work / data, ignore_errors=True)
    return {"subjects": subjects, "profile": profile, **result}


# --- report ---------------------------------------------------------------------------------


def reference_seconds() -> float:
    """CPU seconds of a fixed workload on one core (Python loops, pandas text and group-by
    work, as the engine's): how fast the machine is at the time. Runs of the same code on
    this kind of machine have differed by half (xpt LB 8.1 s one day, 11.7 s another):
    compare two reports' stage times only in proportion to this."""
    import numpy as np
    import pandas as pd

    started = time.process_time()
    sum(i * i % 7 for i in range(5_000_000))
    numbers = pd.Series(np.arange(3_000_000) % 5_000)
    text = numbers.astype("string").str.zfill(6)
    text.groupby(numbers % 97).max()
    return round(time.process_time() - started, 3)


def machine() -> dict[str, Any]:
    mem = Path("/proc/meminfo")
    total = next(
        (int(line.split()[1]) // 1024 for line in mem.read_text().splitlines()
         if line.startswith("MemTotal")), None,
    ) if mem.exists() else None  # fmt: skip
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "memory_mib": total,
        "python": platform.python_version(),
        "packages": versions,
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "reference_s_start": reference_seconds(),
    }


ISSUE_AIMS = (
    # (name, subjects, what is measured, limit)
    ("ratio_at_2000_le_10", 2000, "ratio", 10.0),
    ("peak_rss_at_10000_le_3072_mib", 10000, "peak_rss_mib", 3072.0),
    ("peak_rss_at_50000_le_4096_mib", 50000, "peak_rss_mib", 4096.0),
    ("growth_10000_to_50000_le_5_5", 50000, "growth_from_10000", 5.5),
)
"""Issue 22's aims: engine wall within 10x the I/O floor at 2,000 subjects, peak RSS within
3 GiB at 10,000 and 4 GiB at 50,000, and 50,000 within 5.5x the time of 10,000."""


def _aim(value: float, limit: float) -> dict[str, Any]:
    """An aim measured: the value, its limit, met or not and by how much (margin = limit -
    value: what is left when met, minus what is over when missed)."""
    margin = round(limit - value, 2)
    return {"value": value, "limit": limit, "met": margin >= 0, "margin": margin}


def aims(report: dict[str, Any]) -> dict[str, Any]:
    """The aims, checked against this run where its sizes allow: each of `ISSUE_AIMS`
    measured, missed with why (a size that did not finish), or null when the run did not
    include its size."""
    by = {r["subjects"]: r for r in report["sizes"]}
    failed = {f["subjects"]: f["error"].split("; last:")[0] for f in report.get("failed", [])}
    out: dict[str, Any] = {}
    for name, subjects, measure, limit in ISSUE_AIMS:
        needs = [subjects, 10000] if measure == "growth_from_10000" else [subjects]
        why = "; ".join(failed[n] for n in needs if n in failed)
        if why:
            out[name] = {"value": None, "limit": limit, "met": False, "margin": None, "why": why}
        elif not all(n in by for n in needs):
            out[name] = None
        elif measure == "growth_from_10000":
            growth = by[subjects]["engine_wall_s"] / by[10000]["engine_wall_s"]
            out[name] = _aim(round(growth, 2), limit)
        else:
            out[name] = _aim(by[subjects][measure], limit)
    parse = report.get("dag_parse") or {}
    if parse and "skipped" not in parse:
        worst = max(entry["median_ms"] for entry in parse.values())
        out["dag_parse_lt_200_ms"] = {"value": worst, "met": worst < 200}
    writers = (report.get("xpt") or {}).get("writers", {})
    if "mb_per_s" in writers.get("haven", {}):
        ours, haven = writers["ours"]["mb_per_s"], writers["haven"]["mb_per_s"]
        out["xpt_ours_ge_haven_mb_per_s"] = {"value": [ours, haven], "met": ours >= haven}
    return out


def _aim_text(name: str, aim: dict[str, Any] | None) -> str:
    if aim is None:
        return f"{name} not run"
    shown = aim.get("why") or aim["value"]
    margin = "" if aim.get("margin") is None else f", margin {aim['margin']}"
    return f"{name} {'met' if aim['met'] else 'MISSED'} ({shown}{margin})"


def _stage_names(sizes: list[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for size in sizes:
        for stage in size["stages"]:
            if stage["name"] not in names:
                names.append(stage["name"])
    return names


def markdown(report: dict[str, Any]) -> str:
    sizes = report["sizes"]
    head = " | ".join(str(s["subjects"]) for s in sizes)
    rule = "|".join(["---"] * (len(sizes) + 1))
    lines = [
        f"Measured {report['finished'][:16].replace('T', ' ')} UTC on "
        f"{report['machine']['cpus']} CPUs, {report['machine']['memory_mib']} MiB, Python "
        f"{report['machine']['python']}, pandas {report['machine']['packages']['pandas']}, "
        f"profile `{report['profile']}`. Reference workload (`reference_seconds`): "
        f"{_reference_text(report)}.",
        "",
        f"| subjects | {head} |",
        f"|{rule}|",
        "| raw rows | " + " | ".join(f"{s['raw_rows']:,}" for s in sizes) + " |",
        "| raw rows per subject | "
        + " | ".join(f"{s['raw_rows'] / s['subjects']:,.1f}" for s in sizes)
        + " |",
        "| engine s (wall) | " + " | ".join(f"{s['engine_wall_s']:.1f}" for s in sizes) + " |",
        "| engine s (CPU) | " + " | ".join(f"{s['engine_cpu_s']:.1f}" for s in sizes) + " |",
        "| floor s | " + " | ".join(f"{s['floor']['seconds']:.2f}" for s in sizes) + " |",
        "| engine / floor | " + " | ".join(f"{s['ratio']:.1f}x" for s in sizes) + " |",
        "| peak RSS MiB | " + " | ".join(f"{s['peak_rss_mib']:.0f}" for s in sizes) + " |",
        "| load avg (1 min) | "
        + " | ".join(f"{s['load_average_before'][0]:.1f}" for s in sizes)
        + " |",
        "",
        "Per stage, wall seconds; rows per second and the stage's own peak RSS at the largest"
        " size:",
        "",
        f"| stage | {head} | rows/s | peak MiB |",
        f"|{rule}|---|---|",
    ]
    for name in _stage_names(sizes):
        cells, rate, peak = [], "", ""
        for size in sizes:
            stage = next((s for s in size["stages"] if s["name"] == name), None)
            cells.append(f"{stage['wall_s']:.2f}" if stage else "")
            if stage and size is sizes[-1]:
                rate = f"{stage['rows_per_s']:,.0f}" if stage["rows_per_s"] else ""
                peak = f"{stage['peak_rss_mib']:.0f}"
        lines.append(f"| {name} | {' | '.join(cells)} | {rate} | {peak} |")
    lines += _gx_parts_table(sizes)
    xpt = report.get("xpt")
    if xpt:
        lines += [
            "",
            f"XPT v5 writers on LB ({xpt['rows']:,} rows, {xpt['columns']} variables):",
            "",
            "| writer | seconds | MB/s |",
            "|---|---|---|",
        ]
        for name, entry in xpt["writers"].items():
            if "seconds" in entry:
                lines.append(f"| {name} | {entry['seconds']:.2f} | {entry['mb_per_s']:.1f} |")
            else:
                lines.append(f"| {name} | skipped: {entry['skipped']} | |")
    parse = report.get("dag_parse")
    if parse and "skipped" not in parse:
        lines += ["", "DAG file parse (DagBag load): " + "; ".join(
            f"`{path}` median {e['median_ms']:.0f} ms (first {e['first_ms']:.0f} ms)"
            for path, e in parse.items()
        )]  # fmt: skip
    test = report.get("dags_test")
    if test and "skipped" not in test:
        runs = [f"`{k}` {v['seconds']:.1f} s" for k, v in test.items() if isinstance(v, dict)]
        lines += ["", "`airflow dags test` (15 subjects): " + ", ".join(runs)]
    lines += _celery_lines(report.get("celery"))
    for failed in report.get("failed", []):
        lines += ["", f"Not measured: {failed['error'].split('; last:')[0]}"]
    if report["aims"]:
        lines += ["", "Aims: " + "; ".join(
            _aim_text(name, a) for name, a in report["aims"].items()
        )]  # fmt: skip
    return "\n".join(lines) + "\n"


def _reference_text(report: dict[str, Any]) -> str:
    runs = [r["machine"] for r in report.get("runs", [])] or [report["machine"]]
    found = [f"{m['reference_s_start']:.2f} s at the start, {m['reference_s_end']:.2f} s at "
             "the end" for m in runs if "reference_s_end" in m]  # fmt: skip
    return "; ".join(found) or "not measured"


def _celery_lines(celery: dict[str, Any] | None) -> list[str]:
    if not celery:
        return []
    if "skipped" in celery:
        return ["", f"Two studies on the Celery topology: not measured ({celery['skipped']})"]
    return celery_two.markdown(celery)


def _gx_parts_table(sizes: list[dict[str, Any]]) -> list[str]:
    """The GX gates' CPU seconds per part, per gate and size (where measured)."""
    measured = [(s["subjects"], gate, parts) for s in sizes
                for gate, parts in s.get("gx_parts", {}).items() if "cpu_s" in parts]  # fmt: skip
    if not measured:
        return []
    names = list(dict.fromkeys(n for *_, parts in measured for n in parts["cpu_s"]))
    head = " | ".join(f"{gate} {n}" for n, gate, _ in measured)
    lines = ["", "Great Expectations gates, CPU seconds per part (gx_parts):", "",
             f"| part | {head} |", "|" + "|".join(["---"] * (len(measured) + 1)) + "|"]  # fmt: skip
    for name in names:
        cells = " | ".join(f"{parts['cpu_s'][name]:.2f}" if name in parts["cpu_s"] else "-"
                           for *_, parts in measured)  # fmt: skip
        lines.append(f"| {name} | {cells} |")
    for label, key in (("gate (no import)", "gate_cpu_s"), ("expectations", "expectations"),
                       ("rows", "rows"), ("Data Docs pages", "docs_pages")):  # fmt: skip
        lines.append(f"| {label} | " + " | ".join(str(p[key]) for *_, p in measured) + " |")
    return lines


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = report["sizes"]
    subjects = [s["subjects"] for s in sizes]
    last = sizes[-1]["stages"]
    top = [s["name"] for s in sorted(last, key=lambda s: -s["wall_s"])[:12]]
    fig, ax = plt.subplots(figsize=(10, 6.5))
    ax.plot(subjects, [s["engine_wall_s"] for s in sizes], "k-o", lw=2.5, label="engine total")
    ax.plot(subjects, [s["floor"]["seconds"] for s in sizes], "k--", lw=1.5, label="I/O floor")
    for name in top:
        points = [(s["subjects"], next((x["wall_s"] for x in s["stages"] if x["name"] == name),
                                       None)) for s in sizes]  # fmt: skip
        xs = [x for x, y in points if y]
        ys = [y for _, y in points if y]
        ax.plot(xs, ys, "-o", ms=3, lw=1, label=name)
    if len(subjects) > 1:
        lo, hi = subjects[0], subjects[-1]
        total = sizes[-1]["engine_wall_s"]
        ax.plot([lo, hi], [total * lo / hi, total], ":", color="grey", label="linear")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("subjects")
    ax.set_ylabel("wall seconds")
    ax.set_title("cdisc-pipeline: seconds per stage vs study size (log-log)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- main -----------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command")
    w = sub.add_parser("worker", help="(internal) run the engine once in this process")
    w.add_argument("--landing", type=Path, required=True)
    w.add_argument("--store", type=Path, required=True)
    w.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("celery", help="only the two-study Celery night (no sizes; JSON to --out)")
    c.add_argument("--out", type=Path, help="write the measure's JSON here")
    m = sub.add_parser("merge", help="one report (--results) of several runs' latest.json")
    m.add_argument("reports", type=Path, nargs="+", help="latest.json files, in order")
    m.add_argument("--celery", type=Path, help="a `celery --out` JSON to report instead")
    p.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES),
                   help="subjects per run (default 15 500 2000 10000)")  # fmt: skip
    p.add_argument("--seed", type=int, default=20261123)
    p.add_argument("--profile", default="realistic", choices=("standard", "realistic"),
                   help="sample volume (default realistic: ~560 LB rows per subject)")  # fmt: skip
    p.add_argument("--cache", type=Path, default=ROOT / ".bench",
                   help="exports (kept) and scratch runs (default .bench/)")  # fmt: skip
    p.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results",
                   help="where latest.json/.md/.png go (default benchmarks/results/)")  # fmt: skip
    p.add_argument("--xpt-rows", type=int, default=300_000,
                   help="LB rows for the XPT writers (0: all; default 300000)")  # fmt: skip
    p.add_argument("--parse-repeats", type=int, default=10)
    p.add_argument("--max-rss", type=float, default=12.0,
                   help="stop a size's engine above this RSS, GiB (default 12)")  # fmt: skip
    p.add_argument("--gx-parts-max", type=int, default=2000,
                   help="measure the GX gates per part up to this size (default 2000)")  # fmt: skip
    p.add_argument("--gx-profile", action="store_true",
                   help="also profile each gate (cProfile: top functions in gx_parts)")  # fmt: skip
    p.add_argument("--no-r", action="store_true", help="skip R haven")
    p.add_argument("--no-airflow", action="store_true",
                   help="skip DAG parse time and airflow dags test")  # fmt: skip
    p.add_argument("--celery", action="store_true",
                   help="also two studies' nights at once on the Celery topology")  # fmt: skip
    p.add_argument("--celery-subjects", type=int, default=15,
                   help="POMMAINT subjects for --celery (default 15)")  # fmt: skip
    return p


def merged(reports: list[dict[str, Any]], celery: dict[str, Any] | None) -> dict[str, Any]:
    """One report of several runs of this script (sizes run side by side, each pinned to a
    core of its own, say): the sizes of all (a size in two: the later report's), each
    run's machine facts under ``runs``, the XPT, DAG and Celery measures of the first
    report that measured them (`celery`, if given, instead), the aims recomputed."""
    by: dict[int, dict[str, Any]] = {}
    failed: dict[int, dict[str, Any]] = {}
    for report in reports:
        for size in report["sizes"]:
            by[size["subjects"]] = size
            failed.pop(size["subjects"], None)
        for fault in report.get("failed", []):
            if fault["subjects"] not in by:
                failed[fault["subjects"]] = fault
    out: dict[str, Any] = {
        **{k: reports[0][k] for k in ("schema", "study", "profile", "seed", "machine")},
        "started": min(r["started"] for r in reports),
        "finished": max(r["finished"] for r in reports),
        "runs": [{"sizes": [s["subjects"] for s in r["sizes"]], "started": r["started"],
                  "finished": r["finished"], "machine": r["machine"]} for r in reports],
        "sizes": [by[n] for n in sorted(by)],
    }  # fmt: skip
    if failed:
        out["failed"] = [failed[n] for n in sorted(failed)]
    for key in ("xpt", "dag_parse", "dags_test", "celery"):
        given = [r[key] for r in reports if key in r]  # a measure before a skip
        found = next((m for m in given if "skipped" not in m), given[0] if given else None)
        if found is not None:
            out[key] = found
    if celery is not None:
        out["celery"] = celery
    out["aims"] = aims(out)
    return out


def write_results(report: dict[str, Any], results: Path) -> None:
    """latest.json, latest.md and latest.png of `report` in `results`."""
    results.mkdir(parents=True, exist_ok=True)
    (results / "latest.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (results / "latest.md").write_text(markdown(report), encoding="utf-8")
    plot(report, results / "latest.png")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "worker":
        worker(args.landing, args.store, args.out)
        return 0
    if args.command == "merge":
        loaded = [json.loads(path.read_text(encoding="utf-8")) for path in args.reports]
        celery = json.loads(args.celery.read_text(encoding="utf-8")) if args.celery else None
        together = merged(loaded, celery)
        write_results(together, args.results)
        print(markdown(together))
        return 0
    started = datetime.now(UTC)
    cache: Path = args.cache.resolve()
    cache.mkdir(parents=True, exist_ok=True)
    if args.command == "celery":
        celery = celery_night(cache, args.celery_subjects, args.seed, args.profile)
        if args.out:
            args.out.write_text(json.dumps(celery, indent=2) + "\n", encoding="utf-8")
        print("\n".join(_celery_lines(celery)))
        return 0
    work = Path(tempfile.mkdtemp(prefix="run-", dir=cache))
    report: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "started": started.isoformat(),
        "study": STUDY,
        "profile": args.profile,
        "seed": args.seed,
        "machine": machine(),
        "sizes": [],
    }
    try:
        store: Path | None = None
        for subjects in sorted(set(args.sizes)):
            landing = ensure_export(cache, subjects, args.seed, args.profile)
            try:
                result, size_store = run_size(
                    subjects, landing, work, max_rss_gib=args.max_rss,
                    gx_parts_max=args.gx_parts_max, gx_profile=args.gx_profile,
                )  # fmt: skip
            except (RuntimeError, OSError) as exc:  # recorded; the other sizes still count
                print(f"  failed: {exc}", flush=True)
                partial = exc.partial if isinstance(exc, SizeFailed) else {}
                report.setdefault("failed", []).append(
                    {"subjects": subjects, "error": str(exc), **partial}
                )
                continue
            report["sizes"].append(result)
            if store is not None:
                shutil.rmtree(store, ignore_errors=True)
            store = size_store
        if store is None:
            raise SystemExit("no size ran to the end; see the worker logs in the cache")
        print("XPT writers side by side ...", flush=True)
        report["xpt"] = xpt_writers(store, args.xpt_rows, work, with_r=not args.no_r)
        report["xpt"]["subjects"] = report["sizes"][-1]["subjects"]
        if args.no_airflow:
            report["dag_parse"] = report["dags_test"] = {"skipped": "--no-airflow given"}
        else:
            print("DAG parse time and airflow dags test ...", flush=True)
            for key, measure in (
                ("dag_parse", lambda: dag_parse(cache / "airflow", args.parse_repeats)),
                ("dags_test", lambda: dags_test(cache, args.seed)),
            ):
                try:
                    report[key] = measure()
                except (subprocess.CalledProcessError, OSError, ValueError) as exc:
                    detail = getattr(exc, "stderr", "") or ""
                    report[key] = {"skipped": f"failed: {exc}", "stderr": detail[-2000:]}
        if args.celery:
            try:
                report["celery"] = celery_night(cache, args.celery_subjects, args.seed,
                                                args.profile)  # fmt: skip
            except (AssertionError, subprocess.CalledProcessError, OSError) as exc:
                report["celery"] = {"skipped": f"failed: {str(exc)[:300]} (logs: {cache})"}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report["finished"] = datetime.now(UTC).isoformat()
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    report["machine"]["reference_s_end"] = reference_seconds()
    report["aims"] = aims(report)
    results: Path = args.results
    write_results(report, results)
    print(markdown(report))
    print(f"results: {results / 'latest.json'}, latest.md, latest.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

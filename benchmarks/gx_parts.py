"""Where the two Great Expectations gates spend their CPU, per part (issue 22, point 3).

Each gate runs again, in a fresh Python process, on the run folder a benchmark size has
just produced (``validate_raw`` / ``validate_sdtm`` as the pipeline calls them), with a CPU
timer (``time.process_time``) around each part:

- ``import``: importing ``great_expectations`` (paid once per worker process);
- ``context``: creating the ephemeral GX context of the gate;
- ``prepare``: the validated frames of the raw forms (trimmed text, derived columns);
- ``distinct``: finding the distinct records the record-wise checks are validated on
  (:mod:`transforms.quality.distinct`: a code per record and set of columns read);
- ``per_row``: GX computing its metrics on the frames (``ExecutionEngine.resolve_metrics``:
  the actual checks, row-condition filters included): what grows with the rows;
- ``per_expectation``: the rest of each validation (expectation objects, the suite and
  validation definition added to the context, the metric graph GX plans per expectation,
  the result objects): bookkeeping that grows with the number of expectations;
- ``results_store``: GX serialising each validation result into its store (for the docs);
- ``data_docs``: GX building the Data Docs site, made readable offline;
- ``listing``: the listing CSV/HTML and summary of the gate;
- ``other``: the rest of the gate (reading the parquet files, generating the suites).

The timers wrap functions in this process only; nothing in the engine is changed to be
measured. With ``--profile FILE`` a second run of the gate, under cProfile, writes its
statistics there and adds the functions with the most own time to the result.

    .venv/bin/python benchmarks/gx_parts.py --run RUN_FOLDER --gate raw --out parts.json
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import json
import pstats
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GATES = ("raw", "sdtm")


class _Timers:
    """CPU seconds per part; a part entered again while it runs (recursion) counts once."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._depth: dict[str, int] = {}

    @contextlib.contextmanager
    def part(self, name: str) -> Iterator[None]:
        depth = self._depth.get(name, 0)
        self._depth[name] = depth + 1
        t0 = time.process_time()
        try:
            yield
        finally:
            self._depth[name] = depth
            if depth == 0:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.process_time() - t0
                self.calls[name] = self.calls.get(name, 0) + 1

    def wrap(self, owner: Any, attribute: str, name: str) -> None:
        """Time every call of ``owner.attribute`` (a function or method) as part `name`."""
        original: Callable[..., Any] = getattr(owner, attribute)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.part(name):
                return original(*args, **kwargs)

        setattr(owner, attribute, timed)


def _run_gate(run_folder: Path, gate: str) -> Any:
    from transforms.quality import gates
    from transforms.specs import load_study
    from transforms.store import RunFolder

    run = RunFolder(run_folder)
    check = gates.validate_raw if gate == "raw" else gates.validate_sdtm
    try:
        return check(run, load_study(run.info.get("study", "POMMAINT")))
    except gates.QualityGateError as failed:  # planted errors: the gate still ran through
        return failed.result


def measure(run_folder: Path, gate: str, profile: Path | None = None) -> dict[str, Any]:
    """The CPU seconds of one gate's parts, measured in this (fresh) process."""
    import pandas  # noqa: F401  # imported by every stage before a gate: not GX's cost

    from transforms.quality import distinct, engine, gates

    timers = _Timers()
    with timers.part("import"):
        engine.import_gx()  # the engine's own lazy import, measured alone
    from great_expectations.data_context.data_context.abstract_data_context import (
        AbstractDataContext,
    )
    from great_expectations.data_context.store.validation_results_store import (
        ValidationResultsStore,
    )
    from great_expectations.execution_engine.execution_engine import ExecutionEngine

    timers.wrap(engine, "_context", "context")
    timers.wrap(gates, "validated_frame", "prepare")
    timers.wrap(distinct, "outcome_codes", "distinct")
    timers.wrap(distinct, "first_rows", "distinct")
    timers.wrap(engine, "_validate", "validate")
    timers.wrap(ExecutionEngine, "resolve_metrics", "per_row")
    timers.wrap(ValidationResultsStore, "store_validation_results", "results_store")
    timers.wrap(AbstractDataContext, "build_data_docs", "data_docs")
    timers.wrap(engine, "make_offline", "data_docs")
    timers.wrap(engine, "_drop_unused_images", "data_docs")
    timers.wrap(gates, "_finish", "listing")
    with timers.part("gate"):
        result = _run_gate(run_folder, gate)
    s = timers.seconds
    validate = s.get("validate", 0.0)
    per_row = s.get("per_row", 0.0)
    store = s.get("results_store", 0.0)
    parts = {
        "import": s["import"],
        "context": s.get("context", 0.0),
        "prepare": s.get("prepare", 0.0),
        "distinct": s.get("distinct", 0.0),
        "per_expectation": validate - per_row - store,
        "per_row": per_row,
        "results_store": store,
        "data_docs": s.get("data_docs", 0.0),
        "listing": s.get("listing", 0.0),
    }
    gate_s = s["gate"]
    parts["other"] = gate_s - sum(v for k, v in parts.items() if k != "import")
    folder = Path(run_folder)
    rows = _rows_validated(folder, gate)
    out: dict[str, Any] = {
        "cpu_s": {k: round(v, 3) for k, v in parts.items()},
        "gate_cpu_s": round(gate_s, 3),
        "with_import_cpu_s": round(gate_s + s["import"], 3),
        "suites": result.suites,
        "expectations": result.expectations,
        "validations": timers.calls.get("validate", 0),
        "rows": rows,
        "docs_pages": sum(1 for _ in (folder / "reports" / "gx_docs" / gate).rglob("*.html")),
        "per_expectation_ms": round(
            1000 * parts["per_expectation"] / max(result.expectations, 1), 3
        ),
        "per_row_us": round(1e6 * per_row / max(rows, 1), 3),
    }
    if profile is not None:
        out["profile"] = _profiled(run_folder, gate, profile)
    return out


def _rows_validated(folder: Path, gate: str) -> int:
    """Rows of the frames the gate validates (raw forms or SDTM datasets), from the files."""
    import pyarrow.parquet as pq

    files = (folder / ("raw" if gate == "raw" else "sdtm")).glob("*.parquet")
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def _profiled(run_folder: Path, gate: str, path: Path, top: int = 12) -> dict[str, Any]:
    """The gate once more under cProfile (warm: GX imported); the statistics go to `path`."""
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    _run_gate(run_folder, gate)
    profiler.disable()
    profiler.dump_stats(path)
    stats = pstats.Stats(str(path))
    total = stats.total_tt  # type: ignore[attr-defined]
    entries = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:top]  # type: ignore[attr-defined]
    return {
        "file": str(path),
        "cpu_s": round(total, 3),
        "top_own_time": [
            {
                "function": f"{Path(file).name}:{line}({name})",
                "own_s": round(tt, 3),
                "share": round(tt / total, 3) if total else 0.0,
            }
            for (file, line, name), (_, _, tt, _, _) in entries
        ],
    }


def gx_parts(run_folder: Path, work: Path, *, profile: bool = False) -> dict[str, Any]:
    """Both gates' parts, each gate in a fresh process (so the import is measured)."""
    out: dict[str, Any] = {}
    for gate in GATES:
        target = work / f"gx_parts-{gate}.json"
        cmd = [sys.executable, __file__, "--run", str(run_folder), "--gate", gate,
               "--out", str(target)]  # fmt: skip
        if profile:
            cmd += ["--profile", str(work / f"gx_parts-{gate}.prof")]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            out[gate] = {"skipped": f"failed: {done.stderr.strip().splitlines()[-1:]}"}
            continue
        out[gate] = json.loads(target.read_text(encoding="utf-8"))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", type=Path, required=True, help="a run folder the engine wrote")
    p.add_argument("--gate", choices=GATES, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--profile", type=Path, help="also profile the gate; stats to this file")
    args = p.parse_args(argv)
    result = measure(args.run, args.gate, args.profile)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

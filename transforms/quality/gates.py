"""The quality gates as pipeline stages: one call each, given only the run folder.

``validate_raw(run, study)`` runs after extract, on the raw snapshot of each form and the
extract facts; ``validate_sdtm(run, study)`` runs once every dataset is mapped,
on ``<run>/sdtm/<dataset>.parquet``. Each writes into ``<run>/reports/``:

- ``quality_<gate>.csv`` and ``quality_<gate>.html``: the listing a data manager can filter
  (the findings layout of :mod:`transforms.listing`: severity, subject, site, dataset,
  file, row, variable, value, rule, message, ...);
- ``quality_<gate>.txt``: the one-screen summary (also returned as text);
- ``gx_docs/<gate>/index.html``: the Great Expectations Data Docs of the suites and results;

and returns a :class:`GateResult`. When any error-severity expectation fails it raises
:class:`QualityGateError` (after writing the reports); warnings are listed and pass.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from transforms.errors import PipelineError
from transforms.listing import conform
from transforms.quality import engine
from transforms.quality.prepare import ROW, text, validated_frames
from transforms.quality.report import SOURCES, Source, listing, summarise, write_listing
from transforms.quality.suites import SITE, SUBJECT, subject_form, suites_for
from transforms.specs import StudySpec
from transforms.store import RunFolder

log = logging.getLogger("cdisc")

Gate = Literal["raw", "sdtm"]


@dataclass(frozen=True)
class GateResult:
    """What one gate found: counts, report paths and the summary text."""

    gate: Gate
    study: str
    run: str
    suites: int
    expectations: int
    passed: int
    failed: int
    errors: int  # failed error-severity expectations: publishing stops
    warnings: int  # failed warning-severity expectations: listed, published
    failing_rows: int
    listing_csv: Path
    listing_html: Path
    summary_file: Path
    docs: Path  # Data Docs index.html
    summary: str

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (paths as text), e.g. for an Airflow XCom."""
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


class QualityGateError(PipelineError):
    """Error-severity expectations failed: the run must not publish. The message names
    the first failing rows (file, row, column, rule, value) and the listing's path."""

    def __init__(self, message: str, result: GateResult) -> None:
        super().__init__(message)
        self.result = result


def _started(info: dict[str, Any]) -> datetime:
    started = info.get("started")
    return datetime.fromisoformat(started) if started else datetime.now(UTC)


def _finish(
    gate: Gate,
    run: RunFolder,
    study: StudySpec,
    runs: list[engine.SuiteRun],
    sources: dict[str, Source],
    extra: pd.DataFrame | None,
    t0: float,
) -> GateResult:
    """Write the listing and summary; raise QualityGateError if any error failed."""
    found = listing(runs, sources)
    if extra is not None and len(extra):
        found = pd.concat([conform(extra, SOURCES[gate]), found], ignore_index=True)
    csv, html = run.report(f"quality_{gate}.csv"), run.report(f"quality_{gate}.html")
    title = f"Quality gate {gate} - {study.id} run {run.run_id}"
    write_listing(found, csv, html, title, study.id, run.run_id)
    docs = run.gx_docs(gate)
    counts, summary = summarise(runs, title, csv, docs, time.perf_counter() - t0)
    if extra is not None and len(extra):
        summary += f"\n{len(extra)} dataset(s) missing: " + ", ".join(extra["dataset"].astype(str))
    summary_file = run.report(f"quality_{gate}.txt")
    summary_file.write_text(summary + "\n", encoding="utf-8")
    errors = counts.errors + (0 if extra is None else len(extra))
    result = GateResult(
        gate=gate, study=study.id, run=run.run_id, suites=counts.suites,
        expectations=counts.expectations, passed=counts.passed, failed=counts.failed,
        errors=errors, warnings=counts.warnings, failing_rows=counts.failing_rows,
        listing_csv=csv, listing_html=html, summary_file=summary_file,
        docs=docs / "index.html", summary=summary,
    )  # fmt: skip
    log.info(
        "gate %s: %d rows, %d expectation(s), %d failed (%d error, %d warning), %.2f s",
        gate, sum(r.rows for r in runs), counts.expectations, counts.failed,
        errors, counts.warnings, time.perf_counter() - t0,
    )  # fmt: skip
    if counts.warnings:
        log.warning("gate %s: %d warning expectation(s) failed; listed in %s",
                    gate, counts.warnings, csv)  # fmt: skip
    if errors:
        first = found[found["severity"] == "error"].head(10)
        lines = [
            f"{r['file']} row {r['row'] if pd.notna(r['row']) else '-'} subject "
            f"{r['subject'] if pd.notna(r['subject']) else '-'} column "
            f"{r['variable'] if pd.notna(r['variable']) else '-'} "
            f"[{r['rule']}] value {r['value'] if pd.notna(r['value']) else ''!r}: {r['message']}"
            for r in first.to_dict("records")
        ]
        more = int((found["severity"] == "error").sum()) - len(first)
        if more > 0:
            lines.append(f"... and {more} more error row(s)")
        raise QualityGateError(
            f"quality gate {gate}: {errors} error expectation(s) failed; listing in {csv}\n"
            + "\n".join(lines),
            result,
        )
    return result


def validate_raw(run: RunFolder, study: StudySpec) -> GateResult:
    """Run the raw suites of the run's study on the raw snapshot of its export."""
    t0 = time.perf_counter()
    info = run.info
    files = run.forms_by_file
    forms = {oid: pd.read_parquet(run.raw_form(oid)).reset_index(drop=True) for oid in study.forms}
    suites = suites_for(study, "raw")
    frames = validated_frames(forms, {oid: s.derived for oid, s in suites.items()})
    dm = frames[subject_form(study)]
    cutoff = info.get("data_cutoff") or str(info.get("export_created", ""))[:10]
    parameters = {
        "subjects": sorted(dm[SUBJECT].dropna().unique().tolist()) if SUBJECT in dm else [],
        "cutoff": pd.Timestamp(cutoff) if cutoff else pd.Timestamp.max,
    }
    runs = engine.run_suites(
        list(suites.values()), frames, parameters, run.gx_docs("raw"),
        run.run_id, _started(info),
    )  # fmt: skip
    sources = {}
    for oid, frame in frames.items():
        empty = pd.Series(pd.NA, index=frame.index, dtype="string")
        sources[oid] = Source(
            form=oid,
            file=files.get(oid, f"{study.forms[oid].file}"),
            values=forms[oid],
            checked=frame,
            row=frame[ROW] if ROW in frame else pd.Series(frame.index + 1, index=frame.index),
            subject=frame.get(SUBJECT, empty),
            site=frame.get(SITE, empty),
        )
    return _finish("raw", run, study, runs, sources, None, t0)


def validate_sdtm(run: RunFolder, study: StudySpec) -> GateResult:
    """Run the SDTM suites (generated from the dataset specs) on the mapped datasets."""
    t0 = time.perf_counter()
    info = run.info
    suites = suites_for(study, "sdtm")
    paths = {name: run.sdtm_table(name) for name in suites}
    frames = {n: pd.read_parquet(p).reset_index(drop=True) for n, p in paths.items() if p.exists()}
    missing = [name for name in suites if name not in frames]
    extra = pd.DataFrame(
        {"severity": "error", "dataset": missing,
         "file": [f"sdtm/{paths[n].name}" for n in missing], "rule": "SDTM-MISSING",
         "message": "dataset not found in the run folder",
         "suite": [suites[n].name for n in missing]}
    )  # fmt: skip
    dm = frames.get("DM", pd.DataFrame({"USUBJID": [], SITE: []}))
    usubjids = text(dm["USUBJID"]).dropna()
    sites = pd.Series(text(dm[SITE]).to_numpy(), index=usubjids.reindex(dm.index).to_numpy())
    sites = sites[sites.index.notna()]
    sites = sites[~sites.index.duplicated()]
    parameters = {"usubjids": sorted(usubjids.unique().tolist())}
    present = [suites[n] for n in suites if n in frames]
    runs = engine.run_suites(
        present, frames, parameters, run.gx_docs("sdtm"), run.run_id,
        _started(info),
    )  # fmt: skip
    sources = {}
    for name, frame in frames.items():
        subject = (
            text(frame["USUBJID"])
            if "USUBJID" in frame
            else pd.Series(pd.NA, index=frame.index, dtype="string")
        )
        sources[name] = Source(
            form=name,
            file=f"sdtm/{paths[name].name}",
            values=frame,
            checked=frame,
            row=pd.Series(frame.index + 1, index=frame.index),
            subject=subject,
            site=pd.Series(sites.reindex(subject.to_numpy()).to_numpy(), index=frame.index),
        )
    return _finish("sdtm", run, study, runs, sources, extra, t0)

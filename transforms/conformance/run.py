"""The stage entry point: check a run folder, write the report, return the counts."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from transforms import listing as layout
from transforms import standards
from transforms.adam.spec import AdamSpec, load_adam_spec
from transforms.conformance import adam, metadata, schedule, sdtm
from transforms.conformance.findings import Findings, XptMeta, as_listing
from transforms.conformance.load import READ_ERRORS, datasets, read_xpt_rows
from transforms.conformance.report import write_csv, write_html
from transforms.conformance.rules import BLOCKING, SEVERITIES
from transforms.conformance.workbook import write_workbook
from transforms.specs import SpecError, StudySpec, load_study
from transforms.store import RunFolder, read_json

log = logging.getLogger("cdisc.conformance")

CSV_NAME = "conformance.csv"
HTML_NAME = "conformance.html"


@dataclass(frozen=True)
class ConformanceResult:
    """The outcome of :func:`check_run`. Findings never raise: the caller gates on
    :attr:`blocking` (findings whose severity is in :data:`BLOCKING`: Reject, Error)."""

    findings: pd.DataFrame  # the rows of conformance.csv
    counts: Mapping[str, int]  # findings by severity (every severity, 0 if none)
    csv: Path
    html: Path

    @property
    def blocking(self) -> int:
        """How many findings should stop a publication (severity Reject or Error)."""
        return sum(self.counts.get(s, 0) for s in BLOCKING)

    @property
    def passed(self) -> bool:
        return self.blocking == 0

    def describe(self, limit: int = 10) -> str:
        """One line per blocking finding (first ``limit``), for a failure message."""
        rows = self.findings[self.findings["severity"].isin(list(BLOCKING))]
        lines = [
            f"{r['rule_id']} {r['severity']} {r['dataset']}.{r['variable'] or ''} "
            f"USUBJID {r['USUBJID'] or '-'} SEQ {r['SEQ'] or '-'} row {r['row'] or '-'} "
            f"value {r['value']!r}: {r['message']}"
            for r in rows.head(limit).astype("string").fillna("").to_dict("records")
        ]
        if len(rows) > limit:
            lines.append(f"... and {len(rows) - limit} more in {self.csv}")
        return "\n".join(lines)


def _study_id(run: RunFolder) -> str | None:
    for path in (run.info_path, run.adam_info_path, run.manifest_path):
        if study := read_json(path).get("study"):
            return str(study)
    return None


def _created(run: RunFolder) -> datetime:
    """The export's creation time (UTC, as the workbook records it): the same export gives
    the same workbook; 2000-01-01 for a folder without extract facts."""
    text = read_json(run.info_path).get("export_created")
    if not text:
        return datetime(2000, 1, 1)
    stamp = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return stamp.astimezone(UTC).replace(tzinfo=None) if stamp.tzinfo else stamp


def _sdtm_label(dataset: str, column: str) -> str | None:
    variable = standards.ig_variable(dataset, column)
    return variable.label if variable else None


def _sdtm_columns(run: RunFolder, name: str, columns: list[str]) -> pd.DataFrame | None:
    """Some columns (those it has) of one SDTM dataset of the run: from its Parquet file,
    else (missing or unreadable) its XPT; None when neither can be read (the dataset's own
    checks report that)."""
    for path in (run.sdtm_table(name), run.sdtm_table(name, ".xpt")):
        try:
            if path.suffix == ".parquet":
                names = set(pq.read_schema(path).names)
                return pd.read_parquet(path, columns=[c for c in columns if c in names])
            data = read_xpt_rows(path)
            return data[[c for c in columns if c in data.columns]]
        except READ_ERRORS:
            continue
    return None


def _epochs(design: schedule.Schedule, study: StudySpec | None) -> tuple[frozenset[str], str]:
    """Valid EPOCH values: TA.EPOCH when the run has TA, else the study spec's epochs."""
    ta = design.get("TA")
    if ta is not None and "EPOCH" in ta.columns:
        return frozenset(ta["EPOCH"].dropna().astype(str)), "the trial (TA)"
    if study is not None:
        return sdtm.spec_epochs(study), "the study spec"
    return frozenset(), ""


def _sdtm_rows_and_dm(run: RunFolder) -> tuple[dict[str, int], pd.DataFrame | None]:
    """Row counts (from Parquet footers) and DM's subjects, without reading the rest."""
    rows = {}
    for name, path in run.sdtm_tables().items():
        try:
            rows[name] = pq.ParquetFile(path).metadata.num_rows
        except READ_ERRORS:
            continue  # the report taken over already names the file
    ids = ["STUDYID", "USUBJID"]
    data = _sdtm_columns(run, "DM", ids)
    return rows, data if data is not None and list(data.columns) == ids else None


def check_run(
    run_dir: Path,
    study: str | None = None,
    sdtm_checked: Path | None = None,
    spec: StudySpec | None = None,
) -> ConformanceResult:
    """Check the SDTM (``sdtm/``) and ADaM (``adam/``) of a run folder against the rules
    of :mod:`transforms.conformance.rules`; write ``reports/conformance.csv`` and
    ``reports/conformance.html``, and with the quality gates' listings the workbook
    ``reports/findings.xlsx``. Never raises on findings (nor on an unreadable file,
    which is itself a finding); the caller decides from :attr:`ConformanceResult.blocking`.

    ``sdtm_checked``: the conformance.csv of the SDTM-only run whose ``sdtm/`` this run
    holds unchanged (an ADaM run's hard links): its findings are taken over and the SDTM
    is read only for what the ADaM checks need (DM), not checked again. ``spec``: the
    study's spec, when the caller has it loaded.
    """
    run = RunFolder(Path(run_dir))
    findings = Findings()
    study_id = spec.id if spec is not None else study or _study_id(run)
    adam_specs: dict[str, AdamSpec] = {}
    if study_id is None:
        findings.one("PIPE-010", "-", None, "the run names no study: spec checks not made")
    else:
        try:
            spec = spec or load_study(study_id)
            for name in spec.adam:
                adam_specs[name] = load_adam_spec(spec.adam_spec_path(name))
        except SpecError as exc:
            findings.one("PIPE-010", "-", None, f"study specs of {study_id}: {exc}")
    design = schedule.load(partial(_sdtm_columns, run))
    epochs, epoch_source = _epochs(design, spec)
    sdtm_ctx = sdtm.SdtmContext(spec, epochs, epoch_source, design)
    rows: dict[str, int] = {}
    metas: dict[str, XptMeta] = {}
    if sdtm_checked is not None:
        findings.take_over(sdtm_checked)
        rows, dm = _sdtm_rows_and_dm(run)
    else:
        for ds in datasets(run.sdtm, "SDTM", findings):
            rows[ds.name] = ds.length
            metadata.check_dataset(ds, findings, partial(_sdtm_label, ds.name))
            sdtm.check_dataset(ds, sdtm_ctx, findings)
            for frame in ds.frames():
                metadata.check_values(frame, findings)
                sdtm.check_frame(frame, sdtm_ctx, findings)
            sdtm.checked(ds, sdtm_ctx)
            if ds.xpt is not None:
                metas[ds.name] = ds.xpt
        sdtm.check_study(sdtm_ctx, findings)
        metadata.check_define(run.sdtm, metas, findings, "define.xml (SDTM)")
        dm = sdtm_ctx.dm
    adam_ctx = adam.AdamContext(
        adam_specs,
        dm[["STUDYID", "USUBJID"]]
        if dm is not None and {"STUDYID", "USUBJID"} <= set(dm.columns)
        else None,
    )
    metas = {}
    for ds in datasets(run.adam, "ADaM", findings):
        rows[ds.name] = ds.length
        labels = adam.ig_label(ds, adam_ctx)
        metadata.check_dataset(ds, findings, labels.get)
        adam.check_dataset(ds, adam_ctx, findings)
        for frame in ds.frames():
            metadata.check_values(frame, findings)
            adam.check_frame(frame, adam_ctx, findings)
        if ds.xpt is not None:
            metas[ds.name] = ds.xpt
    adam.check_study(adam_ctx, findings)
    metadata.check_define(run.adam, metas, findings, "define.xml (ADaM)")

    table = findings.frame()
    counts: dict[str, int] = {s: int((table["severity"] == s).sum()) for s in SEVERITIES}
    result = ConformanceResult(table, counts, run.report(CSV_NAME), run.report(HTML_NAME))
    write_csv(table, result.csv)
    title = f"Conformance report: {study_id or 'unknown study'}, run {run.run_id}"
    write_html(
        table, result.html, title=title, counts=counts, datasets=rows,
        study=study_id or "unknown", run=run.run_id,
    )  # fmt: skip
    quality = [layout.read_csv(path) for path in run.quality_listings()]
    write_workbook(
        run.findings_workbook, as_listing(table),
        pd.concat(quality, ignore_index=True) if quality else layout.empty(), rows,
        created=_created(run), title=f"Findings: {study_id or 'unknown study'}, run {run.run_id}",
    )  # fmt: skip
    log.info(
        "conformance: %s findings (%s); report %s",
        len(table),
        ", ".join(f"{k} {v}" for k, v in counts.items()),
        result.html,
    )
    return result

"""The nightly job as stages. The CLI runs them in a row; the DAG runs each as a task.

Stages hand each other only a run folder (a path), so any stage can run in another
process or on another machine: extract -> map (DM first) -> write XPT -> publish.
Every stage logs one progress line (rows and seconds) and raises :class:`PipelineError`
with a readable message on bad input.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import logging
import platform
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from transforms import __version__
from transforms.extract.exports import Export, find_newest_complete, sha256_file
from transforms.extract.readers import RawFileError, read_form
from transforms.issues import COLUMNS as ISSUE_COLUMNS
from transforms.issues import IssueLog, describe
from transforms.publish import RunFolder, current, new_run, prune, publish, study_lock
from transforms.specs import StudySpec, load_study

if TYPE_CHECKING:
    from transforms.xpt import XptError

log = logging.getLogger("cdisc")


class PipelineError(RuntimeError):
    """A run that must not publish; the message says what and where."""


class NothingNew(Exception):
    """The newest export is the one already published, file for file: nothing to do."""


@dataclass
class Stage:
    name: str
    run: RunFolder | None = None  # where a failure is recorded (set once the run exists)
    rows_in: int = 0
    rows_out: int = 0


def _libc_malloc_trim() -> Callable[[int], int] | None:
    libc = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(libc), "malloc_trim", None) if libc else None


_MALLOC_TRIM = _libc_malloc_trim()


def release_memory() -> None:
    """Give back to the OS what earlier stages freed: the C and Arrow allocators keep freed
    pages for reuse, so one process running the stages in turn (``cdisc run``) would
    otherwise hold the largest stage's peak for the rest of the night."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    if _MALLOC_TRIM is not None:  # glibc
        _MALLOC_TRIM(0)


@contextmanager
def stage(name: str, run: RunFolder | None = None) -> Iterator[Stage]:
    """Time a stage and log its progress line. A stage of a run that fails records why in
    the run's ``reports/failure.json`` (stage, error type and message) before re-raising."""
    release_memory()
    s = Stage(name, run)
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        yield s
    except Exception as exc:
        if s.run is not None and s.run.reports.is_dir():
            failure = {"stage": name, "error": type(exc).__name__, "message": str(exc),
                       "at": datetime.now(UTC).isoformat()}  # fmt: skip
            (s.run.reports / "failure.json").write_text(
                json.dumps(failure, indent=2) + "\n", encoding="utf-8"
            )
        raise
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    # The record carries the numbers too (``record.cdisc_stage``), for the benchmark's handler.
    numbers = {"name": s.name, "rows_in": s.rows_in, "rows_out": s.rows_out, "wall": wall,
               "cpu": cpu}  # fmt: skip
    log.info(
        "%-12s rows in %8d  rows out %8d  %7.2f s wall  %7.2f s cpu",
        s.name,
        s.rows_in,
        s.rows_out,
        wall,
        cpu,
        extra={"cdisc_stage": numbers},
    )


def _run_info(run: RunFolder) -> dict[str, Any]:
    info: dict[str, Any] = json.loads((run.raw / "extract.json").read_text(encoding="utf-8"))
    return info


def _fail_on_errors(issues: IssueLog, run: RunFolder, name: str) -> None:
    """Write the issue listing; refuse to go on if any issue is an error."""
    path = run.reports / f"issues_{name.lower()}.csv"
    issues.write_csv(path)
    errors = issues.errors()
    warnings = len(issues.frame()) - len(errors)
    if warnings:
        log.warning("%s: %d warning(s) listed in %s", name, warnings, path)
    if len(errors):
        raise PipelineError(
            f"{name}: {len(errors)} error(s); listing in {path}\n{describe(errors)}"
        )


# --- extract ---------------------------------------------------------------------------


def _check_form(
    form_oid: str, df: pd.DataFrame, study: StudySpec, file: str, issues: IssueLog
) -> None:
    spec = study.forms[form_oid]
    columns = [c for c in df.columns if c != "__ROW"]
    missing = [c for c in spec.columns if c not in columns]
    if missing:
        raise PipelineError(
            f"{file}: column(s) {missing} missing from the header, line 1 "
            f"(rule FORM-COLUMNS; expected {list(spec.columns)})"
        )
    extra = [c for c in columns if c not in spec.columns]
    if extra:
        log.warning("%s: unknown column(s) %s kept in the raw snapshot, not mapped", file, extra)
    for col in (c for c in spec.columns.values() if c.required):
        values = df[col.name].astype("string").str.strip()
        issues.add(
            df,
            values.isna() | (values == ""),
            severity="error",
            dataset="RAW",
            form=file,
            column=col.name,
            values=df[col.name],
            rule="REQUIRED",
            message=f"{col.label} is required",
        )
    keys = df[list(spec.keys)].apply(lambda s: s.astype("string").str.strip())
    dup = keys.duplicated(keep=False)
    label = keys.iloc[:, 0].fillna("")
    for col in keys.columns[1:]:
        label = label + "|" + keys[col].fillna("")
    issues.add(
        df,
        dup,
        severity="error",
        dataset="RAW",
        form=file,
        column="/".join(spec.keys),
        values=label,
        rule="KEY",
        message=f"duplicate record key {'/'.join(spec.keys)}",
    )


def _check_rows(path: Path, rows: int, manifest: dict[str, Any] | None) -> None:
    """The records read must be as many as the EDC's manifest says it wrote (if it says)."""
    entry = (manifest or {}).get("files", {}).get(path.name)
    expected = entry.get("rows") if isinstance(entry, dict) else None
    if isinstance(expected, int) and not isinstance(expected, bool) and expected != rows:
        raise RawFileError(
            path,
            f"{rows} record(s) read where export.json says {expected} were written "
            "(records lost: file cut short?)",
            "RAW-ROWS",
            record=min(rows, expected) + 1,
        )


def _already_published(store: Path, study: str, export: Export, digests: dict[str, str]) -> None:
    """Raise NothingNew when `current` was made from this very export (same files)."""
    published = current(store, study)
    manifest_path = published / "manifest.json" if published else None
    if manifest_path is None or not manifest_path.exists():
        return
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    before = {name: entry["sha256"] for name, entry in manifest.get("inputs", {}).items()}
    if manifest.get("export_id") == export.export_id and before == digests:
        if export.skipped:  # the night's own export is broken: say so, do not pass quietly
            raise PipelineError(
                f"newer export(s) of {study} not complete, so not read (rule EXPORT-COMPLETE):\n"
                + "\n".join(f"  {lack}" for lack in export.skipped)
                + f"\nthe newest complete export {export.export_id} is already published"
            )
        raise NothingNew(
            f"export {export.export_id} is already published as run {manifest.get('run_id')}"
        )


def extract(
    study_id: str, landing: Path, store: Path, run_id: str | None = None, force: bool = False
) -> Path:
    """Snapshot the newest complete export into a new run folder; return the folder.

    Raises NothingNew when that export is already published (unless `force`)."""
    study = load_study(study_id)
    with stage("extract") as s:
        files = {oid: f.file for oid, f in study.forms.items()}
        export: Export = find_newest_complete(
            landing, study_id, list(files.values()), study.settle_seconds
        )
        digests = {
            export.files[stem].name: sha256_file(export.files[stem]) for stem in files.values()
        }
        if not force:
            _already_published(store, study_id, export, digests)
        started = datetime.now(UTC)
        run = new_run(store, study_id, run_id or f"{started:%Y%m%dT%H%M%S}Z-{export.export_id}")
        s.run = run
        issues = IssueLog()
        inputs: dict[str, Any] = {}
        for oid, stem in files.items():
            path = export.files[stem]
            df = read_form(path)
            _check_rows(path, len(df), export.manifest)
            _check_form(oid, df, study, path.name, issues)
            df.to_parquet(run.raw / f"{oid.lower()}.parquet", index=False)
            inputs[path.name] = {"form": oid, "rows": len(df), "sha256": digests[path.name]}
            s.rows_in += len(df)
        s.rows_out = s.rows_in
        manifest = export.manifest or {}
        created = manifest.get("created") or datetime.strptime(
            export.export_id, "%Y%m%dT%H%M%SZ"
        ).replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")
        info = {
            "study": study_id,
            "export_id": export.export_id,
            "export_path": str(export.path),
            "export_created": created,
            "data_cutoff": manifest.get("data_cutoff"),
            "started": started.isoformat(),
            "inputs": inputs,
        }
        (run.raw / "extract.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        # Listed here; the raw quality gate (same rules, same rows) stops the run, so a data
        # manager sees every problem of the night in one listing, not the first kind only.
        issues.write_csv(run.reports / "issues_raw.csv")
    return run.path


# --- quality gates -----------------------------------------------------------------------


def validate(run_dir: Path, gate: Literal["raw", "sdtm"]) -> str:
    """Run the Great Expectations gate on the raw snapshot or on the mapped SDTM; log and
    return its one-screen summary. Error-severity failures raise QualityGateError."""
    from transforms.quality import gates

    run = RunFolder(Path(run_dir))
    with stage(f"validate {gate}", run) as s:
        check = gates.validate_raw if gate == "raw" else gates.validate_sdtm
        try:
            result = check(run.path)
        except gates.QualityGateError as failed:
            log.error("%s", failed.result.summary)
            raise
        log.info("%s", result.summary)
        s.rows_in = result.expectations
        s.rows_out = result.passed
    return result.summary


# --- map -------------------------------------------------------------------------------


class ParquetTables(Mapping[str, pd.DataFrame]):
    """Tables of a run folder by name, each read from its Parquet file on first use, once:
    a stage reads only what its spec uses. `given` holds tables already in memory."""

    def __init__(
        self,
        paths: Mapping[str, Path],
        kind: str,
        given: Mapping[str, pd.DataFrame] | None = None,
    ) -> None:
        self._paths = dict(paths)
        self._kind = kind  # what the tables are, for the error message: "SDTM", "raw form"
        self._read = dict(given or {})  # the given tables and those read so far
        self._names = list(dict.fromkeys([*self._read, *self._paths]))

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._read:
            if name not in self._paths:
                raise PipelineError(f"needs {self._kind} {name}, which the run does not hold")
            self._read[name] = pd.read_parquet(self._paths[name])
        return self._read[name]

    def __contains__(self, name: object) -> bool:
        return name in self._read or name in self._paths

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def map_dataset(run_dir: Path, dataset: str) -> int:
    """Map one SDTM dataset (+ SUPP--) to Parquet in the run folder; return its rows."""
    from transforms.sdtm.build import build_dataset, study_facts
    from transforms.specs import STUDY_FORM

    run = RunFolder(Path(run_dir))
    info = _run_info(run)
    study = load_study(info["study"])
    spec = study.datasets[dataset]
    files = {entry["form"]: name for name, entry in info["inputs"].items()}
    with stage(f"map {dataset}", run) as s:
        built_before = {
            name: pd.read_parquet(run.sdtm / f"{name.lower()}.parquet")
            for name in list(study.datasets)[: list(study.datasets).index(dataset)]
            if name == "DM"
        }
        issues = IssueLog()
        facts = study_facts(study.id, info["data_cutoff"], info["export_id"])
        raw = {oid: run.raw / f"{oid.lower()}.parquet" for oid in study.forms}
        forms = ParquetTables(raw, "raw form", given={STUDY_FORM: facts})
        built = build_dataset(spec, study, forms, issues, files, built_before)
        built.sources.assign(DATASET=dataset).to_parquet(
            run.reports / f"lineage_{dataset.lower()}.parquet", index=False
        )
        built.data.to_parquet(run.sdtm / f"{dataset.lower()}.parquet", index=False)
        if built.supp is not None:
            built.supp.to_parquet(run.sdtm / f"supp{dataset.lower()}.parquet", index=False)
        s.rows_in, s.rows_out = built.source_rows, len(built.data)
        _fail_on_errors(issues, run, dataset)
    return len(built.data)


# --- write -----------------------------------------------------------------------------


# An output column: name, label, Char|Num, length (None: longest value), format, data type.
Column = tuple[str, str, Literal["Char", "Num"], int | None, str | None, str]


def _write_outputs(
    data: pd.DataFrame,
    folder: Path,
    name: str,
    label: str,
    columns: list[Column],
    created: datetime,
) -> list[str]:
    """One dataset as verified XPT v5 and, beside it, Dataset-JSON v1.1 with the lengths
    actually written; columns are (name, label, Char|Num, length, format, data type)."""
    from transforms.datasetjson import JsonColumn, write_dataset_json
    from transforms.xpt import XptColumn, write_xport

    xpt = folder / f"{name.lower()}.xpt"
    result = write_xport(
        data, xpt, dataset=name, label=label, created=created,
        columns=[XptColumn(n, lab, t, length, fmt) for n, lab, t, length, fmt, _ in columns],
    )  # fmt: skip
    json_columns = [
        JsonColumn(
            item_oid=f"IT.{name}.{n}",
            name=n,
            label=lab,
            data_type="string" if dtype == "text" else dtype,  # type: ignore[arg-type]
            length=result.lengths[n] if t == "Char" else None,
            # A numeric (ADaM) date is a SAS day count: ISO text in JSON, typed back.
            display_format=fmt if t == "Num" and dtype == "date" else None,
            target_data_type="integer" if t == "Num" and dtype == "date" else None,
        )
        for n, lab, t, _, fmt, dtype in columns
    ]
    out = folder / f"{name.lower()}.json"
    write_dataset_json(
        data, out, name=name, label=label, columns=json_columns, item_group_oid=f"IG.{name}",
        created=created,
    )  # fmt: skip
    return [xpt.name, out.name]


def _xpt_sources(exc: XptError, run: RunFolder, dataset: str, data: pd.DataFrame) -> str:
    """The XPT writer's refusal with the raw file and row behind each offending record
    (from the dataset's lineage), listed in full in ``reports/issues_<dataset>_xpt.csv``."""
    lineage = pd.read_parquet(run.reports / f"lineage_{dataset.lower()}.parquet")
    found = []
    for issue in exc.issues:
        for row in issue.rows:
            if issue.variable is None or not 0 < row <= min(len(lineage), len(data)):
                continue
            value = data[issue.variable].iloc[row - 1]
            found.append({"severity": "error", "dataset": dataset,
                          "form": lineage["FORM"].iloc[row - 1],
                          "row": int(lineage["ROW"].iloc[row - 1]),
                          "subject": data["USUBJID"].iloc[row - 1] if "USUBJID" in data else None,
                          "column": issue.variable, "value": None if pd.isna(value) else value,
                          "rule": "XPT", "message": issue.rule})  # fmt: skip
    listing = run.reports / f"issues_{dataset.lower()}_xpt.csv"
    pd.DataFrame(found, columns=ISSUE_COLUMNS).to_csv(listing, index=False)
    lines = [f"{exc}", f"raw records behind them (listing in {listing}):"]
    lines += [
        f"  {f['form']} row {f['row']} column {f['column']} [XPT] value {f['value']!r}: "
        f"{f['message']}"
        for f in found[:10]
    ]
    if len(found) > 10:
        lines.append(f"  ... and {len(found) - 10} more")
    return "\n".join(lines)


def write_xpt(run_dir: Path, dataset: str) -> list[str]:
    """Write the dataset (and its SUPP--) as XPT v5, each verified by reading it back, and
    as Dataset-JSON v1.1 beside it."""
    from transforms.sdtm.build import SUPP_COLUMNS
    from transforms.xpt import XptError

    run = RunFolder(Path(run_dir))
    info = _run_info(run)
    study = load_study(info["study"])
    spec = study.datasets[dataset]
    created = datetime.fromisoformat(info["export_created"].replace("Z", "+00:00"))
    written = []
    with stage(f"xpt {dataset}", run) as s:
        data = pd.read_parquet(run.sdtm / f"{dataset.lower()}.parquet")
        columns: list[Column] = [
            (v.name, v.label, "Num" if v.type == "Num" else "Char", v.length, v.format, v.data_type)
            for v in spec.output_variables()
        ]
        try:
            written += _write_outputs(data, run.sdtm, dataset, spec.label, columns, created)
        except XptError as exc:
            raise PipelineError(_xpt_sources(exc, run, dataset, data)) from exc
        s.rows_in = s.rows_out = len(data)
        supp_path = run.sdtm / f"supp{dataset.lower()}.parquet"
        if supp_path.exists():
            supp = pd.read_parquet(supp_path)
            supp_columns: list[Column] = [
                (n, lab, "Char", None, None, "text") for n, lab in SUPP_COLUMNS
            ]
            label = f"Supplemental Qualifiers for {dataset}"
            written += _write_outputs(
                supp, run.sdtm, f"SUPP{dataset}", label, supp_columns, created
            )
            s.rows_out += len(supp)
    return written


# --- publish ---------------------------------------------------------------------------


def reconcile_run(run_dir: Path) -> int:
    """Account for every raw record (reports/reconciliation.csv); fail if any is lost."""
    from transforms.reconcile import reconcile

    run = RunFolder(Path(run_dir))
    info = _run_info(run)
    study = load_study(info["study"])
    with stage("reconcile", run) as s:
        files = {entry["form"]: name for name, entry in info["inputs"].items()}
        raw = {oid: pd.read_parquet(run.raw / f"{oid.lower()}.parquet") for oid in study.forms}
        sources = pd.concat(
            [pd.read_parquet(p) for p in sorted(run.reports.glob("lineage_*.parquet"))],
            ignore_index=True,
        )
        summary, lost = reconcile(raw, files, sources, study.not_mapped)
        summary.to_csv(run.reports / "reconciliation.csv", index=False)
        s.rows_in = int(summary["records_in"].sum())
        s.rows_out = s.rows_in - len(lost)
        if len(lost):
            lost.to_csv(run.reports / "unaccounted.csv", index=False)
            first = lost.head(10).to_dict("records")
            raise PipelineError(
                f"{len(lost)} raw record(s) neither mapped nor listed with a reason "
                f"(rule RECONCILE; see {run.reports / 'unaccounted.csv'}): "
                + "; ".join(f"{r['form']} row {r['row']}" for r in first)
            )
    return len(lost)


def document_run(run_dir: Path) -> Path:
    """Define-XML 2.1 (+ HTML) for the SDTM written, and the submission manifest."""
    from transforms.define import DefineError, write_define, write_submission_manifest

    run = RunFolder(Path(run_dir))
    study = load_study(_run_info(run)["study"])
    with stage("define", run) as s:
        try:
            define = write_define(run.path, "sdtm", dictionaries=study.dictionaries)
        except DefineError as exc:
            raise PipelineError(f"{run.sdtm / 'define.xml'}: {exc}") from exc
        write_submission_manifest(run.path)
        s.rows_out = len(list(run.sdtm.glob("*.xpt")))
    check_conformance(run.path)
    return define


def check_conformance(run_dir: Path, sdtm_checked: Path | None = None) -> None:
    """reports/conformance.csv and .html on what the run wrote (SDTM, and ADaM when built);
    a Reject or Error finding stops the publication. `sdtm_checked`: the report of the
    SDTM run whose datasets this (ADaM) run holds, taken over rather than redone."""
    from transforms.conformance import check_run

    run = RunFolder(Path(run_dir))
    with stage("conformance", run) as s:
        result = check_run(run.path, sdtm_checked=sdtm_checked)
        s.rows_out = len(result.findings)
        if result.blocking:
            raise PipelineError(
                f"{result.csv}: {result.blocking} conformance finding(s) block publishing:\n"
                + result.describe()
            )


def _change_report(run: RunFolder, study: StudySpec, previous: Path | None) -> dict[str, Any]:
    """reports/changes.csv against the published run; per dataset counts for the manifest."""
    from transforms.changes import COLUMNS, compare
    from transforms.sdtm.build import SUPP_COLUMNS

    parts = []
    for path in sorted(run.sdtm.glob("*.parquet")):
        name = path.stem.upper()
        spec = study.datasets.get(name)
        if spec is not None:
            keys = list(spec.keys)
            ignore = [v.name for v in spec.variables if v.name.endswith("SEQ")]
        else:  # SUPP--: the parent is named by IDVARVAL, a --SEQ that may renumber
            keys, ignore = [c for c, _ in SUPP_COLUMNS if c in ("USUBJID", "QNAM")], []
        old = previous / "sdtm" / path.name if previous else None
        parts.append(
            compare(name, old if old is not None and old.exists() else None, path, keys, ignore)
        )
    report = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)
    # pyarrow's writer: a first publication lists every record (a million lines or more).
    pa_csv.write_csv(
        pa.Table.from_pandas(report, preserve_index=False), run.reports / "changes.csv"
    )
    counts = report.groupby(["dataset", "change"]).size().unstack(fill_value=0)
    return {
        "against": previous.name if previous else None,
        "datasets": {ds: {k: int(v) for k, v in row.items()} for ds, row in counts.iterrows()},
    }


def _refuse_older(previous: Path | None, export_id: str) -> None:
    """A run of an older export must not replace a publication of a newer one."""
    manifest = previous / "manifest.json" if previous else None
    if manifest is None or not manifest.exists():
        return
    published = json.loads(manifest.read_text(encoding="utf-8")).get("export_id", "")
    if published > export_id:
        raise PipelineError(
            f"export {export_id} is older than the published export {published}: not published"
        )


def publish_run(run_dir: Path) -> Path:
    """Record the manifest and switch ``current`` to this run."""
    import importlib.metadata as md

    run = RunFolder(Path(run_dir))
    info = _run_info(run)
    with stage("publish", run) as s, study_lock(run.study_dir.parent, info["study"]):
        previous = current(run.study_dir.parent, info["study"])
        _refuse_older(previous, info["export_id"])
        packages = {
            name: md.version(name)
            for name in ("apache-airflow", "great-expectations", "pandas", "pyarrow", "pyreadstat")
        }
        study = load_study(info["study"])
        specs = {
            str(p.relative_to(study.path.parent)): sha256_file(p)
            for p in sorted(study.path.rglob("*.yaml"))
        }
        changes = _change_report(run, study, previous)
        manifest = {
            "changes": changes,
            "study": info["study"],
            "export_id": info["export_id"],
            "export_path": info["export_path"],
            "data_cutoff": info["data_cutoff"],
            "inputs": info["inputs"],
            "started": info["started"],
            "finished": datetime.now(UTC).isoformat(),
            "specs": specs,
            "code_version": __version__,
            "python": platform.python_version(),
            "packages": packages,
            "rows": {
                p.stem.upper(): pq.read_metadata(p).num_rows
                for p in sorted(run.sdtm.glob("*.parquet"))
            },
        }
        link = publish(run, manifest)
        s.rows_out = sum(manifest["rows"].values())
        removed = prune(run.study_dir.parent, info["study"], study.retention)
        if removed:
            log.info("retention: removed %d old run folder(s): %s", len(removed), removed)
    return link


def run_all(study_id: str, landing: Path, store: Path, force: bool = False) -> Path:
    """The whole nightly job outside Airflow; returns the published ``current`` link."""
    run_dir = extract(study_id, landing, store, force=force)
    validate(run_dir, "raw")
    for dataset in load_study(study_id).datasets:
        map_dataset(run_dir, dataset)
        write_xpt(run_dir, dataset)
    reconcile_run(run_dir)
    validate(run_dir, "sdtm")
    document_run(run_dir)
    return publish_run(run_dir)

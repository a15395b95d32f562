"""The SDTM job's stages: extract, account for the export's fields, the two quality gates,
map and write one dataset, reconcile, Define-XML, conformance and publish.

Each stage is given the run folder and the loaded study, and hands the next stage nothing
but what it wrote into the run folder, so any stage can run in another process or on
another machine (one Airflow task each). Their order is the job graph's
(:mod:`transforms.jobs.plan`). Every stage logs one progress line (rows and seconds) and
raises :class:`~transforms.errors.PipelineError` with a readable message on bad input.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from transforms import __version__
from transforms.errors import NothingNew, NotReady, PipelineError, UserError
from transforms.extract.exports import Export, find_newest_complete, list_exports, sha256_file
from transforms.extract.odm import StudyLayout, read_odm_form, read_odm_study
from transforms.extract.readers import ROW, RawFileError, max_form_bytes, read_form_frames
from transforms.issues import IssueLog, describe
from transforms.jobs import journal
from transforms.jobs.kit import (
    Column,
    ParquetAppender,
    TableReader,
    frame_rows,
    log,
    parquet_frames,
    spec_digests,
    stage,
    summary_log,
    write_outputs,
)
from transforms.jobs.plan import REFERENCE_DATASET, Place
from transforms.listing import XPT
from transforms.specs import ROW_KEY, FormSpec, StudySpec
from transforms.store import (
    RunFolder,
    check_layout,
    current,
    new_run,
    prune,
    publish,
    remove_leftovers,
    study_lock,
)

if TYPE_CHECKING:
    from transforms.changes import Changes
    from transforms.reconcile import MappedRows
    from transforms.xpt import XptError


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


def _key_text(df: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """A form's record key columns as compared: text, stripped."""
    return df[list(keys)].apply(lambda s: s.astype("string").str.strip())


def _check_frame(spec: FormSpec, df: pd.DataFrame, file: str) -> IssueLog:
    """A frame of a form's records checked on its own: required values present."""
    issues = IssueLog()
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
    return issues


def _check_keys(
    spec: FormSpec, path: Path, hashes: np.ndarray, file: str, issues: IssueLog
) -> None:
    """Records sharing a key, found across the frames of a form from a hash of each key
    (8 bytes a record): the records whose hash recurs, read back from the snapshot `path`,
    are compared on the keys themselves."""
    again = pd.Series(hashes).duplicated(keep=False).to_numpy()
    df = TableReader({"form": path}, "raw form").read_rows("form", again)
    keys = _key_text(df, spec.keys)
    label = keys.iloc[:, 0].fillna("")
    for col in keys.columns[1:]:
        label = label + "|" + keys[col].fillna("")
    issues.add(
        df,
        keys.duplicated(keep=False),
        severity="error",
        dataset="RAW",
        form=file,
        column="/".join(spec.keys),
        values=label,
        rule="KEY",
        message=f"duplicate record key {'/'.join(spec.keys)}",
    )


def _snapshot_form(
    form_oid: str,
    frames: Iterable[pd.DataFrame],
    study: StudySpec,
    file: str,
    path: Path,
    counted: Callable[[int], None],
) -> tuple[int, IssueLog]:
    """Check a form's records a frame at a time (:func:`_check_frame`, then the keys across
    the frames) and write them to its raw snapshot `path`, in fixed row groups: the file
    and the issues of the form read and checked whole. `counted` is given the number of
    records read (before the keys are checked). Returns that number and the issues."""
    spec = study.forms[form_oid]
    table = ParquetAppender(path)
    logs: list[IssueLog] = []
    hashes: list[pd.Series] = []
    pieces = iter(frames)
    for df in pieces:
        if not logs:
            columns = [c for c in df.columns if c != ROW]
            missing = [c for c in spec.columns if c not in columns]
            if missing:
                counted(len(df) + sum(len(rest) for rest in pieces))
                raise PipelineError(
                    f"{file}: column(s) {missing} missing from the header, line 1 "
                    f"(rule FORM-COLUMNS; expected {list(spec.columns)})"
                )
            extra = [c for c in columns if c not in spec.columns]
            if extra:  # kept, so that reconcile_fields stops the run naming them
                log.warning(
                    "%s: unknown column(s) %s kept in the raw snapshot, not mapped", file, extra
                )
        logs.append(_check_frame(spec, df, file))
        hashes.append(pd.util.hash_pandas_object(_key_text(df, spec.keys), index=False))
        table.append(df)
        del df
    table.close()
    counted(table.rows)
    issues = IssueLog.merged(logs)
    _check_keys(spec, path, np.concatenate(hashes), file, issues)
    return table.rows, issues


def _read_forms(
    export: Export, study: StudySpec
) -> Iterator[tuple[str, str, Iterable[pd.DataFrame], Callable[[int], None]]]:
    """Each form's id, source name, records (frames of about `frame_rows()`, a CSV file
    read a block at a time) and the check of the number of records read: from its own file
    (one at a time), or all from the export's one whole-study ODM file (its ItemGroupData
    counted against the manifest)."""
    path = export.study_file
    if path is None:
        for oid, form in study.forms.items():
            file = export.files[form.file]
            source = export.source(form.file, oid)
            if file.suffix.lower() == ".xml":  # the EDC counts ItemGroupData, removed ones too
                data = read_odm_form(file, max_form_bytes(), study.id)
                counted = _counted(file, export.manifest, data.item_groups)
                yield oid, source, [next(iter(data.frames.values()))], counted
            else:
                frames = read_form_frames(file, frame_rows())
                yield oid, source, frames, _counted(file, export.manifest)
        return
    if not study.odm_structure:
        raise RawFileError(
            path,
            f"a whole-study ODM export, but {study.path / 'forms.yaml'} has no odm: naming the "
            "columns its subject, site and visit fill",
            "RAW-ODM",
        )
    layout = StudyLayout(
        study.id, {oid: list(f.columns) for oid, f in study.forms.items()}, study.odm_structure
    )
    data = read_odm_study(path, max_form_bytes(), layout)
    _check_rows(path, data.item_groups, export.manifest)
    for oid, form in study.forms.items():
        yield oid, export.source(form.file, oid), [data.frames.pop(oid)], lambda _: None


def _counted(
    file: Path, manifest: dict[str, Any] | None, written: int | None = None
) -> Callable[[int], None]:
    """The check of the records read from `file` against the manifest's count: of those
    the file says it holds (`written`: an ODM file's ItemGroupData), else of those read."""
    return lambda rows: _check_rows(file, rows if written is None else written, manifest)


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


def _already_published(
    published: RunFolder | None, study: str, export: Export, digests: dict[str, str]
) -> None:
    """Raise NothingNew when `current` was made from this very export (same files)."""
    manifest = published.manifest() if published is not None else {}
    if not manifest:
        return
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


def _newest(study: StudySpec, place: Place) -> tuple[Export, RunFolder | None]:
    """The newest complete export, and the published run (None: nothing published)."""
    if place.landing is None:
        raise PipelineError(f"{study.id}: extract needs the landing folder of the exports")
    check_layout(place.store, study.id)
    published = current(place.store, study.id)
    previous = RunFolder(published) if published else None
    export: Export = find_newest_complete(
        place.landing,
        study.id,
        [f.file for f in study.forms.values()],
        study.settle_seconds,
        str(previous.manifest().get("export_id", "")) if previous else "",
    )
    return export, previous


def _digests(study: StudySpec, export: Export) -> dict[str, str]:
    """Each form's source (:meth:`Export.source`) and the SHA-256 of its file."""
    sums = {path: sha256_file(path) for path in set(export.files.values())}
    return {
        export.source(f.file, oid): sums[export.files[f.file]] for oid, f in study.forms.items()
    }


def _newest_unpublished(study: StudySpec, place: Place) -> tuple[Export, dict[str, str]]:
    """The newest complete export and its files' SHA-256; NothingNew when it is published
    already (unless `place.force`)."""
    export, previous = _newest(study, place)
    digests = _digests(study, export)
    if not place.force:
        _already_published(previous, study.id, export, digests)
    return export, digests


def _as_read(study: StudySpec, folder: Path, manifest: dict[str, Any]) -> bool | None:
    """Whether the export `folder` is, by its files' sizes and times alone (not a byte read),
    still what the published run (its `manifest`) read: False when a form file's size
    differs from the one recorded; True when the forms are the study's, every size agrees
    and nothing in the folder (a file, an entry added, removed or renamed) was modified
    after the run began reading it; None when that cannot be told so (a file modified
    since, a publication that recorded no sizes): only the SHA-256 can tell then.

    A file replaced by another of the very same size whose modification time is set back
    to before that run (a copy keeping its times: ``cp -p``, ``rsync -t``) passes as read:
    the wait does not see it, but extract, which always hashes, does (``cdisc run``)."""
    inputs, started = manifest.get("inputs"), manifest.get("started")
    if not isinstance(inputs, dict) or not isinstance(started, str):
        return None
    entries = [e for e in inputs.values() if isinstance(e, dict)]
    if len(entries) != len(inputs) or {e.get("form") for e in entries} != set(study.forms):
        return None  # the forms changed since (a new form in forms.yaml): digests decide
    recorded = [e.get("bytes") for e in entries]
    if not all(isinstance(n, int) for n in recorded):
        return None
    try:
        since = datetime.fromisoformat(started).timestamp()
        sizes = [(folder / name.partition("#")[0]).stat().st_size for name in inputs]
        touched = max(p.stat().st_mtime for p in (folder, *folder.iterdir()))
    except (OSError, ValueError):
        return None
    if sizes != recorded:
        return False
    return True if touched < since else None


def export_arrived(study: StudySpec, place: Place) -> bool:
    """Whether extract has something to take now: False while no complete export is there
    (or one is still being written) and while the newest is already published. A broken
    export counts as arrived: extract then fails on it with its message.

    Cheap while waiting (the sensor asks every 5 minutes): when the newest export folder
    is the published one as its run read it (:func:`_as_read`), nothing is read or hashed;
    a newer complete export has arrived (extract hashes it, once); only the published
    export changed since (or a publication recording no sizes) is hashed here."""
    try:
        if not place.force and place.landing is not None:
            check_layout(place.store, study.id)
            published = current(place.store, study.id)
            manifest = RunFolder(published).manifest() if published else {}
            exports = list_exports(place.landing, study.id)
            newest = exports[-1] if exports else None
            same = newest is not None and newest.name == manifest.get("export_id")
            if same and newest is not None and _as_read(study, newest, manifest):
                return False
        export, previous = _newest(study, place)
        manifest = previous.manifest() if previous is not None else {}
        if place.force or export.export_id != manifest.get("export_id"):
            return True  # a newer complete export (or nothing published yet)
        if _as_read(study, export.path, manifest) is False and not export.skipped:
            return True  # the published export's files changed size since it was read
        _already_published(previous, study.id, export, _digests(study, export))
    except (NotReady, NothingNew):
        return False
    except UserError:  # a broken export: extract fails on it, with its message
        pass
    return True


def published_since(study: StudySpec, place: Place, since: datetime) -> bool:
    """Whether the current publication finished at or after `since`: a night whose export
    another run (one triggered by hand, say) has already published has had its export."""
    published = current(place.store, study.id)
    finished = RunFolder(published).manifest().get("finished") if published else None
    try:
        return isinstance(finished, str) and datetime.fromisoformat(finished) >= since
    except ValueError:  # a manifest not written by this engine: no claim either way
        return False


def extract(study: StudySpec, place: Place, run_id: str | None = None) -> RunFolder:
    """Snapshot the newest complete export into a new run folder; return the folder.

    Raises NothingNew when that export is already published (unless `place.force`).
    With `place.resume`, the folder of an earlier run of that export whose process died
    (:func:`journal.resumable`) instead."""
    with stage("extract") as s:
        export, digests = _newest_unpublished(study, place)
        if place.resume:
            resumed = journal.resumable(place.store, study, "sdtm",
                                        lambda r: _read_from(r, export, digests))  # fmt: skip
            if resumed is not None:
                s.run = resumed
                return resumed
        started = datetime.now(UTC)
        run = new_run(
            place.store, study.id, run_id or f"{started:%Y%m%dT%H%M%S}Z-{export.export_id}"
        )
        s.run = run
        logs = []
        inputs: dict[str, Any] = {}
        for oid, source, frames, counted in _read_forms(export, study):
            rows, checked = _snapshot_form(oid, frames, study, source, run.raw_form(oid), counted)
            logs.append(checked)
            size = export.files[study.forms[oid].file].stat().st_size  # for export_arrived
            inputs[source] = {"form": oid, "rows": rows, "sha256": digests[source],
                              "bytes": size}  # fmt: skip
            s.rows_in += rows
        s.rows_out = s.rows_in
        manifest = export.manifest or {}
        created = manifest.get("created") or datetime.strptime(
            export.export_id, "%Y%m%dT%H%M%SZ"
        ).replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")
        run.write_info(
            {
                "study": study.id,
                "export_id": export.export_id,
                "export_path": str(export.path),
                "export_created": created,
                "data_cutoff": manifest.get("data_cutoff"),
                "started": started.isoformat(),
                "inputs": inputs,
                **({"ignored": list(export.ignored)} if export.ignored else {}),
            }
        )
        # Listed here; the raw quality gate (same rules, same rows) stops the run, so a data
        # manager sees every problem of the night in one listing, not the first kind only.
        IssueLog.chained(logs).write_csv(run.issues("RAW"))
    return run


def _read_from(run: RunFolder, export: Export, digests: dict[str, str]) -> bool:
    """Whether `run` snapshotted `export` as its files are now (same names, same bytes)."""
    inputs = run.info.get("inputs", {})
    return (
        run.info.get("export_id") == export.export_id
        and {name: entry.get("sha256") for name, entry in inputs.items()} == digests
    )


def reconcile_fields(run: RunFolder, study: StudySpec) -> int:
    """Account for every raw field of the export (reports/reconciliation_fields.csv): its
    value mapped to an SDTM variable by the specs, or declared not submitted in study.yaml
    with a reason. A field that is neither (a column the export gained overnight among them)
    stops the run, named with its form. Returns the fields accounted for."""
    from transforms.reconcile import UNACCOUNTED
    from transforms.reconcile import reconcile_fields as account

    with stage("reconcile fields", run) as s:
        columns = {
            oid: [c for c in pq.read_schema(run.raw_form(oid)).names if c != ROW_KEY]
            for oid in study.forms
        }
        declared = {oid: form.columns.keys() for oid, form in study.forms.items()}
        report = account(
            columns, run.forms_by_file, declared, study.field_uses, study.not_submitted
        )
        report.to_csv(run.field_reconciliation, index=False)
        lost = report[report["status"] == UNACCOUNTED]
        s.rows_in, s.rows_out = len(report), len(report) - len(lost)
        if len(lost):
            lines = [
                f"  {r.file} (form {r.form}) field {r.field}: {r.reason}"
                for r in lost.head(10).itertuples()
            ]
            more = [f"  ... and {len(lost) - 10} more"] if len(lost) > 10 else []
            raise PipelineError(
                f"{len(lost)} raw field(s) neither mapped nor declared not submitted in "
                f"{study.path / 'study.yaml'} (rule RECONCILE-FIELDS; see "
                f"{run.field_reconciliation}):\n" + "\n".join(lines + more)
            )
    return s.rows_out


# --- quality gates -----------------------------------------------------------------------


def _gate(run: RunFolder, study: StudySpec, gate: str) -> str:
    """Run a Great Expectations gate; log and return its one-screen summary.
    Error-severity failures raise QualityGateError."""
    from transforms.quality import gates

    with stage(f"validate {gate}", run) as s:
        check = gates.validate_raw if gate == "raw" else gates.validate_sdtm
        s.unit, s.out = "expectations", "passed"
        try:
            result = check(run, study)
        except gates.QualityGateError as failed:
            log.error("%s", failed.result.summary)
            raise
        # the task log's copy; `cdisc` silences it and shows the summaries once, at the end
        summary_log.info("%s", result.summary)
        s.rows_in = result.expectations
        s.rows_out = result.passed
    return result.summary


def validate_raw(run: RunFolder, study: StudySpec) -> str:
    """The raw gate: the form suites on the raw snapshot, before anything is mapped."""
    return _gate(run, study, "raw")


def validate_sdtm(run: RunFolder, study: StudySpec) -> str:
    """The SDTM gate: the dataset suites on the mapped SDTM, before it is documented."""
    return _gate(run, study, "sdtm")


# --- map -------------------------------------------------------------------------------


def map_dataset(run: RunFolder, study: StudySpec, dataset: str) -> int:
    """Map one SDTM dataset (+ SUPP--) to Parquet in the run folder; return its rows.

    A dataset whose records depend on their own subject's rows only is mapped a group of
    subjects at a time (:mod:`transforms.sdtm.chunks`; about `frame_rows()` raw rows each),
    each group's records appended to the dataset's Parquet: the stage holds one group's
    rows, not the dataset's. The files and the issue listing are those of one mapping of
    all the subjects (one group: the same code)."""
    from transforms.sdtm.build import build_dataset, study_facts
    from transforms.sdtm.chunks import subject_chunks
    from transforms.specs import STUDY_FORM

    spec = study.datasets[dataset]
    info = run.info
    with stage(f"map {dataset}", run) as s:
        # DM's reference dates (for every other dataset) and the datasets the spec reads,
        # each read from its file when a rule first asks for it.
        before = [REFERENCE_DATASET] if dataset != REFERENCE_DATASET else []
        before = [n for n in [*before, *spec.reads] if n in study.datasets]
        built_before = TableReader({n: run.sdtm_table(n) for n in before}, "SDTM dataset")
        lineage = TableReader({n: run.lineage(n) for n in before}, "lineage of")
        facts = study_facts(study.id, info["data_cutoff"], info["export_id"])
        raw = {oid: run.raw_form(oid) for oid in study.forms}
        forms = TableReader(raw, "raw form", given={STUDY_FORM: facts})
        chunks = subject_chunks(spec, study, forms, built_before, frame_rows())
        data = ParquetAppender(run.sdtm_table(dataset))
        sources = ParquetAppender(run.lineage(dataset))
        supp = ParquetAppender(run.sdtm_table(f"SUPP{dataset}")) if spec.supplemental else None
        logs = []
        for part in chunks.forms(forms):
            logs.append(IssueLog())
            built = build_dataset(
                spec, study, part, logs[-1], run.forms_by_file, built_before, lineage, data.rows
            )  # fmt: skip
            sources.append(built.sources.assign(DATASET=dataset))
            data.append(built.data)
            if supp is not None and built.supp is not None:
                supp.append(built.supp)
            s.rows_in += built.source_rows
            del built, part  # one group's records at a time
        for table in (data, sources, supp):
            if table is not None:
                table.close()
        s.rows_out = data.rows
        if chunks.count > 1:
            log.info("%s: mapped in %d groups of subjects", dataset, chunks.count)
        _fail_on_errors(IssueLog.merged(logs), run, dataset)
    return data.rows


def _completed_variables(study: StudySpec) -> list[str]:
    """The reference dataset's variables that read every other dataset (participation_end:
    RFPENDTC), to be completed once those are mapped."""
    from transforms.sdtm.algorithms import ParticipationEnd

    spec = study.datasets.get(REFERENCE_DATASET)
    if spec is None:
        return []
    return [
        v.name
        for v in spec.variables
        if any(isinstance(b.rules.get(v.name), ParticipationEnd) for b in spec.blocks)
    ]


def complete_reference(run: RunFolder, study: StudySpec) -> int:
    """Once every dataset is mapped, raise the reference dataset's participation_end
    variables (RFPENDTC) to the latest date of each subject in any other dataset; return
    the subjects whose value moved."""
    from transforms.sdtm.algorithms import PARTICIPATION_DATES, latest_dates, raise_to

    names = _completed_variables(study)
    if not names:
        return 0
    with stage(f"complete {REFERENCE_DATASET}", run) as s:
        path = run.sdtm_table(REFERENCE_DATASET)
        data = pd.read_parquet(path)

        def others() -> Iterator[tuple[str, pd.DataFrame]]:  # a frame of LB at a time
            for name in study.datasets:
                table = run.sdtm_table(name)
                if name == REFERENCE_DATASET or not table.exists():
                    continue
                wanted = {"USUBJID", *(f"{name}{suffix}" for suffix in PARTICIPATION_DATES)}
                columns = [c for c in pq.read_schema(table).names if c in wanted]
                for frame in parquet_frames(table, columns=columns)():
                    yield name, frame

        latest = data["USUBJID"].map(latest_dates(others()))
        moved = 0
        for name in names:
            raised = raise_to(data[name], latest)
            moved += int((raised.fillna("") != data[name].astype("string").fillna("")).sum())
            data[name] = raised
        data.to_parquet(path, index=False)
        s.rows_in = s.rows_out = len(data)
    return moved


# --- write -----------------------------------------------------------------------------


def _xpt_sources(exc: XptError, run: RunFolder, dataset: str) -> str:
    """The XPT writer's refusal with the raw file and row behind each offending record
    (from the dataset's lineage), listed in full in ``reports/issues_<dataset>_xpt.csv``."""
    lineage = pd.read_parquet(run.lineage(dataset))
    table = run.sdtm_table(dataset)
    offending = {issue.variable for issue in exc.issues if issue.variable and issue.rows}
    present = set(pq.read_schema(table).names)
    data = pd.read_parquet(table, columns=[c for c in present if c in {*offending, "USUBJID"}])
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
    listing = run.issues(f"{dataset}_xpt")
    IssueLog.from_records(found, source=XPT).write_csv(listing)
    lines = [f"{exc}", f"raw records behind them (listing in {listing}):"]
    lines += [
        f"  {f['form']} row {f['row']} column {f['column']} [XPT] value {f['value']!r}: "
        f"{f['message']}"
        for f in found[:10]
    ]
    if len(found) > 10:
        lines.append(f"  ... and {len(found) - 10} more")
    return "\n".join(lines)


def write_xpt(run: RunFolder, study: StudySpec, dataset: str) -> list[str]:
    """Write the dataset (and its SUPP--) as XPT v5, each verified by reading it back, and
    as Dataset-JSON v1.1 beside it."""
    from transforms.sdtm.build import SUPP_COLUMNS
    from transforms.xpt import XptError

    spec = study.datasets[dataset]
    created = run.export_created
    written = []
    with stage(f"xpt {dataset}", run) as s:
        # Read a frame of rows at a time: the writers hold one, not the dataset.
        table = run.sdtm_table(dataset)
        columns: list[Column] = [
            (v.name, v.label, "Num" if v.type == "Num" else "Char", v.length, v.format, v.data_type)
            for v in spec.output_variables()
        ]
        frames = parquet_frames(table)
        try:
            written += write_outputs(frames, run.sdtm, dataset, spec.label, columns, created)
        except XptError as exc:
            raise PipelineError(_xpt_sources(exc, run, dataset)) from exc
        s.rows_in = s.rows_out = pq.ParquetFile(table).metadata.num_rows
        supp_path = run.sdtm_table(f"SUPP{dataset}")
        if supp_path.exists():
            supp_columns: list[Column] = [
                (n, lab, "Char", None, None, "text") for n, lab in SUPP_COLUMNS
            ]
            label = f"Supplemental Qualifiers for {dataset}"
            supp = parquet_frames(supp_path)
            written += write_outputs(supp, run.sdtm, f"SUPP{dataset}", label, supp_columns, created)
            s.rows_out += pq.ParquetFile(supp_path).metadata.num_rows
    return written


# --- account, document, check ----------------------------------------------------------


def _read_present(path: Path, columns: list[str]) -> pd.DataFrame:
    """The columns of a Parquet table that it has, in the order given."""
    present = set(pq.read_schema(path).names)
    return pd.read_parquet(path, columns=[c for c in columns if c in present])


def _mapped_rows(run: RunFolder) -> MappedRows:
    """The raw rows every record mapped came from, read from the lineage a batch at a
    time (only DATASET, FORM and ROW)."""
    from transforms.reconcile import MappedRows

    mapped = MappedRows()
    for path in run.lineages():
        lineage = pq.ParquetFile(path)
        for batch in lineage.iter_batches(columns=["DATASET", "FORM", "ROW"]):
            piece = batch.to_pandas().dropna()
            rows = piece["ROW"].to_numpy(dtype=np.int64)
            for (dataset, form), at in piece.groupby(
                ["DATASET", "FORM"], sort=False
            ).indices.items():
                mapped.add(str(dataset), str(form), rows[at])
    return mapped


def reconcile(run: RunFolder, study: StudySpec) -> int:
    """Account for every raw record (reports/reconciliation.csv); fail if any is lost."""
    from transforms.reconcile import reconcile as account

    def rows(oid: str) -> np.ndarray:
        return pq.read_table(run.raw_form(oid), columns=[ROW]).column(0).to_numpy()

    def subjects(oid: str) -> pd.Series:
        return _read_present(run.raw_form(oid), ["SUBJID"]).get("SUBJID", pd.Series())

    with stage("reconcile", run) as s:
        # A form at a time, only what accounting reads: its rows' numbers (and the subjects
        # of rows lost, if any).
        raw = ((oid, rows(oid)) for oid in study.forms)
        summary, lost = account(
            raw, run.forms_by_file, _mapped_rows(run), study.not_mapped, subjects
        )
        summary.to_csv(run.report("reconciliation.csv"), index=False)
        s.rows_in = int(summary["records_in"].sum())
        s.rows_out = s.rows_in - len(lost)
        if len(lost):
            listing = run.report("unaccounted.csv")
            lost.to_csv(listing, index=False)
            first = lost.head(10).to_dict("records")
            raise PipelineError(
                f"{len(lost)} raw record(s) neither mapped nor listed with a reason "
                f"(rule RECONCILE; see {listing}): "
                + "; ".join(f"{r['form']} row {r['row']}" for r in first)
            )
    return len(lost)


def define(run: RunFolder, study: StudySpec) -> Path:
    """The annotated CRF, and Define-XML 2.1 (+ its stylesheet and HTML) for the SDTM
    written, each collected variable's origin pointing at its pages of the CRF, the cSDRG
    (written at publication) its supplemental document."""
    from transforms.define import DefineError, write_define
    from transforms.define.documents import GUIDES, write_acrf

    with stage("define", run) as s:
        crf = write_acrf(run, study)
        try:
            written = write_define(
                run.path, "sdtm", dictionaries=study.dictionaries, study=study, annotated_crf=crf,
                supplemental=[GUIDES["sdtm"]],
            )  # fmt: skip
        except DefineError as exc:
            raise PipelineError(f"{run.sdtm / 'define.xml'}: {exc}") from exc
        s.unit, s.rows_out = "datasets", len(list(run.sdtm.glob("*.xpt")))
    return written


def check_conformance(
    run: RunFolder, study: StudySpec | None = None, sdtm_checked: Path | None = None
) -> None:
    """reports/conformance.csv and .html on what the run wrote (SDTM, and ADaM when built);
    a Reject or Error finding stops the publication. `sdtm_checked`: the report of the
    SDTM run whose datasets this (ADaM) run holds, taken over rather than redone."""
    from transforms.conformance import check_run

    with stage("conformance", run) as s:
        result = check_run(run.path, sdtm_checked=sdtm_checked, spec=study)
        s.unit, s.rows_out = "findings", len(result.findings)
        if result.blocking:
            raise PipelineError(
                f"{result.csv}: {result.blocking} conformance finding(s) block publishing:\n"
                + result.describe()
            )


def conformance(run: RunFolder, study: StudySpec) -> None:
    """The conformance report of the SDTM written (see :func:`check_conformance`)."""
    check_conformance(run, study)


# --- publish ---------------------------------------------------------------------------


def _change_report(run: RunFolder, study: StudySpec, previous: Path | None) -> dict[str, Any]:
    """reports/changes.csv and changes_cells.csv/.html against the published run, a
    dataset at a time; per dataset counts for the manifest."""
    from transforms.changes import compare_groups, write_report
    from transforms.sdtm.build import SUPP_COLUMNS

    def parts() -> Iterator[Changes]:
        for name, path in run.sdtm_tables().items():
            spec = study.datasets.get(name)
            if spec is not None:
                keys = list(spec.keys)
                ignore = [v.name for v in spec.variables if v.name.endswith("SEQ")]
            else:  # SUPP--: the parent is named by IDVARVAL, a --SEQ that may renumber
                keys, ignore = [c for c, _ in SUPP_COLUMNS if c in ("USUBJID", "QNAM")], []
            old = RunFolder(previous).sdtm_table(name) if previous else None
            before = old if old is not None and old.exists() else None
            yield from compare_groups(name, before, path, keys, ignore)

    against = previous.name if previous else None
    return write_report(run.reports, parts(), against, study.id, run.run_id)


def _refuse_older(previous: Path | None, export_id: str) -> None:
    """A run of an older export must not replace a publication of a newer one."""
    published = RunFolder(previous).manifest().get("export_id", "") if previous else ""
    if published > export_id:
        raise PipelineError(
            f"export {export_id} is older than the published export {published}: not published"
        )


def publish_run(run: RunFolder, study: StudySpec) -> Path:
    """Write the reviewer's guide (csdrg.pdf), build the submission folder
    (eCTD module 5) and its manifest, record the run's manifest and switch ``current`` to
    this run."""
    import importlib.metadata as md

    from transforms.define import write_submission_manifest
    from transforms.define.documents import write_documents

    info = run.info
    with stage("publish", run) as s, study_lock(run.store, study.id):
        previous = current(run.store, study.id)
        _refuse_older(previous, info["export_id"])
        remove_leftovers(run)  # of a step cut short, then retried
        write_documents(run, study, "sdtm")
        write_submission_manifest(run.path)
        packages = {
            name: md.version(name)
            for name in ("apache-airflow", "great-expectations", "pandas", "pyarrow", "pyreadstat")
        }
        specs = spec_digests(study, "**/*.yaml")
        # and the shared specs it lists without its own (sdtm_specs/_common/sdtm/)
        shared = sorted(
            {d.path for d in study.datasets.values() if not d.path.is_relative_to(study.path)}
        )
        specs.update({str(p.relative_to(study.path.parent)): sha256_file(p) for p in shared})
        changes = _change_report(run, study, previous)
        manifest = {
            "changes": changes,
            "study": study.id,
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
                name: pq.read_metadata(path).num_rows for name, path in run.sdtm_tables().items()
            },
        }
        link = publish(run, manifest)
        s.rows_out = sum(manifest["rows"].values())
        removed = prune(run.store, study.id, study.retention)
        if removed:
            log.info("retention: removed %d old run folder(s): %s", len(removed), removed)
    return link

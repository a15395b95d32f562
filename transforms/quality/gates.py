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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from transforms.errors import PipelineError
from transforms.jobs.kit import TableReader, frame_rows
from transforms.listing import conform
from transforms.quality import engine
from transforms.quality.checks import Derived, Suite
from transforms.quality.distinct import DistinctBatch, reduce, validate_by_distinct_records
from transforms.quality.library import READS
from transforms.quality.prepare import ROW, PerSubject, per_subject, text, validated_frame
from transforms.quality.report import (
    SOURCES,
    Source,
    findings,
    listing,
    summarise,
    write_listing,
)
from transforms.quality.suites import SITE, SUBJECT, subject_form, suites_for
from transforms.sdtm.chunks import UNKNOWN, Coded, chunks_of, cut_sizes, group_of
from transforms.sdtm.dates import by_unique
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


@dataclass(frozen=True)
class Piece:
    """Rows of a suite's table as validated (indexed 0, 1, ...), where the listing takes
    their values from, and their positions in the table."""

    frame: pd.DataFrame
    source: Source
    positions: np.ndarray


Reader = Callable[[np.ndarray | None, frozenset[str] | None], Piece]
"""A suite's table as a :class:`Piece`: the rows flagged (None: all) and, of the validated
columns, those named (None: all; the listing's columns come too)."""


def _merged(parts: list[engine.Outcome]) -> engine.Outcome:
    """One check's outcome on a table validated in pieces (positions in the table)."""
    failed = [o for o in parts if not o.success]
    if not failed:
        return parts[0]
    rows = np.sort(np.concatenate([o.positions for o in failed]))
    return engine.Outcome(parts[0].check, False, rows, next((o.details for o in failed), ""))


BATCH_SHARE = 4
"""The distinct records of several groups are validated once they hold a quarter of
``frame_rows()``: a group of LB keeps about a ninth of its records or fewer, and what GX
and the batch hold grows with the batch's records (at 10,000 subjects the raw gate's peak
was 2.71 GB with batches of a whole ``frame_rows()``, 1.44 GB with a quarter)."""


def _head(piece: Piece) -> Piece:
    """A piece without rows or columns, but where its rows come from (the form, the file):
    what the listing of a check failed as a whole reads. New empty frames: a slice of the
    piece, even empty and copied, would hold its Arrow columns (~90 MB a group of LB)."""
    empty, none = pd.DataFrame(), pd.Series(dtype="object")
    return Piece(empty, replace(piece.source, values=empty, checked=empty, row=none,
                                subject=none, site=none), np.zeros(0, dtype=np.int64))  # fmt: skip


def _check_suite(
    session: engine.Session,
    suite: Suite,
    parameters: Mapping[str, Any],
    read: Reader,
    path: Path,
    subject: str,
) -> tuple[engine.SuiteRun, list[pd.DataFrame]]:
    """Validate one suite's table and list its failures: whole when it holds at most
    ``frame_rows()`` rows; else a group of whole subjects at a time for the checks that
    read the records of one subject only (a record alone, or a key that holds the subject:
    :meth:`Check.within_subject`), and once more over the whole table but only the columns
    they read (``<suite>.across-subjects``) for the checks that read other subjects'
    records (a key without the subject, ``mostly``). Each check is counted once and its
    failing rows are positions in the whole table, as in one validation. In each
    validation the checks of one record see one record per distinct combination of the
    values they read (:func:`validate_by_distinct_records`): of the groups, those
    distinct records are validated several groups at once (:class:`DistinctBatch`, up to
    :data:`BATCH_SHARE`: ``<suite>.subjects-<j>-to-<k>-of-<n>.distinct-records``), the keys
    a group at a time (``<suite>.subjects-<k>-of-<n>.all-records``)."""
    everything = list(range(len(suite.checks)))
    rows = int(pq.ParquetFile(path).metadata.num_rows)
    # (the group of subjects (None: every row), the columns (None: all), checks, name)
    plan: list[tuple[int | None, frozenset[str] | None, list[int], str]]
    groups = np.zeros(0, dtype=np.int64)
    count = 0  # groups of subjects
    if rows <= frame_rows():
        plan = [(None, None, everything, suite.name)]
    else:
        across = [i for i in everything if not suite.checks[i].within_subject(subject)]
        within = [i for i in everything if i not in across]
        chunks = chunks_of({suite.target: [_coded(path, subject)]}, frame_rows())
        groups = chunks.groups.get(suite.target, np.zeros(rows, dtype=np.int64))
        count = chunks.count
        plan = [(k, None, within, f"{suite.name}.subjects-{k + 1}-of-{chunks.count}")
                for k in range(chunks.count)]  # fmt: skip
        if across:
            needed = frozenset().union(*(suite.checks[i].columns for i in across))
            compared = {c for i in across if (c := suite.checks[i].compare) is not None}
            plan.append((None, needed | compared, across, f"{suite.name}.across-subjects"))
    outcomes: dict[int, list[engine.Outcome]] = {}
    found: list[pd.DataFrame] = []
    whole: set[int] = set()  # checks failed as a whole (in each group alike): listed once

    def record(outcome: Mapping[int, engine.Outcome], piece: Piece) -> None:
        for i, o in outcome.items():
            if not o.success and (len(o.positions) or i not in whole):
                found.append(findings(suite, i, o, piece.source))
                if not len(o.positions):
                    whole.add(i)
            outcomes.setdefault(i, []).append(replace(o, positions=piece.positions[o.positions]))

    batch = DistinctBatch(session, suite, parameters)
    head: Piece | None = None  # where the groups' rows come from, without them

    def validate_batch() -> None:
        """The distinct records of the groups kept, validated at once; a group with failing
        rows is read again, for the listing's values of them."""
        kept = batch.pieces
        span = f"{kept[0] + 1}" if len(kept) == 1 else f"{kept[0] + 1}-to-{kept[-1] + 1}"
        name = f"{suite.name}.subjects-{span}-of-{count}.distinct-records"
        for group, outcome in batch.validate(name):
            failed = any(len(o.positions) for o in outcome.values())
            record(outcome, read(groups == group, None) if failed or head is None else head)

    for group, columns, checks, name in plan:
        # a group's row flags made when it is read (at 50,000 subjects LB has 130 groups:
        # their flags made at once were 4.4 GB)
        piece = read(None if group is None else groups == group, columns)
        if group is None:
            record(validate_by_distinct_records(session, suite, piece.frame, parameters,
                                                checks, name), piece)  # fmt: skip
            continue
        reduced = reduce(suite, piece.frame, checks)
        if not reduced.apart:
            record(session.validate(suite, piece.frame, parameters, checks, name), piece)
            continue
        if reduced.rest:
            record(session.validate(suite, piece.frame, parameters, reduced.rest,
                                    f"{name}.all-records"), piece)  # fmt: skip
        batch.add(group, piece.frame, reduced)
        head = head or _head(piece)
        del piece
        if batch.rows >= frame_rows() // BATCH_SHARE:
            validate_batch()
    if batch.pieces:
        validate_batch()
    merged = tuple(_merged(outcomes[i]) for i in sorted(outcomes))
    return engine.SuiteRun(suite, rows, merged), found


def _source(
    form: str, file: str, values: pd.DataFrame, checked: pd.DataFrame, positions: np.ndarray,
    subject: pd.Series, site: pd.Series,
) -> Piece:  # fmt: skip
    """A piece of a table (`values` as read, `checked` as validated; both indexed 0, 1,
    ...): its rows are numbered by raw line (``__ROW``) if given, else by record."""
    row = checked[ROW] if ROW in checked else pd.Series(positions + 1, index=checked.index)
    return Piece(checked, Source(form, file, values, checked, row, subject, site), positions)


def _columns_read(path: Path | pq.ParquetFile, wanted: set[str]) -> list[str]:
    """The columns of the Parquet table `path` (or of a file already opened) that are
    wanted, in its order."""
    schema = path.schema_arrow if isinstance(path, pq.ParquetFile) else pq.read_schema(path)
    return [c for c in schema.names if c in wanted]


def _subject_codes(path: Path, column: str) -> tuple[np.ndarray, pd.Series]:
    """The subject of each row of the Parquet table `path` as a code (-1: null) into its
    distinct subjects (its `column` as text; null where empty): read dictionary-encoded,
    a code per row and each subject's text once (not a string per row of LB)."""
    read = pq.read_table(path, columns=[column], read_dictionary=[column])
    values = pd.Categorical(read.column(0).to_pandas())
    return values.codes, text(pd.Series(values.categories, dtype="object"))


def _coded(path: Path, column: str) -> Coded:
    """The subject of each row of the Parquet table `path`, coded (its `column` as text;
    none where empty, or everywhere if it has no such column)."""
    if column not in pq.read_schema(path).names:
        rows = pq.ParquetFile(path).metadata.num_rows
        return Coded(np.full(rows, -1, dtype=np.int64), pd.Series(dtype="string"))
    return Coded(*_subject_codes(path, column))


def _subjects(path: Path, column: str) -> pd.Series:
    """The subject of each row of the Parquet table `path` (:func:`_coded`; null: none)."""
    coded = _coded(path, column)
    return coded.subjects.reindex(coded.codes).reset_index(drop=True)  # code -1: null


class _Joined:
    """Derived columns of other forms per subject, each computed once per gate from the
    whole form and reused by every suite that joins it (DM's birth date is joined onto 21
    raw forms, a group of subjects at a time on large forms). Only forms of at most
    ``frame_rows()`` rows are read whole (one row per subject, or a few): a larger form's
    columns are read per group of subjects, as :class:`_OtherForms` does."""

    def __init__(self, paths: Mapping[str, Path]) -> None:
        self._paths = paths
        self._values: dict[Derived, PerSubject | None] = {}

    def get(self, d: Derived) -> PerSubject | None:
        if d not in self._values:
            self._values[d] = self._computed(d)
        return self._values[d]

    def _computed(self, d: Derived) -> PerSubject | None:
        path = self._paths.get(d.form or "")
        if d.kind == "library" or path is None:
            return None
        source = pq.ParquetFile(path)
        names = source.schema_arrow.names
        if SUBJECT not in names or source.metadata.num_rows > frame_rows():
            return None
        columns = _columns_read(source, {SUBJECT, d.column})
        return per_subject(d, pd.read_parquet(path, columns=columns))


class _OtherForms:
    """The other forms a raw form's derived columns read (their columns wanted), read for
    the rows of some subjects only: each form's subjects are read once
    (:func:`_subject_codes`), then per group of subjects the rows of theirs."""

    def __init__(self, paths: Mapping[str, Path], columns: Mapping[str, list[str]]) -> None:
        self._paths, self._columns = paths, columns
        self._reader = TableReader(dict(paths), "raw form")
        self._codes: dict[str, tuple[np.ndarray, pd.Series]] = {}

    def _subjects(self, form: str) -> tuple[np.ndarray, pd.Series]:
        if form not in self._codes:
            self._codes[form] = _subject_codes(self._paths[form], SUBJECT)
        return self._codes[form]

    def _rows(self, subjects: pd.Series) -> pd.Series:
        """The rows of the other forms of each subject (text, null as UNKNOWN) named."""
        rows = pd.Series(0, index=subjects.unique(), dtype="int64")
        for form in self._paths:
            codes, names = self._subjects(form)
            counts = np.bincount(codes.astype(np.int64) + 1, minlength=len(names) + 1)
            each = pd.Series(counts, index=[UNKNOWN, *names.fillna(UNKNOWN)])
            rows += each.groupby(level=0).sum().reindex(rows.index, fill_value=0)
        return rows

    def _of(self, subjects: pd.Series) -> dict[str, pd.DataFrame]:
        """The rows of each form whose subject (text, null as UNKNOWN) is among
        `subjects` (indexed 0, 1, ... in the form's order, as ``pd.read_parquet`` reads)."""
        wanted = subjects.unique()
        out = {}
        for form in self._paths:
            codes, names = self._subjects(form)
            hit = np.append(names.fillna(UNKNOWN).isin(wanted).to_numpy(), UNKNOWN in wanted)
            rows = self._reader.read_rows(form, hit[codes], self._columns[form])
            out[form] = rows.reset_index(drop=True)
        return out

    def validated(
        self, form: str, raw: pd.DataFrame, derived: Sequence[Derived],
        known: Mapping[Derived, PerSubject],
    ) -> pd.DataFrame:  # fmt: skip
        """:func:`validated_frame` of `raw` (rows of `form`, indexed 0, 1, ...): a group of
        whole subjects at a time, each with the other forms' rows of its subjects (about
        ``frame_rows()`` rows of theirs and its own; every derived column of another form
        is computed per subject, unless `known`), in the rows' order."""
        names = [pq.read_schema(p).names for p in self._paths.values()]
        if not self._paths or SUBJECT not in raw or any(SUBJECT not in n for n in names):
            others = {f: pd.read_parquet(p, columns=self._columns[f])
                      for f, p in self._paths.items()}  # fmt: skip
            return validated_frame(form, raw, others, derived, known)
        subjects = text(raw[SUBJECT]).fillna(UNKNOWN)
        sizes = subjects.value_counts() + self._rows(subjects)
        groups = group_of(cut_sizes(sizes.sort_index(), frame_rows()), subjects)
        parts = []
        for k in np.unique(groups):
            rows = raw[groups == k]
            others = self._of(subjects[groups == k])
            parts.append(validated_frame(form, rows, others, derived, known))
        if len(parts) <= 1:  # one group, or none: a form with no rows
            if parts:
                return parts[0]
            return validated_frame(form, raw, self._of(subjects), derived, known)
        order = np.argsort(np.concatenate([p.index.to_numpy() for p in parts]), kind="stable")
        return pd.concat(parts, ignore_index=True).take(order).set_axis(raw.index)


def _finish(
    gate: Gate,
    run: RunFolder,
    study: StudySpec,
    runs: list[engine.SuiteRun],
    failures: list[pd.DataFrame],
    extra: pd.DataFrame | None,
    t0: float,
) -> GateResult:
    """Write the listing and summary; raise QualityGateError if any error failed."""
    found = listing(failures, [r.suite.name for r in runs])
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


def _raw_suite(
    session: engine.Session, suite: Suite, parameters: Mapping[str, Any],
    paths: Mapping[str, Path], file: str, joined: _Joined,
) -> tuple[engine.SuiteRun, list[pd.DataFrame]]:  # fmt: skip
    """Validate the suite of one raw form (read from `paths`, the raw forms; `joined`:
    the other forms' derived columns per subject, where computed once for the gate)."""
    oid, derived = suite.target, suite.derived
    path = paths[oid]
    known = {d: v for d in derived
             if d.form not in (None, oid) and (v := joined.get(d)) is not None}  # fmt: skip
    needs: dict[str, set[str]] = {}  # the columns of other forms the derived columns read
    for d in derived:
        if d.kind == "library":
            for f, c in READS[d.column].items():
                needs.setdefault(f, set()).update(c)
        elif d.form is not None and d.form != oid and d not in known:
            needs.setdefault(d.form, {SUBJECT}).add(d.column)
    others = _OtherForms(
        {f: paths[f] for f in needs if f != oid and f in paths},
        {f: _columns_read(paths[f], c) for f, c in needs.items() if f != oid and f in paths},
    )
    reader = TableReader({oid: path}, "raw form")
    fields = {f for c in suite.checks for f in c.field.split("/")}

    def read(keep: np.ndarray | None, columns: frozenset[str] | None) -> Piece:
        if columns is None:  # every column, every derived one
            raw = pd.read_parquet(path) if keep is None else reader.read_rows(oid, keep)
            wanted = derived
        else:  # the columns named, and those the listing shows
            wanted = tuple(d for d in derived if d.name in columns)
            own = {d.column for d in wanted if d.form is None}
            read_ = {ROW, SUBJECT, SITE} | own | fields | set(columns)
            raw = pd.read_parquet(path, columns=_columns_read(path, read_))
        positions = raw.index.to_numpy() if keep is not None else np.arange(len(raw))
        raw = raw.reset_index(drop=True)
        frame = others.validated(oid, raw, wanted, known)
        empty = pd.Series(pd.NA, index=frame.index, dtype="string")
        return _source(oid, file, raw, frame, positions, frame.get(SUBJECT, empty),
                       frame.get(SITE, empty))  # fmt: skip

    return _check_suite(session, suite, parameters, read, path, SUBJECT)


def validate_raw(run: RunFolder, study: StudySpec) -> GateResult:
    """Run the raw suites of the run's study on the raw snapshot of its export, a form at
    a time (:func:`_check_suite`)."""
    t0 = time.perf_counter()
    info = run.info
    files = run.forms_by_file
    paths = {oid: run.raw_form(oid) for oid in study.forms}
    suites = suites_for(study, "raw")
    cutoff = info.get("data_cutoff") or str(info.get("export_created", ""))[:10]
    parameters = {
        "subjects": sorted(_subjects(paths[subject_form(study)], SUBJECT).dropna().unique()),
        "cutoff": pd.Timestamp(cutoff) if cutoff else pd.Timestamp.max,
    }
    session = engine.Session(run.gx_docs("raw"), "raw", run.run_id, _started(info))
    runs, found = [], []
    joined = _Joined(paths)
    for oid, suite in suites.items():
        file = files.get(oid, f"{study.forms[oid].file}")
        suite_run, listed = _raw_suite(session, suite, parameters, paths, file, joined)
        runs.append(suite_run)
        found += listed
    session.close()
    return _finish("raw", run, study, runs, found, None, t0)


def _sdtm_suite(
    session: engine.Session, suite: Suite, parameters: Mapping[str, Any], path: Path,
    sites: pd.Series,
) -> tuple[engine.SuiteRun, list[pd.DataFrame]]:  # fmt: skip
    """Validate the suite of one SDTM dataset (`sites`: each USUBJID's site, from DM)."""
    name, file = suite.target, f"sdtm/{path.name}"
    reader = TableReader({name: path}, "SDTM dataset")
    fields = {f for c in suite.checks for f in c.field.split("/")}

    def read(keep: np.ndarray | None, columns: frozenset[str] | None) -> Piece:
        if columns is None:
            frame = pd.read_parquet(path) if keep is None else reader.read_rows(name, keep)
        else:  # the columns named, and those the listing shows
            wanted = {"USUBJID"} | fields | set(columns)
            frame = pd.read_parquet(path, columns=_columns_read(path, wanted))
        positions = frame.index.to_numpy() if keep is not None else np.arange(len(frame))
        frame = frame.reset_index(drop=True)
        subject = (
            text(frame["USUBJID"])
            if "USUBJID" in frame
            else pd.Series(pd.NA, index=frame.index, dtype="string")
        )
        site = by_unique(  # each subject's site looked up once
            subject, lambda s: pd.Series(sites.reindex(s.to_numpy()).to_numpy(), index=s.index)
        )
        return _source(name, file, frame, frame, positions, subject, site)

    return _check_suite(session, suite, parameters, read, path, "USUBJID")


def validate_sdtm(run: RunFolder, study: StudySpec) -> GateResult:
    """Run the SDTM suites (generated from the dataset specs) on the mapped datasets, a
    dataset at a time (:func:`_check_suite`)."""
    t0 = time.perf_counter()
    info = run.info
    suites = suites_for(study, "sdtm")
    paths = {name: run.sdtm_table(name) for name in suites}
    missing = [name for name in suites if not paths[name].exists()]
    extra = pd.DataFrame(
        {"severity": "error", "dataset": missing,
         "file": [f"sdtm/{paths[n].name}" for n in missing], "rule": "SDTM-MISSING",
         "message": "dataset not found in the run folder",
         "suite": [suites[n].name for n in missing]}
    )  # fmt: skip
    dm = (
        pd.read_parquet(paths["DM"], columns=_columns_read(paths["DM"], {"USUBJID", SITE}))
        if "DM" in paths and paths["DM"].exists()
        else pd.DataFrame({"USUBJID": [], SITE: []})
    )
    usubjids = text(dm["USUBJID"]).dropna()
    sites = pd.Series(text(dm[SITE]).to_numpy(), index=usubjids.reindex(dm.index).to_numpy())
    sites = sites[sites.index.notna()]
    sites = sites[~sites.index.duplicated()]
    parameters = {"usubjids": sorted(usubjids.unique().tolist())}
    session = engine.Session(run.gx_docs("sdtm"), "sdtm", run.run_id, _started(info))
    runs, found = [], []
    for name, suite in suites.items():
        if name not in missing:
            suite_run, listed = _sdtm_suite(session, suite, parameters, paths[name], sites)
            runs.append(suite_run)
            found += listed
    session.close()
    return _finish("sdtm", run, study, runs, found, extra, t0)

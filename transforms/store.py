"""The store: one folder per run, and an atomic ``current`` pointer to the last good one.

    <store>/<STUDY>/runs/<run-id>/{raw,sdtm,adam,reports}/ + manifest.json
    <store>/<STUDY>/runs/<run-id>/submission/m5/datasets/<study>/...   (eCTD module 5)
    <store>/<STUDY>/current -> runs/<run-id>

A run writes only inside its own folder; ``current`` moves (one ``rename`` of a symlink,
atomic on POSIX) only after every stage has passed, so a failed night leaves the last
good output untouched.

A store that cannot be written (read-only, full, not writable to us) or that holds
something unexpected where its folders and link should be (a file named ``runs``, a
folder named ``current``) stops the night with one :class:`StoreFault` naming the path and
the fault (:func:`store_fault`, :func:`check_layout`); nothing is published, and a rerun
once the fault is fixed publishes.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import secrets
import shutil
import socket
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from transforms.errors import NotReady, PipelineError
from transforms.extract.exports import sha256_file
from transforms.files import write_text

log = logging.getLogger("cdisc.store")

STORE_RULE = "FILE-SYSTEM"
PERSON_NEEDED = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR,
     errno.EISDIR, errno.EEXIST, errno.EFBIG, errno.ENOTEMPTY, errno.ELOOP, errno.EMLINK}
)  # fmt: skip
"""File-system faults a person must see (free space, remount, fix the path): reported as
a :class:`StoreFault` naming path and fault. Others (an NFS hiccup) stay OSErrors."""


class StoreFault(NotReady, PipelineError):
    """The store cannot be written, or holds something unexpected where its folders and
    links should be: the message names the path and the fault. Retried by a scheduler like
    the OSError it stands for (space freed, the store remounted: a later try may pass);
    ``cdisc`` shows the message alone."""


def store_fault(exc: OSError) -> StoreFault | None:
    """The :class:`StoreFault` an OSError of :data:`PERSON_NEEDED` stands for, else None."""
    if exc.errno not in PERSON_NEEDED:
        return None
    paths = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None)
    name = errno.errorcode.get(exc.errno or 0, "")
    return StoreFault(
        f"{paths or '(path not known)'}: {exc.strerror or exc} ({name}); nothing was "
        f"published, the last publication is untouched: fix it and run again (rule {STORE_RULE})"
    )


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "a special file"


def check_layout(store: Path, study: str) -> None:
    """Refuse (StoreFault) a store whose study folder, ``runs/`` or ``current`` is not
    what it must be: folders (or absent), and ``current`` a symbolic link (or absent)."""
    study_dir = store / study
    expect = [(store, "a folder"), (study_dir, "a folder"), (study_dir / "runs", "a folder"),
              (study_dir / "current", "a symbolic link")]  # fmt: skip
    for path, wanted in expect:
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            continue
        except OSError as exc:
            fault = store_fault(exc)
            if fault is None:
                raise
            raise fault from exc
        kind = _kind(mode)
        if wanted == "a folder" and stat.S_ISLNK(mode) and path.is_dir():
            continue  # a store or study folder may be a link to a folder
        if kind != wanted:
            raise StoreFault(
                f"{path}: {kind} where the store keeps {wanted}; move it away (nothing was "
                f"published, the last publication is untouched) (rule {STORE_RULE})"
            )


SUBFOLDERS = ("raw", "sdtm", "adam", "reports")
SUBMITTED: dict[str, tuple[str, ...]] = {
    "sdtm": ("define.xml", "define.xsl", "acrf.pdf", "csdrg.pdf"),
    "adam": ("define.xml", "define.xsl", "adrg.pdf"),
}
"""Besides every XPT file, what a layer submits (those of its files the run holds): its
Define-XML with the stylesheet it names, and the documents (FDA Study Data TCG: annotated
CRF and cSDRG beside the SDTM, ADRG beside the ADaM)."""


@dataclass(frozen=True)
class RunFolder:
    """Every path of one run, and its extract facts (read once). Stages talk to each other
    only through it: no stage builds a run path by hand."""

    path: Path

    @property
    def study_dir(self) -> Path:
        return self.path.parent.parent

    @property
    def store(self) -> Path:
        return self.study_dir.parent

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def raw(self) -> Path:
        return self.path / "raw"

    @property
    def sdtm(self) -> Path:
        return self.path / "sdtm"

    @property
    def adam(self) -> Path:
        return self.path / "adam"

    @property
    def reports(self) -> Path:
        return self.path / "reports"

    # --- what the run holds -------------------------------------------------------------

    def raw_form(self, oid: str) -> Path:
        """The raw snapshot of one eCRF form (its OID, as in forms.yaml)."""
        return self.raw / f"{oid.lower()}.parquet"

    def sdtm_table(self, name: str, suffix: str = ".parquet") -> Path:
        """An SDTM dataset's Parquet (SUPP-- too: ``SUPPAE``), or its ``.xpt``/``.json``."""
        return self.sdtm / f"{name.lower()}{suffix}"

    def adam_table(self, name: str, suffix: str = ".parquet") -> Path:
        """An ADaM dataset's Parquet, or its ``.xpt``/``.json``."""
        return self.adam / f"{name.lower()}{suffix}"

    def sdtm_tables(self) -> dict[str, Path]:
        """Every SDTM dataset written so far, by name (SUPP-- included), sorted."""
        return {p.stem.upper(): p for p in sorted(self.sdtm.glob("*.parquet"))}

    def adam_tables(self) -> dict[str, Path]:
        return {p.stem.upper(): p for p in sorted(self.adam.glob("*.parquet"))}

    def lineage(self, dataset: str) -> Path:
        """Source form and row of each record of a mapped dataset."""
        return self.reports / f"lineage_{dataset.lower()}.parquet"

    def lineages(self) -> list[Path]:
        return sorted(self.reports.glob("lineage_*.parquet"))

    def report(self, name: str) -> Path:
        """A file of ``reports/``, e.g. ``report("reconciliation.csv")``."""
        return self.reports / name

    @property
    def field_reconciliation(self) -> Path:
        """Every raw field of the export: mapped (to which variables), or not submitted and
        why."""
        return self.reports / "reconciliation_fields.csv"

    def quality_listings(self) -> list[Path]:
        """The quality gates' listings written so far (``quality_raw.csv``, ...)."""
        return sorted(self.reports.glob("quality_*.csv"))

    @property
    def findings_workbook(self) -> Path:
        """The conformance and quality findings as a Pinnacle 21 style Excel workbook."""
        return self.reports / "findings.xlsx"

    def issues(self, name: str) -> Path:
        """The issue listing of a stage (``RAW``, a dataset, ``AE_xpt``)."""
        return self.reports / f"issues_{name.lower()}.csv"

    def gx_docs(self, gate: str) -> Path:
        """The Great Expectations Data Docs of one quality gate (``raw``, ``sdtm``)."""
        return self.reports / "gx_docs" / gate

    @property
    def failure(self) -> Path:
        """Written by the stage that stopped the run: which and why."""
        return self.reports / "failure.json"

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    @property
    def journal(self) -> Path:
        """The steps a ``cdisc run`` of this folder finished (transforms.jobs.journal)."""
        return self.path / "steps.json"

    @property
    def manifest_staging(self) -> Path:
        """manifest.json written here first, then renamed into place (:func:`publish`)."""
        return self.path / "manifest.json.tmp"

    @property
    def running(self) -> Path:
        """Locked (flock) by the process whose job runs in this folder, while it runs."""
        return self.path / ".running"

    # --- the submission (eCTD module 5) ---------------------------------------------------

    @property
    def submission(self) -> Path:
        """The package a reviewer opens: ``m5/datasets/<study>/...`` as eCTD lays it out."""
        return self.path / "submission"

    def submission_folder(self, layer: str) -> Path:
        """``m5/datasets/<study, lower case>/tabulations/sdtm`` (SDTM) or
        ``.../analysis/adam/datasets`` (ADaM), inside :attr:`submission`."""
        study = self.submission / "m5" / "datasets" / self.study_id.lower()
        if layer == "sdtm":
            return study / "tabulations" / "sdtm"
        if layer == "adam":
            return study / "analysis" / "adam" / "datasets"
        raise ValueError(f"layer must be sdtm or adam, not {layer!r}")

    def submitted(self, layer: str) -> list[Path]:
        """The files of the run's ``sdtm/`` or ``adam/`` that the submission holds: every
        XPT, then those of :data:`SUBMITTED` that exist."""
        folder = self.path / layer
        documents = [folder / name for name in SUBMITTED[layer] if (folder / name).is_file()]
        return sorted(folder.glob("*.xpt")) + documents

    # --- facts ----------------------------------------------------------------------------

    @property
    def info_path(self) -> Path:
        return self.raw / "extract.json"

    @cached_property
    def info(self) -> dict[str, Any]:
        """The extract facts (study, export, cutoff, inputs), read once."""
        try:
            info: dict[str, Any] = json.loads(self.info_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise PipelineError(f"{self.info_path}: missing; is {self.path} a run folder?") from exc
        return info

    def write_info(self, info: dict[str, Any]) -> None:
        self.info_path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        self.__dict__["info"] = info

    @property
    def study_id(self) -> str:
        return str(self.info["study"])

    @property
    def export_created(self) -> datetime:
        """The export's creation time: every file's timestamp, so an export gives one set of
        bytes however often it is run."""
        return datetime.fromisoformat(str(self.info["export_created"]).replace("Z", "+00:00"))

    @property
    def forms_by_file(self) -> dict[str, str]:
        """Raw file name of each form OID, as the export named it."""
        return {entry["form"]: name for name, entry in self.info["inputs"].items()}

    @property
    def adam_info_path(self) -> Path:
        return self.path / "adam_run.json"

    @cached_property
    def adam_info(self) -> dict[str, Any]:
        """An ADaM run's facts: the SDTM run it derives from, when it started."""
        info: dict[str, Any] = json.loads(self.adam_info_path.read_text(encoding="utf-8"))
        return info

    def write_adam_info(self, info: dict[str, Any]) -> None:
        self.adam_info_path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        self.__dict__["adam_info"] = info

    def manifest(self) -> dict[str, Any]:
        """The published manifest, or {} before publication."""
        path = self.manifest_path
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object file of a run (``extract.json``, ``failure.json``...), or {} when it is
    missing, unreadable or not an object: for reports that show what there is."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def new_run(store: Path, study: str, run_id: str) -> RunFolder:
    """Create an empty run folder, never reusing one: when `run_id` exists (a rerun within
    the same second after a crash) the new folder is ``<run_id>.2``, ``.3``, ..."""
    check_layout(store, study)
    runs = store / study / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    path, n = runs / run_id, 1
    while True:
        try:
            path.mkdir()
            break
        except FileExistsError:
            n += 1
            path = runs / f"{run_id}.{n}"
    for sub in SUBFOLDERS:
        (path / sub).mkdir()
    return RunFolder(path)


def current(store: Path, study: str) -> Path | None:
    """The published run folder, or None before the first publish."""
    link = store / study / "current"
    return link.resolve() if link.is_symlink() else None


def link_or_copy(source: Path, target: Path) -> None:
    """`target` as a hard link to `source` (no bytes copied), or a copy where the file system
    cannot link. Safe because a run's files are never rewritten in place once written."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def assemble_submission(run: RunFolder) -> list[Path]:
    """(Re)build the run's :attr:`~RunFolder.submission` folder from its sdtm/ and adam/
    (:meth:`~RunFolder.submitted`), by hard links. Built beside it and renamed into place:
    never half there. Returns the files, sorted."""
    staging = run.path / f".submission.{secrets.token_hex(6)}.tmp"
    try:
        staging.mkdir()
        for layer in ("sdtm", "adam"):
            files = run.submitted(layer)
            if not files:
                continue
            folder = staging / run.submission_folder(layer).relative_to(run.submission)
            folder.mkdir(parents=True)
            for path in files:
                link_or_copy(path, folder / path.name)
        if run.submission.exists():
            shutil.rmtree(run.submission)
        staging.rename(run.submission)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sorted(p for p in run.submission.rglob("*") if p.is_file())


NIGHTS_KEPT = 1000
"""Lines :func:`record_night` keeps in a night log (the newest): one line per job that made
no run folder, so about one a night (an SDTM night with nothing new), some 2.7 years. ``cdisc
status`` and the alerts list the nights since the publication, so only a study unpublished,
or failing before its run folder, for longer than that loses lines from its listing."""


def nights_log(store: Path, study: str) -> Path:
    """One JSON line per job that ended without a run folder: nothing new to do, or an
    error before the folder was made (no complete export). ``cdisc status`` reads it."""
    return store / study / "nights.jsonl"


def record_night(store: Path, study: str, entry: dict[str, Any]) -> None:
    """Append `entry` (with the time now) to the study's :func:`nights_log`, keeping its
    newest :data:`NIGHTS_KEPT` lines: past that, the log is rewritten beside itself and
    renamed into place (never half there), under an OS lock on ``.nights.lock`` so that two
    jobs ending at once both keep their line."""
    import fcntl

    entry = {"at": datetime.now(UTC).isoformat(), **entry}
    path = nights_log(store, study)
    line = json.dumps(entry, sort_keys=True) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with (path.parent / ".nights.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released on close, or by the kernel on a kill
            lines = path.read_text(encoding="utf-8").splitlines(True) if path.is_file() else []
            if lines and not lines[-1].endswith("\n"):  # a line cut short by a crash
                lines[-1] += "\n"
                line = "\n" + line
            if len(lines) < NIGHTS_KEPT:
                with path.open("a", encoding="utf-8") as fh:  # one short write: whole lines
                    fh.write(line)
                return
            kept = [*lines[len(lines) - NIGHTS_KEPT + 1 :], line.lstrip("\n")]
            write_text(path, "".join(kept))
    except OSError as exc:  # the store's fault is the night's error; never mask it
        log.error("%s: night not recorded: %s", path, exc)


def remove_leftovers(run: RunFolder) -> list[Path]:
    """Delete what writes cut short left in the run folder: the hidden temporaries of
    :func:`~transforms.files.replaced` and of the submission's staging (``.<name>.<random>.tmp``,
    the XPT read-back's ``.tmp.sample``) and ``manifest.json.tmp``. A write is cut short
    only by its process dying (a failing one removes its own); the step is then run again
    (an Airflow retry, a ``cdisc run`` going on in the folder) and writes its outputs anew,
    but the dead attempt's temporaries stay. Called as publishing starts, when no other step
    of the run writes, so that no such file is published. Returns what it removed."""
    found = [p for p in run.path.rglob(".*") if ".tmp" in p.name]
    if run.manifest_staging.exists():
        found.append(run.manifest_staging)
    found.sort()  # a folder before what it holds (gone with it)
    for path in found:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return found


def _outputs(run: RunFolder) -> Iterator[Path]:
    for sub in ("sdtm", "adam", "reports", "submission"):
        yield from sorted(p for p in (run.path / sub).rglob("*") if p.is_file())


def publish(run: RunFolder, manifest: dict[str, Any]) -> Path:
    """Write manifest.json (with the SHA-256 of every output), then switch ``current``.
    Either both happen or neither: a fault (a full disk, a read-only store) leaves no
    manifest.json, no temporary file and the old ``current``."""
    check_layout(run.store, run.study_dir.name)
    outputs = {
        str(p.relative_to(run.path)): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
        for p in _outputs(run)
    }
    body = {**manifest, "run_id": run.run_id, "outputs": outputs}
    tmp = run.manifest_staging
    link = run.study_dir / "current"
    staging = run.study_dir / f".current.{run.run_id}.tmp"
    placed = False
    try:
        tmp.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        staging.unlink(missing_ok=True)
        staging.symlink_to(Path("runs") / run.run_id)
        tmp.replace(run.manifest_path)
        placed = True
        staging.replace(link)
    except BaseException:
        for path in (tmp, staging, *([run.manifest_path] if placed else [])):
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                log.error("%s: could not remove after a failed publish: %s", path, exc)
        raise
    return link


def prune(store: Path, study: str, keep: int) -> list[str]:
    """Delete the oldest run folders beyond the newest `keep`; never the published one."""
    runs = sorted(p for p in (store / study / "runs").iterdir() if p.is_dir())
    published = current(store, study)
    doomed = [p for p in runs[: max(len(runs) - keep, 0)] if p != published]
    for path in doomed:
        shutil.rmtree(path)
    return [p.name for p in doomed]


class LockTimeout(NotReady, RuntimeError):
    """Another run of the study holds the publication lock."""


@contextmanager
def study_lock(store: Path, study: str, timeout: float = 600.0) -> Iterator[None]:
    """Only one run of a study publishes at a time.

    An OS file lock (flock) on ``<store>/<study>/.lock``: the kernel releases it when the
    holder dies, even by SIGKILL, so a killed worker never leaves the study locked. (On a
    store shared between machines the file system must support flock, e.g. NFSv4.)
    """
    import fcntl

    path = store / study / ".lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    fh.seek(0)
                    holder = fh.read().strip() or "unknown"
                    raise LockTimeout(
                        f"{study}: another run is publishing ({holder}); waited {timeout:g} s"
                    ) from None
                time.sleep(0.2)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()}")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)

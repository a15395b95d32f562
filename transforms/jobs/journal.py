"""A run of ``cdisc run`` goes on where its process died.

A night killed half-way (the machine rebooted, the process was OOM-killed or SIGKILLed) is
run again by hand or by the next cron; starting it over repeats every finished step, which
at 50,000 subjects is most of an hour. Each step of a job is safe to run again on its run
folder (the DAG's tasks are retried that way by Airflow), so a rerun need only repeat the
step that was cut short and those after it.

Every run folder that :func:`~transforms.jobs.runner.run_job` makes holds ``steps.json``:
the job, a fingerprint of what makes its outputs (the engine's code and the study's specs)
and the steps finished, in order, rewritten whole after each. A later run of the same job
resumes the newest such folder when all of this holds:

- it is the same input: the job's first step finds the same export (same files, same
  bytes) or, for ADaM, the same published SDTM run, and it is not published;
- its fingerprint is this process's: a spec or the engine changed since means a new run;
- it did not fail (a step that raised is recorded in the journal): a failed night is rerun
  from the start, after whatever its error asked to be fixed;
- no live process works in it: each run holds an OS lock on its folder's ``.running`` while
  its job runs, which the kernel lets go of when the process dies however it dies.

Airflow's runs are not resumed this way (Airflow retries their tasks itself): only folders
with ``steps.json`` are candidates.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from transforms import __version__
from transforms.errors import UserError
from transforms.files import write_text
from transforms.specs import StudySpec
from transforms.store import RunFolder, read_json

_ENGINE = Path(__file__).resolve().parents[1]
_held: dict[Path, IO[str]] = {}  # run folder -> its open, locked .running


def fingerprint(study: StudySpec) -> str:
    """SHA-256 over the engine's files (its code, schemas and codelists) and the study's
    spec files: two runs with the same fingerprint and input make the same outputs."""
    digest = hashlib.sha256(__version__.encode())
    engine = sorted(p for p in _ENGINE.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for root, files in ((_ENGINE, engine), (study.path, sorted(study.path.rglob("*.yaml")))):
        for path in files:
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _journal(run: RunFolder) -> dict[str, Any]:
    return read_json(run.journal)  # {} without one, or one cut short


def _done(journal: dict[str, Any]) -> list[str]:
    done = journal.get("done")
    return [str(s) for s in done] if isinstance(done, list) else []


def steps_done(run: RunFolder) -> list[str]:
    """The steps the run's journal lists as finished, in order (none without a journal)."""
    return _done(_journal(run))


def _write(run: RunFolder, journal: dict[str, Any]) -> None:
    write_text(run.journal, json.dumps(journal, indent=2) + "\n")


def _claim(run: RunFolder) -> bool:
    """Lock the run folder for this process (until :func:`release`); False when another
    live process holds it."""
    if run.path in _held:
        return True
    handle = run.running.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return False
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    _held[run.path] = handle
    return True


def release(run: RunFolder) -> None:
    """Let go of the run folder's lock (the job has ended, one way or another)."""
    handle = _held.pop(run.path, None)
    if handle is not None:
        handle.close()


def begin(run: RunFolder, study: StudySpec, job: str, first: str) -> None:
    """Start the journal of a new run folder whose first step `first` has finished, and
    lock the folder for this process."""
    _claim(run)
    _write(run, {"job": job, "fingerprint": fingerprint(study), "done": [first]})


def finished(run: RunFolder, step: str) -> None:
    """Record that `step` has finished (the journal's steps in the order they finished)."""
    journal = _journal(run)
    journal["done"] = [*_done(journal), step]
    _write(run, journal)


def failed(run: RunFolder, step: str) -> None:
    """Record that `step` failed: a failed run is not gone on in, its night is rerun from
    the start (after whatever its error asked to be fixed). Unrecorded when the store
    cannot be written (the step's own error says why; a rerun then retries the step)."""
    journal = _journal(run)
    journal["failed"] = step
    with contextlib.suppress(OSError):
        _write(run, journal)


def newest(store: Path, study: str, job: str) -> RunFolder | None:
    """The run folder of `job` whose journal was written last, finished or not."""
    runs = store / study / "runs"
    folders = [RunFolder(p) for p in sorted(runs.iterdir()) if p.is_dir()] if runs.is_dir() else []
    candidates = [r for r in folders if r.journal.is_file() and _journal(r).get("job") == job]
    return max(candidates, key=lambda r: r.journal.stat().st_mtime, default=None)


def unfinished(store: Path, study: str, job: str) -> RunFolder | None:
    """The newest run folder of `job` (:func:`newest`) when its run neither published nor
    failed: its process died on the way."""
    run = newest(store, study, job)
    if run is None or run.manifest_path.exists() or _journal(run).get("failed"):
        return None
    return run


def resumable(
    store: Path, study: StudySpec, job: str, same_input: Callable[[RunFolder], bool]
) -> RunFolder | None:
    """The run folder a rerun of `job` goes on in (:func:`unfinished`, made from the same
    input and with this process's fingerprint), locked for this process; None when the
    job starts a new one. `same_input` says whether a folder was made from the input the
    first step found."""
    run = unfinished(store, study.id, job)
    if run is None or _journal(run).get("fingerprint") != fingerprint(study):
        return None
    try:
        same = same_input(run)
    except (OSError, ValueError, UserError):  # its facts damaged or gone: not gone on in
        same = False
    return run if same and _claim(run) else None

"""Processes for the kill tests: each one a real process of its own (so it can be SIGKILLed),
forked from a server that has imported the engine once.

A fresh `cdisc run` spends its first seconds importing pandas, Great Expectations, SciPy and
the engine before it writes anything; twenty kill points paid that twenty times. Python's
forkserver imports the engine (transforms.jobs.warm, as a Celery worker does) once per test
worker, then forks each run from that warm, single-threaded process: the child is still a
separate process with its own memory, file descriptors and PID, killed with SIGKILL like any
other.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# What a night's run imports, imported by the server before it forks each run.
PRELOAD = ["transforms.jobs.warm"]

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(PRELOAD)


def _child(target: Callable[..., int | None], args: tuple[Any, ...], stderr: str) -> None:
    """In the forked process: stderr into the file the test tails, stdout discarded."""
    err = os.open(stderr, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    out = os.open(os.devnull, os.O_WRONLY)
    os.dup2(err, 2)
    os.dup2(out, 1)
    code = target(*args)
    sys.stderr.flush()
    os._exit(code or 0)


def cdisc(argv: list[str]) -> int:
    """`cdisc ARGV`, as the console script runs it."""
    from transforms.cli import main

    return main(argv)


@contextmanager
def launched(target: Callable[..., int | None], *args: Any, log: Path) -> Iterator[Any]:
    """Start ``target(*args)`` in a forked process whose stderr goes to ``log``; yields the
    process (``pid``, ``is_alive()``, ``exitcode``); joins it on exit."""
    log.touch()
    proc = _CONTEXT.Process(target=_child, args=(target, args, str(log)))
    proc.start()
    try:
        yield proc
    finally:
        proc.join()


def lines(proc: Any, log: Path) -> Iterator[str]:
    """The lines ``proc`` writes to ``log``, as they come, until it has ended."""
    with log.open(encoding="utf-8", errors="replace") as stream:
        pending = ""
        while True:
            chunk = stream.readline()
            if chunk:
                pending += chunk
                if pending.endswith("\n"):
                    yield pending
                    pending = ""
                continue
            if not proc.is_alive():
                yield from (pending + stream.read()).splitlines(keepends=True)
                return
            time.sleep(0.002)


def map_dataset(run_dir: str, study: str, name: str) -> None:
    """One `<ds>.map` task of the SDTM job on an existing run folder, as Airflow runs it."""
    from transforms.jobs.sdtm import map_dataset as map_one
    from transforms.specs import load_study
    from transforms.store import RunFolder

    map_one(RunFolder(Path(run_dir)), load_study(study), name)

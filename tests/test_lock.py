"""One publication per study at a time, and a killed holder never leaves it locked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from transforms.store import LockTimeout, study_lock

HOLD = """
import sys, time
from pathlib import Path
from transforms.store import study_lock
with study_lock(Path(sys.argv[1]), "POMMAINT"):
    print("locked", flush=True)
    time.sleep(600)
"""


def _holder(store: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(store)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_publisher_waits_then_gives_up(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    try:
        busy = rf"another run is publishing \(pid {proc.pid} on "
        with pytest.raises(LockTimeout, match=busy), study_lock(tmp_path, "POMMAINT", timeout=0.5):
            pass
    finally:
        proc.kill()
        proc.wait()


def test_a_killed_holder_releases_the_lock(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with study_lock(tmp_path, "POMMAINT", timeout=0):  # free at the first try, no waiting
        pass


def test_other_studies_are_not_blocked(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    try:
        with study_lock(tmp_path, "OTHER", timeout=0.5):
            pass
    finally:
        proc.kill()
        proc.wait()

"""Shared test set-up: repo paths, a sample export and its runs built once per test session
(also across pytest-xdist workers), how the suite is spread over the workers, service gates."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
EXPORT_TIME = datetime(2026, 11, 23, 2, 0, 0, tzinfo=UTC)


def copy_study_specs(root: Path, *studies: str) -> Path:
    """A specs folder at `root` with the studies' folders and the specs they share
    (``_common``); returns `root`."""
    for name in (*studies, "_common"):
        shutil.copytree(ROOT / "sdtm_specs" / name, root / name)
    return root


# Property tests draw the same examples on every run: a failure in CI is reproducible.
settings.register_profile("repeatable", derandomize=True, deadline=None)  # no timed tests
settings.load_profile("repeatable")


@contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    with lock.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], Path]
) -> Path:
    """What `build(folder)` returns, built once per test session in a fresh `folder`.

    Under pytest-xdist every worker is a process of its own with its own session fixtures;
    the workers' temporary folders share a parent, so the first worker to ask builds there
    (under a file lock) and the others wait for it and reuse the result. Callers treat the
    result as read-only. A failed build leaves nothing behind: the next caller tries again.
    """
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder, done = root / name, root / f"{name}.built"
    with _exclusive(root / f"{name}.lock"):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            done.write_text(str(build(folder)), encoding="utf-8")
    return Path(done.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default 15-subject POMMAINT CSV export (seed 20261123), written once."""
    from samplegen import generate_export

    def build(root: Path) -> Path:
        generate_export("POMMAINT", subjects=15, seed=20261123, out=root, export_time=EXPORT_TIME)
        return root

    return built_once(tmp_path_factory, "landing", build)


@pytest.fixture(scope="session")
def published(landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pipeline run once on the default sample; returns the `current` folder."""
    from transforms.jobs.runner import run_sdtm

    return built_once(tmp_path_factory, "store", lambda store: run_sdtm("POMMAINT", landing, store))


@pytest.fixture(scope="session")
def adam_published(published: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SDTM then ADaM on the default sample, in a store of its own (a copy of `published`'s
    store, whose SDTM run the ADaM job reads); the `current` folder."""
    from transforms.jobs.runner import run_adam

    def build(store: Path) -> Path:
        copy_store(published, store / "store")
        return run_adam(store / "store", "POMMAINT")

    return built_once(tmp_path_factory, "adam_store", build)


@dataclass(frozen=True)
class NightTwo:
    """Night 2 (the site's late correction, samplegen ``night=2``) after the session's night 1
    (`adam_published`): read-only stores, built once per session."""

    landing: Path  # nights 1 and 2
    baseline: Path  # a store with night 1 published (SDTM and ADaM): adam_published's
    sdtm_done: Path  # a copy of it after night 2's SDTM job: what the ADaM job starts from
    published: Path  # `current` of a copy of sdtm_done after night 2's ADaM job (`cdisc run`)


@pytest.fixture(scope="session")
def night_two(
    landing: Path, adam_published: Path, tmp_path_factory: pytest.TempPathFactory
) -> NightTwo:
    """Night 2 after night 1, each job once per session (the kill tests' uninterrupted
    reference, the change listings of SDTM and ADaM)."""
    from samplegen import generate_export
    from transforms.cli import main
    from transforms.jobs.runner import run_sdtm

    baseline = adam_published.parent.parent

    def build(root: Path) -> Path:
        nights, sdtm_done, clean = root / "landing", root / "sdtm_done", root / "clean"
        shutil.copytree(landing, nights)
        generate_export(
            "POMMAINT", subjects=15, out=nights, night=2,
            export_time=EXPORT_TIME + timedelta(days=1),
        )  # fmt: skip
        shutil.copytree(baseline, sdtm_done, symlinks=True)
        run_sdtm("POMMAINT", nights, sdtm_done)
        shutil.copytree(sdtm_done, clean, symlinks=True)
        # the SDTM job has nothing new: `cdisc run` goes on to the ADaM job
        argv = ["-q", "run", "--study", "POMMAINT", "--landing", str(nights)]
        assert main([*argv, "--store", str(clean)]) == 0
        return root

    root = built_once(tmp_path_factory, "night_two", build)
    current = Path("POMMAINT") / "current"
    return NightTwo(root / "landing", baseline, root / "sdtm_done", root / "clean" / current)


def copy_store(current: Path, store: Path) -> Path:
    """A private copy, at `store`, of the store whose `current` folder a session fixture
    returns (`published`, `adam_published`, `night_two`), to run more nights on; its
    `current`."""
    shutil.copytree(current.parent.parent, store, symlinks=True)
    return store / current.parent.name / current.name


def defined_documents(current: Path) -> dict[str, dict[str, str]]:
    """Per define.xml of a published run (``sdtm/``, ``adam/`` and their copies in the
    submission, by path relative to the run), the documents it names that are not datasets:
    def:leaf ID -> href. Asserts every def:leaf (datasets too) names a file beside it."""
    from lxml import etree

    from transforms.define.xml import NS

    found: dict[str, dict[str, str]] = {}
    for path in sorted(current.glob("*/define.xml")) + sorted(current.rglob("m5/**/define.xml")):
        root = etree.parse(str(path)).getroot()
        leaves = root.xpath("//def:leaf", namespaces=NS)
        hrefs = {str(leaf.get("ID")): str(leaf.get(f"{{{NS['xlink']}}}href")) for leaf in leaves}
        missing = [h for h in hrefs.values() if not (path.parent / h).is_file()]
        assert not missing, f"{path}: def:leaf files not beside it: {missing}"
        found[path.relative_to(current).as_posix()] = {
            i: h for i, h in hrefs.items() if not h.endswith(".xpt")
        }
    return found


# How the suite is spread over pytest-xdist workers (`make test`: -n auto): a file's tests
# go to one worker together, so its module fixtures are built once, except the files in
# SPREAD, whose tests are independent and long (each chain of kill points runs the pipeline
# several times). The files whose tests start Airflow or the PostgreSQL/Redis-backed
# topology form one unit, so those run one after another. Units start longest first (HEAVY,
# slowest first as measured; the kill chains, several full nights each, right after the
# services), so no worker is left alone with a long unit at the end.
# (xdist's own --dist loadgroup cannot do this under pytest 9: it renames item._nodeid,
# which pytest 9 no longer reads, so its groups are silently ignored.)
SPREAD = ("tests/test_kill.py",)
SERVICES_UNIT = "airflow-and-services"
SERVICES_FILES = ("tests/test_dag.py", "tests/test_services.py")
HEAVY = (
    SERVICES_UNIT,
    "tests/test_kill.py",
    "tests/test_cdiscpilot.py",
    "tests/test_cdiscpilot_adam.py",
    "tests/robustness/test_corpus.py",
    "tests/test_pipeline.py",
    "tests/test_quality.py",
    "tests/test_conformance.py",
    "tests/test_define.py",
    "tests/test_benchmark.py",
    "tests/test_cli.py",
    "tests/test_adam.py",
)


def work_unit(nodeid: str) -> str:
    """The unit of scheduling a test belongs to: its file, its own id (SPREAD), or the
    Airflow/services unit."""
    path = nodeid.split("::", 1)[0]
    if path in SERVICES_FILES:
        return SERVICES_UNIT
    return nodeid if path in SPREAD else path


def _rank(nodeid: str) -> int:
    unit = work_unit(nodeid)
    key = unit if unit in HEAVY else nodeid.split("::", 1)[0]
    return HEAVY.index(key) if key in HEAVY else len(HEAVY)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest units first (a stable sort: a file's tests keep their order)."""
    for item in items:
        marked = item.get_closest_marker("airflow") or item.get_closest_marker("services")
        if marked and work_unit(item.nodeid) != SERVICES_UNIT:
            raise pytest.UsageError(
                f"{item.nodeid} starts Airflow or the services: put it in one of "
                f"{SERVICES_FILES} (tests/conftest.py), so it never runs beside another"
            )
    items.sort(key=lambda item: _rank(item.nodeid))


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """pytest-xdist's scope scheduler with the units of `work_unit`, in collection order."""
    from xdist.scheduler import LoadScopeScheduling

    class Units(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

        def _reschedule(self, node: Any) -> None:
            # xdist sends a worker its next unit while two of its tests are pending: one
            # running, one held back (a worker runs a test only once it knows the next).
            # Behind a long last test (the Celery night, a kill chain) that unit then waits
            # minutes while another worker runs out of work. Send it when only the held-back
            # test is pending: the worker is idle then, waiting for exactly this.
            if self.workqueue and self._pending_of(self.assigned_work[node]) > 1:
                return
            super()._reschedule(node)

    config.option.loadscopereorder = False  # keep HEAVY's order, not largest-count first
    return Units(config, log)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Where CDISC_REQUIRE_SERVICES is set (CI), a services test that skips fails."""
    report = yield
    if (
        report.skipped
        and os.environ.get("CDISC_REQUIRE_SERVICES")
        and item.get_closest_marker("services") is not None
    ):
        report.outcome = "failed"
        report.longrepr = f"services required in CI but the test skipped: {report.longrepr}"
    return report

"""Shared test set-up: repo paths, a sample export built once per session, service gates."""

from __future__ import annotations

import os
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
EXPORT_TIME = datetime(2026, 11, 23, 2, 0, 0, tzinfo=UTC)

# Property tests draw the same examples on every run: a failure in CI is reproducible.
settings.register_profile("repeatable", derandomize=True)
settings.load_profile("repeatable")


@pytest.fixture(scope="session")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default 15-subject POMMAINT CSV export (seed 20261123), written once."""
    from samplegen import generate_export

    root = tmp_path_factory.mktemp("landing")
    generate_export("POMMAINT", subjects=15, seed=20261123, out=root, export_time=EXPORT_TIME)
    return root


@pytest.fixture(scope="session")
def published(landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pipeline run once on the default sample; returns the `current` folder."""
    from transforms.pipeline import run_all

    store = tmp_path_factory.mktemp("store")
    return run_all("POMMAINT", landing, store)


@pytest.fixture(scope="session")
def adam_published(landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SDTM then ADaM on the default sample, in a store of its own; the `current` folder."""
    from transforms.adam import stages
    from transforms.pipeline import run_all

    store = tmp_path_factory.mktemp("adam_store")
    run_all("POMMAINT", landing, store)
    return stages.run_all(store, "POMMAINT")


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

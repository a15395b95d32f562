"""The engine imported once by a process that forks the night's steps (transforms.jobs.warm):
a Celery worker (docker-compose) and the kill tests' fork server."""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT


def test_importing_it_imports_every_engine_module_and_gx() -> None:
    from transforms.jobs import warm

    modules = warm.engine_modules()
    assert {"transforms.jobs.sdtm", "transforms.jobs.adam", "transforms.quality.gates",
            "transforms.conformance.run", "transforms.define.build",
            "transforms.adam.endpoints"} <= set(modules)  # fmt: skip
    assert "transforms.serve" not in modules and warm.__name__ not in modules
    assert [m for m in modules if m not in sys.modules] == []
    assert "great_expectations" in sys.modules


def test_it_imports_no_airflow_so_a_process_that_is_not_airflows_keeps_its_logging() -> None:
    """Airflow configures logging when imported: the kill tests' fork server (and any
    process warming itself that is not Airflow's) would send its progress lines there."""
    from transforms.jobs import warm

    found = []
    for name in warm.engine_modules():
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
        for node in tree.body:  # imports at module level: what importing the module runs
            names = (
                [a.name for a in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            )  # fmt: skip
            found += [f"{name}: {n}" for n in names if n.split(".")[0] == "airflow"]
    assert found == []


def test_each_celery_worker_imports_it_before_its_pool_forks() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text(encoding="utf-8"))
    env = compose["x-airflow-env"]
    assert json.loads(env["AIRFLOW__CELERY__EXTRA_CELERY_CONFIG"]) == {
        "imports": ["transforms.jobs.warm"]
    }

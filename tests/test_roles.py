"""The production roles (deploy/roles.yaml, made by scripts/roles.py in compose's init
step): valid, and what each may do once made in a FAB auth manager database (issue 21.6)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from benchmarks.bench import airflow_env
from tests.conftest import ROOT

ROLES = ROOT / "deploy" / "roles.yaml"
FAB = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("roles_script", ROOT / "scripts" / "roles.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_declared_roles_are_valid() -> None:
    roles = _script().load_roles(ROLES)
    assert {n: r["like"] for n, r in roles.items()} == {
        "DataManager": "Op",
        "Programmer": "User",
        "StudyViewer": "Viewer",
    }
    assert roles["Programmer"]["without"] == {("can_delete", "DAG Runs"), ("can_delete", "DAGs")}
    assert all(r["may"] for r in roles.values())


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("roles: {}\n", "roles: expected a mapping"),
        ("roles:\n  DM: {like: Root, may: all}\n", "roles.DM.like: 'Root' is not one of"),
        ("roles:\n  DM: {like: Op}\n", "roles.DM.may: say what"),
        ("roles:\n  Viewer: {like: Viewer, may: read}\n", "roles.Viewer: a built-in FAB role"),
        ("roles:\n  DM: {like: Op, may: x, without: [can_read]}\n", "roles.DM.without"),
        ("roles:\n  DM: {like: Op, may: x, can: all}\n", "roles.DM: expected like, may"),
    ],
)
def test_a_bad_role_file_is_named(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "roles.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="roles") as raised:
        _script().load_roles(path)
    assert str(raised.value).startswith(f"{path}: ") and says in str(raised.value)


PERMS = """
from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder
with get_application_builder() as ab:
    for name in ("DataManager", "Programmer", "StudyViewer"):
        perms = {(p.action.name, p.resource.name) for p in ab.sm.find_role(name).permissions}
        print("|", name, *(f"{a}:{r}" in {f"{x}:{y}" for x, y in perms} for a, r in (
            ("can_read", "DAGs"), ("can_create", "DAG Runs"), ("can_delete", "DAG Runs"),
            ("can_edit", "Connections"), ("can_read", "Task Logs"))))
    print("|", "admin", [r.name for r in ab.sm.find_user(username="admin").roles])
"""


def test_the_init_step_makes_the_roles_in_a_fab_database(tmp_path: Path) -> None:
    """`airflow db migrate` then scripts/roles.py, as compose's init step runs them, twice
    (idempotent): who may read, run, delete runs, manage connections, read logs."""
    env = {**airflow_env(tmp_path, tmp_path, tmp_path), "AIRFLOW__CORE__AUTH_MANAGER": FAB}

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(list(args), env={**env, **extra}, cwd=tmp_path,
                              capture_output=True, text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    run(str(Path(sys.executable).parent / "airflow"), "db", "migrate")
    script = (sys.executable, str(ROOT / "scripts" / "roles.py"), str(ROLES))
    first = run(*script, AIRFLOW_ADMIN_PASSWORD="pw")
    assert first.stdout.splitlines()[-1] == "user admin (Admin) created"
    assert "created" not in run(*script, AIRFLOW_ADMIN_PASSWORD="pw").stdout
    perms = run(sys.executable, "-c", PERMS)
    # (the lines printed, not the log's warnings)
    assert [ln[2:] for ln in perms.stdout.splitlines() if ln.startswith("| ")] == [
        # read DAGs, trigger, delete runs, manage connections, read task logs
        "DataManager True True True True True",
        "Programmer True True False False True",
        "StudyViewer True False False False True",
        "admin ['Admin']",
    ]

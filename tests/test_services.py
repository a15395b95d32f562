"""The production topology: docker-compose.yaml as compose sees it, then run for real.

The compose tests render the file with `docker compose config` (Compose v2 CLI) and check
what the deployment promises: the project image on the official Airflow image, Celery with
PostgreSQL and Redis, workers that scale, health checks, shared volumes, secrets only from
.env and nothing published beyond 127.0.0.1.

The services test needs no Docker: it runs the compose file's Airflow components (API
server, scheduler, DAG processor, triggerer, one Celery worker) as processes with the
compose file's own AIRFLOW__ settings, against the local PostgreSQL (a fresh database) and
Redis (a database and queue of its own), triggers the study DAG through the REST API and
waits for its published outputs.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests import services as svc
from tests.conftest import EXPORT_TIME, ROOT

AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
LONG_RUNNING = (AIRFLOW_SERVICES - {"airflow-init"}) | {"postgres", "redis"}
STUDY = "POMMAINT"
SDTM_DAG = "pommaint_sdtm_nightly"
ADAM_DAG = "pommaint_adam"
ALERT_SETTINGS = (
    "CDISC_ALERT_EMAIL_TO",
    "CDISC_ALERT_EMAIL_FROM",
    "CDISC_ALERT_SMTP_CONN_ID",
    "CDISC_ALERT_SLACK_CONN_ID",
)
TIMEOUT = float(os.environ.get("CDISC_SERVICES_TIMEOUT", "600"))


# --------------------------------------------------------------------------- compose file
@pytest.fixture(scope="module")
def compose() -> list[str]:
    cmd, why = svc.compose_command()
    if cmd is None:
        pytest.skip(why)
    return cmd


@pytest.fixture(scope="module")
def env_values() -> dict[str, str]:
    return svc.generated_secrets()


@pytest.fixture(scope="module")
def rendered(
    compose: list[str], env_values: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """`docker compose config --format json` with a freshly generated .env."""
    env_file = tmp_path_factory.mktemp("compose") / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env_values.items()), encoding="utf-8")
    out = svc.compose_config(compose, env_file)
    assert out.returncode == 0, f"docker compose config failed:\n{out.stderr}"
    config: dict[str, Any] = json.loads(out.stdout)
    return config


def test_compose_renders_the_celery_topology(
    rendered: dict[str, Any], env_values: dict[str, str]
) -> None:
    services = rendered["services"]
    assert set(services) == AIRFLOW_SERVICES | {"postgres", "redis"}
    pw = env_values["POSTGRES_PASSWORD"]
    for name in sorted(AIRFLOW_SERVICES):
        s = services[name]
        assert s["build"]["context"] == str(ROOT), name
        assert s["build"]["dockerfile"] == "Dockerfile", name
        env = s["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == (
            f"postgresql+psycopg2://airflow:{pw}@postgres:5432/airflow"
        ), name
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == (
            f"db+postgresql+psycopg2://airflow:{pw}@postgres:5432/airflow"
        ), name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:6379/"), name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
            "http://airflow-apiserver:8080/execution/"
        ), name
        for secret in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"):
            assert env[secret] == env_values[secret], (name, secret)
        assert env["AIRFLOW__API__SECRET_KEY"] == env_values["AIRFLOW__API__SECRET_KEY"], name
        mounts = {(v["type"], v["source"], v["target"]) for v in s["volumes"]}
        assert ("volume", "landing", "/data/landing") in mounts, name
        assert ("volume", "store", "/data/store") in mounts, name
        deps = s["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy", name
        assert deps["redis"]["condition"] == "service_healthy", name
        if name != "airflow-init":
            assert deps["airflow-init"]["condition"] == "service_completed_successfully", name
    # one image for every Airflow component, built once from this checkout
    assert len({services[n]["image"] for n in AIRFLOW_SERVICES}) == 1
    assert services["airflow-init"]["command"][-1] == (
        "airflow db migrate && python /opt/cdisc/scripts/roles.py /opt/cdisc/deploy/roles.yaml"
    )
    assert services["airflow-scheduler"]["command"] == ["scheduler"]
    assert services["airflow-dag-processor"]["command"] == ["dag-processor"]
    assert services["airflow-triggerer"]["command"] == ["triggerer"]
    assert services["airflow-worker"]["command"] == ["celery", "worker"]
    assert services["airflow-apiserver"]["command"] == ["api-server", "--port", "8080"]
    for dependent in ("airflow-worker", "airflow-triggerer"):
        assert services[dependent]["depends_on"]["airflow-apiserver"]["condition"] == (
            "service_healthy"
        )
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == pw
    assert (
        services["airflow-init"]["environment"]["AIRFLOW_ADMIN_PASSWORD"]
        == (env_values["AIRFLOW_ADMIN_PASSWORD"])
    )
    # the password reaches the init step only, not the long-running containers
    assert not any("AIRFLOW_ADMIN_PASSWORD" in services[n]["environment"]
                   for n in AIRFLOW_SERVICES - {"airflow-init"})  # fmt: skip
    assert {"landing", "store", "pgdata"} <= set(rendered["volumes"])


def test_compose_workers_scale_and_only_loopback_is_published(rendered: dict[str, Any]) -> None:
    services = rendered["services"]
    named = sorted(n for n, s in services.items() if "container_name" in s)
    assert named == [], f"container_name prevents --scale: {named}"
    assert not services["airflow-worker"].get("ports"), "a scaled worker cannot own host ports"
    published = {
        name: [(p.get("host_ip"), p.get("published"), p["target"]) for p in s.get("ports", [])]
        for name, s in services.items()
        if s.get("ports")
    }
    assert set(published) == {"airflow-apiserver"}, published
    for name, ports in published.items():
        for host_ip, _, _ in ports:
            assert host_ip == "127.0.0.1", f"{name} publishes beyond loopback: {ports}"
    assert published["airflow-apiserver"][0][2] == 8080


def test_compose_health_checks_every_long_running_service(rendered: dict[str, Any]) -> None:
    services = rendered["services"]
    for name in sorted(LONG_RUNNING):
        check = services[name].get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no health check"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
    for name in sorted(AIRFLOW_SERVICES - {"airflow-init"}):
        assert services[name]["restart"] == "always", name
    assert services["airflow-init"]["restart"] == "no"


def test_compose_secrets_come_only_from_env(compose: list[str], tmp_path: Path) -> None:
    text = svc.COMPOSE_FILE.read_text(encoding="utf-8")
    code = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    required = svc.required_variables(text)
    assert required == set(svc.generated_secrets())
    assert required == svc.env_example_names(), ".env.example and docker-compose.yaml differ"
    for name in required:
        uses = re.findall(rf"\$\{{{name}([^}}]*)\}}", code)
        assert uses and all(u.startswith(":?") for u in uses), f"{name} has a default: {uses}"
    for line in svc.ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            assert line.endswith("="), f".env.example holds a value: {line.split('=')[0]}"
    # without a value for them compose refuses the file, naming each missing secret
    empty = tmp_path / "empty.env"
    empty.write_text("", encoding="utf-8")
    out = svc.compose_config(compose, empty)
    assert out.returncode != 0
    for name in required:
        assert f"required variable {name} is missing a value" in out.stderr, out.stderr


def test_dockerfile_extends_the_official_image_with_the_project() -> None:
    text = svc.DOCKERFILE.read_text(encoding="utf-8")
    airflow = svc.lock_version("apache-airflow")
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert froms == [f"apache/airflow:{airflow}-python3.11"]
    assert airflow.startswith("3.3.")
    for src, dest in (
        ("transforms", "/opt/cdisc/transforms"),
        ("sdtm_specs", "/opt/cdisc/sdtm_specs"),
        ("expectations", "/opt/cdisc/expectations"),
        ("dags", "/opt/airflow/dags"),
    ):
        assert re.search(rf"^COPY .*\b{src} {dest}$", text, re.M), src
    assert "--constraint /opt/cdisc/requirements.lock" in text
    assert "CDISC_SPECS_DIR=/opt/cdisc/sdtm_specs" in text
    assert "CDISC_EXPECTATIONS_DIR=/opt/cdisc/expectations" in text
    # the store and landing the image points at are the compose volumes' mount points
    assert "CDISC_LANDING=/data/landing" in text
    assert "CDISC_STORE=/data/store" in text


def _image_env(name: str) -> str:
    """The value the Dockerfile's ENV gives `name`."""
    found = re.search(rf"\b{name}=(\S+)", svc.DOCKERFILE.read_text(encoding="utf-8"))
    assert found, f"the Dockerfile sets no {name}"
    return found.group(1)


def test_compose_mounts_specs_and_expectations_read_only(rendered: dict[str, Any]) -> None:
    """Every Airflow container reads the checkout's specs and expectations through
    read-only binds on the folders the image's CDISC_SPECS_DIR / CDISC_EXPECTATIONS_DIR
    name: a new study or a spec change needs no image rebuild (issue 21.8)."""
    wanted = {
        (str(ROOT / "sdtm_specs"), _image_env("CDISC_SPECS_DIR")),
        (str(ROOT / "expectations"), _image_env("CDISC_EXPECTATIONS_DIR")),
    }
    for name in sorted(AIRFLOW_SERVICES):
        binds = {
            (v["source"], v["target"])
            for v in rendered["services"][name]["volumes"]
            if v["type"] == "bind" and v.get("read_only")
        }
        assert wanted <= binds, (name, binds)
        # and no service overrides where the engine looks
        env = rendered["services"][name]["environment"]
        assert "CDISC_SPECS_DIR" not in env and "CDISC_EXPECTATIONS_DIR" not in env, name


def test_compose_passes_the_alert_settings_of_env(
    compose: list[str], env_values: dict[str, str], tmp_path: Path
) -> None:
    """Every Airflow container gets the alert channels .env names (issue 21.3); an .env
    without them renders them empty: no alert, and no error."""
    settings = {
        "CDISC_ALERT_EMAIL_TO": "dm@example.org,lead@example.org",
        "CDISC_ALERT_EMAIL_FROM": "pipeline@example.org",
        "CDISC_ALERT_SMTP_CONN_ID": "cdisc_smtp",
        "CDISC_ALERT_SLACK_CONN_ID": "cdisc_slack",
    }
    assert tuple(settings) == ALERT_SETTINGS
    for given in ({}, settings):
        env_file = tmp_path / ".env"
        lines = {**env_values, **given}.items()
        env_file.write_text("".join(f"{k}={v}\n" for k, v in lines), encoding="utf-8")
        out = svc.compose_config(compose, env_file)
        assert out.returncode == 0, out.stderr
        services = json.loads(out.stdout)["services"]
        for name in sorted(AIRFLOW_SERVICES):
            env = services[name]["environment"]
            assert {k: env[k] for k in ALERT_SETTINGS} == {
                k: given.get(k, "") for k in ALERT_SETTINGS
            }


def test_compose_authenticates_people_with_roles(rendered: dict[str, Any]) -> None:
    """The FAB auth manager in every Airflow container (issue 21.6); the init step makes the
    roles of deploy/roles.yaml, mounted read-only; the image holds the script and the
    plugin that serves the published outputs behind the same login."""
    services = rendered["services"]
    fab = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
    for name in sorted(AIRFLOW_SERVICES):
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__AUTH_MANAGER"] == fab, name
        assert not any(k.startswith("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER") for k in env), name
        binds = {(v["source"], v["target"], v.get("read_only")) for v in services[name]["volumes"]}
        assert (str(ROOT / "deploy" / "roles.yaml"), "/opt/cdisc/deploy/roles.yaml", True) in binds
    init = services["airflow-init"]["command"][-1]
    assert "python /opt/cdisc/scripts/roles.py /opt/cdisc/deploy/roles.yaml" in init
    docker = svc.DOCKERFILE.read_text(encoding="utf-8")
    for copied in ("plugins /opt/airflow/plugins", "scripts/roles.py /opt/cdisc/scripts/roles.py"):
        assert re.search(rf"^COPY .*\b{copied}$", docker, re.M), copied
    assert svc.lock_version("apache-airflow-providers-fab")


def test_engine_reads_specs_and_expectations_from_the_env_folders(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What the mounts rely on: the engine lists the studies and reads the expectations of
    the folders the two variables name, not the copies beside the package."""
    from transforms.quality.suites import expectations_dir
    from transforms.studies import list_studies, specs_dir, unknown_study

    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "sdtm_specs" / "POMMAINT", specs / "NEWSTUDY")
    study_yaml = specs / "NEWSTUDY" / "study.yaml"
    study_yaml.write_text(
        study_yaml.read_text(encoding="utf-8").replace("study: POMMAINT", "study: NEWSTUDY"),
        encoding="utf-8",
    )
    monkeypatch.setenv("CDISC_SPECS_DIR", str(specs))
    monkeypatch.setenv("CDISC_EXPECTATIONS_DIR", str(tmp_path / "expectations"))
    assert specs_dir() == specs
    assert [s.id for s in list_studies()] == ["NEWSTUDY"]
    assert unknown_study("POMMAINT") == "no specs for study POMMAINT (known: NEWSTUDY)"
    assert expectations_dir() == tmp_path / "expectations"


# --------------------------------------------------------------------------- real services
@pytest.fixture
def service_problem() -> None:
    for problem in (svc.postgres_problem(), svc.redis_problem()):
        if problem:
            pytest.skip(problem)


@pytest.fixture
def database(service_problem: None) -> Iterator[str]:
    """A fresh PostgreSQL database for the metadata and Celery results, dropped after."""
    name = f"cdisc_services_{secrets.token_hex(4)}"
    svc.create_database(name)
    try:
        yield name
    finally:
        svc.drop_database(name)


def _local_env(
    database: str, home: Path, landing: Path, store: Path, api_port: int, queue: str
) -> dict[str, str]:
    """The compose file's Airflow environment with local hosts and fresh secrets.

    Only the values that name a host or hold a secret change (and parallelism, for the two
    cores here); every name overridden must exist in compose, so the two cannot drift.
    """
    compose_env = svc.compose_airflow_env()
    overrides = {
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__FERNET_KEY": svc.fernet_key(),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": svc.postgres_url(database, "postgresql+psycopg2"),
        "AIRFLOW__CELERY__BROKER_URL": f"redis://{svc.REDIS_HOST}:{svc.REDIS_PORT}/{svc.REDIS_DB}",
        "AIRFLOW__CELERY__RESULT_BACKEND": svc.postgres_url(database, "db+postgresql+psycopg2"),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        # no alert channel, as compose has it with an .env that names none
        **dict.fromkeys(ALERT_SETTINGS, ""),
    }
    unknown = sorted(set(overrides) - set(compose_env))
    assert not unknown, f"not set in docker-compose.yaml {svc.AIRFLOW_ENV_ANCHOR}: {unknown}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CDISC_", "PG"))}
    for key, value in compose_env.items():
        if key not in overrides:
            assert "${" not in value, f"{key} needs a local value in this test: {value}"
            env[key] = value
    env.update(overrides)
    env.update(
        # local only: where things are on this machine, and ports and a queue of its own
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__OPERATORS__DEFAULT_QUEUE=queue,
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(svc.free_port()),
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(svc.free_port()),
        CDISC_LANDING=str(landing),
        CDISC_STORE=str(store),
        PATH=f"{svc.BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def _task_states(api: svc.Api, dag_id: str, run_id: str) -> dict[str, str]:
    resp = api.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=500)
    if not resp.is_success:
        return {"(task instances)": f"{resp.status_code} {resp.text[:200]}"}
    states = {}
    for ti in resp.json()["task_instances"]:
        key = ti["task_id"] + (f"[{ti['map_index']}]" if ti.get("map_index", -1) >= 0 else "")
        states[key] = f"{ti['state']} (try {ti.get('try_number')})"
    return states


def _task_log_tails(home: Path, dag_id: str, run_id: str, states: dict[str, str]) -> str:
    parts = []
    for task, state in sorted(states.items()):
        if state.split()[0] not in ("failed", "up_for_retry", "upstream_failed"):
            continue
        folder = home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task}"
        for log in sorted(folder.glob("**/*.log")):
            parts.append(f"--- task log {log.relative_to(home)}:\n{svc.tail(log, 30)}")
    return "\n".join(parts)


def _wait_for_runs(
    api: svc.Api,
    dag_id: str,
    timeout: float,
    components: list[svc.Component],
    home: Path,
    include: str | None = None,
) -> dict[str, dict[str, str]]:
    """Poll every run of a DAG until all succeeded (and `include` is among them).

    Fails fast, with task states, failing task logs and component logs, when a run or a
    task fails or goes up for retry, or a component exits; else after `timeout` seconds.
    Returns the task states of each run.
    """
    deadline = time.monotonic() + timeout
    while True:
        runs = api.get(f"/dags/{dag_id}/dagRuns", limit=100).json()["dag_runs"]
        run_states = {r["dag_run_id"]: r["state"] for r in runs}
        tasks = {run_id: _task_states(api, dag_id, run_id) for run_id in run_states}
        done = bool(run_states) and (include is None or include in run_states)
        if done and all(state == "success" for state in run_states.values()):
            return tasks
        bad = {
            (run_id, t): s
            for run_id, states in tasks.items()
            for t, s in states.items()
            if s.split()[0] in ("failed", "up_for_retry")
        }
        dead = [c.name for c in components if c.proc.poll() is not None]
        problem = ""
        if "failed" in run_states.values() or bad:
            problem = f"failing: runs {run_states}, tasks {bad}"
        elif dead:
            problem = f"components exited: {dead}"
        elif time.monotonic() > deadline:
            problem = f"not all runs succeeded after {timeout:.0f} s: {run_states}"
        if problem:
            break
        time.sleep(5)
    report = []
    for run_id, states in tasks.items():
        lines = "\n".join(f"  {t}: {s}" for t, s in sorted(states.items())) or "  (none)"
        report.append(f"run {run_id} ({run_states[run_id]}), task states:\n{lines}")
        report.append(_task_log_tails(home, dag_id, run_id, states))
    logs = "\n".join(
        c.describe(60) for c in components if c.name in ("worker", "scheduler") or c.name in dead
    )
    pytest.fail(f"{dag_id}: {problem}\n" + "\n".join(report) + f"\n{logs}", pytrace=False)


def _wait_for_dags(api: svc.Api, components: list[svc.Component]) -> set[str]:
    """Wait until the DAG processor has stored the study's DAG; fail on import errors."""

    def stored() -> set[str] | None:
        errors = api.get("/importErrors").json().get("import_errors", [])
        if errors:
            detail = "\n".join(f"{e['filename']}:\n{e['stack_trace'][-1500:]}" for e in errors)
            raise AssertionError(f"DAG files fail to import:\n{detail}")
        dags = api.get("/dags", dag_id_pattern="pommaint", limit=100).json()["dags"]
        ids = {d["dag_id"] for d in dags}
        return ids if SDTM_DAG in ids else None

    def dead() -> str:
        return "; ".join(c.describe() for c in components if c.proc.poll() is not None)

    ids: set[str] = svc.wait_for(f"{SDTM_DAG} to be parsed", stored, 180, dead)
    # the processor stores each file as it finishes: give the other DAG files a moment
    time.sleep(10)
    return ids | (stored() or set())


def _ok(state: str | None) -> bool:
    return bool(state) and str(state).startswith("success")


@pytest.mark.services
@pytest.mark.airflow
def test_celery_topology_runs_the_nightly_dag(database: str, tmp_path: Path) -> None:
    """Scheduler, DAG processor, API server, triggerer and a Celery worker, as compose has
    them, run the study DAG triggered through the REST API and publish its outputs."""
    from samplegen import generate_export

    started = time.monotonic()
    timings: dict[str, float] = {}
    home, landing, store, logs = (tmp_path / d for d in ("airflow", "landing", "store", "logs"))
    for folder in (home, landing, store, logs):
        folder.mkdir()
    generate_export(STUDY, subjects=15, seed=20261123, out=landing, export_time=EXPORT_TIME)
    token = secrets.token_hex(4)
    queue = f"cdisc_services_{token}"
    api_port = svc.free_port()
    env = _local_env(database, home, landing, store, api_port, queue)

    migrate = subprocess.run(
        [str(svc.BIN / "airflow"), "db", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert migrate.returncode == 0, (
        f"airflow db migrate failed:\n{migrate.stdout[-2000:]}\n{migrate.stderr[-3000:]}"
    )
    # what the compose init step does next: the roles and the admin of AIRFLOW_ADMIN_PASSWORD
    password = secrets.token_urlsafe(18)
    roles = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "roles.py"), str(ROOT / "deploy" / "roles.yaml")],
        env={**env, "AIRFLOW_ADMIN_PASSWORD": password},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert roles.returncode == 0, f"roles failed:\n{roles.stdout[-2000:]}\n{roles.stderr[-3000:]}"
    assert "user admin (Admin) created" in roles.stdout

    airflow = str(svc.BIN / "airflow")
    worker_host = f"cdisc-services-{token}"
    commands = {
        "api-server": [airflow, "api-server", "-H", "127.0.0.1", "-p", str(api_port), "-w", "1"],
        "scheduler": [airflow, "scheduler"],
        "dag-processor": [airflow, "dag-processor"],
        "triggerer": [airflow, "triggerer"],
        "worker": [airflow, "celery", "worker", "--celery-hostname", f"celery@{worker_host}"],
    }
    components: list[svc.Component] = []
    api = svc.Api(f"http://127.0.0.1:{api_port}")
    try:
        for name, args in commands.items():
            components.append(svc.start(name, args, env, logs))

        def dead() -> str:
            return "; ".join(c.describe() for c in components if c.proc.poll() is not None)

        svc.wait_for("the API server", api.healthy, 180, dead)
        api.login("admin", password)
        dag_ids = _wait_for_dags(api, components)
        timings["dags parsed"] = time.monotonic() - started
        run_id = f"services_{token}"
        # Unpausing also queues the latest missed nightly run (catchup=False); an earlier
        # run_after puts the triggered run first, and the other then finds nothing new.
        run_after = (datetime.now(UTC) - timedelta(days=2)).isoformat()
        api.json(
            "POST",
            f"/dags/{SDTM_DAG}/dagRuns",
            {"dag_run_id": run_id, "logical_date": None, "run_after": run_after},
        )
        for dag_id in sorted(dag_ids):
            api.json("PATCH", f"/dags/{dag_id}", {"is_paused": False})
        sdtm = _wait_for_runs(api, SDTM_DAG, TIMEOUT, components, home, include=run_id)
        timings["sdtm"] = time.monotonic() - started
        published = sorted(r for r, states in sdtm.items() if _ok(states.get("publish")))
        assert published, f"no {SDTM_DAG} run published: {sdtm}"
        assert run_id in published, f"the triggered run did not publish: {sdtm}"

        if ADAM_DAG in dag_ids:  # each SDTM publication emits the Asset that schedules it

            def adam_runs() -> bool:
                return bool(api.get(f"/dags/{ADAM_DAG}/dagRuns").json()["dag_runs"])

            svc.wait_for(f"a {ADAM_DAG} run", adam_runs, 120, dead, every=5)
            _wait_for_runs(api, ADAM_DAG, TIMEOUT, components, home)
            timings["adam"] = time.monotonic() - started

        current = store / STUDY / "current"
        assert (current / "sdtm" / "dm.xpt").is_file(), sorted(store.rglob("*"))[:50]
        manifest = json.loads((current / "manifest.json").read_text(encoding="utf-8"))
        assert isinstance(manifest, dict) and manifest
        dm = pd.read_sas(current / "sdtm" / "dm.xpt", format="xport", encoding="ascii")
        assert len(dm) == 18  # 15 enrolled, 3 screen failures

        # the compose health checks, run against the live components
        checks = svc.compose_healthchecks()
        running: dict[str, subprocess.Popen[str]] = {}
        for service in sorted(LONG_RUNNING - {"postgres", "redis"}):
            kind, *test = checks[service]
            script = test[0].replace("$$", "$") if kind == "CMD-SHELL" else shlex.join(test)
            script = script.replace("localhost:8080", f"127.0.0.1:{api_port}")
            running[service] = subprocess.Popen(
                ["bash", "-c", script],
                env={**env, "HOSTNAME": worker_host},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                cwd=tmp_path,
            )
        failed = {}
        for service, proc in running.items():
            out, _ = proc.communicate(timeout=120)
            if proc.returncode != 0:
                failed[service] = out[-1500:]
        assert not failed, f"compose health checks failed on the live components: {failed}"
    finally:
        api.close()
        svc.stop(components)
        svc.delete_redis_keys(f"*{queue}*")
    timings["total"] = time.monotonic() - started
    print("services test seconds:", {k: round(v) for k, v in timings.items()})

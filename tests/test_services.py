"""The production topology: docker-compose.yaml as compose sees it, then run for real.

The compose tests render the file with `docker compose config` (Compose v2 CLI) and check
what the deployment promises: the project image on the official Airflow image, Celery with
PostgreSQL and Redis, workers that scale, health checks, shared volumes, secrets only from
.env and nothing published beyond 127.0.0.1.

The services test needs no Docker: it runs the compose file's Airflow components (API
server, scheduler, DAG processor, triggerer, one Celery worker) as processes with the
compose file's own AIRFLOW__ settings, against the local PostgreSQL (a fresh database) and
Redis (a database and queue of its own), triggers the study DAG through the REST API and
waits for its published outputs. That machinery is :mod:`benchmarks.topology`, shared with
the benchmark's two-study night on two Celery workers.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from benchmarks import topology
from benchmarks.celery_two import PILOT, land_pilot_export
from benchmarks.topology import ALERT_SETTINGS
from tests import services as svc
from tests.conftest import ROOT

AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
LONG_RUNNING = (AIRFLOW_SERVICES - {"airflow-init"}) | {"postgres", "redis"}
# The topology's night is CDISCPILOT01's (12 SDTM and 3 ADaM datasets, 306 subjects):
# the components, the queue and the Asset between the DAGs are what is tested here, and
# its DAGs have half the tasks of POMMAINT's, whose DAGs `airflow dags test` runs
# (tests/test_dag.py). Every task is a process of the Celery worker's; the night's cost
# is mostly Airflow's per task.
STUDY = PILOT
SDTM_DAG = "cdiscpilot01_sdtm_nightly"
ADAM_DAG = "cdiscpilot01_adam"
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
    text = topology.COMPOSE_FILE.read_text(encoding="utf-8")
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
    for problem in (topology.postgres_problem(), topology.redis_problem()):
        if problem:
            pytest.skip(problem)


@pytest.fixture
def database(service_problem: None) -> Iterator[str]:
    """A fresh PostgreSQL database for the metadata and Celery results, dropped after."""
    with topology.fresh_database("cdisc_services") as name:
        yield name


def _ok(state: str | None) -> bool:
    return bool(state) and str(state).startswith("success")


@pytest.mark.services
@pytest.mark.airflow
def test_celery_topology_runs_the_nightly_dag(database: str, tmp_path: Path) -> None:
    """Scheduler, DAG processor, API server, triggerer and a Celery worker, as compose has
    them, run the study DAG triggered through the REST API and publish its outputs."""
    started = time.monotonic()
    timings: dict[str, float] = {}
    landing, store = tmp_path / "landing", tmp_path / "store"
    for folder in (landing, store):
        folder.mkdir()
    land_pilot_export(landing)
    token = secrets.token_hex(4)
    worker_host = f"cdisc-services-{token}"
    with topology.running(database, tmp_path, landing, store, [worker_host]) as live:
        api = live.api
        topology.wait_for_dags(live, (SDTM_DAG, ADAM_DAG))
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
        for dag_id in (SDTM_DAG, ADAM_DAG):
            api.json("PATCH", f"/dags/{dag_id}", {"is_paused": False})
        sdtm = topology.wait_for_runs(live, SDTM_DAG, TIMEOUT, include=run_id)
        timings["sdtm"] = time.monotonic() - started
        published = sorted(r for r, states in sdtm.items() if _ok(states.get("publish")))
        assert published, f"no {SDTM_DAG} run published: {sdtm}"
        assert run_id in published, f"the triggered run did not publish: {sdtm}"

        # each SDTM publication emits the Asset that schedules the ADaM DAG
        topology.wait_for_a_run(live, ADAM_DAG)
        topology.wait_for_runs(live, ADAM_DAG, TIMEOUT)
        timings["adam"] = time.monotonic() - started

        current = store / STUDY / "current"
        assert (current / "sdtm" / "dm.xpt").is_file(), sorted(store.rglob("*"))[:50]
        manifest = json.loads((current / "manifest.json").read_text(encoding="utf-8"))
        assert isinstance(manifest, dict) and manifest
        dm = pd.read_sas(current / "sdtm" / "dm.xpt", format="xport", encoding="ascii")
        assert len(dm) == 306  # the subjects of the raw DM form

        # the compose health checks, run against the live components
        checks = svc.compose_healthchecks()
        running: dict[str, subprocess.Popen[str]] = {}
        for service in sorted(LONG_RUNNING - {"postgres", "redis"}):
            kind, *test = checks[service]
            script = test[0].replace("$$", "$") if kind == "CMD-SHELL" else shlex.join(test)
            script = script.replace("localhost:8080", f"127.0.0.1:{live.api_port}")
            running[service] = subprocess.Popen(
                ["bash", "-c", script],
                env={**live.env, "HOSTNAME": worker_host},
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
    timings["total"] = time.monotonic() - started
    print("services test seconds:", {k: round(v) for k, v in timings.items()})

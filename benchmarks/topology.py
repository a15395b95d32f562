"""The compose topology's Airflow components as local processes: PostgreSQL, Redis, the
components' processes, the REST API, and waiting for DAG runs.

docker-compose.yaml is the source of the settings: `local_env` takes its shared Airflow
environment and changes only what names a host, holds a secret or is local to this machine,
and every name it changes must exist in the compose file. `tests/test_services.py` (one
Celery worker, one study) and the benchmark's two-study Celery night
(:mod:`benchmarks.celery_two`, two workers) run the same machinery. Nothing here starts
anything at import time.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COMPOSE_FILE = ROOT / "docker-compose.yaml"

# The compose anchor that holds the environment every Airflow container shares.
AIRFLOW_ENV_ANCHOR = "x-airflow-env"
ALERT_SETTINGS = (
    "CDISC_ALERT_EMAIL_TO",
    "CDISC_ALERT_EMAIL_FROM",
    "CDISC_ALERT_SMTP_CONN_ID",
    "CDISC_ALERT_SLACK_CONN_ID",
)

# Where the development machine's services are (libpq's own variables override them).
PG_HOST = os.environ.get("PGHOST", "127.0.0.1")
PG_PORT = int(os.environ.get("PGPORT", "5432"))
PG_USER = os.environ.get("PGUSER", "postgres")
REDIS_HOST = os.environ.get("CDISC_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("CDISC_TEST_REDIS_PORT", "6379"))
# A Redis database of its own, so a run never touches what db 0 holds.
REDIS_DB = int(os.environ.get("CDISC_TEST_REDIS_DB", "13"))


def fernet_key() -> str:
    """A new Fernet key (the format `Fernet.generate_key()` writes)."""
    import base64

    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def compose_airflow_env() -> dict[str, str]:
    """The shared Airflow environment of docker-compose.yaml, uninterpolated."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in raw[AIRFLOW_ENV_ANCHOR].items()}


# --------------------------------------------------------------------------- services
def postgres_dsn(dbname: str) -> dict[str, Any]:
    return {"host": PG_HOST, "port": PG_PORT, "user": PG_USER, "dbname": dbname}


def postgres_url(dbname: str, scheme: str) -> str:
    return f"{scheme}://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}"


def postgres_problem() -> str | None:
    """Why the local PostgreSQL cannot be used, or None when it can."""
    import psycopg2

    try:
        conn = psycopg2.connect(connect_timeout=5, **postgres_dsn("postgres"))
    except psycopg2.Error as exc:
        return f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT} as {PG_USER}: {exc}".strip()
    conn.close()
    return None


def redis_problem() -> str | None:
    """Why the local Redis cannot be used, or None when it can."""
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"Redis is not reachable at {REDIS_HOST}:{REDIS_PORT} db {REDIS_DB}: {exc}"
    finally:
        client.close()
    return None


def _admin_sql(statement: str) -> None:
    import psycopg2

    conn = psycopg2.connect(connect_timeout=5, **postgres_dsn("postgres"))
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()


def create_database(name: str) -> None:
    assert re.fullmatch(r"[a-z_][a-z0-9_]*", name), name
    _admin_sql(f"CREATE DATABASE {name}")


def drop_database(name: str) -> None:
    assert re.fullmatch(r"[a-z_][a-z0-9_]*", name), name
    _admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database (metadata and Celery results) named `prefix_<random>`,
    dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    create_database(name)
    try:
        yield name
    finally:
        drop_database(name)


def delete_redis_keys(pattern: str) -> int:
    """Delete the keys of a run's Celery queue from its Redis database."""
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=pattern))
        return int(client.delete(*keys)) if keys else 0
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- processes
def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"({path} does not exist)"
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])


@dataclass
class Component:
    """One Airflow component running as its own process group, logging to a file."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    _fh: IO[bytes] = field(repr=False)

    def describe(self, lines: int = 40) -> str:
        state = "running" if self.proc.poll() is None else f"exited {self.proc.returncode}"
        return f"--- {self.name} ({state}), last lines of {self.log}:\n{tail(self.log, lines)}"


def start(name: str, args: list[str], env: Mapping[str, str], logs: Path) -> Component:
    """Start `args` in a new session (its own process group) with output to logs/name.log."""
    log = logs / f"{name}.log"
    fh = log.open("ab")
    proc = subprocess.Popen(
        args,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=fh,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=logs,
    )
    return Component(name, proc, log, fh)


def stop(components: Iterable[Component], grace: float = 30.0) -> None:
    """SIGTERM each component's process group and every descendant, SIGKILL what stays.

    Descendants are collected before anything is signalled, so a child that moved to a
    session of its own is stopped too.
    """
    import psutil

    components = list(components)
    targets: dict[int, psutil.Process] = {}
    for comp in components:
        try:
            root = psutil.Process(comp.proc.pid)
            for proc in [root, *root.children(recursive=True)]:
                targets[proc.pid] = proc
        except psutil.NoSuchProcess:
            pass
    for comp in components:
        if comp.proc.poll() is None:
            _signal_group(comp.proc.pid, signal.SIGTERM)
    for proc in targets.values():
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _, alive = psutil.wait_procs(list(targets.values()), timeout=grace)
    for comp in components:
        _signal_group(comp.proc.pid, signal.SIGKILL)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(alive, timeout=10)
    for comp in components:
        with contextlib.suppress(subprocess.TimeoutExpired):
            comp.proc.wait(timeout=10)
        comp._fh.close()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def dead_components(components: Iterable[Component]) -> str:
    """The components that exited, with their last log lines ('' while all run)."""
    return "; ".join(c.describe() for c in components if c.proc.poll() is not None)


# --------------------------------------------------------------------------- REST API
class Api:
    """The Airflow 3 public REST API (v2) with a token from the auth manager (/auth/token)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.client = httpx.Client(base_url=self.base, timeout=30)

    def healthy(self) -> bool:
        try:
            return self.client.get("/api/v2/monitor/health").status_code == 200
        except httpx.TransportError:
            return False

    def login(self, username: str, password: str) -> None:
        resp = self.client.post("/auth/token", json={"username": username, "password": password})
        assert resp.status_code in (200, 201), f"login failed: {resp.status_code} {resp.text}"
        self.client.headers["Authorization"] = f"Bearer {resp.json()['access_token']}"

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get(f"/api/v2{path}", params=params)

    def json(self, method: str, path: str, body: Mapping[str, Any]) -> Any:
        resp = self.client.request(method, f"/api/v2{path}", json=dict(body))
        assert resp.is_success, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json()

    def close(self) -> None:
        self.client.close()


def wait_for(what: str, check: Any, timeout: float, alive: Any, every: float = 2.0) -> Any:
    """Call `check` until it returns something truthy; `alive()` names a dead component.

    Fails with `what` on timeout, or at once when a component the wait depends on exited.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        dead = alive()
        if dead:
            raise AssertionError(f"while waiting for {what}: {dead}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


# --------------------------------------------------------------------------- the topology
def local_env(
    database: str,
    home: Path,
    landing: Path,
    store: Path,
    api_port: int,
    queue: str,
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The compose file's Airflow environment with local hosts and fresh secrets.

    Only the values that name a host or hold a secret change (and parallelism, for the two
    cores here, plus the caller's `overrides`); every name overridden must exist in compose,
    so the two cannot drift.
    """
    compose_env = compose_airflow_env()
    changed = {
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__FERNET_KEY": fernet_key(),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres_url(database, "postgresql+psycopg2"),
        "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
        "AIRFLOW__CELERY__RESULT_BACKEND": postgres_url(database, "db+postgresql+psycopg2"),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        # no alert channel, as compose has it with an .env that names none
        **dict.fromkeys(ALERT_SETTINGS, ""),
        **(overrides or {}),
    }
    unknown = sorted(set(changed) - set(compose_env))
    assert not unknown, f"not set in docker-compose.yaml {AIRFLOW_ENV_ANCHOR}: {unknown}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CDISC_", "PG"))}
    for key, value in compose_env.items():
        if key not in changed:
            assert "${" not in value, f"{key} needs a local value here: {value}"
            env[key] = value
    env.update(changed)
    env.update(
        # local only: where things are on this machine, and ports and a queue of its own
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__OPERATORS__DEFAULT_QUEUE=queue,
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
        CDISC_LANDING=str(landing),
        CDISC_STORE=str(store),
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def initialise(env: Mapping[str, str], cwd: Path) -> str:
    """What the compose init step does: `airflow db migrate`, then the roles of
    deploy/roles.yaml and the user admin; returns admin's (new, random) password."""
    migrate = subprocess.run(
        [str(BIN / "airflow"), "db", "migrate"],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
    )
    assert migrate.returncode == 0, (
        f"airflow db migrate failed:\n{migrate.stdout[-2000:]}\n{migrate.stderr[-3000:]}"
    )
    password = secrets.token_urlsafe(18)
    roles = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "roles.py"), str(ROOT / "deploy" / "roles.yaml")],
        env={**env, "AIRFLOW_ADMIN_PASSWORD": password},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )
    assert roles.returncode == 0, f"roles failed:\n{roles.stdout[-2000:]}\n{roles.stderr[-3000:]}"
    assert "user admin (Admin) created" in roles.stdout, roles.stdout
    return password


def component_commands(api_port: int, workers: Iterable[str]) -> dict[str, list[str]]:
    """The compose services' commands, with one Celery worker per name in `workers` (its
    Celery hostname ``celery@<name>``), as components called ``worker-<name>``."""
    airflow = str(BIN / "airflow")
    commands = {
        "api-server": [airflow, "api-server", "-H", "127.0.0.1", "-p", str(api_port), "-w", "1"],
        "scheduler": [airflow, "scheduler"],
        "dag-processor": [airflow, "dag-processor"],
        "triggerer": [airflow, "triggerer"],
    }
    for name in workers:
        commands[f"worker-{name}"] = [airflow, "celery", "worker", "--celery-hostname",
                                      f"celery@{name}"]  # fmt: skip
    return commands


@dataclass
class Topology:
    """The running components, their environment and a logged-in REST API client."""

    env: dict[str, str]
    api: Api
    api_port: int
    queue: str
    home: Path
    components: list[Component]

    def dead(self) -> str:
        return dead_components(self.components)

    def workers(self) -> list[Component]:
        return [c for c in self.components if c.name.startswith("worker-")]


@contextlib.contextmanager
def running(
    database: str,
    root: Path,
    landing: Path,
    store: Path,
    workers: Iterable[str],
    overrides: Mapping[str, str] | None = None,
) -> Iterator[Topology]:
    """The topology on `database`, with AIRFLOW_HOME and the logs under `root`: initialised,
    every component started, the API healthy and logged in as admin. Stops everything and
    deletes the run's Celery queue from Redis afterwards."""
    home, logs = root / "airflow", root / "logs"
    home.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    queue = f"{database}_queue"
    api_port = free_port()
    env = local_env(database, home, landing, store, api_port, queue, overrides)
    password = initialise(env, root)
    api = Api(f"http://127.0.0.1:{api_port}")
    topology = Topology(env, api, api_port, queue, home, [])
    try:
        for name, args in component_commands(api_port, workers).items():
            topology.components.append(start(name, args, env, logs))
        wait_for("the API server", api.healthy, 180, topology.dead)
        api.login("admin", password)
        yield topology
    finally:
        api.close()
        stop(topology.components)
        delete_redis_keys(f"*{queue}*")


def wait_for_dags(topology: Topology, dag_ids: Iterable[str], timeout: float = 180) -> None:
    """Wait until the DAG processor has stored every DAG of `dag_ids`; fail on import
    errors."""
    wanted = set(dag_ids)
    api = topology.api

    def stored() -> bool:
        errors = api.get("/importErrors").json().get("import_errors", [])
        if errors:
            detail = "\n".join(f"{e['filename']}:\n{e['stack_trace'][-1500:]}" for e in errors)
            raise AssertionError(f"DAG files fail to import:\n{detail}")
        dags = api.get("/dags", limit=1000).json()["dags"]
        return wanted <= {d["dag_id"] for d in dags}

    wait_for(f"{sorted(wanted)} to be parsed", stored, timeout, topology.dead)


def task_instances(api: Api, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    resp = api.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=500)
    assert resp.is_success, f"task instances: {resp.status_code} {resp.text[:200]}"
    return list(resp.json()["task_instances"])


def task_key(ti: Mapping[str, Any]) -> str:
    """A task instance's task id, with ``[map_index]`` for a mapped one."""
    return ti["task_id"] + (f"[{ti['map_index']}]" if ti.get("map_index", -1) >= 0 else "")


def task_states(api: Api, dag_id: str, run_id: str) -> dict[str, str]:
    try:
        tis = task_instances(api, dag_id, run_id)
    except AssertionError as exc:
        return {"(task instances)": str(exc)}
    return {task_key(ti): f"{ti['state']} (try {ti.get('try_number')})" for ti in tis}


def _task_log_tails(home: Path, dag_id: str, run_id: str, states: dict[str, str]) -> str:
    parts = []
    for task, state in sorted(states.items()):
        if state.split()[0] not in ("failed", "up_for_retry", "upstream_failed"):
            continue
        folder = home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task}"
        for log in sorted(folder.glob("**/*.log")):
            parts.append(f"--- task log {log.relative_to(home)}:\n{tail(log, 30)}")
    return "\n".join(parts)


def dag_runs(api: Api, dag_id: str) -> list[dict[str, Any]]:
    return list(api.get(f"/dags/{dag_id}/dagRuns", limit=100).json()["dag_runs"])


def wait_for_runs(
    topology: Topology, dag_id: str, timeout: float, include: str | None = None
) -> dict[str, dict[str, str]]:
    """Poll every run of a DAG until all succeeded (and `include` is among them).

    Fails fast (AssertionError), with task states, failing task logs and the workers',
    scheduler's and dead components' logs, when a run or a task fails or goes up for retry,
    or a component exits; else after `timeout` seconds. Returns the task states of each run.
    """
    api, components = topology.api, topology.components
    deadline = time.monotonic() + timeout
    while True:
        run_states = {r["dag_run_id"]: r["state"] for r in dag_runs(api, dag_id)}
        tasks = {run_id: task_states(api, dag_id, run_id) for run_id in run_states}
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
        report.append(_task_log_tails(topology.home, dag_id, run_id, states))
    logs = "\n".join(
        c.describe(60)
        for c in components
        if c.name.startswith("worker") or c.name == "scheduler" or c.name in dead
    )
    raise AssertionError(f"{dag_id}: {problem}\n" + "\n".join(report) + f"\n{logs}")


def wait_for_a_run(topology: Topology, dag_id: str, timeout: float = 120) -> None:
    """Wait until `dag_id` has a run (an Asset-scheduled DAG's, once its producer ran)."""
    wait_for(f"a {dag_id} run", lambda: bool(dag_runs(topology.api, dag_id)), timeout,
             topology.dead, every=5)  # fmt: skip

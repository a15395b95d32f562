"""Make or update the production roles of deploy/roles.yaml in the FAB auth manager's
database, and the first administrator (issue 21.6). Run by compose's airflow-init step
after `airflow db migrate`:

    python scripts/roles.py deploy/roles.yaml

With AIRFLOW_ADMIN_PASSWORD set, the user ``admin`` (role Admin) is made when missing: the
account that creates the people's accounts, not one for daily work. Idempotent.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

BASES = ("Viewer", "User", "Op")


def load_roles(path: Path) -> dict[str, dict[str, Any]]:
    """The roles of the file, checked: a name, a built-in role it is like, what it may do
    and the [action, resource] pairs it goes without. Errors name the file and role."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    roles = data.get("roles") if isinstance(data, Mapping) else None
    if not isinstance(roles, Mapping) or not roles:
        raise ValueError(f"{path}: roles: expected a mapping of role names")
    checked: dict[str, dict[str, Any]] = {}
    for name, role in roles.items():
        where = f"{path}: roles.{name}"
        if not isinstance(role, Mapping) or set(role) - {"like", "may", "without"}:
            raise ValueError(f"{where}: expected like, may and optionally without")
        if name in (*BASES, "Admin", "Public"):
            raise ValueError(f"{where}: a built-in FAB role's name")
        if role.get("like") not in BASES:
            raise ValueError(f"{where}.like: {role.get('like')!r} is not one of {BASES}")
        if not isinstance(role.get("may"), str) or not role["may"].strip():
            raise ValueError(f"{where}.may: say what the role may do")
        without = role.get("without") or []
        if not all(isinstance(p, list) and len(p) == 2 for p in without):
            raise ValueError(f"{where}.without: expected [action, resource] pairs")
        checked[str(name)] = {"like": role["like"], "may": role["may"].strip(),
                              "without": {tuple(p) for p in without}}  # fmt: skip
    return checked


def sync(roles: Mapping[str, Mapping[str, Any]], admin_password: str | None) -> list[str]:
    """Give each role its base role's permissions less those it goes without; make the
    admin when missing. Returns what it did, a line each."""
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    done = []
    with get_application_builder() as appbuilder:
        sm = appbuilder.sm
        for name, role in roles.items():
            base = sm.find_role(role["like"])
            if base is None:
                raise ValueError(f"FAB has no built-in role {role['like']}: run airflow db migrate")
            perms = [(p.action.name, p.resource.name) for p in base.permissions]
            kept = [p for p in perms if p not in role["without"]]
            sm.bulk_sync_roles([{"role": name, "perms": kept}])
            done.append(f"role {name}: {len(kept)} permission(s) of {role['like']}")
        if admin_password and sm.find_user(username="admin") is None:
            made = sm.add_user("admin", "Pipeline", "Administrator", "admin@localhost",
                               sm.find_role("Admin"), admin_password)  # fmt: skip
            if not made:
                raise RuntimeError("the admin user could not be created")
            done.append("user admin (Admin) created")
    return done


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python scripts/roles.py ROLES.yaml", file=sys.stderr)
        return 2
    try:
        roles = load_roles(Path(argv[0]))
        for line in sync(roles, os.environ.get("AIRFLOW_ADMIN_PASSWORD") or None):
            print(line)
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"roles: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

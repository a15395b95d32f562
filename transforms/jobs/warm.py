"""Importing this module imports the whole engine (with Great Expectations, silenced as the
gates set it up): for a long-lived process that forks the night's steps, so that every
step starts with pandas, pyarrow, GX, matplotlib and the engine loaded instead of spending
seconds of its own importing them.

Its users: each Celery worker, which imports it before its pool forks (docker-compose's
``AIRFLOW__CELERY__EXTRA_CELERY_CONFIG`` ``imports``; a night is about seventy steps, each
a fork of the worker), and the kill tests' fork server. The modules are found by walking
the package, so a new module is warmed with no list to keep.
"""

from __future__ import annotations

import gc
import importlib
import pkgutil
from typing import get_args

import transforms

# Not warmed: the Airflow-facing modules (the API server's report pages, the DAG's alert
# callbacks), which import Airflow, and Airflow sets up its own logging on import: a
# process that is not Airflow's (the kill tests' fork server, `cdisc run`) must not get it
# from here, or its progress lines go where Airflow sends them; and this module.
NOT_STEPS = frozenset({"transforms.serve", "transforms.notifier", __name__})


def engine_modules() -> list[str]:
    """Every module of the engine package a step may import, by name."""
    found = pkgutil.walk_packages(transforms.__path__, f"{transforms.__name__}.")
    return sorted(m.name for m in found if m.name not in NOT_STEPS)


def warm() -> None:
    """Import every engine module, then Great Expectations the way the gates import it;
    read the CDISC standards every step's spec loading reads (the terminology packages and
    the implementation guides' tables: files named by their version, so they cannot change
    under a running worker; a study's own specs are read by each step, as they may); then
    move all of it out of the garbage collector's reach (:func:`gc.freeze`), so a step's
    collections do not walk it, nor touch the pages a fork shares with its parent."""
    for name in engine_modules():
        importlib.import_module(name)
    from transforms import standards
    from transforms.quality.engine import import_gx

    import_gx()
    for package in get_args(standards.Package):
        standards.controlled_terms(package)
    for standard in get_args(standards.Standard):
        standards.ig_variables(standard)
    standards.ig_role("DS", "VISITNUM")  # the IG's variables, datasets and generic roles
    gc.collect()
    gc.freeze()


warm()

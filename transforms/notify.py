"""The on-failure hook: where a failed night is announced (email, chat...).

Set ``CDISC_ON_FAILURE`` to ``package.module:function``; the function receives a dict with
``study``, ``dag_id``, ``task_id``, ``run_id`` and ``error``. Unset, nothing is sent.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger("cdisc.notify")

Hook = Callable[[Mapping[str, Any]], None]


def failure_hook() -> Hook | None:
    """The configured hook, or None; a bad setting is an error naming the setting."""
    target = os.environ.get("CDISC_ON_FAILURE", "").strip()
    if not target:
        return None
    module, _, name = target.partition(":")
    if not module or not name:
        raise ValueError(f"CDISC_ON_FAILURE={target!r}: expected 'package.module:function'")
    hook = getattr(importlib.import_module(module), name, None)
    if not callable(hook):
        raise ValueError(f"CDISC_ON_FAILURE={target!r}: {name} is not a function of {module}")
    return hook


def notify_failure(event: Mapping[str, Any]) -> bool:
    """Send `event` to the hook if one is set; True when sent. Never raises: a broken hook
    must not hide the failure it reports (its own error is logged)."""
    try:
        hook = failure_hook()
        if hook is None:
            return False
        hook(event)
        return True
    except Exception:
        log.exception("on-failure hook failed for %s", dict(event))
        return False

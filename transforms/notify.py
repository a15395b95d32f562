"""The on-failure hook: where a failed night is announced (email, chat...).

Set ``CDISC_ON_FAILURE`` to ``package.module:function``; the function receives a dict with
``study``, ``dag_id``, ``task_id``, ``run_id`` and ``error``. Unset, nothing is sent.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import traceback
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger("cdisc.notify")

Hook = Callable[[Mapping[str, Any]], None]

_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@'\"]*@")


def redact(text: str) -> str:
    """Text with the user and password of every URL (``scheme://user:pw@host``) masked:
    what this module logs may quote a setting or an error holding a connection URL."""
    return _CREDENTIALS.sub(r"\g<scheme>***@", text)


def failure_hook() -> Hook | None:
    """The configured hook, or None; a bad setting is an error naming the setting."""
    target = os.environ.get("CDISC_ON_FAILURE", "").strip()
    if not target:
        return None
    module, _, name = target.partition(":")
    shown = redact(repr(target))
    if not module or not name or "/" in target:
        raise ValueError(f"CDISC_ON_FAILURE={shown}: expected 'package.module:function'")
    hook = getattr(importlib.import_module(module), name, None)
    if not callable(hook):
        raise ValueError(f"CDISC_ON_FAILURE={shown}: {name} is not a function of {module}")
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
    # Any error of the hook, logged with its traceback but URL credentials masked (not
    # log.exception: that would print the traceback unmasked); never raised.
    except Exception as exc:  # noqa: BLE001
        trace = "".join(traceback.format_exception(exc)).rstrip()
        log.error("on-failure hook failed for %s\n%s", redact(str(dict(event))), redact(trace))
        return False

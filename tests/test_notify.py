"""The on-failure hook: off by default, called when configured, never masking a failure."""

from __future__ import annotations

import sys
import types
from collections.abc import Mapping
from typing import Any

import pytest

from transforms.notify import failure_hook, notify_failure

EVENT = {"study": "POMMAINT", "dag_id": "d", "task_id": "t", "run_id": "r", "error": "boom"}


def test_no_hook_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CDISC_ON_FAILURE", raising=False)
    assert failure_hook() is None
    assert notify_failure(EVENT) is False


def test_configured_hook_receives_the_event(monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[Mapping[str, Any]] = []
    module = types.ModuleType("fake_chat")
    module.send = received.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_chat", module)
    monkeypatch.setenv("CDISC_ON_FAILURE", "fake_chat:send")
    assert notify_failure(EVENT) is True
    assert received == [EVENT]


def test_broken_hook_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    module = types.ModuleType("fake_broken")

    def send(event: Mapping[str, Any]) -> None:
        raise ConnectionError("chat server down")

    module.send = send  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_broken", module)
    monkeypatch.setenv("CDISC_ON_FAILURE", "fake_broken:send")
    assert notify_failure(EVENT) is False
    assert "on-failure hook failed" in caplog.text and "chat server down" in caplog.text


@pytest.mark.parametrize("setting", ["nocolon", "os:nope"])
def test_bad_setting_is_named(setting: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDISC_ON_FAILURE", setting)
    with pytest.raises(ValueError, match="CDISC_ON_FAILURE"):
        failure_hook()

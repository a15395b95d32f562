"""docs/robustness.md is what tests/robustness/table.py generates, and it lists every test."""

from __future__ import annotations

from tests.robustness import test_corpus, test_fuzz, test_hostile
from tests.robustness.table import FUZZ, HOSTILE, IN_CORPUS, TARGET, render


def _tests(module: object) -> set[str]:
    return {name for name in vars(module) if name.startswith("test_")}


def test_the_committed_table_is_current() -> None:
    assert TARGET.read_text(encoding="utf-8") == render(), (
        "docs/robustness.md is stale: run .venv/bin/python -m tests.robustness.table"
    )


def test_the_table_lists_every_hostile_and_fuzz_test() -> None:
    assert _tests(test_hostile) == set(HOSTILE) - IN_CORPUS
    assert _tests(test_corpus) >= IN_CORPUS
    assert _tests(test_fuzz) == set(FUZZ)

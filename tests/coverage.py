"""What the vocabularies' meta-tests share: the README sections and the test names found."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path
from types import ModuleType

README = Path(__file__).resolve().parents[1] / "sdtm_specs" / "README.md"


def sections(heading: re.Pattern[str]) -> set[str]:
    """The names the specs README gives a section of their own (`heading`'s group 1)."""
    return set(heading.findall(README.read_text(encoding="utf-8")))


def test_names(package: ModuleType) -> set[str]:
    """The names of every test function of the package's modules."""
    names: set[str] = set()
    for module in pkgutil.iter_modules(package.__path__):
        loaded = importlib.import_module(f"{package.__name__}.{module.name}")
        names |= {n for n in vars(loaded) if n.startswith("test_") and callable(vars(loaded)[n])}
    return names


test_names.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test

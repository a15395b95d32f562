"""Every registered algorithm is documented in sdtm_specs/README.md and has unit tests of
its own here: a test named ``test_<algorithm>_...`` in one of this package's modules."""

from __future__ import annotations

import re

import tests.sdtm_algorithms as package
from tests.coverage import sections, test_names
from transforms.sdtm.algorithms import registered

SECTION = re.compile(r"^#### `([a-z0-9_]+)`$", re.MULTILINE)


def documented() -> set[str]:
    """The algorithms with a section of their own in the specs README."""
    return sections(SECTION)


def names_of_tests() -> set[str]:
    """The names of every test function of this package."""
    return test_names(package)


def test_every_algorithm_has_a_readme_section() -> None:
    names = set(registered())
    assert sorted(names - documented()) == []
    assert sorted(documented() - names) == []  # nor a section of one that is gone


def test_every_algorithm_has_a_unit_test_of_its_own() -> None:
    tests = names_of_tests()
    untested = [n for n in registered() if not any(t.startswith(f"test_{n}_") for t in tests)]
    assert untested == []


def test_the_meta_tests_see_what_is_missing() -> None:
    """The two checks above could pass by finding nothing: they find the known cases."""
    assert {"iso8601", "column", "dm", "term_code"} <= documented()
    assert "test_iso8601_lists_impossible_dates_with_their_row" in names_of_tests()
    assert not any(t.startswith("test_nope_") for t in names_of_tests())

"""Every registered ADaM verb (the library's included) is documented in sdtm_specs/README.md
(a section ``#### verb `<name>` ``) and has a unit test of its own here: a test named
``test_<name>_...`` (dots as underscores) in one of this package's modules."""

from __future__ import annotations

import re

import tests.adam_verbs as package
from tests.coverage import sections, test_names
from transforms.adam.vocabulary import registered

SECTION = re.compile(r"^#### verb `([a-z0-9_.]+)`$", re.MULTILINE)


def documented() -> set[str]:
    """The verbs with a section of their own in the specs README."""
    return sections(SECTION)


def names_of_tests() -> set[str]:
    return test_names(package)


def test_every_verb_has_a_readme_section() -> None:
    names = set(registered())
    assert sorted(names - documented()) == []
    assert sorted(documented() - names) == []  # nor a section of one that is gone


def test_every_verb_has_a_unit_test_of_its_own() -> None:
    tests = names_of_tests()
    untested = [
        n
        for n in registered()
        if not any(t.startswith(f"test_{n.replace('.', '_')}_") for t in tests)
    ]
    assert untested == []


def test_the_meta_tests_see_what_is_missing() -> None:
    """The checks above could pass by finding nothing: they find the known cases."""
    assert {"merge_vars", "tte", "imwg.best_response"} <= documented()
    assert {"merge_vars", "tte", "imwg.best_response"} <= set(registered())
    assert "test_merge_vars_refuses_a_key_that_is_not_unique" in names_of_tests()
    assert not any(t.startswith("test_nope_") for t in names_of_tests())

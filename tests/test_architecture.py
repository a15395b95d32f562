"""The engine's shape, read from its code: no import circle, no module taking another's
underscore names, the base errors at the bottom, and docs/architecture.md drawn from it."""

from __future__ import annotations

import sys

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import architecture


def test_no_import_circle_between_engine_modules() -> None:
    graph = architecture.import_graph()
    assert len(graph) > 50  # the engine's modules were found
    assert architecture.cycles(graph) == []


def test_the_circle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert architecture.cycles(graph) == [["a", "b", "c"]]


def test_no_module_takes_another_modules_underscore_names() -> None:
    assert architecture.private_imports() == []


def test_the_errors_module_imports_nothing_of_the_engine() -> None:
    assert architecture.import_graph()["transforms.errors"] == set()


def test_lazy_imports_count_and_type_checking_ones_do_not() -> None:
    graph = architecture.import_graph()
    # jobs.sdtm imports the quality gates inside a function, XptError only for typing.
    assert "transforms.quality.gates" in graph["transforms.jobs.sdtm"]
    assert "transforms.xpt" in graph["transforms.jobs.sdtm"]  # write_xpt's lazy import


def test_architecture_page_pictures_are_made_from_the_code() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert architecture.render(page) == page, "run: python scripts/architecture.py"
    assert '["lb.map"]' in page and "sdtm_lb_map --> sdtm_lb_xpt" in page

"""CDISCPILOT01's ADaM built by specs alone, and compared with the ADaM CDISC published for
the pilot.

``cdisc run`` maps the fixture raw export (pharmaverseraw) to SDTM and derives ADSL, ADAE
and ADTTE from it by ``sdtm_specs/CDISCPILOT01/adam/*.yaml``; each is compared variable by
variable with the published dataset (``tests/fixtures/cdiscpilot01_adam/``, copied by
``scripts/copy_reference_fixtures.py``), records paired by the keys below with the pairing
of ``tests/test_cdiscpilot.py``.

``tests/fixtures/cdiscpilot01_adam/agreement.yaml`` is the contract (per dataset the row
counts, per variable below 100 % the records that agree and why the others do not): the
test fails when agreement moves away from it, down or up. ``docs/cdiscpilot01_adam_comparison.md``
shows the same figures as a table; after a deliberate change rewrite both with::

    python -m tests.test_cdiscpilot_adam --update
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import FIXTURES, ROOT, built_once
from tests.test_cdiscpilot import (
    check_reasons_and_report,
    compare_as,
    contract_problems,
    rewrite_contract,
    run_pilot,
    stated_in,
)
from tests.test_cdiscpilot import (
    measure as measure_xpts,
)

PUBLISHED = FIXTURES / "cdiscpilot01_adam"
AGREEMENT = PUBLISHED / "agreement.yaml"
REPORT = ROOT / "docs" / "cdiscpilot01_adam_comparison.md"
UPDATE = "python -m tests.test_cdiscpilot_adam --update"

# Keys that pair our records with the published ones.
KEYS = {
    "ADSL": ["STUDYID", "USUBJID"],
    "ADAE": ["STUDYID", "USUBJID", "AEDECOD", "ASTDT"],
    "ADTTE": ["STUDYID", "USUBJID", "PARAMCD"],
}


@pytest.fixture(scope="module")
def pilot_adam(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pilot's published run (SDTM and ADaM), shared with tests/test_cdiscpilot.py."""
    return built_once(tmp_path_factory, "cdiscpilot01", run_pilot)


def measure(run: Path, compare_as: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """Row counts and per-variable agreement of a run's ADaM XPTs with the published."""
    return measure_xpts(run, compare_as, "adam", PUBLISHED, KEYS)


def _stated() -> dict[str, Any]:
    return stated_in(AGREEMENT)


def test_cdisc_run_derives_the_adam_of_the_study(pilot_adam: Path) -> None:
    written = sorted(p.name for p in (pilot_adam / "adam").glob("*.xpt"))
    assert written == ["adae.xpt", "adsl.xpt", "adtte.xpt"]
    assert (pilot_adam / "adam" / "define.xml").is_file()
    # Its study.yaml declares endpoints: tests/test_cdiscpilot_endpoints.py checks them.
    assert sorted(p.name for p in (pilot_adam / "reports").glob("endpoints.*")) == [
        "endpoints.html", "endpoints.json",
    ]  # fmt: skip
    adsl = pd.read_parquet(pilot_adam / "adam" / "adsl.parquet")
    assert len(adsl) == 254 and adsl["USUBJID"].is_unique  # randomised subjects only
    adtte = pd.read_parquet(pilot_adam / "adam" / "adtte.parquet")
    assert set(adtte["PARAMCD"]) == {"TTDE"} and len(adtte) == 254
    # An event is the subject's first treatment-emergent dermatologic AE (ADAE.AOCC01FL).
    adae = pd.read_parquet(pilot_adam / "adam" / "adae.parquet")
    first = adae[adae["AOCC01FL"] == "Y"].set_index("USUBJID")
    events = adtte[adtte["CNSR"] == 0].set_index("USUBJID")
    assert set(events.index) == set(first.index)
    assert (events["ADT"] == first.loc[events.index, "ASTDT"]).all()
    assert (events["SRCSEQ"] == first.loc[events.index, "AESEQ"]).all()
    censored = adtte[adtte["CNSR"] == 1].merge(adsl[["USUBJID", "RFENDT"]], on="USUBJID")
    assert (censored["ADT"] == censored["RFENDT"]).all()


def test_agreement_with_the_published_adam_is_as_the_report_states(pilot_adam: Path) -> None:
    stated = _stated()
    measured = measure(pilot_adam, compare_as(stated))
    assert not (problems := contract_problems(measured, stated, UPDATE)), "\n".join(problems)


def test_every_difference_has_a_reason_and_the_report_shows_the_stated_figures() -> None:
    check_reasons_and_report(_stated(), REPORT, UPDATE)


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python -m tests.test_cdiscpilot_adam --update")
    with tempfile.TemporaryDirectory() as tmp:
        rewrite_contract(measure(run_pilot(Path(tmp)), compare_as(_stated())), AGREEMENT, REPORT)
    print(f"updated {AGREEMENT.relative_to(ROOT)} and {REPORT.relative_to(ROOT)}")

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

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from tests.conftest import FIXTURES, ROOT
from tests.test_cdiscpilot import EXPORT_ID, RAW, TABLE_END, TABLE_START, agreement, read_xpt
from tests.test_cdiscpilot import render_table as _render_table

PUBLISHED = FIXTURES / "cdiscpilot01_adam"
AGREEMENT = PUBLISHED / "agreement.yaml"
REPORT = ROOT / "docs" / "cdiscpilot01_adam_comparison.md"

# Keys that pair our records with the published ones.
KEYS = {
    "ADSL": ["STUDYID", "USUBJID"],
    "ADAE": ["STUDYID", "USUBJID", "AEDECOD", "ASTDT"],
    "ADTTE": ["STUDYID", "USUBJID", "PARAMCD"],
}


def run_pilot(root: Path) -> Path:
    """`cdisc run` (SDTM, then ADaM) on a landing folder holding the raw CSVs; the
    `current` folder of the study."""
    from transforms.cli import main

    export = root / "landing" / "CDISCPILOT01" / EXPORT_ID
    export.mkdir(parents=True)
    for path in sorted(RAW.glob("*.csv")):
        shutil.copyfile(path, export / path.name)
        os.utime(export / path.name, (time.time() - 3600,) * 2)  # a finished copy
    store = root / "store"
    args = ["-q", "run", "--study", "CDISCPILOT01", "--landing", str(export.parents[1])]
    assert main([*args, "--store", str(store)]) == 0
    return store / "CDISCPILOT01" / "current"


@pytest.fixture(scope="module")
def pilot_adam(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_pilot(tmp_path_factory.mktemp("cdiscpilot01_adam"))


def measure(run: Path, compare_as: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """Row counts and per-variable agreement of a run's ADaM XPTs with the published."""
    result: dict[str, Any] = {}
    for name, keys in KEYS.items():
        ours = read_xpt(run / "adam" / f"{name.lower()}.xpt")
        theirs = read_xpt(PUBLISHED / f"{name.lower()}.xpt")
        same = agreement(name, ours, theirs, compare_as.get(name, {}), keys)
        renamed = set(compare_as.get(name, {}).values())
        result[name] = {
            "rows": {"ours": len(ours), "published": len(theirs)},
            "same": same,
            "only_ours": [c for c in ours.columns if c not in theirs and c not in renamed],
        }
    return result


def render_table(stated: Mapping[str, Any]) -> str:
    return _render_table(stated)


def _stated() -> dict[str, Any]:
    return dict(yaml.safe_load(AGREEMENT.read_text(encoding="utf-8")))


def _compare_as(stated: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    return {
        name: {var: item["ours"] for var, item in entry.get("below", {}).items() if "ours" in item}
        for name, entry in stated["datasets"].items()
    }


def test_cdisc_run_derives_the_adam_of_the_study(pilot_adam: Path) -> None:
    written = sorted(p.name for p in (pilot_adam / "adam").glob("*.xpt"))
    assert written == ["adae.xpt", "adsl.xpt", "adtte.xpt"]
    assert (pilot_adam / "adam" / "define.xml").is_file()
    # No `endpoints:` in its study.yaml: the run writes no endpoint summary.
    assert not list((pilot_adam / "reports").glob("endpoints.*"))
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
    measured = measure(pilot_adam, _compare_as(stated))
    assert list(measured) == list(stated["datasets"])
    problems = []
    for name, got in measured.items():
        entry = stated["datasets"][name]
        if got["rows"] != entry["rows"]:
            problems.append(f"{name}: rows {got['rows']}, the report says {entry['rows']}")
        if len(got["same"]) != entry["variables"]:
            problems.append(f"{name}: {len(got['same'])} published variables, report "
                            f"{entry['variables']}")  # fmt: skip
        if got["only_ours"] != entry.get("only_ours", []):
            problems.append(f"{name}: variables only we write {got['only_ours']}")
        rows = entry["rows"]["published"]
        for var, same in got["same"].items():
            want = entry.get("below", {}).get(var, {}).get("same", rows)
            if same != want:
                problems.append(f"{name}.{var}: {same} of {rows} agree, the report says "
                                f"{want} (python -m tests.test_cdiscpilot_adam --update)")  # fmt: skip
    assert not problems, "\n".join(problems)


def test_every_difference_has_a_reason_and_the_report_shows_the_stated_figures() -> None:
    stated = _stated()
    for entry in stated["datasets"].values():
        for var, item in entry.get("below", {}).items():
            why = str(item.get("why", "")).strip()
            assert why and not why.startswith("TODO"), var
            assert item["same"] < entry["rows"]["published"], var
    text = REPORT.read_text(encoding="utf-8")
    table = text.split(TABLE_START)[1].split(TABLE_END)[0].strip()
    assert table == render_table(stated), "run: python -m tests.test_cdiscpilot_adam --update"


def _update(run: Path) -> None:
    """Rewrite agreement.yaml's figures from a run (reasons kept) and the report's table."""
    stated = _stated()
    measured = measure(run, _compare_as(stated))
    datasets = {}
    for name, got in measured.items():
        old = stated["datasets"].get(name, {}).get("below", {})
        rows = got["rows"]["published"]
        below = {var: {"same": same, **{k: v for k, v in old.get(var, {}).items() if k != "same"}}
                 for var, same in got["same"].items() if same < rows}  # fmt: skip
        for item in below.values():
            item.setdefault("why", "TODO: say why")
        datasets[name] = {"rows": got["rows"], "variables": len(got["same"]),
                          "only_ours": got["only_ours"], "below": below}  # fmt: skip
    header = AGREEMENT.read_text(encoding="utf-8").split("\ndatasets:")[0]
    body = yaml.safe_dump({"datasets": datasets}, sort_keys=False, width=92)
    AGREEMENT.write_text(header + "\n" + body, encoding="utf-8")
    text = REPORT.read_text(encoding="utf-8")
    before, rest = text.split(TABLE_START)
    after = rest.split(TABLE_END)[1]
    table = render_table(_stated())
    REPORT.write_text(f"{before}{TABLE_START}\n{table}\n{TABLE_END}{after}", encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python -m tests.test_cdiscpilot_adam --update")
    with tempfile.TemporaryDirectory() as tmp:
        _update(run_pilot(Path(tmp)))
    print(f"updated {AGREEMENT.relative_to(ROOT)} and {REPORT.relative_to(ROOT)}")

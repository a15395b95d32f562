"""tte."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.adam_verbs.frames import dates, described, run, values
from transforms.errors import SpecError

STEPS = """
- verb: tte
  sources:
    death: {dataset: ADSL, date: DTHDT, evntdesc: Death}
    alive: {dataset: ADSL, date: LSTALVDT, cnsr: 1, evntdesc: Alive, cnsdtdsc: Last Alive}
  parameters:
    - {paramcd: OS, param: Overall Survival, start: {date: TRTSDT}, events: [death],
       censors: [alive]}
"""
ADSL = pd.DataFrame(
    {
        "STUDYID": "S",
        "USUBJID": ["1", "2", "3"],
        "TRTSDT": dates("2025-01-01", "2025-01-01", None),
        "DTHDT": dates("2025-01-10", None, None),
        "LSTALVDT": dates("2025-01-10", "2025-02-01", "2025-01-01"),
    }
)


def test_tte_takes_the_event_else_censors_at_the_latest_date_and_lists_the_rest() -> None:
    import yaml

    from transforms.adam.vocabulary import Inputs, Where, build, parse_steps

    inputs = Inputs(sdtm={}, adam={"ADSL": ADSL})
    out = build(parse_steps(yaml.safe_load(STEPS), Where("t.yaml", "ADTTE")), inputs)
    # 1 died on day 10 (event); 2 alive on 1 Feb, censored day 32; 3 has no TRTSDT: listed
    assert values(out, "USUBJID") == ["1", "2"]
    assert values(out, "CNSR") == [0, 1]
    assert values(out, "AVAL") == [10, 32]
    assert values(out, "EVNTDESC") == ["Death", "Alive"]
    assert inputs.reports["unassigned"]["USUBJID"].tolist() == ["3"]
    assert described(STEPS)["ADT"].startswith(
        "OS: the earliest of Death; none: the latest of Last Alive"
    )


def test_tte_spec_errors_name_the_file_and_the_parameter() -> None:
    with pytest.raises(
        SpecError,
        match=r"test.yaml: ADXX: derivations\[0\] tte: parameter OS: events\[0\]: unknown source 'nope'",
    ):
        run(STEPS.replace("events: [death]", "events: [nope]"))

"""CDISCPILOT01's endpoint summary, declared in its study.yaml alone (no code names the
pilot): time to the first dermatologic event (TTDE) by planned arm, treatment-emergent
adverse events by actual arm.

The figures are checked against an independent computation from the ADaM CDISC published
for the pilot (``tests/fixtures/cdiscpilot01_adam/``, copied by
``scripts/copy_reference_fixtures.py``): the Kaplan–Meier product-limit in exact fractions
over the published ADTTE rows per TRTP (medians and the 26-week value by the textbook
definition, the log-log CI by Greenwood's formula written out), and subjects with a
treatment-emergent event counted from the published ADAE per TRTA. The run's own ADTTE and
ADAE give the same figures as the published ones, save where tests/test_cdiscpilot_adam.py
states why they differ.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import pandas as pd
import pytest

from tests.conftest import FIXTURES, built_once
from tests.test_cdiscpilot import read_xpt, run_pilot

PUBLISHED = FIXTURES / "cdiscpilot01_adam"
ARMS = ["Placebo", "Xanomeline Low Dose", "Xanomeline High Dose"]
Z = 1.959963984540054  # qnorm(0.975)


@pytest.fixture(scope="module")
def pilot_adam(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pilot's published run (SDTM and ADaM), shared with tests/test_cdiscpilot.py."""
    return built_once(tmp_path_factory, "cdiscpilot01", run_pilot)


@pytest.fixture(scope="module")
def summary(pilot_adam: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((pilot_adam / "reports" / "endpoints.json").read_text())
    return result


def product_limit(time: Sequence[float], event: Sequence[bool]) -> list[tuple[float, Fraction]]:
    """(t, S(t)) at every distinct time, S as an exact fraction: the textbook Kaplan–Meier."""
    out, at_risk, surv = [], len(time), Fraction(1)
    for t in sorted(set(time)):
        here = [e for tt, e in zip(time, event, strict=True) if tt == t]
        surv *= Fraction(at_risk - sum(here), at_risk)
        out.append((t, surv))
        at_risk -= len(here)
    return out


def median(curve: list[tuple[float, Fraction]]) -> float | None:
    """The first time S < 1/2; where S is exactly 1/2, the midpoint to the next drop."""
    for i, (t, s) in enumerate(curve):
        if s < Fraction(1, 2):
            return t
        if s == Fraction(1, 2):
            later = [u for u, v in curve[i + 1 :] if v < s]
            return (t + later[0]) / 2 if later else t
    return None


def greenwood_log_log(
    time: Sequence[float], event: Sequence[bool], day: float
) -> tuple[float, ...]:
    """S(day) and its log-log 95% CI: var(log S) = sum d / (n (n - d)) over event times <= day,
    limits S ** exp(+-z se / log S) (R survfit, conf.type = "log-log")."""
    surv, var = 1.0, 0.0
    for t in sorted({tt for tt, e in zip(time, event, strict=True) if e and tt <= day}):
        n = sum(1 for tt in time if tt >= t)
        d = sum(1 for tt, e in zip(time, event, strict=True) if e and tt == t)
        surv *= (n - d) / n
        var += d / (n * (n - d))
    shift = Z * math.sqrt(var) / math.log(surv)
    return surv, surv ** math.exp(-shift), surv ** math.exp(shift)


def test_the_summary_is_written_with_the_adam(pilot_adam: Path, summary: dict[str, Any]) -> None:
    assert summary["study"] == "CDISCPILOT01"
    assert list(summary) == [
        "study", "data_cut", "population", "TTDE", "ae_incidence", "km_curves", "conventions",
    ]  # fmt: skip
    page = (pilot_adam / "reports" / "endpoints.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 1  # one plot, a curve per arm
    assert "<h2>Time-to-event endpoints (ITT)</h2>" in page
    assert "Time to first dermatologic event (TTDE)" in page
    assert "<th>Probability event-free at 26 weeks (182 days) [95% CI]</th>" in page
    assert "Response" not in page and "grade 3" not in page.lower()


def test_populations_by_arm_match_the_published_adsl(summary: dict[str, Any]) -> None:
    adsl = read_xpt(PUBLISHED / "adsl.xpt")
    planned = adsl[adsl["ITTFL"] == "Y"]["TRT01P"].value_counts()
    actual = adsl[adsl["SAFFL"] == "Y"]["TRT01A"].value_counts()
    assert summary["population"]["itt_by_arm"] == {arm: int(planned[arm]) for arm in ARMS}
    assert summary["population"]["safety_by_arm"] == {arm: int(actual[arm]) for arm in ARMS}
    assert list(summary["population"]["itt_by_arm"].values()) == [86, 84, 84]
    assert (summary["population"]["itt"], summary["population"]["safety"]) == (254, 254)


def test_ttde_by_arm_matches_the_product_limit_of_the_published_adtte(
    summary: dict[str, Any],
) -> None:
    adtte = read_xpt(PUBLISHED / "adtte.xpt")
    adtte = adtte[adtte["PARAMCD"] == "TTDE"]
    for arm in ARMS:
        rows = adtte[adtte["TRTP"] == arm]
        time = [float(t) for t in rows["AVAL"]]
        event = [int(c) == 0 for c in rows["CNSR"]]
        curve = product_limit(time, event)
        got = summary["TTDE"]["by_arm"][arm]
        assert (got["n"], got["events"], got["censored"]) == (
            len(rows),
            sum(event),
            len(rows) - sum(event),
        ), arm
        assert got["median"]["estimate"] == median(curve), arm
        s182 = [s for t, s in curve if t <= 182][-1]
        assert got["km_182"]["estimate"] == pytest.approx(float(s182), abs=1e-12), arm
        surv, lower, upper = greenwood_log_log(time, event, 182)
        assert surv == pytest.approx(float(s182), abs=1e-12)
        assert got["km_182"]["lower"] == pytest.approx(lower, abs=1e-9), arm
        assert got["km_182"]["upper"] == pytest.approx(upper, abs=1e-9), arm
    by_arm = summary["TTDE"]["by_arm"]
    # The figures themselves, for the reader: 29, 62 and 61 events; on placebo 62.6% are
    # free of a dermatologic event at 26 weeks (median not reached), on xanomeline 12.6%
    # (low dose, median 33 days) and 9.2% (high dose, median 36 days).
    assert [by_arm[a]["events"] for a in ARMS] == [29, 62, 61]
    assert [by_arm[a]["median"]["estimate"] for a in ARMS] == [None, 33.0, 36.0]
    assert [round(100 * by_arm[a]["km_182"]["estimate"], 1) for a in ARMS] == [62.6, 12.6, 9.2]
    # Overall (all 254): 152 events.
    assert (summary["TTDE"]["n"], summary["TTDE"]["events"]) == (254, 152)


def test_teae_incidence_by_arm_matches_the_published_adae(
    pilot_adam: Path, summary: dict[str, Any]
) -> None:
    def cells(adae: pd.DataFrame) -> dict[tuple[str, str, str], int]:
        te = adae[adae["TRTEMFL"] == "Y"]
        counts = te.groupby(["AEBODSYS", "AEDECOD", "TRTA"])["USUBJID"].nunique()
        return {cast(tuple[str, str, str], key): int(n) for key, n in counts.items()}

    ours = {
        (row["soc"], row["pt"], arm): part["subjects_any_grade"]
        for row in summary["ae_incidence"]
        if row["pt"] is not None
        for arm, part in row["by_arm"].items()
        if part["subjects_any_grade"]
    }
    # Exactly the run's own ADAE, counted independently (TRTA is ADSL.TRT01A).
    assert ours == cells(pd.read_parquet(pilot_adam / "adam" / "adae.parquet"))
    # The published ADAE: the same, but for the 3 cells of events that are treatment-emergent
    # there by a partial onset date the export lacks (tests/test_cdiscpilot_adam.py, TRTEMFL).
    published = cells(read_xpt(PUBLISHED / "adae.xpt"))
    differ = {key for key in published.keys() | ours.keys() if published.get(key) != ours.get(key)}
    assert differ == {
        ("EYE DISORDERS", "VISION BLURRED", "Xanomeline High Dose"),
        ("GENERAL DISORDERS AND ADMINISTRATION SITE CONDITIONS", "FATIGUE", "Xanomeline High Dose"),
        ("INFECTIONS AND INFESTATIONS", "HORDEOLUM", "Xanomeline High Dose"),
    }
    # Subjects with any TEAE: 65 of 86 on placebo, 77 and 76 of 84 on xanomeline, as published.
    adae = read_xpt(PUBLISHED / "adae.xpt")
    any_te = adae[adae["TRTEMFL"] == "Y"].groupby("TRTA")["USUBJID"].nunique()
    total = summary["ae_incidence"][0]
    assert total["soc"] == "ANY TEAE"
    assert {a: v["subjects_any_grade"] for a, v in total["by_arm"].items()} == {
        arm: int(any_te[arm]) for arm in ARMS
    }
    assert [total["by_arm"][a]["subjects_any_grade"] for a in ARMS] == [65, 77, 76]
    assert total["by_arm"]["Placebo"]["pct_any_grade"] == pytest.approx(100 * 65 / 86)

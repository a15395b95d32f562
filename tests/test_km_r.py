"""The endpoint engine's Kaplan-Meier against R's own printed output on R's aml data
(tests/fixtures/km_r, see its README for the sources): summary(survfit(Surv(time, status)
~ x, data = aml)) with R's default conf.type = "log" (no published log-log printout of a
public dataset was found; the engine's log-log limits stay checked against the exact
reference of tests/fixtures/km_reference). Each printed number is matched to R's printed
precision (half a unit in its last digit); the Maintained curve also to 11 digits."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from tests.conftest import ROOT
from transforms.adam.endpoints import KmCurve, kaplan_meier, median_survival

FIXTURE = json.loads((ROOT / "tests" / "fixtures" / "km_r" / "km_r.json").read_text("utf-8"))
GROUPS = {"x=Maintained": "Maintained", "x=Nonmaintained": "Nonmaintained"}


def _curve(group: str) -> KmCurve:
    data = FIXTURE["data"][GROUPS[group]]
    return kaplan_meier([t for t, _ in data], [s == 1 for _, s in data], conf_type="log")


def _matches(got: float, printed: dict[str, Any]) -> bool:
    if printed["value"] is None:
        return bool(np.isnan(got))
    return abs(got - printed["value"]) <= printed["half_unit"] * (1 + 1e-9)


def test_fixture_holds_both_groups_of_aml() -> None:
    assert sorted(FIXTURE["printed"]) == sorted(GROUPS)
    assert FIXTURE["conf_type"] == "log"
    assert [len(FIXTURE["data"][g]) for g in ("Maintained", "Nonmaintained")] == [11, 12]


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_summary_table_matches_r_printout(group: str) -> None:
    curve = _curve(group)
    events = curve.n_event > 0  # summary.survfit lists the event times only
    rows = FIXTURE["printed"][group]["rows"]
    assert curve.time[events].tolist() == [r["time"]["value"] for r in rows]
    assert curve.n_risk[events].tolist() == [r["n_risk"]["value"] for r in rows]
    assert curve.n_event[events].tolist() == [r["n_event"]["value"] for r in rows]
    std_err = curve.surv * curve.se_log  # R prints the standard error of S itself
    for got, column in (
        (curve.surv, "survival"),
        (std_err, "std_err"),
        (curve.lower, "lower"),
        (curve.upper, "upper"),
    ):
        for value, row in zip(got[events], rows, strict=True):
            assert _matches(float(value), row[column]), (group, row["time"]["text"], column)


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_median_and_its_limits_match_print_survfit(group: str) -> None:
    printed = FIXTURE["printed"][group]["print"]
    data = FIXTURE["data"][GROUPS[group]]
    assert (len(data), sum(s for _, s in data)) == (printed["n"], printed["events"])
    median = median_survival(_curve(group))
    for key, column in (("estimate", "median"), ("lower", "lcl"), ("upper", "ucl")):
        assert median[key] == printed[column]["value"], (group, column)


def test_maintained_curve_matches_r_to_eleven_digits() -> None:
    r = FIXTURE["maintained_11_digits"]
    curve = _curve("x=Maintained")
    events = curve.n_event > 0
    assert curve.time[events].tolist() == r["time"]
    assert curve.n_risk[events].tolist() == r["n_risk"]
    assert curve.surv[events] == pytest.approx(r["survival"], rel=1e-10)
    assert (curve.surv * curve.se_log)[events] == pytest.approx(r["std_err"], rel=1e-9)
    assert curve.lower[events] == pytest.approx(r["lower"], rel=1e-9)

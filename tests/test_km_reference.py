"""The endpoint engine's Kaplan-Meier figures against reference values computed apart from
it (tests/fixtures/km_reference: exact fractions of the product-limit estimator, Greenwood's
sum, the log-log limits and print.survfit's median rule written out; not R output, see the
README there): the curve at every time, S at landmark days, the median and its CI, the
numbers at risk, and the median follow-up by reverse Kaplan-Meier."""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import pandas as pd
import pytest

from tests.conftest import ROOT
from transforms.adam.endpoints import (
    kaplan_meier,
    median_followup,
    median_survival,
    number_at_risk,
    survival_at,
)

REFERENCE = json.loads(
    (ROOT / "tests" / "fixtures" / "km_reference" / "km_reference.json").read_text("utf-8")
)
GROUPS = sorted(REFERENCE["groups"])


def _curve(name: str) -> Any:
    data = REFERENCE["groups"][name]["data"]
    return kaplan_meier([t for t, _ in data], [e == 1 for _, e in data])


def _close(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (
        a is not None and b is not None and a == pytest.approx(b, rel=1e-12, abs=1e-14)
    )


@pytest.mark.parametrize("name", GROUPS)
def test_curve_matches_the_exact_product_limit_and_log_log_limits(name: str) -> None:
    curve = _curve(name)
    rows = REFERENCE["groups"][name]["km"]["rows"]
    assert curve.time.tolist() == [r["time"] for r in rows]
    assert curve.n_risk.tolist() == [r["n_risk"] for r in rows]
    assert curve.n_event.tolist() == [r["n_event"] for r in rows]
    assert curve.n_censor.tolist() == [r["n_censor"] for r in rows]
    for i, r in enumerate(rows):
        assert curve.surv[i] == pytest.approx(float(Fraction(r["surv_fraction"])), rel=1e-12)
        if r["surv"] > 0:
            assert curve.se_log[i] == pytest.approx(r["std_err"], rel=1e-9, abs=1e-15)
        for got, want in ((curve.lower[i], r["lower"]), (curve.upper[i], r["upper"])):
            assert _close(None if pd.isna(got) else float(got), want), (name, r["time"])


@pytest.mark.parametrize("name", GROUPS)
def test_median_and_landmarks_match(name: str) -> None:
    curve = _curve(name)
    ref = REFERENCE["groups"][name]["km"]
    assert median_survival(curve) == ref["median"]
    for day, want in ref["landmarks"].items():
        got = survival_at(curve, int(day))
        assert all(_close(got[k], want[k]) for k in ("estimate", "lower", "upper")), day


@pytest.mark.parametrize("name", GROUPS)
def test_numbers_at_risk_count_times_on_or_after_the_day(name: str) -> None:
    data = REFERENCE["groups"][name]["data"]
    days = [0, 5, 10, 20, 40]
    expected = [{"day": d, "n": sum(1 for t, _ in data if t >= d)} for d in days]
    assert number_at_risk(_curve(name), days) == expected


@pytest.mark.parametrize("name", GROUPS)
def test_median_follow_up_is_the_reverse_kaplan_meier_median(name: str) -> None:
    data = REFERENCE["groups"][name]["data"]
    records = pd.DataFrame(
        {"aval": [float(t) for t, _ in data], "cnsr": [float(1 - e) for _, e in data]}
    )
    got = median_followup(records)
    assert {k: got[k] for k in ("estimate", "lower", "upper")} == (
        REFERENCE["groups"][name]["reverse_km_median"]
    )
    assert (got["n"], got["censored"]) == (len(data), sum(1 for _, e in data if e == 0))

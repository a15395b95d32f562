"""The endpoint engine's Kaplan-Meier against R's own printed survfit output
(tests/fixtures/km_r, see its README for every source and the data each was computed on):

- conf.type = "log-log", what the endpoint summary reports: summary() tables of a six-subject
  example printed beside its data and of the two arms of KMsurv's kidney data, print()
  medians with their limits of the six-subject example and of KMsurv's tongue data
  (aneuploid tumours);
- R's default conf.type = "log" on R's aml data (summary() and print() by maintenance arm,
  and the Maintained curve to 11 digits).

Each printed number is matched to R's printed precision (half a unit in its last digit):
time, n.risk, n.event, survival, std.err (R prints the standard error of S itself, S times
the Greenwood standard error of log S) and both limits at every printed time; n, events,
median and its limits exactly."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from tests.conftest import ROOT
from transforms.adam.endpoints import KmCurve, kaplan_meier, median_survival

FIXTURE = json.loads((ROOT / "tests" / "fixtures" / "km_r" / "km_r.json").read_text("utf-8"))
FITS: dict[str, Any] = FIXTURE["fits"]
CURVES = [(fit, curve) for fit in sorted(FITS) for curve in sorted(FITS[fit]["curves"])]
SUMMARIES = [(f, c) for f, c in CURVES if FITS[f]["curves"][c]["summary"]]
PRINTS = [(f, c) for f, c in CURVES if FITS[f]["curves"][c]["print"]]
LOG_LOG = {f for f, _ in CURVES if FITS[f]["conf_type"] == "log-log"}


def _curve(fit: str, curve: str) -> KmCurve:
    data = FITS[fit]["curves"][curve]["data"]
    return kaplan_meier(
        [t for t, _ in data], [s == 1 for _, s in data], conf_type=FITS[fit]["conf_type"]
    )


def _matches(got: float, printed: dict[str, Any]) -> bool:
    if printed["value"] is None:
        return bool(np.isnan(got))
    return abs(got - printed["value"]) <= printed["half_unit"] * (1 + 1e-9)


def test_fixture_holds_every_printed_fit_with_its_data() -> None:
    sizes = {
        (f, c): (len(v["data"]), sum(s for _, s in v["data"]))
        for f, c in CURVES
        for v in [FITS[f]["curves"][c]]
    }
    assert sizes == {
        ("aml", "x=Maintained"): (11, 7),
        ("aml", "x=Nonmaintained"): (12, 11),
        ("kidney_percutaneous", "all"): (76, 11),
        ("kidney_surgical", "all"): (43, 15),
        ("six", "all"): (6, 3),
        ("tongue_aneuploid", "all"): (52, 31),
    }
    assert sorted(LOG_LOG) == ["kidney_percutaneous", "kidney_surgical", "six", "tongue_aneuploid"]
    assert FITS["aml"]["conf_type"] == "log"
    # R's printed rows: 13 + 5 + 3 log-log rows, 7 + 9 log rows; 2 log-log medians.
    rows = {(f, c): len(FITS[f]["curves"][c]["summary"]) for f, c in SUMMARIES}
    assert rows == {
        ("aml", "x=Maintained"): 7,
        ("aml", "x=Nonmaintained"): 9,
        ("kidney_percutaneous", "all"): 5,
        ("kidney_surgical", "all"): 13,
        ("six", "all"): 3,
    }
    assert sorted(f for f, _ in PRINTS if f in LOG_LOG) == ["six", "tongue_aneuploid"]


@pytest.mark.parametrize(("fit", "curve"), SUMMARIES)
def test_summary_table_matches_r_printout(fit: str, curve: str) -> None:
    km = _curve(fit, curve)
    events = km.n_event > 0  # summary.survfit lists the event times only
    rows = FITS[fit]["curves"][curve]["summary"]
    assert km.time[events].tolist() == [r["time"]["value"] for r in rows]
    assert km.n_risk[events].tolist() == [r["n_risk"]["value"] for r in rows]
    assert km.n_event[events].tolist() == [r["n_event"]["value"] for r in rows]
    std_err = km.surv * km.se_log  # R prints the standard error of S itself
    for got, column in (
        (km.surv, "survival"),
        (std_err, "std_err"),
        (km.lower, "lower"),
        (km.upper, "upper"),
    ):
        for value, row in zip(got[events], rows, strict=True):
            assert _matches(float(value), row[column]), (fit, curve, row["time"]["text"], column)


@pytest.mark.parametrize(("fit", "curve"), PRINTS)
def test_median_and_its_limits_match_print_survfit(fit: str, curve: str) -> None:
    printed = FITS[fit]["curves"][curve]["print"]
    data = FITS[fit]["curves"][curve]["data"]
    assert (len(data), sum(s for _, s in data)) == (printed["n"], printed["events"])
    median = median_survival(_curve(fit, curve))
    for key, column in (("estimate", "median"), ("lower", "lcl"), ("upper", "ucl")):
        assert median[key] == printed[column]["value"], (fit, curve, column)


def test_log_log_limits_are_not_the_log_limits_r_printed() -> None:
    """The log-log rows could not be met by R's default: at the surgical arm's first event
    the log limits would be (0.9327, 1), R printed (0.8462, 0.997) for log-log."""
    data = FITS["kidney_surgical"]["curves"]["all"]["data"]
    log = kaplan_meier([t for t, _ in data], [s == 1 for _, s in data], conf_type="log")
    first = FITS["kidney_surgical"]["curves"]["all"]["summary"][0]
    events = log.n_event > 0
    assert not _matches(float(log.lower[events][0]), first["lower"])
    assert float(log.upper[events][0]) == 1.0  # capped at 1 by R for "log" only
    assert first["upper"]["text"] == "0.997"


def test_maintained_curve_matches_r_to_eleven_digits() -> None:
    r = FIXTURE["maintained_11_digits"]
    km = _curve("aml", "x=Maintained")
    events = km.n_event > 0
    assert km.time[events].tolist() == r["time"]
    assert km.n_risk[events].tolist() == r["n_risk"]
    assert km.surv[events] == pytest.approx(r["survival"], rel=1e-10)
    assert (km.surv * km.se_log)[events] == pytest.approx(r["std_err"], rel=1e-9)
    assert km.lower[events] == pytest.approx(r["lower"], rel=1e-9)

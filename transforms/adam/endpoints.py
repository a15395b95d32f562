"""The endpoint summary of the maintenance study: PFS and OS (Kaplan–Meier), response and MRD
rates (exact binomial), and treatment-emergent adverse events, as ``endpoints.json`` and a
self-contained ``endpoints.html`` for readers who never open Python.

Conventions (each one follows R's ``survival`` package, 3.8, so that a statistician checking
the numbers in R with ``survfit(Surv(AVAL, 1 - CNSR) ~ 1, conf.type = "log-log")`` gets the
same figures):

- Kaplan–Meier estimate and Greenwood standard error from statsmodels' ``SurvfuncRight``.
  ``se(log S)`` = Greenwood ``se(S) / S`` (R's ``std.err``, the standard error of the
  cumulative hazard).
- Pointwise 95% CI, ``survfit_confint(conf.type = "log-log")``: on ``log(-log S)`` with standard
  error ``se(log S) / log S``, i.e. ``lower, upper = exp(-exp(log(-log S) -/+ z * se / log S))``
  with ``z = qnorm(0.975)``. Where ``S = 1`` (before the first event, ``se = 0``) the limits are
  1; where ``S = 0`` they are missing (R returns NA there).
- S at 730 days is the step value at the last event time <= 730 (``summary(fit, times = 730)``);
  as in R (without ``extend = TRUE``) it is not reported when follow-up ends before 730 days.
- Median and its CI, the rule of ``print.survfit`` (``survmean``'s ``minmin``): the median is the
  first time at which S < 0.5 + sqrt(machine eps); when S equals 0.5 there (within that
  tolerance) and the curve drops further later, the midpoint between that time and the time of
  the next drop. The CI limits are the same search on the confidence curves: the LOWER limit on
  the LOWER curve (it reaches 0.5 first) and the UPPER limit on the UPPER curve; missing curve
  values (S = 0) are skipped. Each value is null when its curve never reaches 0.5. (Where the
  curve stays exactly at 0.5 to the end of follow-up, ``print.survfit`` reports the time it
  reached 0.5; ``quantile.survfit`` would report the midpoint to the last follow-up time: this
  module follows ``print.survfit``.)
- Rates: exact Clopper–Pearson 95% CI, ``scipy.stats.binomtest(k, n).proportion_ci("exact")``.
- Populations come from ADSL (ITTFL / SAFFL = "Y"); a dataset row counts only when its subject
  is in the population.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy.stats import binomtest, norm
from statsmodels.duration.survfunc import SurvfuncRight

from transforms import pages
from transforms.listing import write_atomic

Array = npt.NDArray[np.float64]
ConfType = Literal["log-log", "log"]

LANDMARK_DAYS = 730.0
RISK_DAYS = (0, 180, 365, 545, 730, 910, 1095)
CONF_LEVEL = 0.95
Z = float(norm.ppf(1 - (1 - CONF_LEVEL) / 2))  # R: qnorm(0.975)
# R's tolerance for "equal to 0.5" in print.survfit (all.equal's default).
TOLERANCE = float(np.sqrt(np.finfo(float).eps))

TTE_PARAMS = {"PFS": "Progression-free survival", "OS": "Overall survival"}
RATE_PARAMS = {
    "CR": ("CRRSP", "Confirmed complete response or better"),
    "VGPR_OR_BETTER": ("VGPRRSP", "Confirmed very good partial response or better"),
    "MRD_NEGATIVE": ("MRDNEG", "Minimal residual disease negative"),
}
ANY_TEAE = "ANY TEAE"
UNCODED = "UNCODED"

JSON_NAME = "endpoints.json"
HTML_NAME = "endpoints.html"


class EndpointDataError(ValueError):
    """Input the summary cannot use; the message names the dataset, variable and subjects."""


# --- Kaplan–Meier ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KmCurve:
    """A Kaplan–Meier curve at every distinct observed time (events and censorings), as R's
    survfit object holds it: ``surv``, ``lower`` and ``upper`` are the values from that time on;
    ``n_risk`` counts subjects with time >= the row's time."""

    time: Array
    n_risk: Array
    n_event: Array
    n_censor: Array
    surv: Array
    se_log: Array
    lower: Array
    upper: Array


def confidence_limits(
    surv: Array, se_log: Array, conf_type: ConfType = "log-log"
) -> tuple[Array, Array]:
    """Pointwise limits as R's ``survfit_confint`` (logse = TRUE) computes them."""
    lower = np.full(surv.shape, np.nan)
    upper = np.full(surv.shape, np.nan)
    flat = (surv >= 1.0) | (se_log == 0.0)
    lower[flat] = surv[flat]
    upper[flat] = surv[flat]
    inner = ~flat & (surv > 0.0) & np.isfinite(se_log)
    log_s = np.log(surv[inner])
    if conf_type == "log-log":
        shift = Z * se_log[inner] / log_s  # se of log(-log S) is se(log S) / |log S|
        lower[inner] = np.exp(-np.exp(np.log(-log_s) - shift))
        upper[inner] = np.exp(-np.exp(np.log(-log_s) + shift))
    else:  # "log", R's default: kept so the machinery can be checked against R's printouts
        lower[inner] = np.exp(log_s - Z * se_log[inner])
        upper[inner] = np.minimum(np.exp(log_s + Z * se_log[inner]), 1.0)
    return lower, upper


def kaplan_meier(
    time: npt.ArrayLike,
    event: npt.ArrayLike,
    conf_type: ConfType = "log-log",
) -> KmCurve:
    """Kaplan–Meier curve with Greenwood standard errors (statsmodels) and R's CIs."""
    t = np.asarray(time, dtype=float)
    d = np.asarray(event, dtype=bool)
    if t.shape != d.shape:
        raise ValueError("time and event must have the same length")
    if t.size == 0:
        empty = np.array([], dtype=float)
        return KmCurve(empty, empty, empty, empty, empty, empty, empty, empty)
    if not np.isfinite(t).all() or (t < 0).any():
        raise ValueError("times must be finite and non-negative")

    grid, position = np.unique(t, return_inverse=True)
    n_risk = (t.size - np.searchsorted(np.sort(t), grid, side="left")).astype(float)
    n_event = np.bincount(position, weights=d.astype(float), minlength=grid.size).astype(float)
    n_censor = np.bincount(position, weights=(~d).astype(float), minlength=grid.size).astype(float)

    surv = np.ones(grid.shape)
    se_log = np.zeros(grid.shape)
    if d.any():
        fit = SurvfuncRight(t, d.astype(float))
        ev_time = np.asarray(fit.surv_times, dtype=float)
        ev_surv = np.asarray(fit.surv_prob, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            ev_se_log = np.where(ev_surv > 0, np.asarray(fit.surv_prob_se) / ev_surv, np.nan)
        # The step value at each grid time: that of the last event time <= it.
        idx = np.searchsorted(ev_time, grid, side="right") - 1
        after = idx >= 0
        surv[after] = ev_surv[idx[after]]
        se_log[after] = ev_se_log[idx[after]]
    lower, upper = confidence_limits(surv, se_log, conf_type)
    return KmCurve(grid, n_risk, n_event, n_censor, surv, se_log, lower, upper)


def _value(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def survival_at(curve: KmCurve, day: float) -> dict[str, float | None]:
    """S(day) with its CI: the step value at the last event time <= day. Null when the curve
    is empty or follow-up ends before ``day`` (R's summary.survfit without extend)."""
    if curve.time.size == 0 or day > curve.time[-1]:
        return {"estimate": None, "lower": None, "upper": None}
    idx = int(np.searchsorted(curve.time, day, side="right")) - 1
    if idx < 0:  # before the first observed time: S = 1 exactly
        return {"estimate": 1.0, "lower": 1.0, "upper": 1.0}
    return {
        "estimate": _value(curve.surv[idx]),
        "lower": _value(curve.lower[idx]),
        "upper": _value(curve.upper[idx]),
    }


def _first_below_half(values: Array, times: Array) -> float | None:
    """print.survfit's rule (survmean's minmin): the first time the curve is < 0.5 + tol;
    when the curve is 0.5 there and drops again later, the midpoint to that later time."""
    keep = np.isfinite(values) & (values < 0.5 + TOLERANCE)
    if not keep.any():
        return None
    x = times[keep]
    y = values[keep]
    if abs(y[0] - 0.5) < TOLERANCE:
        lower = np.flatnonzero(y < y[0])
        if lower.size:
            return float((x[0] + x[lower[0]]) / 2)
    return float(x[0])


def median_survival(curve: KmCurve) -> dict[str, float | None]:
    """Median and 95% CI by R's survfit convention; each value null when not reached."""
    return {
        "estimate": _first_below_half(curve.surv, curve.time),
        "lower": _first_below_half(curve.lower, curve.time),
        "upper": _first_below_half(curve.upper, curve.time),
    }


def number_at_risk(curve: KmCurve, days: Sequence[float] = RISK_DAYS) -> list[dict[str, int]]:
    """Subjects still at risk (time >= day) at each day, as under R's KM plots."""
    out = []
    for day in days:
        idx = int(np.searchsorted(curve.time, day, side="left"))
        n = int(curve.n_risk[idx]) if idx < curve.time.size else 0
        out.append({"day": int(day), "n": n})
    return out


# --- rates ----------------------------------------------------------------------------------


def exact_rate(count: int, denominator: int) -> dict[str, Any]:
    """Count, denominator, rate and the Clopper–Pearson 95% CI (null rate/CI when n = 0)."""
    if denominator == 0:
        return {"count": count, "denominator": 0, "rate": None, "lower": None, "upper": None}
    ci = binomtest(count, denominator).proportion_ci(confidence_level=CONF_LEVEL, method="exact")
    return {
        "count": count,
        "denominator": denominator,
        "rate": count / denominator,
        "lower": float(ci.low),
        "upper": float(ci.high),
    }


# --- input checks ---------------------------------------------------------------------------


def _require(frame: pd.DataFrame, name: str, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise EndpointDataError(f"{name}: missing variable(s) {', '.join(missing)}")


def _yes(values: pd.Series) -> npt.NDArray[np.bool_]:
    return values.astype("string").eq("Y").fillna(False).to_numpy(dtype=bool)


def _subjects(adsl: pd.DataFrame, flag: str) -> set[str]:
    return set(adsl.loc[_yes(adsl[flag]), "USUBJID"].astype(str))


def _duplicates(frame: pd.DataFrame, name: str, paramcd: str) -> None:
    dup = frame["USUBJID"][frame["USUBJID"].duplicated()]
    if len(dup):
        shown = ", ".join(sorted(set(dup.astype(str)))[:5])
        raise EndpointDataError(f"{name}: PARAMCD {paramcd} has more than one row for {shown}")


# --- the summary ----------------------------------------------------------------------------


def _tte(adtte: pd.DataFrame, itt: set[str], paramcd: str) -> tuple[dict[str, Any], dict[str, Any]]:
    rows = adtte[(adtte["PARAMCD"].astype("string") == paramcd).fillna(False).to_numpy(dtype=bool)]
    rows = rows[rows["USUBJID"].astype(str).isin(itt)]
    _duplicates(rows, "ADTTE", paramcd)
    aval = pd.to_numeric(rows["AVAL"], errors="coerce").astype(float)
    cnsr = pd.to_numeric(rows["CNSR"], errors="coerce").astype(float)
    usable = aval.notna() & cnsr.notna()
    negative = usable & (aval < 0)
    if negative.any():
        shown = ", ".join(sorted(rows.loc[negative, "USUBJID"].astype(str))[:5])
        raise EndpointDataError(f"ADTTE: PARAMCD {paramcd} has negative AVAL for {shown}")
    time = aval[usable].to_numpy(dtype=float)
    event = (cnsr[usable] == 0).to_numpy(dtype=bool)
    curve = kaplan_meier(time, event)

    labels = rows["PARAM"].dropna().astype(str) if "PARAM" in rows.columns else pd.Series([])
    label = str(labels.iloc[0]) if len(labels) else TTE_PARAMS[paramcd]
    summary = {
        "n": int(time.size),
        "events": int(event.sum()),
        "censored": int((~event).sum()),
        "km_730": survival_at(curve, LANDMARK_DAYS),
        "median": median_survival(curve),
    }
    detail = {
        "param": label,
        "itt_subjects_without_record": len(itt - set(rows["USUBJID"].astype(str))),
        "records_missing_aval_or_cnsr": int((~usable).sum()),
        "follow_up_max_days": _value(float(time.max())) if time.size else None,
        "at_risk": number_at_risk(curve),
        "curve": [
            {
                "time": float(curve.time[i]),
                "n_risk": int(curve.n_risk[i]),
                "n_event": int(curve.n_event[i]),
                "n_censor": int(curve.n_censor[i]),
                "surv": _value(curve.surv[i]),
                "lower": _value(curve.lower[i]),
                "upper": _value(curve.upper[i]),
            }
            for i in range(curve.time.size)
        ],
    }
    return summary, detail


def _rates(adrs: pd.DataFrame, itt: set[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, (paramcd, _label) in RATE_PARAMS.items():
        rows = adrs[
            (adrs["PARAMCD"].astype("string") == paramcd).fillna(False).to_numpy(dtype=bool)
        ]
        rows = rows[rows["USUBJID"].astype(str).isin(itt)]
        _duplicates(rows, "ADRS", paramcd)
        count = int(_yes(rows["AVALC"]).sum())
        out[key] = exact_rate(count, len(rows))
    return out


def _pct(n: int, denominator: int) -> float | None:
    return 100.0 * n / denominator if denominator else None


def ae_incidence(adsl: pd.DataFrame, adae: pd.DataFrame) -> list[dict[str, Any]]:
    """Subjects (not events) with treatment-emergent AEs in the safety population, any grade
    and grade >= 3, overall, by SOC and by PT within SOC. SOCs, and PTs within a SOC, are in
    descending any-grade frequency, ties alphabetical; missing coding shows as UNCODED."""
    _require(adsl, "ADSL", ["USUBJID", "SAFFL"])
    _require(adae, "ADAE", ["USUBJID", "AEBODSYS", "AEDECOD", "ATOXGRN", "TRTEMFL"])
    safety = _subjects(adsl, "SAFFL")
    denominator = len(safety)
    te = adae[_yes(adae["TRTEMFL"])]
    te = te[te["USUBJID"].astype(str).isin(safety)]
    frame = pd.DataFrame(
        {
            "subject": te["USUBJID"].astype(str).to_numpy(),
            "soc": te["AEBODSYS"].astype("string").fillna(UNCODED).astype(str).to_numpy(),
            "pt": te["AEDECOD"].astype("string").fillna(UNCODED).astype(str).to_numpy(),
            "g3": (pd.to_numeric(te["ATOXGRN"], errors="coerce") >= 3)
            .fillna(False)
            .to_numpy(dtype=bool),
        }
    )

    def row(soc: str, pt: str | None, part: pd.DataFrame) -> dict[str, Any]:
        anyg = int(part["subject"].nunique())
        g3 = int(part.loc[part["g3"], "subject"].nunique())
        return {
            "soc": soc,
            "pt": pt,
            "subjects_any_grade": anyg,
            "pct_any_grade": _pct(anyg, denominator),
            "subjects_grade3plus": g3,
            "pct_grade3plus": _pct(g3, denominator),
        }

    def ordered(part: pd.DataFrame, by: str) -> list[str]:
        counts = part.groupby(by)["subject"].nunique()
        return sorted(counts.index.astype(str), key=lambda name: (-int(counts[name]), name))

    rows = [row(ANY_TEAE, None, frame)]
    for soc in ordered(frame, "soc"):
        in_soc = frame[frame["soc"] == soc]
        rows.append(row(soc, None, in_soc))
        rows.extend(row(soc, pt, in_soc[in_soc["pt"] == pt]) for pt in ordered(in_soc, "pt"))
    return rows


def _arms(adsl: pd.DataFrame, flag: str) -> dict[str, int]:
    chosen = adsl[_yes(adsl[flag])]
    if "TRT01A" not in chosen.columns:
        return {}
    arms = chosen["TRT01A"].astype("string").fillna("(missing)").astype(str)
    return {str(k): int(v) for k, v in sorted(arms.value_counts().items())}


def _iso(day: date | None) -> str | None:
    if day is None:
        return None
    if isinstance(day, datetime):
        day = day.date()
    return day.isoformat()


def _study(adsl: pd.DataFrame) -> str | None:
    if "STUDYID" not in adsl.columns:
        return None
    ids = sorted(set(adsl["STUDYID"].dropna().astype(str)))
    return " / ".join(ids) if ids else None


def summarise(
    adsl: pd.DataFrame,
    adtte: pd.DataFrame,
    adrs: pd.DataFrame,
    adae: pd.DataFrame,
    *,
    data_cut: date | None = None,
) -> dict[str, Any]:
    """The endpoint summary as a JSON-ready dict (see the module docstring for conventions)."""
    _require(adsl, "ADSL", ["USUBJID", "ITTFL", "SAFFL"])
    _require(adtte, "ADTTE", ["USUBJID", "PARAMCD", "AVAL", "CNSR"])
    _require(adrs, "ADRS", ["USUBJID", "PARAMCD", "AVALC"])
    dup = adsl["USUBJID"][adsl["USUBJID"].duplicated()]
    if len(dup):
        raise EndpointDataError(
            f"ADSL: more than one row for {', '.join(sorted(set(dup.astype(str)))[:5])}"
        )
    itt = _subjects(adsl, "ITTFL")
    safety = _subjects(adsl, "SAFFL")

    pfs, pfs_detail = _tte(adtte, itt, "PFS")
    os_, os_detail = _tte(adtte, itt, "OS")
    return {
        "study": _study(adsl),
        "data_cut": _iso(data_cut),
        "population": {
            "itt": len(itt),
            "safety": len(safety),
            "itt_by_arm": _arms(adsl, "ITTFL"),
            "safety_by_arm": _arms(adsl, "SAFFL"),
        },
        "PFS": pfs,
        "OS": os_,
        "rates": _rates(adrs, itt),
        "ae_incidence": ae_incidence(adsl, adae),
        "km_curves": {"PFS": pfs_detail, "OS": os_detail},
        "conventions": {
            "time_unit": "days",
            "confidence_level": CONF_LEVEL,
            "km": "Kaplan-Meier with Greenwood standard errors (statsmodels SurvfuncRight)",
            "km_ci": "log-log: exp(-exp(log(-log S) -/+ z*se(log S)/log S)), as R survival "
            "survfit(conf.type='log-log')",
            "km_730": "step value at the last event time <= 730 days; null when follow-up ends "
            "before 730 days",
            "median": "R print.survfit: first time S < 0.5 (midpoint to the next drop when S "
            "equals 0.5); CI limits by the same rule on the lower and upper confidence curves; "
            "null when a curve never reaches 0.5",
            "rates": "Clopper-Pearson exact CI; denominator = ITT subjects with a record for "
            "the parameter",
            "ae_incidence": "subjects with >= 1 treatment-emergent AE (TRTEMFL = Y) among safety "
            "subjects (ADSL SAFFL = Y); grade 3+ = ATOXGRN >= 3; ordered by descending "
            "any-grade frequency within level, ties alphabetical",
            "populations": "ITT and safety subjects from ADSL ITTFL / SAFFL = Y",
            "rate_parameters": {key: code for key, (code, _label) in RATE_PARAMS.items()},
        },
    }


# --- the plot -------------------------------------------------------------------------------


def km_plot_png(detail: Mapping[str, Any], title: str) -> bytes:
    """A Kaplan–Meier plot (step curve, censor ticks, 95% CI band, 730-day marker, numbers at
    risk under the x axis) as PNG bytes, without timestamps or versions in the file."""
    fig = Figure(figsize=(7.5, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.1, 0.3, 0.86, 0.56))
    risk_ax = fig.add_axes((0.1, 0.05, 0.86, 0.1), sharex=ax)
    rows = list(detail.get("curve", []))
    last = max([float(r["time"]) for r in rows], default=0.0)
    xmax = max(float(RISK_DAYS[-1]), last) * 1.03

    if rows:
        nan = float("nan")
        x = np.array([0.0] + [float(r["time"]) for r in rows])
        surv = np.array([1.0] + [nan if r["surv"] is None else float(r["surv"]) for r in rows])
        low = np.array([1.0] + [nan if r["lower"] is None else float(r["lower"]) for r in rows])
        high = np.array([1.0] + [nan if r["upper"] is None else float(r["upper"]) for r in rows])
        ax.fill_between(
            x,
            low,
            high,
            step="post",
            color="#1f77b4",
            alpha=0.18,
            linewidth=0,
            label="95% CI (log-log)",
        )
        ax.step(x, surv, where="post", color="#1f77b4", linewidth=1.8, label="Kaplan–Meier")
        cens = [
            (float(r["time"]), float(r["surv"]))
            for r in rows
            if r["n_censor"] and r["surv"] is not None
        ]
        if cens:
            ax.plot(
                [c[0] for c in cens],
                [c[1] for c in cens],
                linestyle="none",
                marker="|",
                markersize=9,
                markeredgewidth=1.4,
                color="#1f77b4",
                label="Censored",
            )
    else:
        ax.text(0.5, 0.5, "No subjects with a record", transform=ax.transAxes, ha="center")
    ax.axvline(
        LANDMARK_DAYS, color="#d62728", linestyle="--", linewidth=1.0, label="2 years (730 days)"
    )
    ax.set_xlim(0, xmax)
    ax.set_ylim(0, 1.03)
    ticks = [*RISK_DAYS, *range(RISK_DAYS[-1] + 365, int(xmax) + 1, 365)]
    ax.set_xticks(ticks)
    ax.set_xlabel("Days")
    ax.set_ylabel("Probability without event")
    fig.text(0.53, 0.965, title, ha="center", va="top", fontsize=12)
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4, fontsize=8, frameon=False)

    risk_ax.set_ylim(0, 1)
    risk_ax.axis("off")
    for item in detail.get("at_risk", []):
        risk_ax.text(
            float(item["day"]), 0.4, str(int(item["n"])), ha="center", va="center", fontsize=9
        )
    risk_ax.text(
        0.0,
        1.05,
        "Number at risk",
        transform=risk_ax.transAxes,
        ha="left",
        va="bottom",
        fontsize=9,
        fontweight="bold",
    )

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


# --- the HTML report ------------------------------------------------------------------------


def _days(value: float | None) -> str:
    if value is None:
        return "NR"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _prob(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _n_pct(n: int, pct: float | None) -> str:
    return f"{n}" if pct is None else f"{n} ({pct:.1f}%)"


_METHODS = (
    "Kaplan–Meier estimates of the probability of remaining free of the event over time, with "
    "standard errors by Greenwood's formula.",
    "95% confidence intervals for the curve use the log-log transformation, as R's survival "
    'package does with conf.type = "log-log".',
    "The 2-year figure is the value of the curve at day 730; it is not given when follow-up "
    "ends before day 730.",
    "The median is the first time the curve falls below 50% (where the curve sits exactly at "
    "50%, the midpoint to its next drop). Its confidence interval runs from where the lower "
    "confidence curve crosses 50% to where the upper one does; NR means that curve never "
    "reached 50%.",
    "Rates: responders among intent-to-treat subjects evaluated for that response, with exact "
    "(Clopper–Pearson) 95% confidence intervals.",
    "Adverse events: subjects with at least one treatment-emergent event in the safety "
    "population; grade 3 or higher by the recorded toxicity grade.",
)


def render_html(summary: Mapping[str, Any], *, run: str = "") -> str:
    """The report page for ``summary``: self-contained (CSS inline, plots as base64 PNG)."""
    pop = summary["population"]
    populations = [
        ("Intent-to-treat (efficacy)", int(pop["itt"]), ""),
        ("Safety (treated)", int(pop["safety"]), ""),
        *((f"ITT, {arm}", int(n), "pt") for arm, n in pop.get("itt_by_arm", {}).items()),
        *((f"Safety, {arm}", int(n), "pt") for arm, n in pop.get("safety_by_arm", {}).items()),
    ]
    endpoints = []
    for key in TTE_PARAMS:
        tte, km, med = summary[key], summary[key]["km_730"], summary[key]["median"]
        endpoints.append(
            {
                "name": f"{summary['km_curves'][key]['param']} ({key})",
                "n": int(tte["n"]), "events": int(tte["events"]),
                "censored": int(tte["censored"]),
                "km": "not estimable (follow-up shorter than 730 days)"
                if km["estimate"] is None
                else f"{_prob(km['estimate'])} [{_prob(km['lower'])} to {_prob(km['upper'])}]",
                "median": f"{_days(med['estimate'])} [{_days(med['lower'])} to "
                f"{_days(med['upper'])}]",
            }
        )  # fmt: skip
    unanalysed = []
    for key in TTE_PARAMS:
        detail = summary["km_curves"][key]
        lacking = int(detail.get("itt_subjects_without_record", 0))
        unusable = int(detail.get("records_missing_aval_or_cnsr", 0))
        if lacking or unusable:
            unanalysed.append(
                f"{key}: {lacking} ITT subject(s) without a record and {unusable} record(s) "
                "without a time or censoring value are not analysed."
            )
    plots = []
    for key in TTE_PARAMS:
        detail = summary["km_curves"][key]
        title = f"{detail['param']} ({key})"
        plots.append((title, base64.b64encode(km_plot_png(detail, title)).decode("ascii")))
    rates = [
        (
            label,
            f"{int(summary['rates'][key]['count'])} / {int(summary['rates'][key]['denominator'])}",
            _prob(summary["rates"][key]["rate"]),
            f"{_prob(summary['rates'][key]['lower'])} to {_prob(summary['rates'][key]['upper'])}",
        )
        for key, (_code, label) in RATE_PARAMS.items()
    ]
    events = []
    for item in summary["ae_incidence"]:
        if item["soc"] == ANY_TEAE and item["pt"] is None:
            css, name = "total", "Any treatment-emergent adverse event"
        elif item["pt"] is None:
            css, name = "soc", item["soc"]
        else:
            css, name = "term", item["pt"]
        events.append(
            (css, name, _n_pct(item["subjects_any_grade"], item["pct_any_grade"]),
             _n_pct(item["subjects_grade3plus"], item["pct_grade3plus"]))
        )  # fmt: skip
    study = summary.get("study") or "Study"
    return pages.render(
        "endpoints.html",
        title=f"{study}: endpoint summary",
        study=study,
        run=run,
        data_cut=summary.get("data_cut") or "not stated",
        populations=populations,
        endpoints=endpoints,
        unanalysed=unanalysed,
        plots=plots,
        rates=rates,
        safety=int(pop["safety"]),
        events=events,
        methods=_METHODS,
    )


def endpoints_json(summary: Mapping[str, Any]) -> str:
    """The summary as JSON text (strict: no NaN), with a trailing newline."""
    return json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_endpoints(
    adsl: pd.DataFrame,
    adtte: pd.DataFrame,
    adrs: pd.DataFrame,
    adae: pd.DataFrame,
    reports_dir: Path,
    *,
    data_cut: date | None = None,
    run: str = "",
) -> list[Path]:
    """Summarise and write ``endpoints.json`` and ``endpoints.html`` into ``reports_dir``,
    each atomically; both are rendered before either is written. Returns the two paths."""
    summary = summarise(adsl, adtte, adrs, adae, data_cut=data_cut)
    texts = {JSON_NAME: endpoints_json(summary), HTML_NAME: render_html(summary, run=run)}
    reports_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in texts.items():
        path = reports_dir / name
        write_atomic(path, text)
        paths.append(path)
    return paths

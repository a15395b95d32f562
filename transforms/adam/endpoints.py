"""The endpoint summary of an ADaM run, as the study declares its endpoints (study.yaml
``endpoints:``, read by :mod:`transforms.endpoint_spec`): time-to-event endpoints
(Kaplan–Meier), rates (exact binomial) and the incidence of treatment-emergent adverse
events, overall and, when the declaration lists arms, by arm; as ``endpoints.json`` and a
self-contained ``endpoints.html`` for readers who never open Python. This module names no
dataset, parameter, population flag or disease: each comes from the declaration, and so
does every study-specific word of the method text.

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
- S at a landmark day (``km_<day>``) is the step value at the last event time <= that day
  (``summary(fit, times = day)``); as in R (without ``extend = TRUE``) it is not reported when
  follow-up ends before the day.
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
- Adverse-event summary rows (``ae_summary``): subjects of the safety population with at
  least one treatment-emergent event meeting the row's condition, n and % of the
  population. Exposure (``exposure``): n, mean, median (pandas, the mean of the two middle
  values for an even n, as R's ``median``), min and max of AVAL per parameter over the
  safety population's subjects with a record.
- Shifts (``shifts``): per subject, the category at entry against the result on an ordered
  scale; the response at entry (a subject-level variable) against the best response, or a
  record's own baseline CTCAE grade against its worst post-baseline grade (the record the
  declaration's condition chooses, safety population): improved, unchanged, worse and
  the table, overall and by subgroup.
- Populations come from the subject-level dataset's flags (= "Y"); a dataset row counts only
  when its subject is in the population: the efficacy population for time-to-event
  endpoints and rates, the safety population for adverse events. By arm, a subject counts
  under its population's treatment variable (planned for efficacy, actual for safety, as
  the declaration names them).
"""

from __future__ import annotations

import base64
import io
import json
import re
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

from transforms import conditions, pages
from transforms.endpoint_spec import (
    AdverseEvents,
    Concordance,
    EndpointSpec,
    Exposure,
    Landmark,
    Population,
    Rate,
    Shift,
    Subgroup,
    TimeToEvent,
)
from transforms.errors import UserError
from transforms.files import write_text

Array = npt.NDArray[np.float64]
ConfType = Literal["log-log", "log"]

CONF_LEVEL = 0.95
Z = float(norm.ppf(1 - (1 - CONF_LEVEL) / 2))  # R: qnorm(0.975)
# R's tolerance for "equal to 0.5" in print.survfit (all.equal's default).
TOLERANCE = float(np.sqrt(np.finfo(float).eps))

ANY_TEAE = "ANY TEAE"
UNCODED = "UNCODED"

JSON_NAME = "endpoints.json"
HTML_NAME = "endpoints.html"


class EndpointDataError(UserError, ValueError):
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


def number_at_risk(curve: KmCurve, days: Sequence[float]) -> list[dict[str, int]]:
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
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
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


def _inputs(spec: EndpointSpec, data: Mapping[str, pd.DataFrame]) -> None:
    """Every dataset the declaration names is given and has the variables it reads."""
    needs: dict[str, list[str]] = {spec.subjects: ["USUBJID"]}
    for pop in (spec.efficacy, spec.safety):
        needs[spec.subjects] += [pop.flag, *([pop.arm] if pop.arm else [])]
    for tte in spec.time_to_event:
        needs.setdefault(tte.dataset, []).extend(["USUBJID", "PARAMCD", "AVAL", "CNSR"])
    for rate in spec.rates.endpoints if spec.rates else ():
        needs.setdefault(rate.dataset, []).extend(
            ["USUBJID", "PARAMCD", *sorted(conditions.subjects(rate.responder))]
        )
    if events := spec.adverse_events:
        needs.setdefault(events.dataset, []).extend(
            [
                "USUBJID",
                "AEBODSYS",
                "AEDECOD",
                *sorted(conditions.subjects(events.treatment_emergent)),
            ]
            + ([events.grade.var] if events.grade else [])
        )
    for name, columns in _safety_needs(spec).items():
        needs.setdefault(name, []).extend(columns)
    for name, columns in needs.items():
        if name not in data:
            raise EndpointDataError(f"{name}: not given to the endpoint summary ({spec.where})")
        _require(data[name], name, columns)
    dup = data[spec.subjects]["USUBJID"][data[spec.subjects]["USUBJID"].duplicated()]
    if len(dup):
        raise EndpointDataError(
            f"{spec.subjects}: more than one row for {', '.join(sorted(set(dup.astype(str)))[:5])}"
        )


def _parameter(
    frame: pd.DataFrame, name: str, paramcd: str, members: set[str], where: str
) -> pd.DataFrame:
    """The records of ``paramcd`` of the population's subjects, one per subject; a PARAMCD
    the dataset does not hold at all is an error (a misspelt declaration, not a result)."""
    rows = frame[(frame["PARAMCD"].astype("string") == paramcd).fillna(False).to_numpy(dtype=bool)]
    if rows.empty:
        held = sorted(set(frame["PARAMCD"].dropna().astype(str)))
        raise EndpointDataError(
            f"{name}: no records of PARAMCD {paramcd}, which {where} reads (it holds {held})"
        )
    rows = rows[rows["USUBJID"].astype(str).isin(members)]
    _duplicates(rows, name, paramcd)
    return rows


# --- arms -----------------------------------------------------------------------------------


def _arms(adsl: pd.DataFrame, pop: Population, by_arm: Sequence[str]) -> dict[str, int]:
    """Subjects of the population per arm: in the declared order when the summary is by
    arm, else every value present in name order (a missing value as "(missing)")."""
    if pop.arm is None:
        return {}
    chosen = adsl[_yes(adsl[pop.flag])]
    arms = chosen[pop.arm].astype("string").fillna("(missing)").astype(str)
    counts = arms.value_counts()
    if by_arm:
        return {arm: int(counts.get(arm, 0)) for arm in by_arm}
    return {str(k): int(v) for k, v in sorted(counts.items())}


def _groups(
    adsl: pd.DataFrame, pop: Population, members: set[str], by_arm: Sequence[str], subjects: str
) -> dict[str, set[str]]:
    """The population's subjects per declared arm (empty when the summary is not by arm);
    a subject whose arm is none of them is an error naming it."""
    if not by_arm or pop.arm is None:
        return {}
    chosen = adsl[adsl["USUBJID"].astype(str).isin(members)]
    arm = chosen[pop.arm].astype("string")
    stray = chosen.loc[~arm.isin(list(by_arm)).fillna(False).to_numpy(dtype=bool), "USUBJID"]
    if len(stray):
        shown = ", ".join(sorted(stray.astype(str))[:5])
        raise EndpointDataError(
            f"{subjects}: {pop.arm} of {pop.name} subject(s) {shown} is none of the arms "
            f"{list(by_arm)} the summary is by"
        )
    ids = chosen["USUBJID"].astype(str)
    return {a: set(ids[(arm == a).fillna(False).to_numpy(dtype=bool)]) for a in by_arm}


# --- the summary ----------------------------------------------------------------------------


def _tte_records(frame: pd.DataFrame, tte: TimeToEvent, members: set[str]) -> pd.DataFrame:
    """Subject, AVAL and CNSR of the endpoint's records in the population."""
    rows = _parameter(frame, tte.dataset, tte.paramcd, members, tte.where)
    aval = pd.to_numeric(rows["AVAL"], errors="coerce").astype(float)
    cnsr = pd.to_numeric(rows["CNSR"], errors="coerce").astype(float)
    negative = aval.notna() & cnsr.notna() & (aval < 0)
    if negative.any():
        shown = ", ".join(sorted(rows.loc[negative, "USUBJID"].astype(str))[:5])
        raise EndpointDataError(
            f"{tte.dataset}: PARAMCD {tte.paramcd} has negative AVAL for {shown}"
        )
    return pd.DataFrame(
        {
            "subject": rows["USUBJID"].astype(str).to_numpy(),
            "aval": aval.to_numpy(),
            "cnsr": cnsr.to_numpy(),
            "param": rows["PARAM"].to_numpy() if "PARAM" in rows.columns else None,
            "reason": rows["EVNTDESC"].to_numpy() if "EVNTDESC" in rows.columns else None,
        }
    )


def _km(
    records: pd.DataFrame, members: set[str], tte: TimeToEvent, pop: Population
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The summary (n, events, landmarks, median) and the curve of the records."""
    usable = records["aval"].notna() & records["cnsr"].notna()
    time = records.loc[usable, "aval"].to_numpy(dtype=float)
    event = (records.loc[usable, "cnsr"] == 0).to_numpy(dtype=bool)
    curve = kaplan_meier(time, event)
    summary = {
        "n": int(time.size),
        "events": int(event.sum()),
        "censored": int((~event).sum()),
        **{lm.key: survival_at(curve, lm.day) for lm in tte.landmarks},
        "median": median_survival(curve),
    }
    detail = {
        f"{pop.key}_subjects_without_record": len(members - set(records["subject"])),
        "records_missing_aval_or_cnsr": int((~usable).sum()),
        "follow_up_max_days": _value(float(time.max())) if time.size else None,
        "at_risk": number_at_risk(curve, tte.risk_table),
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


def _tte(
    frame: pd.DataFrame,
    tte: TimeToEvent,
    pop: Population,
    members: set[str],
    groups: Mapping[str, set[str]],
    subgroups: Mapping[str, Mapping[str, set[str]]] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    records = _tte_records(frame, tte, members)
    summary, detail = _km(records, members, tte, pop)
    if tte.censoring:
        summary["censoring"] = censoring_table(records)
    for key, parts in (subgroups or {}).items():
        results = {}
        for value, group in parts.items():
            mine = records[records["subject"].isin(group)]
            results[value] = _km(mine, group, tte, pop)
            if tte.censoring:
                results[value][0]["censoring"] = censoring_table(mine)
        summary[key] = {value: result[0] for value, result in results.items()}
        detail[key] = {value: result[1] for value, result in results.items()}
    labels = records["param"].dropna()
    detail = {"param": tte.label or (str(labels.iloc[0]) if len(labels) else tte.key), **detail}
    if groups:
        arms = {
            arm: _km(records[records["subject"].isin(group)], group, tte, pop)
            for arm, group in groups.items()
        }
        summary["by_arm"] = {arm: result[0] for arm, result in arms.items()}
        detail["by_arm"] = {arm: result[1] for arm, result in arms.items()}
    return summary, detail


def _rate(
    frame: pd.DataFrame,
    rate: Rate,
    members: set[str],
    groups: Mapping[str, set[str]],
    subgroups: Mapping[str, Mapping[str, set[str]]] | None = None,
) -> dict[str, Any]:
    rows = _parameter(frame, rate.dataset, rate.paramcd, members, rate.where)
    responder = conditions.frame_mask(rate.responder, rows).to_numpy(dtype=bool)
    subject = rows["USUBJID"].astype(str)
    out = exact_rate(int(responder.sum()), len(rows))
    if groups:
        out["by_arm"] = {}
        for arm, group in groups.items():
            mine = subject.isin(group).to_numpy(dtype=bool)
            out["by_arm"][arm] = exact_rate(int(responder[mine].sum()), int(mine.sum()))
    for key, parts in (subgroups or {}).items():
        out[key] = {}
        for value, group in parts.items():
            mine = subject.isin(group).to_numpy(dtype=bool)
            out[key][value] = exact_rate(int(responder[mine].sum()), int(mine.sum()))
    return out


# --- subgroups, follow-up, censoring, shifts --------------------------------------------------


def _subgroup_members(
    adsl: pd.DataFrame, subgroup: Subgroup, members: set[str], subjects: str
) -> dict[str, set[str]]:
    """The members per declared value of the subgroup's variable; a member with another
    value (or none) is an error naming it."""
    if subgroup.var not in adsl.columns:
        raise EndpointDataError(f"{subjects}: missing variable(s) {subgroup.var}")
    chosen = adsl[adsl["USUBJID"].astype(str).isin(members)]
    value = chosen[subgroup.var].astype("string")
    stray = chosen.loc[~value.isin(list(subgroup.values)).fillna(False).to_numpy(dtype=bool)]
    if len(stray):
        shown = ", ".join(sorted(stray["USUBJID"].astype(str))[:5])
        raise EndpointDataError(
            f"{subjects}: {subgroup.var} of subject(s) {shown} is none of "
            f"{list(subgroup.values)} the summary is by"
        )
    ids = chosen["USUBJID"].astype(str)
    return {v: set(ids[(value == v).fillna(False).to_numpy(dtype=bool)]) for v in subgroup.values}


def censoring_table(records: pd.DataFrame) -> list[dict[str, Any]]:
    """Subjects per outcome: each event description (CNSR 0) and each censoring reason (CNSR
    and its description), events first, then censorings by CNSR; percentages of the
    records with a time and a censoring value."""
    usable = records[records["aval"].notna() & records["cnsr"].notna()]
    total = len(usable)
    reason = usable["reason"].astype("string").fillna("(not described)")
    counts = (
        pd.DataFrame({"cnsr": usable["cnsr"].astype(int), "reason": reason})
        .value_counts()
        .reset_index(name="n")
        .sort_values(["cnsr", "n", "reason"], ascending=[True, False, True], kind="stable")
    )
    return [
        {
            "cnsr": int(cnsr),
            "outcome": "event" if cnsr == 0 else "censored",
            "reason": str(why),
            "n": int(n),
            "pct": _pct(int(n), total),
        }
        for cnsr, why, n in zip(counts["cnsr"], counts["reason"], counts["n"], strict=True)
    ]


def median_followup(records: pd.DataFrame) -> dict[str, Any]:
    """Median follow-up by the reverse Kaplan–Meier method (Schemper and Smith 1996): the
    censorings are the events and the events censor; R: ``survfit(Surv(AVAL, CNSR) ~ 1)``
    with its median and log-log CI."""
    usable = records["aval"].notna() & records["cnsr"].notna()
    time = records.loc[usable, "aval"].to_numpy(dtype=float)
    censored = (records.loc[usable, "cnsr"] != 0).to_numpy(dtype=bool)
    curve = kaplan_meier(time, censored)
    return {"n": int(time.size), "censored": int(censored.sum()), **median_survival(curve)}


def _followup(
    spec: EndpointSpec,
    data: Mapping[str, pd.DataFrame],
    members: set[str],
    subgroups: Mapping[str, Mapping[str, set[str]]],
) -> dict[str, Any]:
    (tte,) = [t for t in spec.time_to_event if t.key == spec.median_followup]
    records = _tte_records(data[tte.dataset], tte, members)
    out: dict[str, Any] = {"endpoint": tte.key, **median_followup(records)}
    for key, parts in subgroups.items():
        out[key] = {
            value: median_followup(records[records["subject"].isin(group)])
            for value, group in parts.items()
        }
    return out


def _shift_counts(entry: pd.Series, best: pd.Series, scale: Sequence[str]) -> dict[str, Any]:
    """Improved / unchanged / worse (by scale position, best first) among the subjects with
    both categories on the scale, the improved with an exact CI, and the shift table."""
    rank = {v: i for i, v in enumerate(scale)}
    a = entry.map(rank)
    b = best.map(rank)
    both = a.notna() & b.notna()
    n = int(both.sum())
    improved = int((b[both] < a[both]).sum())
    worse = int((b[both] > a[both]).sum())
    table = {e: {v: int(((entry == e) & (best == v) & both).sum()) for v in scale} for e in scale}
    return {
        "n": n,
        "not_assessable": int((~both).sum()),
        "improved": exact_rate(improved, n),
        "unchanged": n - improved - worse,
        "worse": worse,
        "table": table,
    }


def _shift(
    shift: Shift,
    frame: pd.DataFrame,
    adsl: pd.DataFrame,
    members: set[str],
    subgroups: Mapping[str, Mapping[str, set[str]]],
    subjects: str,
) -> dict[str, Any]:
    if not shift.on_record and shift.baseline not in adsl.columns:
        raise EndpointDataError(f"{subjects}: missing variable(s) {shift.baseline}")
    if shift.select is not None:  # the one record per subject the result is read from
        _require(frame, shift.dataset, sorted(conditions.subjects(shift.select)))
        chosen = conditions.frame_mask(shift.select, frame).to_numpy(dtype=bool)
        other = (frame["PARAMCD"].astype("string") != shift.paramcd).fillna(True)
        frame = frame[chosen | other.to_numpy(dtype=bool)]
    rows = _parameter(frame, shift.dataset, shift.paramcd, members, shift.where)
    _require(rows, shift.dataset, [shift.value, *([shift.baseline] if shift.on_record else [])])
    subject = rows["USUBJID"].astype(str)
    if shift.on_record:
        entry = rows[shift.baseline].astype("string").to_numpy()
    else:
        by_subject = adsl.set_index(adsl["USUBJID"].astype(str))[shift.baseline]
        entry = by_subject.astype("string").reindex(subject).to_numpy()
    pairs = pd.DataFrame(
        {
            "subject": subject.to_numpy(),
            "entry": entry,
            "best": rows[shift.value].astype("string").to_numpy(),
        }
    )
    out = _shift_counts(pairs["entry"], pairs["best"], shift.scale)
    for key, parts in subgroups.items():
        out[key] = {}
        for value, group in parts.items():
            mine = pairs[pairs["subject"].isin(group)]
            out[key][value] = _shift_counts(mine["entry"], mine["best"], shift.scale)
    return out


def _pct(n: int, denominator: int) -> float | None:
    return 100.0 * n / denominator if denominator else None


def ae_incidence(
    events: AdverseEvents,
    adae: pd.DataFrame,
    members: set[str],
    groups: Mapping[str, set[str]] | None = None,
) -> list[dict[str, Any]]:
    """Subjects (not events) of the safety population (``members``) with treatment-emergent
    AEs, any grade and high grade (when the declaration names a grade), overall, by SOC and
    by PT within SOC, and per arm of ``groups``. SOCs, and PTs within a SOC, are in
    descending any-grade frequency, ties alphabetical; missing coding shows as UNCODED."""
    te = adae[conditions.frame_mask(events.treatment_emergent, adae).to_numpy(dtype=bool)]
    te = te[te["USUBJID"].astype(str).isin(members)]
    grade = events.grade
    high = (
        (pd.to_numeric(te[grade.var], errors="coerce") >= grade.at_least)
        .fillna(False)
        .to_numpy(dtype=bool)
        if grade
        else np.zeros(len(te), dtype=bool)
    )
    frame = pd.DataFrame(
        {
            "subject": te["USUBJID"].astype(str).to_numpy(),
            "soc": te["AEBODSYS"].astype("string").fillna(UNCODED).astype(str).to_numpy(),
            "pt": te["AEDECOD"].astype("string").fillna(UNCODED).astype(str).to_numpy(),
            "high": high,
        }
    )
    high_key = f"grade{grade.at_least}plus" if grade else None

    def counts(part: pd.DataFrame, denominator: int) -> dict[str, Any]:
        anyg = int(part["subject"].nunique())
        out: dict[str, Any] = {
            "subjects_any_grade": anyg,
            "pct_any_grade": _pct(anyg, denominator),
        }
        if high_key:
            n = int(part.loc[part["high"], "subject"].nunique())
            out |= {f"subjects_{high_key}": n, f"pct_{high_key}": _pct(n, denominator)}
        return out

    def row(soc: str, pt: str | None, part: pd.DataFrame) -> dict[str, Any]:
        out = {"soc": soc, "pt": pt, **counts(part, len(members))}
        if groups:
            out["by_arm"] = {
                arm: counts(part[part["subject"].isin(group)], len(group))
                for arm, group in groups.items()
            }
        return out

    def ordered(part: pd.DataFrame, by: str) -> list[str]:
        counts = part.groupby(by)["subject"].nunique()
        return sorted(counts.index.astype(str), key=lambda name: (-int(counts[name]), name))

    rows = [row(ANY_TEAE, None, frame)]
    for soc in ordered(frame, "soc"):
        in_soc = frame[frame["soc"] == soc]
        rows.append(row(soc, None, in_soc))
        rows.extend(row(soc, pt, in_soc[in_soc["pt"] == pt]) for pt in ordered(in_soc, "pt"))
    return rows


# --- safety summary: adverse-event rows, exposure -------------------------------------------


def _safety_needs(spec: EndpointSpec) -> dict[str, list[str]]:
    """The variables the adverse-event rows and the exposure summary read, per dataset."""
    needs: dict[str, list[str]] = {}
    if (events := spec.adverse_events) and events.rows:
        needs[events.dataset] = sorted(
            {v for r in events.rows for v in conditions.subjects(r.where)}
        )
    if exposure := spec.exposure:
        needs.setdefault(exposure.dataset, []).extend(["USUBJID", "PARAMCD", "PARAM", "AVAL"])
    return needs


def ae_rows(
    events: AdverseEvents,
    adae: pd.DataFrame,
    members: set[str],
    groups: Mapping[str, set[str]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per declared row (serious, fatal, leading to discontinuation, of special interest):
    subjects of the safety population (``members``) with >= 1 treatment-emergent event
    where the row's condition holds, n and % of the population (and per arm of ``groups``)."""
    te = adae[conditions.frame_mask(events.treatment_emergent, adae).to_numpy(dtype=bool)]
    te = te[te["USUBJID"].astype(str).isin(members)]
    out: dict[str, dict[str, Any]] = {}
    for row in events.rows:
        hit = conditions.frame_mask(row.where, te).to_numpy(dtype=bool)
        subjects = set(te.loc[hit, "USUBJID"].astype(str))
        result: dict[str, Any] = {
            "label": row.label,
            "subjects": len(subjects),
            "pct": _pct(len(subjects), len(members)),
        }
        if groups:
            result["by_arm"] = {
                arm: {"subjects": len(subjects & g), "pct": _pct(len(subjects & g), len(g))}
                for arm, g in groups.items()
            }
        out[row.key] = result
    return out


def _describe(values: pd.Series) -> dict[str, Any]:
    numbers = values.dropna().astype(float)
    if numbers.empty:
        return {"n": 0, "mean": None, "median": None, "min": None, "max": None}
    return {
        "n": len(numbers),
        "mean": float(numbers.mean()),
        "median": float(numbers.median()),
        "min": float(numbers.min()),
        "max": float(numbers.max()),
    }


def exposure_summary(
    exposure: Exposure,
    frame: pd.DataFrame,
    members: set[str],
    groups: Mapping[str, set[str]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per declared parameter: n, mean, median, min and max of AVAL over the safety
    population's subjects with a record (a subject without one is not counted in n)."""
    out: dict[str, dict[str, Any]] = {}
    for p in exposure.parameters:
        rows = _parameter(frame, exposure.dataset, p.paramcd, members, f"exposure.{p.key}")
        params = rows["PARAM"].dropna().astype(str)
        label = p.label or (str(params.iloc[0]) if len(params) else p.paramcd)
        values = pd.to_numeric(rows["AVAL"], errors="coerce")
        result: dict[str, Any] = {"paramcd": p.paramcd, "label": label, **_describe(values)}
        if groups:
            subject = rows["USUBJID"].astype(str)
            result["by_arm"] = {
                arm: _describe(values[subject.isin(g)]) for arm, g in groups.items()
            }
        out[p.key] = result
    return out


def _safety_conventions(spec: EndpointSpec) -> dict[str, Any]:
    """The conventions of the adverse-event rows and the exposure summary, when declared."""
    out: dict[str, Any] = {}
    saf = spec.safety
    if (events := spec.adverse_events) and events.rows:
        rows = "; ".join(f"{r.key}: {_words(r.where)}" for r in events.rows)
        out["ae_summary"] = (
            f"subjects with >= 1 treatment-emergent AE meeting the row's condition ({rows}) "
            f"among {saf.name} subjects"
        )
    if exposure := spec.exposure:
        out["exposure"] = (
            f"n, mean, median, min, max of {exposure.dataset} AVAL per PARAMCD among {saf.name} "
            "subjects with a record"
        )
    return out


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


def _words(cond: conditions.Condition) -> str:
    """A condition as the method text writes it: ``TRTEMFL = Y``."""
    return conditions.describe(cond, str, str)


def conventions(spec: EndpointSpec) -> dict[str, Any]:
    """How each figure is computed, in words, for the JSON's readers."""
    eff, saf = spec.efficacy, spec.safety
    out: dict[str, Any] = {"time_unit": "days", "confidence_level": CONF_LEVEL}
    if spec.time_to_event:
        out["km"] = "Kaplan-Meier with Greenwood standard errors (statsmodels SurvfuncRight)"
        out["km_ci"] = (
            "log-log: exp(-exp(log(-log S) -/+ z*se(log S)/log S)), as R survival "
            "survfit(conf.type='log-log')"
        )
        for lm in spec.landmarks:
            out[lm.key] = (
                f"step value at the last event time <= {lm.day} days; null when follow-up ends "
                f"before {lm.day} days"
            )
        out["median"] = (
            "R print.survfit: first time S < 0.5 (midpoint to the next drop when S "
            "equals 0.5); CI limits by the same rule on the lower and upper confidence curves; "
            "null when a curve never reaches 0.5"
        )
    if spec.rates:
        out["rates"] = (
            f"Clopper-Pearson exact CI; denominator = {eff.name} subjects with a record for "
            "the parameter"
        )
    if events := spec.adverse_events:
        grade = events.grade
        out["ae_incidence"] = (
            f"subjects with >= 1 treatment-emergent AE ({_words(events.treatment_emergent)}) "
            f"among {saf.name} subjects ({spec.subjects} {saf.flag} = Y); "
            + (f"grade {grade.at_least}+ = {grade.var} >= {grade.at_least}; " if grade else "")
            + "ordered by descending any-grade frequency within level, ties alphabetical"
        )
    out |= _safety_conventions(spec)
    out["populations"] = (
        f"{eff.name} and {saf.name} subjects from {spec.subjects} {eff.flag} / {saf.flag} = Y"
    )
    if spec.rates:
        out["rate_parameters"] = {rate.key: rate.paramcd for rate in spec.rates.endpoints}
    if con := spec.concordance:
        out["concordance"] = (
            f"{con.assessment[0]} against {con.assessment[1]} per assessment (same subject "
            f"and ADT), {con.subject[0]} against {con.subject[1]} per subject; {eff.name} "
            "subjects, pairs with both on the scale; Cohen's unweighted kappa = (po - pe) / "
            "(1 - pe) over the scale's categories, null when pe = 1"
        )
    if spec.by_arm:
        out["by_arm"] = (
            f"each endpoint also per arm ({', '.join(spec.by_arm)}): {eff.name} subjects by "
            f"{spec.subjects} {eff.arm}, {saf.name} subjects by {spec.subjects} {saf.arm}; "
            "percentages of the arm's subjects"
        )
    return out


# --- concordance of two responses -------------------------------------------------------------


def cohen_kappa(first: Sequence[str], second: Sequence[str], scale: Sequence[str]) -> float | None:
    """Cohen's unweighted kappa of paired categories over `scale`: (po - pe) / (1 - pe),
    po the share of pairs that agree, pe the agreement expected by chance from the two
    margins; None without pairs or when pe is 1 (both always give one same category)."""
    n = len(first)
    if n == 0:
        return None
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    chance = sum((list(first).count(k) / n) * (list(second).count(k) / n) for k in scale)
    return None if chance == 1 else (observed - chance) / (1 - chance)


def _agreement(pairs: pd.DataFrame, scale: Sequence[str]) -> dict[str, Any]:
    """n, agreeing pairs, percent agreement, kappa and the discordant pairs listed."""
    derived, investigator = list(pairs["derived"]), list(pairs["investigator"])
    agree = sum(a == b for a, b in zip(derived, investigator, strict=True))
    n = len(pairs)
    off = pairs[pairs["derived"] != pairs["investigator"]]
    return {
        "n": n,
        "agree": agree,
        "percent_agreement": _pct(agree, n),
        "kappa": _value(k)
        if (k := cohen_kappa(derived, investigator, scale)) is not None
        else None,
        "discordant": [
            {
                "USUBJID": str(subject),
                "AVISIT": None if pd.isna(visit) else str(visit),
                "ADT": None if pd.isna(day) else str(day)[:10],
                "derived": str(ours),
                "investigator": str(theirs),
            }
            for subject, visit, day, ours, theirs in zip(
                off["subject"],
                off["visit"],
                off["date"].astype("string"),
                off["derived"],
                off["investigator"],
                strict=True,
            )
        ],
    }


def _responses(
    spec: Concordance, frame: pd.DataFrame, paramcd: str, members: set[str], level: str
) -> pd.DataFrame:
    """The population's records of `paramcd` (any number per subject; per assessment
    with their ADT and AVISIT)."""
    dated = ["ADT", "AVISIT"] if level == "assessment" else []
    _require(frame, spec.dataset, ["PARAMCD", "USUBJID", "AVALC", *dated])
    rows = frame[(frame["PARAMCD"].astype("string") == paramcd).fillna(False).to_numpy(dtype=bool)]
    if rows.empty:
        held = sorted(set(frame["PARAMCD"].dropna().astype(str)))
        raise EndpointDataError(
            f"{spec.dataset}: no records of PARAMCD {paramcd}, which {spec.where} reads "
            f"(it holds {held})"
        )
    rows = rows[rows["USUBJID"].astype(str).isin(members)]
    missing = pd.Series(pd.NaT, index=rows.index, dtype="datetime64[ns]")
    return pd.DataFrame(
        {
            "subject": rows["USUBJID"].astype(str).to_numpy(),
            "date": pd.to_datetime(rows["ADT"]).to_numpy() if "ADT" in rows else missing,
            "visit": rows["AVISIT"].to_numpy() if "AVISIT" in rows else None,
            "value": rows["AVALC"].astype("string").str.strip().to_numpy(),
        }
    )


def concordance_pairs(
    spec: Concordance, frame: pd.DataFrame, members: set[str], level: str
) -> pd.DataFrame:
    """The pairs compared at `level` (assessment: the two parameters' records of one subject
    and ADT; subject: the two best responses of a subject), both on the scale; in subject
    and date order, the investigator's visit."""
    derived, investigator = getattr(spec, level)
    ours, theirs = (_responses(spec, frame, p, members, level) for p in (derived, investigator))
    on = ["subject", "date"] if level == "assessment" else ["subject"]
    ours, theirs = (f.drop_duplicates(on) for f in (ours, theirs))
    pairs = theirs.merge(ours.drop(columns=["visit"]), on=on, suffixes=("_inv", "_der"))
    if level == "subject":
        pairs = pairs.rename(columns={"date_inv": "date"})
    pairs = pairs.rename(columns={"value_inv": "investigator", "value_der": "derived"})
    scale = list(spec.scale)
    pairs = pairs[pairs["investigator"].isin(scale) & pairs["derived"].isin(scale)]
    return pairs.sort_values(["subject", "date"], kind="stable").reset_index(drop=True)


def concordance(
    spec: Concordance,
    frame: pd.DataFrame,
    members: set[str],
    subgroups: Mapping[str, Mapping[str, set[str]]],
) -> dict[str, Any]:
    """Agreement of the derived and the investigator's response per assessment and per
    subject (best response), overall and per subgroup value."""
    levels = {
        level: concordance_pairs(spec, frame, members, level) for level in ("assessment", "subject")
    }
    out: dict[str, Any] = {
        "label": spec.label,
        "scale": list(spec.scale),
        **{level: _agreement(pairs, spec.scale) for level, pairs in levels.items()},
    }
    for key, parts in subgroups.items():
        out[key] = {
            value: {
                level: _agreement(pairs[pairs["subject"].isin(group)], spec.scale)
                for level, pairs in levels.items()
            }
            for value, group in parts.items()
        }
    return out


def summarise(
    spec: EndpointSpec,
    data: Mapping[str, pd.DataFrame],
    *,
    data_cut: date | None = None,
) -> dict[str, Any]:
    """The endpoint summary of the datasets ``data`` (by name) as ``spec`` declares it, as
    a JSON-ready dict (see the module docstring for conventions)."""
    _inputs(spec, data)
    adsl = data[spec.subjects]
    eff, saf = spec.efficacy, spec.safety
    itt = _subjects(adsl, eff.flag)
    safety = _subjects(adsl, saf.flag)
    itt_groups = _groups(adsl, eff, itt, spec.by_arm, spec.subjects)
    safety_groups = _groups(adsl, saf, safety, spec.by_arm, spec.subjects)
    subgroups = {sg.key: _subgroup_members(adsl, sg, itt, spec.subjects) for sg in spec.subgroups}

    out: dict[str, Any] = {
        "study": _study(adsl),
        "data_cut": _iso(data_cut),
        "population": {
            eff.key: len(itt),
            saf.key: len(safety),
            f"{eff.key}_by_arm": _arms(adsl, eff, spec.by_arm),
            f"{saf.key}_by_arm": _arms(adsl, saf, spec.by_arm),
            **{
                f"{eff.key}_{key}": {v: len(group) for v, group in parts.items()}
                for key, parts in subgroups.items()
            },
        },
    }
    curves = {}
    for tte in spec.time_to_event:
        out[tte.key], curves[tte.key] = _tte(
            data[tte.dataset], tte, eff, itt, itt_groups, subgroups
        )
    if spec.median_followup:
        out["median_followup"] = _followup(spec, data, itt, subgroups)
    if spec.rates:
        out["rates"] = {
            rate.key: _rate(data[rate.dataset], rate, itt, itt_groups, subgroups)
            for rate in spec.rates.endpoints
        }
    if spec.shifts:
        members = {eff.key: itt, saf.key: safety}
        by_population = {eff.key: subgroups}
        if any(s.population == "safety" for s in spec.shifts):
            by_population[saf.key] = {
                sg.key: _subgroup_members(adsl, sg, safety, spec.subjects) for sg in spec.subgroups
            }
        out["shifts"] = {}
        for shift in spec.shifts:
            pop = eff if shift.population == "efficacy" else saf
            out["shifts"][shift.key] = _shift(
                shift, data[shift.dataset], adsl, members[pop.key], by_population[pop.key],
                spec.subjects,
            )  # fmt: skip
    if spec.concordance:
        out["concordance"] = concordance(
            spec.concordance, data[spec.concordance.dataset], itt, subgroups
        )
    if events := spec.adverse_events:
        out["ae_incidence"] = ae_incidence(events, data[events.dataset], safety, safety_groups)
        if events.rows:
            out["ae_summary"] = ae_rows(events, data[events.dataset], safety, safety_groups)
    if exposure := spec.exposure:
        out["exposure"] = exposure_summary(exposure, data[exposure.dataset], safety, safety_groups)
    if curves:
        out["km_curves"] = curves
    out["conventions"] = conventions(spec)
    return out


# --- the plot -------------------------------------------------------------------------------

# One colour per curve (matplotlib's tab10): a single curve is drawn in the first.
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
LANDMARK_COLOUR = "#d62728"


def _steps(rows: Sequence[Mapping[str, Any]]) -> tuple[Array, Array, Array, Array]:
    """Time, S, lower and upper of a curve's rows, from (0, 1)."""
    nan = float("nan")

    def column(key: str) -> Array:
        return np.array([1.0] + [nan if r[key] is None else float(r[key]) for r in rows])

    x = np.array([0.0] + [float(r["time"]) for r in rows])
    return x, column("surv"), column("lower"), column("upper")


def km_plot_png(
    title: str,
    curves: Mapping[str | None, Mapping[str, Any]],
    landmarks: Sequence[Landmark] = (),
    risk_days: Sequence[int] = (0,),
) -> bytes:
    """A Kaplan–Meier plot (step curve, censor ticks, 95% CI band, a dashed marker per
    landmark day, numbers at risk on ``risk_days`` under the x axis) as PNG bytes, without
    timestamps or versions in the file. ``curves`` maps an arm to its curve (the ``curve``
    and ``at_risk`` of endpoints.json); one curve keyed None is the endpoint's alone."""
    single = list(curves) == [None]
    arms = len(curves)
    if single:
        fig = Figure(figsize=(7.5, 4.8), dpi=100)
        plot_box, risk_box, title_y = (0.1, 0.3, 0.86, 0.56), (0.1, 0.05, 0.86, 0.1), 0.965
    else:  # the plot's inches, under it a row of numbers at risk per arm, named at left
        risk_rows = 0.25 * arms
        height = 0.2 + risk_rows + 0.75 + 2.688 + 0.45
        fig = Figure(figsize=(7.5, height), dpi=100)
        plot_box = (0.26, (0.95 + risk_rows) / height, 0.7, 2.688 / height)
        risk_box = (0.26, 0.2 / height, 0.7, risk_rows / height)
        title_y = 1 - 0.12 / height
    FigureCanvasAgg(fig)
    ax = fig.add_axes(plot_box)
    risk_ax = fig.add_axes(risk_box, sharex=ax)
    last = max(
        (float(r["time"]) for detail in curves.values() for r in detail.get("curve", [])),
        default=0.0,
    )
    xmax = max(float(risk_days[-1]), last) * 1.03

    drawn = False
    for i, (arm, detail) in enumerate(curves.items()):
        rows = list(detail.get("curve", []))
        if not rows:
            continue
        drawn = True
        colour = COLOURS[i % len(COLOURS)]
        x, surv, low, high = _steps(rows)
        ax.fill_between(
            x,
            low,
            high,
            step="post",
            color=colour,
            alpha=0.18 if single else 0.1,
            linewidth=0,
            label="95% CI (log-log)" if single else None,
        )
        ax.step(x, surv, where="post", color=colour, linewidth=1.8,
                label="Kaplan–Meier" if single else arm)  # fmt: skip
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
                color=colour,
                label="Censored" if single else None,
            )
    if not drawn:
        ax.text(0.5, 0.5, "No subjects with a record", transform=ax.transAxes, ha="center")
    for lm in landmarks:
        ax.axvline(
            lm.day, color=LANDMARK_COLOUR, linestyle="--", linewidth=1.0,
            label=f"{lm.label} ({lm.day} days)",
        )  # fmt: skip
    ax.set_xlim(0, xmax)
    ax.set_ylim(0, 1.03)
    step = risk_days[-1] - risk_days[-2] if len(risk_days) > 1 else 365
    ticks = [*risk_days, *range(risk_days[-1] + step, int(xmax) + 1, step)]
    ax.set_xticks(ticks)
    ax.set_xlabel("Days")
    ax.set_ylabel("Probability without event")
    fig.text(0.53, title_y, title, ha="center", va="top", fontsize=12)
    ax.grid(True, color="#dddddd", linewidth=0.6)
    if single:
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4, fontsize=8, frameon=False)
    else:  # arm names are long: in the corner survival curves leave empty
        ax.legend(loc="upper right", fontsize=8, framealpha=0.9)

    risk_ax.set_ylim(0, 1)
    risk_ax.axis("off")
    for i, (arm, detail) in enumerate(curves.items()):
        y = 0.4 if single else 1 - (i + 0.5) / arms
        style: dict[str, Any] = {} if single else {"color": COLOURS[i % len(COLOURS)]}
        if not single:
            risk_ax.text(
                -0.02, y, str(arm), transform=risk_ax.get_yaxis_transform(), ha="right",
                va="center", fontsize=8, **style,
            )  # fmt: skip
        for item in detail.get("at_risk", []):
            risk_ax.text(
                float(item["day"]), y, str(int(item["n"])), ha="center", va="center", fontsize=9,
                **style,
            )  # fmt: skip
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


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _attributive(label: str) -> str:
    """A landmark's label as it stands before a noun: "2 years" -> "2-year"."""
    found = re.fullmatch(r"(\d+(?:\.\d+)?) (day|week|month|year)s?", label)
    return f"{found[1]}-{found[2]}" if found else label


def _methods(spec: EndpointSpec) -> list[str]:
    """The report's method text, sentence by sentence, for what the spec declares."""
    eff, saf = spec.efficacy, spec.safety
    out = []
    if spec.time_to_event:
        out += [
            "Kaplan–Meier estimates of the probability of remaining free of the event over "
            "time, with standard errors by Greenwood's formula.",
            "95% confidence intervals for the curve use the log-log transformation, as R's "
            'survival package does with conf.type = "log-log".',
        ]
        out += [
            f"The {_attributive(lm.label)} figure is the value of the curve at day {lm.day}; "
            f"it is not given when follow-up ends before day {lm.day}."
            for lm in spec.landmarks
        ]
        out.append(
            "The median is the first time the curve falls below 50% (where the curve sits "
            "exactly at 50%, the midpoint to its next drop). Its confidence interval runs from "
            "where the lower confidence curve crosses 50% to where the upper one does; NR means "
            "that curve never reached 50%."
        )
    if spec.rates:
        said = "; ".join(f"{r.key}: {_words(r.responder)}" for r in spec.rates.endpoints)
        method = spec.rates.method or (
            f"responders ({said}) among {eff.name} subjects with a record for the parameter"
        )
        out.append(f"Rates: {method}, with exact (Clopper–Pearson) 95% confidence intervals.")
    if events := spec.adverse_events:
        grade = events.grade
        out.append(
            "Adverse events: subjects with at least one treatment-emergent event in the "
            f"{saf.name} population"
            + (f"; grade {grade.at_least} or higher by the recorded {grade.label}" if grade else "")
            + "."
        )
    out += _safety_methods(spec)
    if spec.by_arm:
        out.append(
            f"By arm: {eff.name} subjects by {spec.subjects} {eff.arm}, {saf.name} subjects by "
            f"{spec.subjects} {saf.arm}; percentages are of the arm's subjects."
        )
    out += [
        f"By {sg.label.lower()}: every efficacy result also for the {eff.name} subjects of each "
        f"value of {spec.subjects} {sg.var} ({', '.join(sg.values)})."
        for sg in spec.subgroups
    ]
    if spec.median_followup:
        out.append(
            f"Median follow-up: reverse Kaplan–Meier on the {spec.median_followup} records "
            "(censorings counted as events and events as censorings), with its log-log "
            "confidence interval."
        )
    if any(t.censoring for t in spec.time_to_event):
        out.append(
            "Censoring tables: subjects per event description and per censoring reason (the "
            "CNSR value and its description), as percentages of the endpoint's subjects."
        )
    if con := spec.concordance:
        out.append(
            f"{con.label}: the {con.derived} response ({con.dataset} {con.assessment[0]}) "
            f"against the {con.investigator}'s ({con.assessment[1]}) at each assessment "
            f"(same subject and date) and the best responses per subject ({con.subject[0]} "
            f"against {con.subject[1]}), {eff.name} subjects, pairs with both on the scale "
            f"{', '.join(con.scale)}: percent agreement and Cohen's unweighted kappa over "
            "those categories ((observed - chance agreement) / (1 - chance agreement))."
        )
    out += [_shift_method(spec, s) for s in spec.shifts]
    return out


def _shift_method(spec: EndpointSpec, s: Shift) -> str:
    pop = spec.efficacy if s.population == "efficacy" else spec.safety
    if s.on_record:
        read = (
            f"{s.dataset} {s.baseline} against {s.value} of the {s.paramcd} record where "
            f"{_words(s.select) if s.select else 'one record'} ({pop.name} subjects)"
        )
    else:
        read = f"{s.paramcd} of {s.dataset} against {spec.subjects} {s.baseline}"
    return (
        f"{s.label}: {read} on the scale {', '.join(s.scale)} (best first); improved = a "
        "better category than at entry, among subjects with both, with an exact "
        "(Clopper–Pearson) 95% CI."
    )


def _safety_methods(spec: EndpointSpec) -> list[str]:
    out = []
    if (events := spec.adverse_events) and events.rows:
        out.append(
            "Adverse-event summary rows: subjects with at least one treatment-emergent event "
            "meeting the row's condition ("
            + "; ".join(f"{r.label}: {_words(r.where)}" for r in events.rows)
            + ")."
        )
    if exposure := spec.exposure:
        out.append(
            f"{exposure.title}: number of {spec.safety.name} subjects with a value, mean, "
            "median and range of each parameter."
        )
    return out


def _safety_tables(spec: EndpointSpec, summary: Mapping[str, Any]) -> dict[str, Any]:
    """The rows of the adverse-event summary and exposure tables (empty when undeclared):
    (css, name, cells) with the cells per arm then overall when the summary is by arm."""
    saf, pop = spec.safety, summary["population"]
    arms = list(pop[f"{saf.key}_by_arm"]) if spec.by_arm else []
    ae, exposure = [], []
    for row in summary.get("ae_summary", {}).values():
        parts = [*(row["by_arm"][arm] for arm in arms), row]
        ae.append(("", row["label"], [_n_pct(p["subjects"], p["pct"]) for p in parts]))
    for item in summary.get("exposure", {}).values():
        parts = [*(item["by_arm"][arm] for arm in arms), item]
        exposure.append(("", item["label"], [_stats(p) for p in parts]))
    heads = [*arms, "All arms"] if arms else ["All subjects"]
    return {
        "ae_rows": ae,
        "exposure": exposure,
        "exposure_title": spec.exposure.title if spec.exposure else "",
        "ae_rows_title": spec.adverse_events.rows_title if spec.adverse_events else "",
        "safety_heads": heads,
    }


def _stats(part: Mapping[str, Any]) -> str:
    if not part["n"]:
        return "n=0"
    return f"n={part['n']}; median {part['median']:.1f} ({part['min']:.1f}-{part['max']:.1f})"


def _km_cells(tte: TimeToEvent, result: Mapping[str, Any], spec: EndpointSpec) -> list[str]:
    cells = []
    for lm in spec.landmarks:
        km = result.get(lm.key)
        if km is None:  # a landmark of another endpoint
            cells.append("–")
        elif km["estimate"] is None:
            cells.append(f"not estimable (follow-up shorter than {lm.day} days)")
        else:
            cells.append(f"{_prob(km['estimate'])} [{_prob(km['lower'])} to {_prob(km['upper'])}]")
    return cells


def _tte_row(name: str, css: str, result: Mapping[str, Any], cells: list[str]) -> dict[str, Any]:
    med = result["median"]
    return {
        "name": name, "css": css, "n": int(result["n"]), "events": int(result["events"]),
        "censored": int(result["censored"]), "km": cells,
        "median": f"{_days(med['estimate'])} [{_days(med['lower'])} to {_days(med['upper'])}]",
    }  # fmt: skip


def _rate_row(name: str, css: str, rate: Mapping[str, Any]) -> tuple[str, ...]:
    return (
        css,
        name,
        f"{int(rate['count'])} / {int(rate['denominator'])}",
        _prob(rate["rate"]),
        f"{_prob(rate['lower'])} to {_prob(rate['upper'])}",
    )


def _ae_table(
    events: AdverseEvents, spec: EndpointSpec, summary: Mapping[str, Any]
) -> tuple[list[str], list[tuple[str, str, list[str]]]]:
    """Headings and rows (css, name, cells) of the adverse-event table: any grade (and high
    grade) overall, or per arm and for all arms when the summary is by arm."""
    grade = events.grade
    levels = [("any_grade", "any grade")]
    if grade:
        levels.append((f"grade{grade.at_least}plus", f"grade {grade.at_least} or higher"))
    pop, saf = summary["population"], spec.safety
    arms = list(pop[f"{saf.key}_by_arm"].items()) if spec.by_arm else []
    if arms:
        columns = [*arms, ("All arms", int(pop[saf.key]))]
        heads = [f"{arm} (N={n}): {words}" for arm, n in columns for _, words in levels]
    else:
        heads = [_capital(words) for _, words in levels]
    rows = []
    for item in summary["ae_incidence"]:
        if item["soc"] == ANY_TEAE and item["pt"] is None:
            css, name = "total", "Any treatment-emergent adverse event"
        elif item["pt"] is None:
            css, name = "soc", item["soc"]
        else:
            css, name = "term", item["pt"]
        parts = [*(item["by_arm"][arm] for arm, _ in arms), item]
        cells = [
            _n_pct(part[f"subjects_{level}"], part[f"pct_{level}"])
            for part in parts
            for level, _ in levels
        ]
        rows.append((css, name, cells))
    return heads, rows


def _columns(spec: EndpointSpec, result: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A result overall and per subgroup value: (heading, part)."""
    return [("All", result)] + [
        (f"{sg.label}: {value}", part)
        for sg in spec.subgroups
        for value, part in result[sg.key].items()
    ]


def _efficacy_extras(spec: EndpointSpec, summary: Mapping[str, Any]) -> dict[str, Any]:
    """The report's censoring tables, median follow-up and shift tables (none when the
    declaration asks for none)."""
    censoring = []
    for tte in spec.time_to_event:
        if not tte.censoring:
            continue
        columns = _columns(spec, summary[tte.key])
        keys = dict.fromkeys(
            (row["cnsr"], row["outcome"], row["reason"])
            for _, part in columns
            for row in part["censoring"]
        )
        rows = []
        for cnsr, outcome, reason in sorted(keys, key=lambda k: k[0]):
            cells = []
            for _, part in columns:
                hit = [r for r in part["censoring"] if (r["cnsr"], r["reason"]) == (cnsr, reason)]
                cells.append(_n_pct(hit[0]["n"], hit[0]["pct"]) if hit else "0")
            rows.append((outcome, cnsr, reason, cells))
        title = f"{summary['km_curves'][tte.key]['param']} ({tte.key})"
        censoring.append((title, [head for head, _ in columns], rows))
    followup = []
    if spec.median_followup:
        for head, part in _columns(spec, summary["median_followup"]):
            med = f"{_days(part['estimate'])} [{_days(part['lower'])} to {_days(part['upper'])}]"
            followup.append((head, int(part["n"]), med))
    shifts = []
    for shift in spec.shifts:
        result = summary["shifts"][shift.key]
        lines = []
        for head, part in _columns(spec, result):
            imp = part["improved"]
            lines.append(
                (head, int(part["n"]), _n_pct(imp["count"], None if imp["rate"] is None
                 else 100 * imp["rate"]), f"{_prob(imp['lower'])} to {_prob(imp['upper'])}",
                 int(part["unchanged"]), int(part["worse"]), int(part["not_assessable"]))
            )  # fmt: skip
        tables = [
            (head, [(e, [part["table"][e][b] for b in shift.scale]) for e in shift.scale])
            for head, part in _columns(spec, result)
        ]
        pop = spec.efficacy if shift.population == "efficacy" else spec.safety
        heading = f"{shift.heads[0]} \\ {shift.heads[1]}"
        shifts.append((shift.label, pop.name, heading, list(shift.scale), lines, tables))
    return {
        "censoring": censoring,
        "followup": followup,
        "followup_endpoint": spec.median_followup or "",
        "shifts": shifts,
        **_concordance_tables(spec, summary),
    }


def _concordance_tables(spec: EndpointSpec, summary: Mapping[str, Any]) -> dict[str, Any]:
    """The concordance table (a row per level and column: n, agreement, kappa) and the
    discordant pairs listed (overall)."""
    con = spec.concordance
    if con is None:
        return {"concordance": None}
    result = summary["concordance"]
    levels = (("assessment", "Per assessment"), ("subject", "Per subject (best response)"))
    rows = []
    for level, name in levels:
        for head, part in _columns(spec, result):
            got = part[level]
            kappa = "NE" if got["kappa"] is None else f"{got['kappa']:.3f}"
            rows.append(
                (name, head, int(got["n"]), _n_pct(got["agree"], got["percent_agreement"]), kappa)
            )
    listed = [
        (name, d["USUBJID"], d["AVISIT"] or "", d["ADT"] or "", d["derived"], d["investigator"])
        for level, name in levels
        for d in result[level]["discordant"]
    ]
    return {
        "concordance": {
            "label": con.label,
            "derived": con.derived,
            "investigator": con.investigator,
            "rows": rows,
            "discordant": listed,
        }
    }


def render_html(spec: EndpointSpec, summary: Mapping[str, Any], *, run: str = "") -> str:
    """The report page of ``summary`` (made by :func:`summarise` from ``spec``):
    self-contained (CSS inline, plots as base64 PNG)."""
    eff, saf = spec.efficacy, spec.safety
    pop = summary["population"]
    populations = [
        (eff.label, int(pop[eff.key]), ""),
        (saf.label, int(pop[saf.key]), ""),
        *((f"{_capital(eff.name)}, {arm}", int(n), "pt")
          for arm, n in pop.get(f"{eff.key}_by_arm", {}).items()),
        *((f"{_capital(saf.name)}, {arm}", int(n), "pt")
          for arm, n in pop.get(f"{saf.key}_by_arm", {}).items()),
        *((f"{_capital(eff.name)}, {sg.label.lower()} {value}", int(n), "pt")
          for sg in spec.subgroups for value, n in pop[f"{eff.key}_{sg.key}"].items()),
    ]  # fmt: skip
    endpoints, unanalysed, plots = [], [], []
    for tte in spec.time_to_event:
        result, detail = summary[tte.key], summary["km_curves"][tte.key]
        title = f"{detail['param']} ({tte.key})"
        endpoints.append(_tte_row(title, "", result, _km_cells(tte, result, spec)))
        for arm, part in result.get("by_arm", {}).items():
            endpoints.append(_tte_row(arm, "pt", part, _km_cells(tte, part, spec)))
        for sg in spec.subgroups:
            for value, part in result[sg.key].items():
                name = f"{sg.label}: {value}"
                endpoints.append(_tte_row(name, "pt", part, _km_cells(tte, part, spec)))
        lacking = int(detail.get(f"{eff.key}_subjects_without_record", 0))
        unusable = int(detail.get("records_missing_aval_or_cnsr", 0))
        if lacking or unusable:
            unanalysed.append(
                f"{tte.key}: {lacking} {eff.name} subject(s) without a record and {unusable} "
                "record(s) without a time or censoring value are not analysed."
            )
        curves = detail.get("by_arm") or {None: detail}
        png = km_plot_png(title, curves, tte.landmarks, tte.risk_table)
        plots.append((title, base64.b64encode(png).decode("ascii")))
        for sg in spec.subgroups:
            by = f"{title} by {sg.label.lower()}"
            png = km_plot_png(by, detail[sg.key], tte.landmarks, tte.risk_table)
            plots.append((by, base64.b64encode(png).decode("ascii")))
    rates = []
    for rate in spec.rates.endpoints if spec.rates else ():
        result = summary["rates"][rate.key]
        rates.append(_rate_row(rate.label, "", result))
        rates.extend(_rate_row(arm, "pt", part) for arm, part in result.get("by_arm", {}).items())
        rates.extend(
            _rate_row(f"{sg.label}: {value}", "pt", part)
            for sg in spec.subgroups
            for value, part in result[sg.key].items()
        )
    ae_heads, events = (
        _ae_table(spec.adverse_events, spec, summary) if spec.adverse_events else ([], [])
    )
    study = summary.get("study") or "Study"
    return pages.render(
        "endpoints.html",
        title=f"{study}: endpoint summary",
        study=study,
        run=run,
        data_cut=summary.get("data_cut") or "not stated",
        populations=populations,
        efficacy=eff.name,
        landmarks=[f"{lm.label} ({lm.day} days)" for lm in spec.landmarks],
        endpoints=endpoints,
        unanalysed=unanalysed,
        plots=plots,
        rates_title=spec.rates.title if spec.rates else "",
        rates=rates,
        adverse_events=spec.adverse_events is not None,
        safety_name=saf.name,
        denominator=f"the column's {saf.name} subjects, N"
        if spec.by_arm
        else f"{int(pop[saf.key])} {saf.name} subjects",
        grade=spec.adverse_events.grade if spec.adverse_events else None,
        ae_heads=ae_heads,
        events=events,
        methods=_methods(spec),
        **_safety_tables(spec, summary),
        **_efficacy_extras(spec, summary),
    )


def endpoints_json(summary: Mapping[str, Any]) -> str:
    """The summary as JSON text (strict: no NaN), with a trailing newline."""
    return json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_endpoints(
    spec: EndpointSpec,
    data: Mapping[str, pd.DataFrame],
    reports_dir: Path,
    *,
    data_cut: date | None = None,
    run: str = "",
) -> list[Path]:
    """Summarise ``data`` (datasets by name) as ``spec`` declares and write
    ``endpoints.json`` and ``endpoints.html`` into ``reports_dir``, each atomically; both
    are rendered before either is written. Returns the two paths."""
    summary = summarise(spec, data, data_cut=data_cut)
    texts = {JSON_NAME: endpoints_json(summary), HTML_NAME: render_html(spec, summary, run=run)}
    reports_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in texts.items():
        path = reports_dir / name
        write_text(path, text)
        paths.append(path)
    return paths

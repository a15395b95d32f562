"""IMWG 2016 disease assessments of POMMAINT (issue 18): LB's disease tests, RS's overall
response and the diagnosis values they are measured against (DX.DXMPROT, DX.DXUPROT).

Drawn from a stream of their own (``default_rng([seed, STREAM])``) after every other form
is made, so the forms that are not disease assessments stay as they were. Per enrolled
subject, assessments at entry (the screening visit, before cycle 1 day 1), at each cycle's
Day 1 visit from cycle 2 and, after the end of treatment:

- for a subject who stopped without progression for any reason but death or withdrawal
  (an adverse event, a physician's decision, completed treatment), every 28 days (visit
  "Disease follow-up") until progression is confirmed, new anticancer therapy, death, the
  end of follow-up or the data cut-off (a first PD is confirmed 14 days later);
- for a subject who stopped for progression, one confirming assessment 14 days after the PD
  visit (before any new therapy: the day before it at the latest).

Each assessment holds serum M-protein (electrophoresis, g/dL), serum immunofixation (the
isotype at diagnosis, or "Negative"), serum free kappa/lambda and their ratio, 24-hour urine
M-protein (mg/24h; LBENDAT, the end of the collection, is the next day) and urine
immunofixation, IgG/IgA/IgM (g/L), and bone-marrow plasma cells (%) at entry and when CR is
first reached (MRD stays on its own form). The values follow each subject's latent response
course; the investigator's response (RS.RSORRES) is the IMWG category of those values
(``transforms.quality.library.imwg``, the same derivation the raw quality suite checks it
with), except a planted ~2 % of discordant readings (one category off, never PD), listed in
``RS.attrs["discordant"]`` as (SUBJID, VISIT, RSDAT). About 1 % of on-treatment assessments
miss the samples (LB not done, RS "NE"); a few RS are not done, in lower case or with a
trailing space.

Raw values: LB.LBTEST adds "Urine M-protein", "Urine immunofixation", "IgG", "IgA", "IgM";
LBSPEC "Urine"; units "mg/24h", "g/L"; urine M-protein "<10" below detection; urine
immunofixation "Kappa light chain" / "Lambda light chain" (Bence Jones protein) or
"Negative". RS.VISIT adds "Disease follow-up".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from samplegen.pommaint import NO_DATE, IntArray, StrArray, format_dates, text_frame
from transforms.quality.library import imwg

STREAM: Final = 182  # the child stream of the disease assessments (issue 18 point 2)
FOLLOW_UP: Final = "Disease follow-up"
EVERY: Final = 28
CONFIRM_AFTER: Final = 14
DISCORDANT: Final = 0.02
_SD, _CR, _SCR, _PD = 0, 4, 5, 6
# End-of-treatment reasons after which no disease follow-up is due (progression is confirmed
# once, see _schedule); every other reason is followed (protocol: until progression).
_NOT_FOLLOWED: Final = ("Progressive disease", "Death", "Withdrawal by subject", "")
# Serum M-protein as a fraction of diagnosis, by state (SD..sCR): the band's low and high.
_SERUM: Final = ((0.80, 0.56, 0.15, 0.0, 0.0, 0.0), (0.95, 0.70, 0.45, 0.07, 0.0, 0.0))
# ... kept inside the IMWG limits of the state whatever the assay's variation.
_LIMITS: Final = ((0.76, 0.51, 0.11, 0.0, 0.0, 0.0), (1.0, 0.74, 0.49, 0.09, 0.0, 0.0))
_MARROW: Final = ((10, 8, 4, 2, 0.5, 0.5), (30, 20, 12, 6, 3.5, 2.0))  # % at entry
_FLC: Final = ((5, 3, 2, 1.5, 3.5, 0.85, 10), (20, 10, 6, 4, 6.0, 1.15, 30))  # involved x
_RECOVERY: Final = (0.1, 0.2, 0.3, 0.5, 0.8, 0.9, 0.2)  # uninvolved Ig, share of normal
_IG_NORMAL: Final = {"IgG": (7.0, 16.0), "IgA": (0.7, 4.0), "IgM": (0.4, 2.3)}


@dataclass(frozen=True)
class Course:
    """What the main generator knows of each enrolled subject's disease (day numbers).

    ``visits``: the on-treatment assessment visits (subj, VISIT, date, state),
    state an index into ``pommaint.RESPONSES``; per subject (index = subj): ``progression``
    (the latent day of progression), ``followed_until``, ``new_therapy``, ``death`` (or
    NO_DATE), ``eot`` and ``eot_reason`` ("" while on treatment).
    """

    visits: pd.DataFrame
    progression: IntArray
    followed_until: IntArray
    new_therapy: IntArray
    death: IntArray
    eot: IntArray
    eot_reason: list[str]


def _schedule(course: Course, cutoff: int) -> pd.DataFrame:
    """Every assessment: subj, VISIT, date, state, first (entry), on (on treatment)."""
    rows = []
    for key, group in course.visits.groupby("subj", sort=True):
        s = int(key)  # type: ignore[arg-type]
        dates, states = group["date"].tolist(), group["state"].tolist()
        reason = course.eot_reason[s]
        stops = [cutoff, int(course.followed_until[s]) + 1]
        stops += [int(d) for d in (course.death[s], course.new_therapy[s]) if d != NO_DATE]
        stop = min(stops)  # the first day no assessment is made
        # An assessment on the cut-off day is still pending (its 24-hour urine ends after).
        kept = [d < cutoff for d in dates]
        dates = [d for d, k in zip(dates, kept, strict=True) if k]
        states = [st for st, k in zip(states, kept, strict=True) if k]
        visits = [v for v, k in zip(group["VISIT"], kept, strict=True) if k]
        rows += [(s, v, d, st, i == 0, True) for i, (v, d, st) in
                 enumerate(zip(visits, dates, states, strict=True))]  # fmt: skip
        if not dates:
            continue
        if reason == "Progressive disease" and states[-1] == _PD:
            day = dates[-1] + CONFIRM_AFTER
            if course.new_therapy[s] != NO_DATE:
                day = min(day, int(course.new_therapy[s]) - 1)
            if dates[-1] + 4 <= day < stop:
                rows.append((s, FOLLOW_UP, day, _PD, False, False))
        elif reason not in _NOT_FOLLOWED:
            day, state, pds = max(dates[-1], int(course.eot[s])), states[-1], 0
            while pds < 2:
                day += CONFIRM_AFTER if pds else EVERY
                if day >= stop:
                    break
                if day >= course.progression[s]:
                    state, pds = _PD, pds + 1
                rows.append((s, FOLLOW_UP, day, state, False, False))
    return pd.DataFrame(rows, columns=["subj", "VISIT", "date", "state", "first", "on"])


def disease_assessments(
    frames: dict[str, pd.DataFrame], ids: StrArray, course: Course, seed: int, cutoff: int
) -> dict[str, pd.DataFrame]:
    """`frames` with LB's disease tests, RS and DX's diagnosis values made anew."""
    rng = np.random.default_rng([seed, STREAM])
    a = _schedule(course, cutoff)
    n, na = len(ids), len(a)
    sv, state = a["subj"].to_numpy(), a["state"].to_numpy()
    dx = frames["DX"]
    isotype = dict(zip(dx["SUBJID"], dx["DXISO"].str.strip(), strict=True))
    iso = np.array([isotype.get(i, "IgG kappa") for i in ids], dtype=object)
    heavy = np.array([t.split()[0] for t in iso], dtype=object)
    kappa = np.array([t.endswith("kappa") for t in iso], dtype=bool)

    # Subject level: diagnosis values, where the subject sits in each band, normal levels.
    dx_serum = rng.uniform(15, 55, n)  # g/L
    measurable = rng.random(n) < 0.35
    dx_urine = np.where(measurable, rng.uniform(250, 1200, n), rng.uniform(30, 180, n))
    depth = rng.random(n)
    normal_k, normal_l = np.exp(rng.normal(np.log([[10.0], [14.0]]), 0.2, (2, n)))
    ig_normal = {k: rng.uniform(lo + 0.2 * (hi - lo), hi - 0.2 * (hi - lo), n)
                 for k, (lo, hi) in _IG_NORMAL.items()}  # fmt: skip

    # Per assessment, before progression: serum and urine by band.
    band = np.minimum(state, _SCR)
    low, high = (np.array(b) for b in _SERUM)
    where = depth[sv]  # the subject's place in each band; assays vary ~3 % around it
    fraction = (low[band] + (high - low)[band] * where) * np.exp(rng.normal(0, 0.03, na))
    serum = dx_serum[sv] * np.clip(fraction, np.array(_LIMITS[0])[band], np.array(_LIMITS[1])[band])
    measured = measurable[sv]
    urine_fraction = np.select(
        [band == 0, band == 1, band == 2, band == 3],
        [0.6 + 0.35 * where, np.where(measured, 0.15 + 0.3 * where, 0.3 + 0.5 * where),
         np.where(measured, 0.02 + 0.06 * where, 0.1 + 0.4 * where), 0.3 * where], 0.0)  # fmt: skip
    urine = dx_urine[sv] * urine_fraction * np.exp(rng.normal(0, 0.03, na))
    urine = np.where(
        band == 3, np.minimum(urine, 90.0), np.where(band == 2, np.minimum(urine, 190.0), urine)
    )
    # Progression: up from the lowest earlier value, by more than IMWG's thresholds.
    progressing = state == _PD
    earlier = pd.Series(np.where(progressing, np.inf, serum)).groupby(sv).cummin().to_numpy()
    nadir = np.where(np.isfinite(earlier), earlier, dx_serum[sv])
    rise = np.maximum(0.25 * nadir, np.where(nadir >= 50, 10.0, 5.0)) * rng.uniform(1.4, 2.5, na)
    serum = np.where(progressing, nadir + rise, serum)
    urine = np.where(progressing, urine * 1.2 + dx_urine[sv] * 0.1, urine)

    involved = np.array(_FLC[0])[state] + (np.array(_FLC[1]) - np.array(_FLC[0]))[
        state
    ] * rng.random(na)
    uninvolved = np.where(state >= _CR, 1.0, 0.7) * np.exp(rng.normal(0, 0.1, na))
    k = np.rint(normal_k[sv] * np.where(kappa[sv], involved, uninvolved) * 10) / 10
    lam = np.rint(normal_l[sv] * np.where(kappa[sv], uninvolved, involved) * 10) / 10
    first = a["first"].to_numpy()
    previous = np.r_[-1, state[:-1]]
    previous[np.r_[True, sv[1:] != sv[:-1]]] = -1
    new_cr = (state >= _CR) & (state < _PD) & (previous < _CR)
    marrow_low, marrow_high = (np.array(b) for b in _MARROW)
    marrow = marrow_low[band] + (marrow_high - marrow_low)[band] * rng.random(na)
    took_marrow = first | new_cr
    recovery = np.array(_RECOVERY)[state]
    ig = {}
    for name, normal in ig_normal.items():
        own = heavy[sv] == name
        ig[name] = np.where(
            own, serum + normal[sv] * 0.6, normal[sv] * (recovery + 0.1 * rng.random(na))
        )

    on = a["on"].to_numpy()
    missed = np.zeros(na, dtype=bool)
    candidates = np.flatnonzero(on & ~first & ~took_marrow & ~progressing)
    if candidates.size:
        missed[
            rng.choice(candidates, size=max(1, round(0.01 * candidates.size)), replace=False)
        ] = True

    lb = _lb_rows(a, ids, iso, kappa, serum, urine, k, lam, ig, marrow, took_marrow, missed)
    dx_new = dx.copy()
    index = {i: j for j, i in enumerate(ids)}
    rows = np.array([index.get(s, -1) for s in dx["SUBJID"]], dtype=np.int64)
    dx_new["DXMPROT"] = np.where(rows >= 0, _text(dx_serum[rows] / 10, 2), "")
    dx_new["DXUPROT"] = np.where(rows >= 0, _text(dx_urine[rows], 0), "")
    values = imwg.assessments(lb, dx_new)
    derived = imwg.categories(values)
    rs = _rs_rows(rng, a, ids, missed, values.assign(category=derived))
    old = frames["LB"]
    kept = old[old["LBCAT"] != "Disease assessment"].assign(LBENDAT="")
    return {**frames, "LB": _merged(kept, lb), "RS": rs, "DX": dx_new}


def _text(x: np.ndarray, decimals: int) -> StrArray:
    return np.array([f"{v:.{decimals}f}" for v in np.asarray(x, dtype=float)], dtype=object)


def _lb_rows(
    a: pd.DataFrame, ids: StrArray, iso: StrArray, kappa: np.ndarray, serum: np.ndarray,
    urine: np.ndarray, k: np.ndarray, lam: np.ndarray, ig: dict[str, np.ndarray],
    marrow: np.ndarray, took_marrow: np.ndarray, missed: np.ndarray,
) -> pd.DataFrame:  # fmt: skip
    """LB rows of every assessment, in the form's test order."""
    sv, state = a["subj"].to_numpy(), a["state"].to_numpy()
    g_dl = serum / 10
    serum_text = np.where(g_dl < 0.05, "<0.05", _text(g_dl, 2))
    urine_text = np.where(urine < 10, "<10", _text(urine, 0))
    cleared = (state >= _CR) & (state < _PD)
    light = np.where(kappa[sv], "Kappa light chain", "Lambda light chain")
    urine_positive = ~cleared & ((state < 3) | (state == _PD) | (urine >= 10))
    serum_ife = np.where(cleared, "Negative", iso[sv])
    urine_ife = np.where(urine_positive, light, "Negative")
    tests = [  # (LBTEST, LBSPEC, LBMETHOD, result, unit, low, high)
        (imwg.SERUM_M, "Serum", "Electrophoresis", serum_text, "g/dL", "", ""),
        (imwg.SERUM_IFE, "Serum", "Immunofixation", serum_ife, "", "", ""),
        ("Free kappa", "Serum", "", _text(k, 1), "mg/L", "3.3", "19.4"),
        ("Free lambda", "Serum", "", _text(lam, 1), "mg/L", "5.7", "26.3"),
        (imwg.RATIO, "Serum", "", _text(k / lam, 2), "", "0.26", "1.65"),
        (imwg.URINE_M, "Urine", "Electrophoresis", urine_text, "mg/24h", "", ""),
        (imwg.URINE_IFE, "Urine", "Immunofixation", urine_ife, "", "", ""),
        *((name, "Serum", "", _text(ig[name], 2), "g/L", f"{lo:.1f}", f"{hi:.1f}")
          for name, (lo, hi) in _IG_NORMAL.items()),
        (imwg.MARROW, "Bone marrow", "", _text(marrow, 1), "%", "", ""),
    ]  # fmt: skip
    day_text = format_dates(a["date"].to_numpy())
    next_day = format_dates(a["date"].to_numpy() + 1)
    parts = []
    for t, (name, spec, method, result, unit, lo, hi) in enumerate(tests):
        rows = took_marrow if name == imwg.MARROW else np.ones(len(a), dtype=bool)
        gone = missed[rows]
        res = np.asarray(result, dtype=object)[rows] if isinstance(result, np.ndarray) else result
        parts.append(pd.DataFrame({
            "order": np.flatnonzero(rows) * 100 + t, "SUBJID": ids[sv[rows]],
            "VISIT": a["VISIT"].to_numpy()[rows], "LBDAT": day_text[rows],
            "LBCAT": "Disease assessment", "LBTEST": name, "LBSPEC": spec, "LBMETHOD": method,
            "LBORRES": np.where(gone, "", res), "LBORRESU": np.where(gone, "", unit),
            "LBORNRLO": lo, "LBORNRHI": hi, "LBND": np.where(gone, "Not done", ""),
            "LBREASND": np.where(gone, "Sample not collected", ""),
            "LBENDAT": next_day[rows] if spec == "Urine" else "",
        }))  # fmt: skip
    out = pd.concat(parts, ignore_index=True).sort_values("order", kind="stable")
    return text_frame({c: out[c].to_numpy() for c in out.columns if c not in ("order", "SITEID")})


def _rs_rows(
    rng: np.random.Generator, a: pd.DataFrame, ids: StrArray, missed: np.ndarray,
    values: pd.DataFrame,
) -> pd.DataFrame:  # fmt: skip
    """The investigator's response per assessment: the IMWG category of its values, NE
    where the samples were missed; planted discordance, not done, messy spellings."""
    day_text = format_dates(a["date"].to_numpy())
    key = pd.MultiIndex.from_arrays(
        [ids[a["subj"].to_numpy()], pd.to_datetime(pd.Series(day_text), format="%d %b %Y")]
    )
    found = values.set_index(["SUBJID", "date"])["category"]
    result = found.reindex(key).to_numpy(dtype=object)
    result = np.where(missed | pd.isna(result), "NE", result).astype(object)
    order = list(imwg.CATEGORIES)
    eligible = np.flatnonzero(np.isin(result, order[:-1]))
    planted = np.sort(
        rng.choice(eligible, size=max(1, round(DISCORDANT * eligible.size)), replace=False)
    )
    for i in planted.tolist():
        level = order.index(result[i])
        step = 1 if level == 0 or (level < _SCR and rng.random() < 0.5) else -1
        result[i] = order[level + step]
    plain = np.isin(result, order[:-1]) & ~np.isin(np.arange(len(a)), planted)
    not_done = np.zeros(len(a), dtype=bool)
    chosen = np.flatnonzero(plain)
    not_done[rng.choice(chosen, size=max(1, round(0.008 * chosen.size)), replace=False)] = True
    result[not_done] = ""
    messy = rng.permutation(np.flatnonzero(~not_done & (result != "NE")))
    m = max(1, round(0.02 * messy.size))
    for i in messy[:m].tolist():
        result[i] = result[i].lower()
    for i in messy[m : 2 * m].tolist():
        result[i] += " "
    frame = text_frame(
        {"SUBJID": ids[a["subj"].to_numpy()], "VISIT": a["VISIT"].to_numpy(), "RSDAT": day_text,
         "RSORRES": result, "RSND": np.where(not_done, "Not done", ""),
         "RSREASND": np.where(not_done, "Assessment not performed", "")}
    )  # fmt: skip
    frame.attrs["discordant"] = [
        (frame.at[i, "SUBJID"], frame.at[i, "VISIT"], frame.at[i, "RSDAT"])
        for i in planted.tolist()
    ]
    return frame


def _merged(kept: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """LB's other rows and the disease assessments, by subject (as LB lists them), date,
    and on one date the other tests first."""
    both = pd.concat([kept, new], ignore_index=True)
    subjects = pd.unique(both["SUBJID"])
    order = pd.DataFrame({
        "subject": pd.Categorical(both["SUBJID"], categories=subjects).codes,
        "date": pd.to_datetime(both["LBDAT"], format="%d %b %Y", errors="coerce"),
        "new": np.r_[np.zeros(len(kept), dtype=int), np.ones(len(new), dtype=int)],
        "position": np.arange(len(both)),
    })  # fmt: skip
    order = order.sort_values(["subject", "date", "new", "position"], kind="stable")
    return both.iloc[order.index.to_numpy()].reset_index(drop=True)

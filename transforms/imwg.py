"""The IMWG 2016 response category (Kumar et al., Lancet Oncol 2016) of each disease
assessment, from its laboratory values: the one rule the raw quality suite
(``transforms.quality.library.imwg``, which also serves the sample generator) and ADaM
(``imwg.lab_response``, ``transforms.adam.library.imwg``) apply, each reading its own
layout (raw forms, SDTM LB) into the frame :func:`categories` takes.

One row per subject and assessment date, in date order per subject: serum M-protein (g/L;
below detection 0), serum and urine immunofixation (True positive, False negative, null not
done), 24-hour urine M-protein (mg/24h), the free light chain ratio, the bone-marrow plasma
cells (%, null when no marrow was taken) and, optionally, free kappa and lambda (mg/L);
``dx_serum`` and ``dx_urine``, the values at diagnosis. Reductions are from the diagnosis
values; progression from the lowest value at an earlier assessment (the nadir). The
measurable disease decides the path: serum (diagnosis M-protein >= 10 g/L), else urine only
(>= 200 mg/24h), else free light chains only (involved FLC >= 100 mg/L with an abnormal
ratio at the first assessment, from which dFLC, involved minus uninvolved, is measured; the
involved chain is the one the ratio points at there). Categories, the first that holds:

- PD: serum M-protein up >= 25 % from the nadir and by >= 5 g/L (>= 10 g/L if the nadir
  was >= 50 g/L), or urine M-protein up >= 25 % and by >= 200 mg/24h; FLC only: also dFLC
  up >= 25 % from the nadir and by > 100 mg/L;
- sCR: CR and a normal free light chain ratio (0.26-1.65). Clonal plasma cells in the
  marrow by immunohistochemistry or flow are not collected: the ratio decides;
- CR: serum and urine immunofixation negative and the last marrow on or before the
  assessment < 5 % plasma cells (FLC only: and a normal ratio, so sCR);
- VGPR: serum M-protein undetectable by electrophoresis or >= 90 % below diagnosis, with
  urine M-protein < 100 mg/24h (urine only: urine < 100 mg/24h; FLC only: dFLC >= 90 %
  below);
- PR: serum M-protein >= 50 % below diagnosis, urine >= 90 % below or < 200 mg/24h (urine
  only: the urine part alone; FLC only: dFLC >= 50 % below);
- MR: serum M-protein 25-49 % below diagnosis and, when urine was measurable at diagnosis
  (>= 200 mg/24h), urine 50-89 % below (urine only: urine 50-89 % below; FLC only: none);
- SD: none of the above.

An assessment missing one of the serum or urine results (not done) has no category.
Confirmation (two consecutive assessments) is a property of a sequence, not of one
assessment: ADaM's best response and PFS ask for it, not this rule.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

CATEGORIES: Final = ("SD", "MR", "PR", "VGPR", "CR", "sCR", "PD")
RATIO_RANGE: Final = (0.26, 1.65)
MEASURABLE_SERUM: Final = 10.0  # g/L at diagnosis
MEASURABLE_URINE: Final = 200.0  # mg/24h at diagnosis
MEASURABLE_FLC: Final = 100.0  # mg/L, the involved free light chain


def nadir(value: pd.Series, by: pd.Series) -> pd.Series:
    """The lowest value at an earlier assessment of the subject (missing ones skipped)."""
    lowest = value.groupby(by).cummin().groupby(by).ffill()
    return lowest.groupby(by).shift(1)


def _flags(values: pd.Series) -> np.ndarray:
    return values.fillna(False).to_numpy(dtype=bool)


def _dflc(values: pd.DataFrame, by: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """dFLC (involved minus uninvolved, mg/L) per assessment, and whether the subject's FLC
    were measurable at the first assessment (involved >= 100 mg/L, ratio abnormal)."""
    if not {"kappa", "lambda"} <= set(values.columns):
        none = pd.Series(np.nan, index=values.index, dtype="float64")
        return none, np.zeros(len(values), dtype=bool)
    kappa, lam = values["kappa"].astype("float64"), values["lambda"].astype("float64")
    first_k, first_l = (v.groupby(by).transform("first") for v in (kappa, lam))
    kappa_involved = first_k >= first_l
    dflc = (kappa - lam).where(kappa_involved, lam - kappa)
    involved = first_k.where(kappa_involved, first_l)
    low, high = RATIO_RANGE
    ratio = first_k / first_l
    measurable = (involved >= MEASURABLE_FLC) & ((ratio < low) | (ratio > high))
    return dflc, _flags(measurable)


def categories(values: pd.DataFrame, by: str = "SUBJID") -> pd.Series:
    """The IMWG category of each assessment (null when a serum or urine result is
    missing); rows in date order per subject (`by`)."""
    subject = values[by]
    serum, urine = values["serum"], values["urine"]
    nadir_s, nadir_u = (nadir(v, subject) for v in (serum, urine))
    floor_s = np.where(nadir_s >= 50, 10.0, 5.0)
    rise_s = serum - nadir_s >= np.maximum(0.25 * nadir_s, floor_s)
    rise_u = urine - nadir_u >= np.maximum(0.25 * nadir_u, 200.0)

    measurable_s = _flags(values["dx_serum"] >= MEASURABLE_SERUM)
    measurable_u = _flags(values["dx_urine"] >= MEASURABLE_URINE)
    urine_only = ~measurable_s & measurable_u
    dflc, measurable_f = _dflc(values, subject)
    flc_only = ~measurable_s & ~measurable_u & measurable_f
    first_dflc = dflc.groupby(subject).transform("first")
    fall_f = 1 - dflc / first_dflc
    nadir_f = nadir(dflc, subject)
    rise_f = _flags((dflc - nadir_f >= 0.25 * nadir_f) & (dflc - nadir_f > MEASURABLE_FLC))
    progressed = _flags(rise_s) | _flags(rise_u) | (flc_only & rise_f)

    fall_s = 1 - serum / values["dx_serum"]
    fall_u = 1 - urine / values["dx_urine"]
    serum_ife = values["serum_ife"].astype("boolean").fillna(True).to_numpy(dtype=bool)
    urine_ife = values["urine_ife"].astype("boolean").fillna(True).to_numpy(dtype=bool)
    marrow = values["marrow"].groupby(subject).ffill()
    low, high = RATIO_RANGE
    normal_ratio = _flags((values["ratio"] >= low) & (values["ratio"] <= high))
    complete = ~serum_ife & ~urine_ife & _flags(marrow < 5) & (~flc_only | normal_ratio)
    urine_vgpr, urine_pr = _flags(urine < 100), _flags((fall_u >= 0.9) | (urine < 200))
    urine_mr = _flags(fall_u >= 0.5)
    very_good = np.select(
        [flc_only, urine_only], [_flags(fall_f >= 0.9), urine_vgpr],
        _flags((serum == 0) | (fall_s >= 0.9)) & urine_vgpr,
    )  # fmt: skip
    partial = np.select(
        [flc_only, urine_only], [_flags(fall_f >= 0.5), urine_pr],
        _flags(fall_s >= 0.5) & urine_pr,
    )  # fmt: skip
    minimal = np.select(
        [flc_only, urine_only], [False, urine_mr],
        _flags(fall_s >= 0.25) & (~measurable_u | urine_mr),
    )  # fmt: skip
    category = np.select(
        [progressed, complete & normal_ratio, complete, very_good, partial, minimal],
        ["PD", "sCR", "CR", "VGPR", "PR", "MR"],
        "SD",
    ).astype(object)
    missing = (
        serum.isna() | urine.isna() | values["serum_ife"].isna() | values["urine_ife"].isna()
    ).to_numpy(dtype=bool)
    category[missing] = None
    return pd.Series(category, index=values.index, dtype="object")

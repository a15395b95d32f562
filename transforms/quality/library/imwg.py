"""The IMWG 2016 response category (Kumar et al., Lancet Oncol 2016) of each disease
assessment, derived from its laboratory values as the raw export holds them.

An assessment is the set of disease-assessment results of one subject on one sample date
(LB.LBDAT): serum M-protein (electrophoresis, g/dL or g/L; ``<0.05`` is below detection,
taken as 0), serum and urine immunofixation (``Negative`` or the isotype found), 24-hour
urine M-protein (mg/24h), the serum free light chain ratio and, when a marrow was taken, the
bone-marrow plasma cells (%). Reductions are from the values at diagnosis (DX.DXMPROT,
DX.DXUPROT); progression from the lowest value at an earlier assessment of the study (the
nadir). Categories, the first that holds:

- PD: serum M-protein up >= 25 % from the nadir and by >= 5 g/L (>= 10 g/L if the nadir
  was >= 50 g/L), or urine M-protein up >= 25 % and by >= 200 mg/24h;
- sCR: CR and a normal free light chain ratio (0.26-1.65). Clonal plasma cells in the
  marrow by immunohistochemistry or flow are not collected: the ratio decides;
- CR: serum and urine immunofixation negative and the last marrow on or before the
  assessment < 5 % plasma cells;
- VGPR: serum M-protein undetectable by electrophoresis or >= 90 % below diagnosis, with
  urine M-protein < 100 mg/24h;
- PR: serum M-protein >= 50 % below diagnosis, urine >= 90 % below or < 200 mg/24h;
- MR: serum M-protein 25-49 % below diagnosis and, when urine was measurable at diagnosis
  (>= 200 mg/24h), urine 50-89 % below;
- SD: none of the above.

An assessment missing one of the serum or urine results (not done) has no category.
Confirmation (two consecutive assessments) is a property of a sequence, not of one
assessment: ADaM's PFS asks for it, not this derivation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import pandas as pd

# Raw LB test names (LB.LBTEST) of the disease assessment, and the form's date format.
SERUM_M: Final = "M-protein"
SERUM_IFE: Final = "Immunofixation"
URINE_M: Final = "Urine M-protein"
URINE_IFE: Final = "Urine immunofixation"
RATIO: Final = "Kappa/lambda ratio"
MARROW: Final = "BM plasma cells"
CATEGORIES: Final = ("SD", "MR", "PR", "VGPR", "CR", "sCR", "PD")
RATIO_RANGE: Final = (0.26, 1.65)
_DATE_FORMAT: Final = "%d %b %Y"
_LB_COLUMNS: Final = ("SUBJID", "LBDAT", "LBTEST", "LBORRES", "LBORRESU")
_DX_COLUMNS: Final = ("SUBJID", "DXMPROT", "DXUPROT")
_TO_G_PER_L: Final = {"g/dl": 10.0, "g/l": 1.0}


def _number(text: pd.Series) -> pd.Series:
    """A result as a number: ``<x`` (below detection) is 0, anything else not a number null."""
    clean = text.astype("string").str.strip()
    below = clean.str.startswith("<").fillna(False)
    value = pd.to_numeric(clean, errors="coerce").astype("float64")
    return value.mask(below, 0.0)


def _positive(text: pd.Series) -> pd.Series:
    """Immunofixation: False for ``Negative``, True for an isotype, null when not done."""
    clean = text.astype("string").str.strip().str.casefold()
    return clean.ne("negative").astype("boolean").mask(clean.isna() | (clean == ""))


def assessments(lb: pd.DataFrame, dx: pd.DataFrame) -> pd.DataFrame:
    """One row per subject and disease-assessment date: the values the categories read
    (serum in g/L, urine in mg/24h), in date order per subject."""
    tests = (SERUM_M, SERUM_IFE, URINE_M, URINE_IFE, RATIO, MARROW)
    name = lb["LBTEST"].astype("string").str.strip()
    rows = lb[name.isin(tests).fillna(False)]
    result = rows["LBORRES"].astype("string").str.strip()
    result = result.mask(result == "")
    long = pd.DataFrame(
        {"SUBJID": rows["SUBJID"].astype("string").str.strip(),
         "date": pd.to_datetime(rows["LBDAT"], format=_DATE_FORMAT, errors="coerce"),
         "test": name[rows.index], "result": result,
         "unit": rows["LBORRESU"].astype("string").str.strip().str.casefold()}
    )  # fmt: skip
    long = long[long["date"].notna()]
    wide = long.groupby(["SUBJID", "date", "test"])["result"].first().unstack("test")
    wide = wide.reindex(columns=list(tests)).reset_index().sort_values(["SUBJID", "date"])
    units = long[long["test"] == SERUM_M].drop_duplicates(["SUBJID", "date"])
    factor = units.set_index(["SUBJID", "date"])["unit"].map(_TO_G_PER_L)
    keys = pd.MultiIndex.from_frame(wide[["SUBJID", "date"]])
    out = pd.DataFrame(
        {"SUBJID": wide["SUBJID"].to_numpy(), "date": wide["date"].to_numpy(),
         "serum": (_number(wide[SERUM_M]) * factor.reindex(keys).to_numpy()).to_numpy(),
         "serum_ife": _positive(wide[SERUM_IFE]).to_numpy(),
         "urine": _number(wide[URINE_M]).to_numpy(),
         "urine_ife": _positive(wide[URINE_IFE]).to_numpy(),
         "ratio": _number(wide[RATIO]).to_numpy(), "marrow": _number(wide[MARROW]).to_numpy()}
    )  # fmt: skip
    base = dx.assign(SUBJID=dx["SUBJID"].astype("string").str.strip())
    base = base.drop_duplicates("SUBJID").set_index("SUBJID")
    out["dx_serum"] = (_number(base["DXMPROT"]) * 10.0).reindex(out["SUBJID"]).to_numpy()
    out["dx_urine"] = _number(base["DXUPROT"]).reindex(out["SUBJID"]).to_numpy()
    return out.reset_index(drop=True)


def _nadir(value: pd.Series, by: pd.Series) -> pd.Series:
    """The lowest value at an earlier assessment of the subject (missing ones skipped)."""
    lowest = value.groupby(by).cummin().groupby(by).ffill()
    return lowest.groupby(by).shift(1)


def categories(values: pd.DataFrame) -> pd.Series:
    """The IMWG category of each assessment of :func:`assessments` (null when a serum or
    urine result is missing); rows in date order per subject."""
    by = values["SUBJID"]
    serum, urine = values["serum"], values["urine"]
    nadir_s, nadir_u = (_nadir(v, by) for v in (serum, urine))
    floor_s = np.where(nadir_s >= 50, 10.0, 5.0)
    rise_s = serum - nadir_s >= np.maximum(0.25 * nadir_s, floor_s)
    rise_u = urine - nadir_u >= np.maximum(0.25 * nadir_u, 200.0)
    progressed = (rise_s.fillna(False) | rise_u.fillna(False)).to_numpy(dtype=bool)

    fall_s = 1 - serum / values["dx_serum"]
    fall_u = 1 - urine / values["dx_urine"]
    serum_ife = values["serum_ife"].astype("boolean").fillna(True).to_numpy(dtype=bool)
    urine_ife = values["urine_ife"].astype("boolean").fillna(True).to_numpy(dtype=bool)
    marrow = values["marrow"].groupby(by).ffill()
    low, high = RATIO_RANGE
    normal_ratio = ((values["ratio"] >= low) & (values["ratio"] <= high)).to_numpy(dtype=bool)
    complete = ~serum_ife & ~urine_ife & (marrow < 5).to_numpy(dtype=bool)
    very_good = (((serum == 0) | (fall_s >= 0.9)) & (urine < 100)).to_numpy(dtype=bool)
    partial = ((fall_s >= 0.5) & ((fall_u >= 0.9) | (urine < 200))).to_numpy(dtype=bool)
    measurable_u = (values["dx_urine"] >= 200).to_numpy(dtype=bool)
    minimal = (fall_s >= 0.25).to_numpy(dtype=bool) & (
        ~measurable_u | (fall_u >= 0.5).to_numpy(dtype=bool)
    )
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


def derive(forms: Mapping[str, pd.DataFrame], form: str) -> pd.Series:
    """The IMWG category of the assessment each row of `form` (RS: SUBJID, RSDAT) reports,
    from LB and DX; null where the subject has no complete assessment on that date."""
    target = forms[form]
    needs = {"LB": _LB_COLUMNS, "DX": _DX_COLUMNS, form: ("SUBJID", "RSDAT")}
    if any(f not in forms or not set(c) <= set(forms[f].columns) for f, c in needs.items()):
        # a form or column missing: FORM-COLUMNS lists it; nothing to compare with here
        return pd.Series(None, index=target.index, dtype="object")
    values = assessments(forms["LB"], forms["DX"])
    values["category"] = categories(values)
    when = pd.to_datetime(target["RSDAT"], format=_DATE_FORMAT, errors="coerce")
    keys = pd.MultiIndex.from_arrays([target["SUBJID"].astype("string").str.strip(), when])
    found = values.set_index(["SUBJID", "date"])["category"]
    found = found[~found.index.duplicated()]
    return pd.Series(found.reindex(keys).to_numpy(), index=target.index, dtype="object")

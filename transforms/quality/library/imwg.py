"""The IMWG 2016 response category of each disease assessment, derived from its laboratory
values as the raw export holds them: the rule is ``transforms.imwg`` (shared with ADaM's
lab-derived response); this module reads the raw forms into its frame.

An assessment is the set of disease-assessment results of one subject on one sample date
(LB.LBDAT): serum M-protein (electrophoresis, g/dL or g/L; ``<0.05`` is below detection,
taken as 0), serum and urine immunofixation (``Negative`` or the isotype found), 24-hour
urine M-protein (mg/24h), free kappa and lambda (mg/L) and their ratio and, when a marrow
was taken, the bone-marrow plasma cells (%); the diagnosis values are DX.DXMPROT and
DX.DXUPROT.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import pandas as pd

from transforms.imwg import CATEGORIES, RATIO_RANGE, categories

# Raw LB test names (LB.LBTEST) of the disease assessment, and the form's date format.
SERUM_M: Final = "M-protein"
SERUM_IFE: Final = "Immunofixation"
URINE_M: Final = "Urine M-protein"
URINE_IFE: Final = "Urine immunofixation"
RATIO: Final = "Kappa/lambda ratio"
MARROW: Final = "BM plasma cells"
KAPPA: Final = "Free kappa"
LAMBDA: Final = "Free lambda"
_DATE_FORMAT: Final = "%d %b %Y"
_LB_COLUMNS: Final = ("SUBJID", "LBDAT", "LBTEST", "LBORRES", "LBORRESU")
_DX_COLUMNS: Final = ("SUBJID", "DXMPROT", "DXUPROT")
READS: Final = {"LB": _LB_COLUMNS, "DX": _DX_COLUMNS}  # the columns of other forms derive reads
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
    tests = (SERUM_M, SERUM_IFE, URINE_M, URINE_IFE, RATIO, MARROW, KAPPA, LAMBDA)
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
         "ratio": _number(wide[RATIO]).to_numpy(), "marrow": _number(wide[MARROW]).to_numpy(),
         "kappa": _number(wide[KAPPA]).to_numpy(), "lambda": _number(wide[LAMBDA]).to_numpy()}
    )  # fmt: skip
    base = dx.assign(SUBJID=dx["SUBJID"].astype("string").str.strip())
    base = base.drop_duplicates("SUBJID").set_index("SUBJID")
    out["dx_serum"] = (_number(base["DXMPROT"]) * 10.0).reindex(out["SUBJID"]).to_numpy()
    out["dx_urine"] = _number(base["DXUPROT"]).reindex(out["SUBJID"]).to_numpy()
    return out.reset_index(drop=True)


def derive(forms: Mapping[str, pd.DataFrame], form: str) -> pd.Series:
    """The IMWG category of the assessment each row of `form` (RS: SUBJID, RSDAT) reports,
    from LB and DX; null where the subject has no complete assessment on that date."""
    target = forms[form]
    needs = {**READS, form: ("SUBJID", "RSDAT")}
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


__all__ = ["CATEGORIES", "RATIO_RANGE", "READS", "assessments", "categories", "derive"]

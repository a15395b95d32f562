"""ADAE (OCCDS): adverse events with analysis dates, treatment emergence and worst grade.

Partial dates are imputed the admiral way: a start to the first day it may stand for, or
to the first dose when that falls inside the same month (year); an end to the last day,
never after death. The flags ASTDTF/AENDTF say what was imputed.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from transforms.adam.dates import impute_date, study_day
from transforms.adam.spec import AdamSpec

ADSL_VARS = ["USUBJID", "SUBJID", "SITEID", "TRT01A", "SAFFL", "TRTSDT", "TRTEDT", "DTHDT"]


def _first_occurrence(frame: pd.DataFrame, by: list[str]) -> pd.Series:
    """Y on the first (by start date, then AESEQ) treatment-emergent record per group."""
    te = frame[frame["TRTEMFL"] == "Y"].sort_values([*by, "ASTDT", "AESEQ"])
    first = te.groupby(by, dropna=False).head(1).index
    return pd.Series(pd.NA, index=frame.index, dtype="string").mask(frame.index.isin(first), "Y")


def _worst(frame: pd.DataFrame, by: list[str]) -> pd.Series:
    """Y on the worst-grade (then earliest) treatment-emergent record per group."""
    te = frame[(frame["TRTEMFL"] == "Y") & frame["ATOXGRN"].notna()]
    te = te.sort_values(
        [*by, "ATOXGRN", "ASTDT", "AESEQ"], ascending=[*[True] * len(by), False, True, True]
    )
    worst = te.groupby(by, dropna=False).head(1).index
    return pd.Series(pd.NA, index=frame.index, dtype="string").mask(frame.index.isin(worst), "Y")


def derive_adae(
    sdtm: Mapping[str, pd.DataFrame], adsl: pd.DataFrame, spec: AdamSpec
) -> pd.DataFrame:
    days = int(spec.settings["emergent_days"])
    ae = sdtm["AE"].merge(adsl[ADSL_VARS], on="USUBJID", how="left", validate="many_to_one")

    start, start_flag = impute_date(ae["AESTDTC"], "first")
    text = ae["AESTDTC"].astype("string")
    trt = ae["TRTSDT"]
    same_month = text.str.len().eq(7) & (text == trt.dt.strftime("%Y-%m").astype("string"))
    same_year = text.str.len().eq(4) & (text == trt.dt.strftime("%Y").astype("string"))
    # A partial start in the month (year) of the first dose could be on it: take the dose
    # date, so an event is never called pre-treatment by the imputation alone.
    later = (same_month | same_year).fillna(False) & (trt > start)
    ae["ASTDT"] = start.mask(later, trt)
    ae["ASTDTF"] = start_flag

    end, end_flag = impute_date(ae["AEENDTC"], "last")
    capped = end.notna() & ae["DTHDT"].notna() & (end > ae["DTHDT"])
    ae["AENDT"] = end.mask(capped, ae["DTHDT"])
    ae["AENDTF"] = end_flag
    ae["ASTDY"] = study_day(ae["ASTDT"], ae["TRTSDT"])
    ae["AENDY"] = study_day(ae["AENDT"], ae["TRTSDT"])
    ae["ADURN"] = (ae["AENDT"] - ae["ASTDT"]).dt.days + 1.0
    ae["ADURU"] = pd.Series("DAYS", index=ae.index, dtype="string").where(ae["ADURN"].notna())

    window_end = ae["TRTEDT"] + pd.Timedelta(days=days)
    emergent = (ae["ASTDT"] >= ae["TRTSDT"]) & (ae["ASTDT"] <= window_end)
    ae["TRTEMFL"] = pd.Series(pd.NA, index=ae.index, dtype="string").mask(
        emergent.fillna(False), "Y"
    )
    ae["ATOXGR"] = ae["AETOXGR"]
    ae["ATOXGRN"] = pd.to_numeric(ae["AETOXGR"], errors="coerce").astype("float64")
    ae["AOCCFL"] = _first_occurrence(ae, ["USUBJID"])
    ae["AOCCSFL"] = _first_occurrence(ae, ["USUBJID", "AEBODSYS"])
    ae["AOCCPFL"] = _first_occurrence(ae, ["USUBJID", "AEBODSYS", "AEDECOD"])
    ae["WGRPFL"] = _worst(ae, ["USUBJID", "AEBODSYS", "AEDECOD"])
    ae["WGRSFL"] = _worst(ae, ["USUBJID", "AEBODSYS"])
    return ae

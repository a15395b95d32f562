"""ADSL: one record per subject of DM, from the published SDTM.

The study's settings (``adam/adsl.yaml``) say what the code cannot know: the study
treatment's EXTRT, the age groups, the datasets and dates that show a subject alive, and
where new anticancer therapy is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from transforms import conditions
from transforms.adam.dates import impute_date, iso_date
from transforms.adam.spec import AdamSpec

KEYS = ["STUDYID", "USUBJID"]


def _treatment_dates(ex: pd.DataFrame, treatment: str) -> pd.DataFrame:
    """TRTSDT/TRTEDT: first start and last end of a dose > 0 of the study treatment
    (a partial start imputed to the first day, a partial end to the last: flagged)."""
    dosed = ex[(ex["EXTRT"] == treatment) & (ex["EXDOSE"].fillna(0) > 0)]
    start, start_flag = impute_date(dosed["EXSTDTC"], "first")
    end, end_flag = impute_date(dosed["EXENDTC"].fillna(dosed["EXSTDTC"]), "last")
    frame = pd.DataFrame(
        {"USUBJID": dosed["USUBJID"], "S": start, "SF": start_flag, "E": end, "EF": end_flag}
    )
    first = frame.sort_values(["USUBJID", "S"]).groupby("USUBJID").first()
    last = frame.sort_values(["USUBJID", "E"]).groupby("USUBJID").last()
    return pd.DataFrame(
        {"TRTSDT": first["S"], "TRTSDTF": first["SF"], "TRTEDT": last["E"], "TRTEDTF": last["EF"]}
    )


def _disposition(ds: pd.DataFrame, scat: str, prefix: str) -> pd.DataFrame:
    """End-of-study (or -treatment) status and reason from the disposition event."""
    events = ds[(ds["DSCAT"] == "DISPOSITION EVENT") & (ds["DSSCAT"] == scat)]
    events = events.sort_values(["USUBJID", "DSSTDTC"]).groupby("USUBJID").last()
    completed = events["DSDECOD"].isin(["COMPLETED", "COMPLETED TREATMENT"])
    status = pd.Series("DISCONTINUED", index=events.index, dtype="string").mask(
        completed, "COMPLETED"
    )
    return pd.DataFrame(
        {
            f"{prefix}STT": status,
            f"{prefix}DT": iso_date(events["DSSTDTC"]),
            f"{prefix}REAS": events["DSDECOD"].where(~completed),
        }
    )


def _records(sdtm: Mapping[str, pd.DataFrame], source: Mapping[str, Any]) -> pd.DataFrame:
    """The records of ``source['dataset']`` that meet its ``where`` (the ADaM filters)."""
    frame = sdtm[str(source["dataset"])]
    if "where" in source:
        where = f"ADSL settings {source}"
        condition = conditions.parse(source["where"], where, conditions.named("var"))
        frame = frame[conditions.frame_mask(condition, frame)]
    return frame


def _last_alive(sdtm: Mapping[str, pd.DataFrame], sources: list[Mapping[str, Any]]) -> pd.Series:
    """LSTALVDT: the latest complete date of any listed record that shows the subject alive."""
    parts = []
    for source in sources:
        frame = _records(sdtm, source)
        for var in source["dates"]:
            parts.append(pd.DataFrame({"USUBJID": frame["USUBJID"], "D": iso_date(frame[var])}))
    dates = pd.concat(parts, ignore_index=True)
    return dates.groupby("USUBJID")["D"].max()


def derive_adsl(sdtm: Mapping[str, pd.DataFrame], spec: AdamSpec) -> pd.DataFrame:
    """Every variable of ADSL that the spec lists; the caller conforms order and types."""
    settings = spec.settings
    dm = sdtm["DM"].copy()
    adsl = dm.set_index("USUBJID", drop=False)
    idx = adsl.index

    # Population and treatment: a single-arm study; the cohort is the planned/actual arm.
    adsl["TRT01P"] = adsl["ARM"]
    adsl["TRT01A"] = adsl["ACTARM"]
    arms = {arm: n for n, arm in enumerate(settings["arms"], start=1)}
    adsl["TRT01PN"] = adsl["TRT01P"].map(arms).astype("float64")
    adsl["TRT01AN"] = adsl["TRT01A"].map(arms).astype("float64")
    trt = _treatment_dates(sdtm["EX"], str(settings["treatment"])).reindex(idx)
    adsl = adsl.join(trt)
    adsl["TRTDURD"] = (adsl["TRTEDT"] - adsl["TRTSDT"]).dt.days + 1.0
    adsl["ITTFL"] = adsl["ARMCD"].notna().map({True: "Y", False: "N"})
    adsl["SAFFL"] = adsl["TRTSDT"].notna().map({True: "Y", False: "N"})

    # Demography groups.
    for n, group in enumerate(settings["age_groups"], start=1):
        lo, hi = group.get("min", -1), group.get("max", 999)
        hit = adsl["AGE"].between(lo, hi)
        adsl.loc[hit, "AGEGR1"] = str(group["label"])
        adsl.loc[hit, "AGEGR1N"] = float(n)

    # Reference dates, disposition, death.
    adsl["RFICDT"] = iso_date(adsl["RFICDTC"])
    adsl = adsl.join(_disposition(sdtm["DS"], "STUDY PARTICIPATION", "EOS").reindex(idx))
    adsl = adsl.rename(columns={"EOSREAS": "DCSREAS"})
    adsl["EOSSTT"] = adsl["EOSSTT"].fillna("ONGOING")
    eot = _disposition(sdtm["DS"], "STUDY TREATMENT", "EOT").reindex(idx)
    adsl["EOTSTT"] = eot["EOTSTT"].fillna("ONGOING")
    adsl["DCTREAS"] = eot["EOTREAS"]
    adsl["DTHDT"], adsl["DTHDTF"] = impute_date(adsl["DTHDTC"], "first")
    adsl["DTHFL"] = adsl["DTHFL"].where(adsl["DTHFL"] == "Y")

    alive = _last_alive(sdtm, list(settings["alive_sources"])).reindex(idx)
    # A date after death (a data error listed elsewhere) never makes a subject alive.
    adsl["LSTALVDT"] = alive.where(adsl["DTHDT"].isna() | (alive <= adsl["DTHDT"]), adsl["DTHDT"])

    # New anticancer therapy: the earliest start; a partial date is imputed to the first
    # day it may stand for (censoring then never uses an assessment after the therapy).
    therapy = settings["new_therapy"]
    cm = _records(sdtm, therapy)
    start, flag = impute_date(cm[str(therapy["date"])], "first")
    nact = pd.DataFrame({"USUBJID": cm["USUBJID"], "D": start, "F": flag})
    nact = nact.dropna(subset=["D"]).sort_values(["USUBJID", "D"]).groupby("USUBJID").first()
    adsl["NACTDT"] = nact["D"].reindex(idx)
    adsl["NACTDTF"] = nact["F"].reindex(idx)
    return adsl.reset_index(drop=True)

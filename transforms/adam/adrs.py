"""ADRS: response per assessment and the per-subject response parameters (BDS).

Parameters (settings in ``adam/adrs.yaml`` name the response scale and windows):

- ``OVR``  overall response per assessment (RS); ANL01FL marks an *adequate* one: an
  evaluable response on or after the first dose and not after new anticancer therapy.
- ``BOR``  best confirmed overall response: a response counts when the next adequate
  assessment is at least as good (the worse of the two is what is confirmed), up to the
  first progression; an unconfirmed response is stable disease at best.
- ``CRRSP`` / ``VGPRRSP`` confirmed CR-or-better / VGPR-or-better (Y/N, every ITT subject).
- ``MRDNEG`` MRD negativity at any assessment after the first dose (Y/N).
- ``PD``   first progression; ANL01FL when it is not preceded by two or more missed
  assessments and not after new anticancer therapy (FDA PFS censoring conventions).
- ``DEATH`` death (ADSL.DTHDT); ANL01FL on the same conditions.
- ``LSTA`` the last adequate assessment before progression (the PFS censoring date).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from transforms.adam.dates import iso_date, study_day
from transforms.adam.spec import AdamSpec

SUBJECT = ["STUDYID", "USUBJID"]
ADSL_VARS = ["STUDYID", "USUBJID", "SUBJID", "SITEID", "TRT01P", "TRT01A", "ITTFL", "SAFFL"]


def _yes(mask: pd.Series) -> pd.Series:
    return pd.Series(pd.NA, index=mask.index, dtype="string").mask(mask.fillna(False), "Y")


def _overall(rs: pd.DataFrame, adsl: pd.DataFrame, scale: list[str]) -> pd.DataFrame:
    ovr = rs[(rs["RSTESTCD"] == "OVRLRESP") & rs["RSSTRESC"].notna()]
    ovr = ovr.merge(adsl[["USUBJID", "TRTSDT", "NACTDT"]], on="USUBJID", how="inner")
    out = pd.DataFrame(
        {
            "USUBJID": ovr["USUBJID"],
            "PARAMCD": "OVR",
            "PARAM": "Overall Response by Investigator (IMWG)",
            "AVALC": ovr["RSSTRESC"],
            "ADT": iso_date(ovr["RSDTC"]),
            "AVISIT": ovr["VISIT"],
            "AVISITN": ovr["VISITNUM"],
            "SRCDOM": "RS",
            "SRCVAR": "RSSTRESC",
            "SRCSEQ": ovr["RSSEQ"],
            "TRTSDT": ovr["TRTSDT"],
            "NACTDT": ovr["NACTDT"],
        }
    )
    rank = {value: float(n) for n, value in enumerate(scale, start=1)}
    out["AVAL"] = out["AVALC"].map(rank).astype("float64")
    adequate = (
        out["AVAL"].notna()
        & (out["ADT"] >= out["TRTSDT"])
        & (out["NACTDT"].isna() | (out["ADT"] <= out["NACTDT"]))
    )
    out["ANL01FL"] = _yes(adequate)
    return out.drop(columns=["TRTSDT", "NACTDT"])


def _best_confirmed(
    adequate: pd.DataFrame, scale: list[str], confirm: list[str], stable: str, progression: str
) -> pd.DataFrame:
    """Per subject: the best confirmed response (and the date it was first reached)."""
    seq = adequate.sort_values(["USUBJID", "ADT"]).copy()
    pd_rank = float(scale.index(progression) + 1)
    first_pd = seq[seq["AVAL"] == pd_rank].groupby("USUBJID")["ADT"].min()
    # NaT: never progressed (reindex, not map: map fails on an empty datetime Series)
    limit = pd.Series(first_pd.reindex(seq["USUBJID"]).to_numpy(), index=seq.index)
    seq = seq[~(seq["ADT"] > limit)]  # up to the first progression
    nxt = seq.groupby("USUBJID")["AVAL"].shift(-1)
    needs = seq["AVALC"].isin(confirm)
    stable_rank = float(scale.index(stable) + 1)
    # Worse of this and the next assessment; none next: unconfirmed, stable disease at best.
    confirmed = seq["AVAL"].where(~needs, pd.concat([seq["AVAL"], nxt], axis=1).max(axis=1))
    confirmed = confirmed.where(~needs | nxt.notna(), stable_rank)
    confirmed = confirmed.where(~(needs & (confirmed > stable_rank)), stable_rank)
    seq["CONF"] = confirmed
    best = seq.sort_values(["USUBJID", "CONF", "ADT"]).groupby("USUBJID").first()
    labels = {float(n): value for n, value in enumerate(scale, start=1)}
    return pd.DataFrame(
        {"AVAL": best["CONF"], "AVALC": best["CONF"].map(labels), "ADT": best["ADT"]}
    )


def derive_adrs(
    sdtm: Mapping[str, pd.DataFrame], adsl: pd.DataFrame, spec: AdamSpec
) -> pd.DataFrame:
    s = spec.settings
    scale = [str(v) for v in s["scale"]]  # best first
    ovr = _overall(sdtm["RS"], adsl, scale)
    adequate = ovr[ovr["ANL01FL"] == "Y"]
    itt = adsl.loc[adsl["ITTFL"] == "Y", "USUBJID"]
    index = pd.Index(itt, name="USUBJID")

    best = _best_confirmed(
        adequate, scale, list(s["confirm"]), str(s["stable"]), str(s["progression"])
    ).reindex(index)
    bor = pd.DataFrame(
        {
            "USUBJID": index,
            "PARAMCD": "BOR",
            "PARAM": "Best Confirmed Overall Response (IMWG)",
            "AVALC": best["AVALC"].fillna("NE").to_numpy(),
            "AVAL": best["AVAL"].to_numpy(),
            "ADT": best["ADT"].to_numpy(),
        }
    )
    rates = []
    for code, label, values in (
        ("CRRSP", "Confirmed CR or Better (IMWG)", s["cr_or_better"]),
        ("VGPRRSP", "Confirmed VGPR or Better (IMWG)", s["vgpr_or_better"]),
    ):
        hit = bor["AVALC"].isin(values)
        rates.append(
            bor.assign(
                PARAMCD=code,
                PARAM=label,
                AVALC=hit.map({True: "Y", False: "N"}),
                AVAL=hit.astype("float64"),
                ADT=bor["ADT"].where(hit),
            )
        )

    rs = sdtm["RS"]
    mrd = rs[(rs["RSTESTCD"] == str(s["mrd"]["testcd"])) & rs["RSSTRESC"].notna()]
    mrd = mrd.merge(adsl[["USUBJID", "TRTSDT"]], on="USUBJID")
    mrd = mrd.assign(ADT=iso_date(mrd["RSDTC"]))
    negative = mrd[(mrd["RSSTRESC"] == s["mrd"]["negative"]) & (mrd["ADT"] >= mrd["TRTSDT"])]
    first_negative = negative.sort_values("ADT").groupby("USUBJID").first()
    neg = first_negative.reindex(index)
    hit = pd.Series(neg["ADT"].notna().to_numpy())
    rates.append(
        pd.DataFrame(
            {
                "USUBJID": index,
                "PARAMCD": "MRDNEG",
                "PARAM": f"MRD Negativity ({s['mrd']['sensitivity']})",
                "AVALC": hit.map({True: "Y", False: "N"}).to_numpy(),
                "AVAL": hit.astype("float64").to_numpy(),
                "ADT": neg["ADT"].to_numpy(),
                "SRCDOM": "RS",
                "SRCVAR": "RSSTRESC",
                "SRCSEQ": neg["RSSEQ"].to_numpy(),
            }
        )
    )

    # Progression, death and the last adequate assessment: the PFS sources.
    window = pd.Timedelta(days=int(s["missed_assessment_days"]))
    subjects = adsl.set_index("USUBJID")
    pd_records = adequate[adequate["AVALC"] == s["progression"]].sort_values("ADT")
    first_pd = pd_records.groupby("USUBJID").first()
    before_pd = adequate.merge(
        first_pd["ADT"].rename("PDDT"), left_on="USUBJID", right_index=True, how="left"
    )
    before_pd = before_pd[before_pd["PDDT"].isna() | (before_pd["ADT"] < before_pd["PDDT"])]
    lsta = before_pd.sort_values("ADT").groupby("USUBJID").last()
    last_adequate = lsta["ADT"].reindex(subjects.index).fillna(subjects["TRTSDT"])

    def within(date: pd.Series) -> pd.Series:
        """Not after two or more missed assessments, nor after new anticancer therapy."""
        subject = date.index
        gap_ok = date - last_adequate.reindex(subject) <= window
        nact = subjects["NACTDT"].reindex(subject)
        return gap_ok & (nact.isna() | (date <= nact))

    progression = pd.DataFrame(
        {
            "USUBJID": first_pd.index,
            "PARAMCD": "PD",
            "PARAM": "Disease Progression (IMWG)",
            "AVALC": "Y",
            "AVAL": 1.0,
            "ADT": first_pd["ADT"].to_numpy(),
            "ANL01FL": _yes(within(first_pd["ADT"])).to_numpy(),
            "SRCDOM": "RS",
            "SRCVAR": "RSDTC",
            "SRCSEQ": first_pd["SRCSEQ"].to_numpy(),
        }
    )
    dead = subjects.loc[subjects["DTHDT"].notna(), "DTHDT"]
    death = pd.DataFrame(
        {
            "USUBJID": dead.index,
            "PARAMCD": "DEATH",
            "PARAM": "Death",
            "AVALC": "Y",
            "AVAL": 1.0,
            "ADT": dead.to_numpy(),
            "ANL01FL": _yes(within(dead)).to_numpy(),
            "SRCDOM": "ADSL",
            "SRCVAR": "DTHDT",
        }
    )
    last = pd.DataFrame(
        {
            "USUBJID": lsta.index,
            "PARAMCD": "LSTA",
            "PARAM": "Last Adequate Response Assessment",
            "AVALC": lsta["AVALC"].to_numpy(),
            "AVAL": lsta["AVAL"].to_numpy(),
            "ADT": lsta["ADT"].to_numpy(),
            "ANL01FL": "Y",
            "AVISIT": lsta["AVISIT"].to_numpy(),
            "AVISITN": lsta["AVISITN"].to_numpy(),
            "SRCDOM": "RS",
            "SRCVAR": "RSDTC",
            "SRCSEQ": lsta["SRCSEQ"].to_numpy(),
        }
    )
    adrs = pd.concat([ovr, bor, *rates, progression, death, last], ignore_index=True)
    adrs = adrs.merge(adsl[[*ADSL_VARS, "TRTSDT"]], on="USUBJID", how="inner")
    adrs["ADY"] = study_day(adrs["ADT"], adrs["TRTSDT"])
    adrs = adrs.sort_values(["USUBJID", "PARAMCD", "ADT", "AVISITN"], kind="stable")
    adrs["ASEQ"] = adrs.groupby("USUBJID").cumcount() + 1.0
    return adrs.reset_index(drop=True)

"""The trial design against the subjects' data: every record's EPOCH against the element
the subject was in on its date (SE), every visit against the subject's visits (SV) and the
planned ones (TV), the arms and elements against TA and TE.

The trial design datasets of the run are read once, before the others (:func:`load`);
each check then runs over one frame of a dataset at a time (whole subjects), vectorised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import pandas as pd

from transforms import standards
from transforms.conformance.dates import complete_date
from transforms.conformance.findings import Dataset, Findings, as_text, isin

# What each check reads of the trial design datasets.
WANTED = {
    "TA": ["ARMCD", "ARM", "TAETORD", "ETCD", "EPOCH"],
    "TE": ["ETCD"],
    "TV": ["VISITNUM", "VISIT", "VISITDY"],
    "TI": ["IETESTCD"],
    "SE": ["USUBJID", "ETCD", "TAETORD", "EPOCH", "SESTDTC", "SEENDTC"],
    "SV": ["USUBJID", "VISITNUM", "VISIT", "SVUPDES"],
}
SUBJECT_LEVEL = ("SE", "SV", "TA", "TE", "TV", "TI", "TS")  # not checked against SE/SV


@dataclass
class Schedule:
    """The run's trial design datasets (those it has), as the checks need them, and what
    the checks make of them, made once for the frames of every dataset."""

    tables: dict[str, pd.DataFrame]
    _made: dict[object, pd.DataFrame | pd.Series] = field(default_factory=dict, repr=False)

    def get(self, name: str) -> pd.DataFrame | None:
        return self.tables.get(name)

    def elements(self) -> pd.DataFrame | None:
        """SE as day intervals per subject (:func:`_elements`); None without SE."""
        se = self.get("SE")
        if se is None:
            return None
        if "elements" not in self._made:
            self._made["elements"] = _elements(se)
        return cast(pd.DataFrame, self._made["elements"])

    def visits(self, labelled: bool) -> pd.Series | None:
        """SV's visits as "USUBJID|VISITNUM" text (with "|VISIT" when `labelled`)."""
        sv = self.get("SV")
        if sv is None:
            return None
        if ("visits", labelled) not in self._made:
            visits = sv["USUBJID"].astype("string") + "|" + as_text(sv["VISITNUM"]).fillna("")
            if labelled:
                visits = visits + "|" + sv["VISIT"].astype("string").fillna("")
            self._made["visits", labelled] = visits
        return cast(pd.Series, self._made["visits", labelled])


def load(read: Callable[[str, list[str]], pd.DataFrame | None]) -> Schedule:
    """The trial design datasets of a run: `read(name, columns)` gives those columns of a
    dataset, or None when the run does not hold it (or it cannot be read: the dataset
    checks report that)."""
    tables = {}
    for name, columns in WANTED.items():
        data = read(name, columns)
        if data is not None:
            tables[name] = data.reset_index(drop=True)
    return Schedule(tables)


def _date_variable(ds: Dataset) -> str | None:
    """The date a record's EPOCH is of (SDTMIG 3.4): a finding's --DTC, an
    event's or intervention's --STDTC (else the one it has)."""
    prefix = ds.name[:2]
    ig = standards.ig_dataset(ds.name)
    names = [f"{prefix}DTC", f"{prefix}STDTC"]
    if ig is None or not ig.class_.startswith("Findings"):
        names.reverse()
    return next((name for name in names if name in ds.variables), None)


def _elements(se: pd.DataFrame) -> pd.DataFrame:
    """SE as day intervals per subject, each with the element before it (an element that
    ends on the day the next one starts shares that day with it)."""
    out = pd.DataFrame(
        {
            "USUBJID": se["USUBJID"].astype("string"),
            "start": complete_date(se["SESTDTC"]),
            "end": complete_date(se["SEENDTC"]),
            "EPOCH": se["EPOCH"].astype("string"),
        }
    ).dropna(subset=["USUBJID", "start"])
    out = out.sort_values(["USUBJID", "start"], kind="stable").reset_index(drop=True)
    same = out["USUBJID"].eq(out["USUBJID"].shift())
    out["before_epoch"] = out["EPOCH"].shift().where(same)
    out["before_end"] = out["end"].shift().where(same)
    return out


def check_epochs(ds: Dataset, schedule: Schedule, findings: Findings) -> None:
    """PIPE-012: a record's EPOCH is the epoch of the SE element the subject was in on the
    record's (complete) date; on a transition day either element's. A subject without SE
    records, a record without a complete date, or an EPOCH that is no epoch of SE at all
    (SD1015 says so) is not checked."""
    date = _date_variable(ds)
    if ds.name in SUBJECT_LEVEL or date is None or not {"EPOCH", "USUBJID"} <= set(ds.variables):
        return
    elements = schedule.elements()
    if elements is None:
        return
    # Subjects as numbers (SE's subjects; -1 for another): the records joined to the
    # elements hold a number and a day each, not the dataset's text (LB: millions of rows).
    subjects = pd.Index(elements["USUBJID"].unique())
    records = pd.DataFrame(
        {
            "subject": subjects.get_indexer(ds["USUBJID"].astype("string")),
            "day": complete_date(ds[date]),
            "i": np.arange(len(ds.index)),  # positions in the frame
        }
    )
    todo = records[(records["subject"] >= 0) & records["day"].notna()]
    del records
    if todo.empty:
        return
    spans_of = elements.assign(subject=subjects.get_indexer(elements["USUBJID"]))
    found = pd.merge_asof(
        todo.sort_values("day", kind="stable"),
        spans_of.drop(columns="USUBJID").rename(columns={"EPOCH": "EPOCH_se"}).sort_values(
            "start", kind="stable"
        ),
        left_on="day", right_on="start", by="subject", direction="backward",
    ).set_index("i")  # fmt: skip
    found["EPOCH"] = ds["EPOCH"].astype("string").iloc[found.index.to_numpy()].set_axis(found.index)
    day = found["day"]
    spans = found["start"].notna() & (found["end"].isna() | (day <= found["end"]))
    expected = found["EPOCH_se"].where(spans)
    # On the day one element ends and the next starts, the one before also spans it.
    shared = found["before_end"].notna() & (day <= found["before_end"])
    also = found["before_epoch"].where(shared)
    epoch = found["EPOCH"]
    agrees = (epoch.isna() & expected.isna()) | epoch.eq(expected).fillna(False)
    # An EPOCH that is no epoch of the trial at all is SD1015's finding, not this one's.
    agrees |= epoch.notna() & ~epoch.isin(elements["EPOCH"].dropna().unique())
    agrees |= epoch.eq(also).fillna(False)
    wrong = pd.Series(False, index=ds.index)
    wrong.iloc[found.index[~agrees.astype(bool)].to_numpy()] = True
    if not wrong.any():
        return
    hit = found.loc[~agrees.astype(bool)]
    message = pd.Series(pd.NA, index=ds.index, dtype="string")
    said = (
        f"EPOCH of the subject's SE element on {date} "
        + hit["day"].dt.strftime("%Y-%m-%d")
        + ": "
        + expected.loc[hit.index].fillna("none").astype("string")
        + (" or " + also.loc[hit.index].astype("string")).fillna("")
    )
    message.iloc[hit.index.to_numpy()] = said.to_numpy()
    findings.rows("PIPE-012", ds, wrong, "EPOCH", message)


def check_visits(ds: Dataset, schedule: Schedule, findings: Findings) -> None:
    """SD0065: a record's subject, VISITNUM and VISIT are a visit of SV. SD1023: a planned
    visit's VISIT is TV's name of its VISITNUM."""
    if ds.name in SUBJECT_LEVEL or not {"USUBJID", "VISITNUM"} <= set(ds.variables):
        return
    number = pd.to_numeric(ds["VISITNUM"], errors="coerce").astype("float64")
    label = ds["VISIT"].astype("string") if "VISIT" in ds.variables else None
    present = number.notna()
    visits = schedule.visits(labelled=label is not None)
    if visits is not None:
        key = ds["USUBJID"].astype("string") + "|" + as_text(number).fillna("")
        if label is not None:
            key = key + "|" + label.fillna("")
        missing = present & ~isin(key, visits)
        findings.rows(
            "SD0065", ds, missing, "VISITNUM",
            "no SV record of the subject with this VISITNUM and VISIT",
        )  # fmt: skip
    tv = schedule.get("TV")
    if tv is not None and label is not None:
        names = dict(zip(tv["VISITNUM"].astype("float64"), tv["VISIT"].astype("string"),
                         strict=True))  # fmt: skip
        planned = number.map(names)
        other = present & planned.notna() & label.ne(planned).fillna(True)
        message = "VISIT of TV for this VISITNUM: " + planned.astype("string")
        findings.rows("SD1023", ds, other, "VISIT", message, label)


def check_subject_visits(ds: Dataset, schedule: Schedule, findings: Findings) -> None:
    """SV against TV: SD1017 a planned visit (no SVUPDES) is a TV visit, SD1018 with TV's
    VISIT and VISITDY; SD1019 an unplanned one has no VISITDY."""
    if ds.name != "SV" or "VISITNUM" not in ds.variables:
        return
    number = pd.to_numeric(ds["VISITNUM"], errors="coerce").astype("float64")
    unplanned = (
        ds["SVUPDES"].notna() if "SVUPDES" in ds.variables else pd.Series(False, index=ds.index)
    )
    if "VISITDY" in ds.variables:
        findings.rows(
            "SD1019", ds, unplanned & ds["VISITDY"].notna(), "VISITDY",
            "VISITDY is populated for an unplanned visit (SVUPDES given)",
        )  # fmt: skip
    tv = schedule.get("TV")
    if tv is None:
        return
    tv_number = tv["VISITNUM"].astype("float64")
    planned = ~unplanned & number.notna()
    findings.rows(
        "SD1017", ds, planned & ~number.isin(tv_number), "VISITNUM",
        "a planned visit (no SVUPDES) that is not a TV visit",
    )  # fmt: skip
    columns = [c for c in ("VISIT", "VISITDY") if c in ds.variables]
    if not columns:
        return
    mine = pd.DataFrame({c: as_text(ds[c]) for c in columns}).assign(VISITNUM=number)
    theirs = pd.DataFrame({c: as_text(tv[c]) for c in columns}).assign(VISITNUM=tv_number)
    theirs = theirs.drop_duplicates("VISITNUM")
    joined = mine.merge(theirs, on="VISITNUM", how="left", suffixes=("", "_tv"))
    differs = pd.Series(False, index=ds.index)
    for c in columns:
        differs |= joined[c].fillna("").ne(joined[f"{c}_tv"].fillna("")).to_numpy()
    differs &= planned & number.isin(tv_number)
    message = (
        "TV says "
        + joined["VISIT_tv" if "VISIT" in columns else "VISITNUM"].astype("string").fillna("")
        + (" day " + joined["VISITDY_tv"].fillna("-") if "VISITDY" in columns else "")
    )
    findings.rows("SD1018", ds, differs, "VISITNUM", pd.Series(message.to_numpy(), ds.index))


def check_arms(ds: Dataset, schedule: Schedule, findings: Findings) -> None:
    """DM's arms are TA's (SD0066 ARMCD, SD2002 ACTARMCD); TA's elements are TE's
    (PIPE-016); SE's elements are TE's (SD0067) and in TA's place for them (SD1014: ETCD,
    TAETORD and EPOCH of a TA record)."""
    ta, te = schedule.get("TA"), schedule.get("TE")
    if ds.name == "DM" and ta is not None:
        arms = ta["ARMCD"].astype("string").dropna().unique().tolist()
        for column, rule in (("ARMCD", "SD0066"), ("ACTARMCD", "SD2002")):
            if column in ds.variables:
                values = ds[column].astype("string")
                findings.rows(
                    rule, ds, values.notna() & ~isin(values, arms), column,
                    f"{column} is not an arm of TA ({', '.join(arms)})",
                )  # fmt: skip
    if ds.name == "TA" and te is not None and "ETCD" in ds.variables:
        codes = te["ETCD"].astype("string").dropna().unique().tolist()
        etcd = ds["ETCD"].astype("string")
        findings.rows(
            "PIPE-016", ds, etcd.notna() & ~isin(etcd, codes), "ETCD",
            f"ETCD is not an element of TE ({', '.join(codes)})",
        )  # fmt: skip
    if ds.name != "SE" or "ETCD" not in ds.variables:
        return
    etcd = ds["ETCD"].astype("string")
    if te is not None:
        codes = te["ETCD"].astype("string").dropna().unique().tolist()
        findings.rows(
            "SD0067", ds, etcd.notna() & etcd.ne("UNPLAN") & ~isin(etcd, codes), "ETCD",
            f"ETCD is not an element of TE ({', '.join(codes)})",
        )  # fmt: skip
    if ta is not None and {"TAETORD", "EPOCH"} <= set(ds.variables):

        def place(frame: pd.DataFrame) -> pd.Series:
            return (
                frame["ETCD"].astype("string").fillna("")
                + "|" + as_text(frame["TAETORD"]).fillna("")
                + "|" + frame["EPOCH"].astype("string").fillna("")
            )  # fmt: skip

        mine = place(ds.frame(["ETCD", "TAETORD", "EPOCH"]))
        planned = ds["TAETORD"].notna() & etcd.ne("UNPLAN")
        findings.rows(
            "SD1014", ds, planned & ~isin(mine, place(ta)), "TAETORD",
            "no TA record has this ETCD, TAETORD and EPOCH",
            ds["TAETORD"],
        )  # fmt: skip


def check_trial_summary(ds: Dataset, schedule: Schedule, findings: Findings) -> None:
    """PIPE-013: TS NARMS is the number of arms in TA."""
    ta = schedule.get("TA")
    if ds.name != "TS" or ta is None or not {"TSPARMCD", "TSVAL"} <= set(ds.variables):
        return
    arms = ta["ARMCD"].dropna().nunique()
    narms = ds["TSPARMCD"].eq("NARMS").fillna(False).astype(bool)
    value = pd.to_numeric(ds["TSVAL"], errors="coerce")
    findings.rows(
        "PIPE-013", ds, narms & value.ne(arms).fillna(True), "TSVAL",
        f"NARMS is not the number of arms in TA ({arms})",
    )  # fmt: skip


def check_criteria(ds: Dataset, schedule: Schedule, findings: Findings) -> None:
    """PIPE-017: each IE record's criterion (IETESTCD) is one of TI."""
    ti = schedule.get("TI")
    if ds.name != "IE" or ti is None or "IETESTCD" not in ds.variables:
        return
    codes = ti["IETESTCD"].astype("string").dropna().unique().tolist()
    testcd = ds["IETESTCD"].astype("string")
    findings.rows(
        "PIPE-017", ds, testcd.notna() & ~isin(testcd, codes), "IETESTCD",
        "IETESTCD is not a criterion of TI",
    )  # fmt: skip


def check_dataset(ds: Dataset, schedule: Schedule, findings: Findings) -> None:
    """Every trial design check of one dataset."""
    check_criteria(ds, schedule, findings)
    check_trial_summary(ds, schedule, findings)
    check_epochs(ds, schedule, findings)
    check_visits(ds, schedule, findings)
    check_subject_visits(ds, schedule, findings)
    check_arms(ds, schedule, findings)

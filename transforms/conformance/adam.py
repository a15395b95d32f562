"""ADaM checks, vectorised, of each dataset as a whole and then of its frames (whole
subjects: :meth:`~transforms.conformance.findings.Dataset.frames`); ADSL is read first."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

import pandas as pd

from transforms import standards
from transforms.adam.spec import AdamSpec, ig_lookup
from transforms.conformance.findings import Dataset, Findings, as_text, isin
from transforms.standards import Codelist

SAS_EPOCH = pd.Timestamp("1960-01-01")
TTE = ["CNSR", "STARTDT", "ADT", "AVAL", "AVALU"]  # what the time-to-event checks read
IG_STRUCTURE = {
    "ADSL": "Subject-Level Analysis Dataset",
    "BDS": "Basic Data Structure",
    "TTE": "Basic Data Structure",
}


@dataclass
class AdamContext:
    specs: Mapping[str, AdamSpec]
    dm: pd.DataFrame | None  # SDTM DM (STUDYID, USUBJID)
    seen: set[str] = field(default_factory=set)

    def structure(self, ds: Dataset) -> str:
        """ADSL | BDS | TTE | OCCDS: the spec's, else guessed from the variables."""
        spec = self.specs.get(ds.name)
        if spec is not None:
            return spec.structure
        if ds.name == "ADSL":
            return "ADSL"
        if "CNSR" in ds.variables:
            return "TTE"
        return "BDS" if "PARAMCD" in ds.variables else "OCCDS"


@cache
def _ig_table() -> pd.DataFrame:
    return standards.ig_variables("ADAMIG")


def _required(structure: str) -> list[str]:
    """ADaMIG Required variables (a TRTxxP name stands for 'at least one TRTnnP')."""
    table = _ig_table()
    ig = IG_STRUCTURE.get(structure)
    if ig is None:  # OCCDS: no table here; every ADaM dataset identifies study and subject
        return ["STUDYID", "USUBJID"]
    rows = table[(table["Data Structure Name"] == ig) & (table["Core"] == "Req")]
    return list(rows["Variable Name"])


def population_flags() -> list[str]:
    table = _ig_table()
    rows = table[table["Variable Set"] == "Population Indicator"]
    return [n for n in rows["Variable Name"] if n.endswith("FL")]


def _codelist(code: str) -> Codelist | None:
    for package in ("SDTM", "ADaM"):
        try:
            return standards.controlled_terms(package).codelist(code)
        except KeyError:
            continue
    return None


def _dates(values: pd.Series) -> pd.Series:
    """Dates from Parquet (datetime) or XPT (SAS day counts)."""
    if pd.api.types.is_numeric_dtype(values):
        return SAS_EPOCH + pd.to_timedelta(values, unit="D")
    return pd.to_datetime(values, errors="coerce")


def check_dataset(ds: Dataset, ctx: AdamContext, findings: Findings) -> None:
    """The ADaM checks of one dataset as a whole, before its frames' (:func:`check_frame`)."""
    ctx.seen.add(ds.name)
    structure = ctx.structure(ds)
    for name in _required(structure):
        if "xx" in name:
            pattern = re.compile("^" + name.replace("xx", r"\d\d") + "$")
            if not any(pattern.match(c) for c in ds.columns):
                findings.one("AD0047", ds.name, name, f"no {name} variable (e.g. TRT01P)")
        elif name not in ds.columns:
            findings.one("AD0047", ds.name, name, f"Required variable {name} is missing")
    if ds.name == "ADSL" and "USUBJID" in ds.variables and not _flags(ds):
        findings.one("AD0048", ds.name, None, "ADSL has no population flag")
    if "STARTDT" in ds.variables and "CNSR" not in ds.variables:
        findings.one("AD0170", ds.name, "CNSR", "STARTDT is present but CNSR is not")


def _flags(ds: Dataset) -> list[str]:
    return [f for f in population_flags() if f in ds.variables]


def check_frame(ds: Dataset, ctx: AdamContext, findings: Findings) -> None:
    """The ADaM checks of the records of one frame of a dataset (whole subjects)."""
    if ds.name == "ADSL" and "USUBJID" in ds.variables:
        findings.rows(
            "AD0054",
            ds,
            ds["USUBJID"].duplicated(keep=False),
            "USUBJID",
            "more than one ADSL record for the subject",
        )
        for flag in _flags(ds):
            findings.rows("AD0019", ds, ds[flag].isna(), flag, f"{flag} is null")
    if ctx.dm is not None and {"STUDYID", "USUBJID"} <= set(ds.variables):
        known = pd.MultiIndex.from_frame(ctx.dm[["STUDYID", "USUBJID"]].astype("string"))
        pairs = pd.MultiIndex.from_frame(ds.frame(["STUDYID", "USUBJID"]).astype("string"))
        findings.rows(
            "AD0053",
            ds,
            pd.Series(~pairs.isin(known), index=ds.index),
            "USUBJID",
            "STUDYID/USUBJID not in SDTM DM",
        )
    for column in (c for c in ds.variables if c.endswith("DY")):
        values = ds[column]
        if pd.api.types.is_numeric_dtype(values):
            findings.rows("AD0046", ds, values == 0, column, f"{column} is 0")
    _check_tte(ds, findings)
    _check_terminology(ds, ctx, findings)


def _check_tte(ds: Dataset, findings: Findings) -> None:
    data = ds.frame([c for c in TTE if c in ds.variables])
    if "CNSR" in data.columns:
        cnsr = pd.to_numeric(data["CNSR"], errors="coerce").astype("float64")
        bad = cnsr.isna() | (cnsr < 0) | (cnsr % 1 != 0)
        findings.rows("AD0169", ds, bad, "CNSR", "CNSR must be 0 (event) or a positive integer")
    if not {"AVAL", "ADT", "STARTDT"} <= set(data.columns) or "CNSR" not in data.columns:
        return
    in_days = pd.Series(True, index=data.index)
    if "AVALU" in data.columns:
        unit = data["AVALU"].astype("string").str.upper()
        in_days = unit.isna() | unit.isin(["DAYS", "DAY"])
    start, end = _dates(data["STARTDT"]), _dates(data["ADT"])
    aval = pd.to_numeric(data["AVAL"], errors="coerce").astype("float64")
    expected = (end - start).dt.days.astype("float64") + 1
    wrong = in_days & aval.notna() & expected.notna() & ((aval - expected).abs() > 1e-9)
    message = (
        "AVAL "
        + as_text(aval).fillna("null")
        + " but ADT "
        + as_text(end).fillna("null")
        + " - STARTDT "
        + as_text(start).fillna("null")
        + " + 1 = "
        + as_text(expected).fillna("null")
    )
    findings.rows("PIPE-009", ds, wrong, "AVAL", message, aval)
    early = (end < start).fillna(False)  # a date error in the source, or the wrong origin
    before = "ADT " + as_text(end).fillna("") + " is before STARTDT " + as_text(start).fillna("")
    findings.rows("PIPE-011", ds, early, "ADT", before, end)


def _check_terminology(ds: Dataset, ctx: AdamContext, findings: Findings) -> None:
    spec = ctx.specs.get(ds.name)
    for var in spec.variables if spec else ():
        if not var.codelist or var.name not in ds.variables:
            continue
        codelist = _codelist(var.codelist)
        if codelist is None:
            continue
        values = as_text(ds[var.name])
        bad = values.notna() & ~isin(values, list(codelist.terms))
        kind = "extensible" if codelist.extensible else "non-extensible"
        findings.rows(
            "CT2002" if codelist.extensible else "CT2001",
            ds,
            bad,
            var.name,
            f"not a term of {kind} codelist {var.codelist} ({codelist.short_name})",
            values,
        )


def ig_label(ds: Dataset, ctx: AdamContext) -> dict[str, str | None]:
    """The ADaMIG label of each variable of the dataset (None: not an IG variable)."""
    structure = ctx.structure(ds)
    return {c: (hit[0] if (hit := ig_lookup(structure, c)) else None) for c in ds.columns}


def check_study(ctx: AdamContext, findings: Findings) -> None:
    if ctx.seen and "ADSL" not in ctx.seen:
        findings.one("AD0001", "ADSL", None, "ADaM datasets but no ADSL")

"""SDTM checks, one vectorised pass per dataset (the cross-domain ones read DM, which is
loaded first, and what earlier datasets left in the :class:`SdtmContext`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from transforms import standards
from transforms.conformance.dates import after, study_day, valid_iso8601
from transforms.conformance.findings import Dataset, Findings, as_text
from transforms.conformance.rules import TS_DATES, TS_PARAMETERS
from transforms.sdtm.algorithms import Epoch, Hardcode
from transforms.specs import DatasetSpec, StudySpec

SUPP_KEYS = ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"]
OBSERVATION_CLASSES = frozenset({"Events", "Interventions", "Findings", "Findings About"})
RECOVERED = frozenset({"RECOVERED/RESOLVED", "RECOVERED/RESOLVED WITH SEQUELAE"})
ONGOING = frozenset({"NOT RECOVERED/NOT RESOLVED", "RECOVERING/RESOLVING"})
NUMBER = r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$"


@dataclass
class SdtmContext:
    """What the checks of one dataset need from the study and from datasets read before."""

    study: StudySpec | None
    epochs: frozenset[str]  # valid EPOCH values (TA, else the spec's epochs); empty: unknown
    epoch_source: str
    dm: pd.DataFrame | None = None
    # Parent datasets' identifying values (as text) for the SUPP-- reference check.
    parents: dict[str, pd.DataFrame] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def spec(self, name: str) -> DatasetSpec | None:
        return self.study.datasets.get(name) if self.study else None

    def dm_value(self, ds: Dataset, column: str) -> pd.Series:
        """The subject's DM value of ``column`` for each row of ``ds`` (NA if unknown)."""
        if self.dm is None or column not in self.dm or "USUBJID" not in ds.data:
            return pd.Series(pd.NA, index=ds.data.index, dtype="string")
        lookup = self.dm.drop_duplicates("USUBJID").set_index("USUBJID")[column]
        return ds.data["USUBJID"].map(lookup)


def _rules(value: object) -> Iterator[object]:
    """The rules in a parsed spec rule (frozen dataclasses, nested directly or in tuples);
    an Epoch's own date rules are not walked (their constants are dates, not epochs)."""
    if isinstance(value, tuple | list):
        for item in value:
            yield from _rules(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        yield value
        if not isinstance(value, Epoch):
            for f in dataclasses.fields(value):
                yield from _rules(getattr(value, f.name))


def spec_epochs(study: StudySpec) -> frozenset[str]:
    """The epochs the study spec's EPOCH rules can give: the protocol's epochs."""
    names: set[str] = set()
    for spec in study.datasets.values():
        for block in spec.blocks:
            rule = block.rules.get("EPOCH")
            for node in _rules(rule) if rule is not None else ():
                if isinstance(node, Epoch):
                    names.update(name for name, _, _ in node.epochs)
                elif isinstance(node, Hardcode) and isinstance(node.value, str):
                    names.add(node.value)
    return frozenset(names)


def _blank(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values):
        return values.isna()
    text = values.astype("string").str.strip()
    return text.isna() | (text == "")


def _codelist_code(ds: Dataset, spec: DatasetSpec | None, column: str) -> str | None:
    """The codelist(s) of a variable: the study spec's (which may override or drop the
    IG's), else the SDTMIG's."""
    if spec is not None:
        for var in spec.variables:
            if var.name == column:
                return var.codelist
    ig = standards.ig_variable(ds.name, column)
    return "; ".join(ig.codelists) if ig and ig.codelists else None


def check_presence(ds: Dataset, ctx: SdtmContext, findings: Findings) -> None:
    """Required variables present and never null, Expected variables present; EPOCH."""
    spec = ctx.spec(ds.name)
    core = {v.name: v.core for v in standards.ig_variables_of(ds.name)}
    if spec is not None:
        core.update({v.name: v.core for v in spec.variables if v.name not in core})
    present = set(ds.columns)
    for name, level in core.items():
        if name in present or level not in ("Req", "Exp"):
            continue
        rule = "SD0056" if level == "Req" else "SD0057"
        findings.one(rule, ds.name, name, f"{level} variable {name} is not in {ds.name}")
    for name in (n for n, level in core.items() if level == "Req" and n in ds.data):
        findings.rows("SD0002", ds, _blank(ds.data[name]), name, f"Required {name} is null")
    ig = standards.ig_dataset(ds.name)
    if ig is not None and ig.class_ in OBSERVATION_CLASSES and "EPOCH" not in present:
        findings.one("SD1077", ds.name, "EPOCH", "FDA expects EPOCH in this dataset")
    if len(ds.data) == 0:
        findings.one("SD0001", ds.name, None, f"{ds.name} has no records")


def check_terminology(ds: Dataset, ctx: SdtmContext, findings: Findings) -> None:
    """Values in the variable's codelist: CT2001 (non-extensible), CT2002 (extensible)."""
    spec = ctx.spec(ds.name)
    terms = standards.controlled_terms()
    for column in ds.data.columns:
        code = _codelist_code(ds, spec, column)
        if not code:
            continue
        try:
            codelist = terms.codelist(code)
        except KeyError:  # not in the CT subset the project holds: cannot be checked here
            continue
        values = as_text(ds.data[column])
        bad = values.notna() & ~values.isin(list(codelist.terms))
        if column == "RACE":  # CG0020: MULTIPLE stands for several races (SUPPDM holds them)
            bad &= values != "MULTIPLE"
        kind = "extensible" if codelist.extensible else "non-extensible"
        findings.rows(
            "CT2002" if codelist.extensible else "CT2001",
            ds,
            bad,
            column,
            f"not a term of {kind} codelist {code} ({codelist.short_name})",
            values,
        )


def check_dates(ds: Dataset, ctx: SdtmContext, findings: Findings) -> None:
    """--DTC in ISO 8601; --DY, --STDY, --ENDY against the date and DM.RFSTDTC."""
    data = ds.data
    for column in (c for c in data.columns if c.endswith("DTC")):
        findings.rows(
            "SD0003",
            ds,
            ~valid_iso8601(data[column]),
            column,
            f"{column} is not an ISO 8601 date/time",
        )
    reference = ctx.dm_value(ds, "RFSTDTC")
    for column in (c for c in data.columns if c.endswith("DY") and c != "VISITDY"):
        if not pd.api.types.is_numeric_dtype(data[column]):
            continue
        day = data[column].astype("float64")
        findings.rows("SD0038", ds, day == 0, column, f"{column} is 0: there is no day 0")
        dtc = column[:-2] + "DTC"
        if dtc not in data.columns:
            continue
        expected = study_day(data[dtc], reference)
        wrong = day.notna() & expected.notna() & (day != expected) & (day != 0)
        missing = day.isna() & expected.notna()
        imputed = day.notna() & expected.isna() & (day != 0)
        # The message only for the rows reported (building it for every row costs seconds).
        hit = data.index[(wrong | missing | imputed).fillna(False).to_numpy(dtype=bool)]
        if hit.empty:
            continue
        shown = expected.loc[hit].astype("Int64").astype("string").fillna("-")
        message = (
            f"{column} "
            + as_text(day.loc[hit]).fillna("null")
            + f" but {dtc} "
            + data.loc[hit, dtc].astype("string").fillna("null")
            + " and RFSTDTC "
            + reference.loc[hit].astype("string").fillna("null")
            + " give "
            + shown
        )
        findings.rows("SD1086", ds, wrong, column, message)
        findings.rows("SD1084", ds, missing, column, message)
        findings.rows("SD1085", ds, imputed, column, message)


def check_identifiers(ds: Dataset, ctx: SdtmContext, findings: Findings) -> None:
    """--SEQ unique per subject, natural keys unique, DOMAIN, subject in DM."""
    data = ds.data
    seq = ds.seq_var
    if seq is not None:
        by = ["TSPARMCD"] if ds.name == "TS" else ["USUBJID"]
        if set(by) <= set(data.columns):
            dup = data[seq].notna() & data.duplicated([*by, seq], keep=False)
            rule = "CORE-000154" if ds.name == "TS" else "SD0005"
            findings.rows(rule, ds, dup, seq, f"{seq} repeats within {by[0]}")
    if ds.name == "DM" and "USUBJID" in data.columns:
        findings.rows(
            "SD0083",
            ds,
            data.duplicated("USUBJID", keep=False),
            "USUBJID",
            "more than one DM record for the subject",
        )
    elif ds.name.startswith("SUPP") and set(SUPP_KEYS) <= set(data.columns):
        dup = data.duplicated(SUPP_KEYS, keep=False)
        findings.rows("SD0086", ds, dup, "QNAM", "qualifier given twice for one parent record")
    elif (spec := ctx.spec(ds.name)) is not None and set(spec.keys) <= set(data.columns):
        keys = list(spec.keys)
        dup = data.duplicated(keys, keep=False)
        joined = data[keys[0]].astype("string").fillna("")
        for key in keys[1:]:
            joined = joined + "|" + as_text(data[key]).fillna("")
        findings.rows(
            "FDAB021",
            ds,
            dup,
            "/".join(keys),
            "more than one record with the same natural key",
            joined,
        )
    if "DOMAIN" in data.columns:
        other = data["DOMAIN"].notna() & (data["DOMAIN"] != ds.name)
        findings.rows("SD0004", ds, other, "DOMAIN", f"DOMAIN is not {ds.name}")
    if ds.name != "DM" and ctx.dm is not None and "USUBJID" in data.columns:
        missing = data["USUBJID"].notna() & ~data["USUBJID"].isin(ctx.dm["USUBJID"])
        findings.rows("SD0064", ds, missing, "USUBJID", "subject is not in DM")
    if ctx.epochs and "EPOCH" in data.columns:
        bad = data["EPOCH"].notna() & ~data["EPOCH"].isin(list(ctx.epochs))
        allowed = ", ".join(sorted(ctx.epochs))
        findings.rows("SD1015", ds, bad, "EPOCH", f"not an epoch of {ctx.epoch_source}: {allowed}")


def check_results(ds: Dataset, findings: Findings) -> None:
    """--STRESN is the number in --STRESC, and only then."""
    prefix = ds.name[:2]
    stresc, stresn = f"{prefix}STRESC", f"{prefix}STRESN"
    if not {stresc, stresn} <= set(ds.data.columns):
        return
    text = ds.data[stresc].astype("string")
    number = pd.to_numeric(ds.data[stresn], errors="coerce").astype("float64")
    numeric = text.str.contains(NUMBER, regex=True).fillna(False).astype(bool)
    parsed = pd.to_numeric(text.where(numeric).str.strip(), errors="coerce").astype("float64")
    close = np.isclose(parsed.to_numpy(), number.to_numpy(), rtol=1e-9, atol=1e-12)
    mismatch = numeric & number.notna() & ~pd.Series(close, index=number.index)
    message = f"{stresn} " + as_text(number).fillna("null") + f" but {stresc} " + text
    findings.rows("SD1212", ds, mismatch, stresn, message, number)
    not_number = text.notna() & ~numeric & number.notna()
    findings.rows(
        "SD1212",
        ds,
        not_number,
        stresn,
        f"{stresc} "
        + text.fillna("")
        + " is not a number but "
        + stresn
        + " is "
        + as_text(number).fillna(""),
        number,
    )
    findings.rows(
        "SD1122",
        ds,
        numeric & number.isna(),
        stresn,
        f"{stresc} " + text.fillna("") + f" is a number but {stresn} is null",
        text,
    )


def check_death(ds: Dataset, ctx: SdtmContext, findings: Findings) -> None:
    """DM death flag and date; fatal adverse events against them; AE outcome and end date."""
    data = ds.data
    if ds.name == "DM" and {"DTHDTC", "DTHFL"} <= set(data.columns):
        died = data["DTHFL"] == "Y"
        findings.rows(
            "SD2004",
            ds,
            data["DTHDTC"].notna() & ~died.fillna(False),
            "DTHFL",
            "DTHDTC is populated but DTHFL is not Y",
        )
        findings.rows(
            "SD2005", ds, died & data["DTHDTC"].isna(), "DTHDTC", "DTHFL is Y but DTHDTC is null"
        )
    if ds.name != "AE":
        return
    out = data["AEOUT"] if "AEOUT" in data else pd.Series(pd.NA, index=data.index)
    sdth = data["AESDTH"] if "AESDTH" in data else pd.Series(pd.NA, index=data.index)
    is_fatal = (out == "FATAL").fillna(False).astype(bool)
    is_sdth = (sdth == "Y").fillna(False).astype(bool)
    if ctx.dm is not None:
        dthfl = ctx.dm_value(ds, "DTHFL")
        not_dead = (dthfl != "Y").fillna(True)
        findings.rows(
            "SD1254", ds, is_fatal & not_dead, "AEOUT", "AEOUT is FATAL but DM.DTHFL is not Y"
        )
        findings.rows(
            "SD1255", ds, is_sdth & not_dead, "AESDTH", "AESDTH is Y but DM.DTHFL is not Y"
        )
        death = ctx.dm_value(ds, "DTHDTC")
        for column in ("AEENDTC", "AESTDTC"):
            if column in data.columns:
                late = (is_fatal | is_sdth) & after(data[column], death)
                verb = "ends" if column == "AEENDTC" else "starts"
                findings.rows(
                    "PIPE-005",
                    ds,
                    late,
                    column,
                    f"fatal adverse event {verb} "
                    + data[column].astype("string")
                    + ", after DM.DTHDTC "
                    + death.astype("string"),
                )
    if "AESDTH" in data.columns:
        findings.rows(
            "SD0090", ds, is_fatal & ~is_sdth, "AESDTH", "AEOUT is FATAL but AESDTH is not Y"
        )
    if "AEOUT" in data.columns:
        findings.rows(
            "SD0091", ds, is_sdth & ~is_fatal, "AEOUT", "AESDTH is Y but AEOUT is not FATAL"
        )
        if "AEENDTC" in data.columns:
            end = data["AEENDTC"]
            findings.rows(
                "PIPE-006",
                ds,
                out.isin(list(RECOVERED)) & end.isna(),
                "AEENDTC",
                "AEOUT " + out.astype("string") + " but AEENDTC is null",
            )
            findings.rows(
                "PIPE-007",
                ds,
                out.isin(list(ONGOING)) & end.notna(),
                "AEENDTC",
                "AEOUT " + out.astype("string") + " but AEENDTC is " + end.astype("string"),
            )


def check_trial_summary(ds: Dataset, findings: Findings) -> None:
    """TS holds every parameter FDA expects; its date parameters are ISO 8601."""
    if ds.name != "TS" or "TSPARMCD" not in ds.data.columns:
        return
    present = set(ds.data["TSPARMCD"].dropna())
    for parm, rule in TS_PARAMETERS.items():
        if parm not in present:
            findings.one(rule, "TS", "TSPARMCD", f"no TS record with TSPARMCD {parm}", parm)
    if "TSVAL" in ds.data.columns:
        for parm, rule in TS_DATES.items():
            mine = ds.data["TSPARMCD"] == parm
            bad = mine & ds.data["TSVAL"].notna() & ~valid_iso8601(ds.data["TSVAL"])
            findings.rows(rule, ds, bad, "TSVAL", f"TSVAL of {parm} is not ISO 8601")


def remember_parent(ds: Dataset, ctx: SdtmContext) -> None:
    """Keep a parent dataset's identifying values, as text, for its SUPP-- dataset."""
    if ds.name.startswith("SUPP") or "USUBJID" not in ds.data.columns:
        return
    ids = [c for c in ds.data.columns if c.endswith(("SEQ", "GRPID", "SPID", "REFID", "LNKID"))]
    ctx.parents[ds.name] = pd.DataFrame(
        {c: as_text(ds.data[c]) for c in ["USUBJID", *ids]}, index=ds.data.index
    )


def check_supp_parents(ds: Dataset, ctx: SdtmContext, findings: Findings) -> None:
    """Every SUPP-- record names an existing parent record (RDOMAIN, IDVAR, IDVARVAL)."""
    data = ds.data
    if not ds.name.startswith("SUPP") or not set(SUPP_KEYS) <= set(data.columns):
        return
    parent_name = ds.name[4:]
    parent = ctx.parents.get(parent_name)
    if parent is None:
        return
    orphan = pd.Series(False, index=data.index)
    by_subject = data["IDVAR"].isna()
    orphan |= by_subject & ~data["USUBJID"].isin(parent["USUBJID"])
    for idvar in data.loc[~by_subject, "IDVAR"].dropna().unique():
        mine = (data["IDVAR"] == idvar).fillna(False).astype(bool)
        if idvar not in parent.columns:
            orphan |= mine
            continue
        keys = pd.MultiIndex.from_frame(parent[["USUBJID", idvar]].dropna())
        wanted = pd.MultiIndex.from_arrays([data["USUBJID"], data["IDVARVAL"]])
        orphan |= mine & ~pd.Series(wanted.isin(keys), index=data.index)
    findings.rows(
        "SD0077",
        ds,
        orphan,
        "IDVARVAL",
        f"no {parent_name} record of the subject with this IDVAR/IDVARVAL",
    )


def check_dataset(ds: Dataset, ctx: SdtmContext, findings: Findings) -> None:
    """Every SDTM check of one dataset."""
    ctx.seen.add(ds.name)
    if ds.name == "DM":
        ctx.dm = ds.data
    check_presence(ds, ctx, findings)
    check_terminology(ds, ctx, findings)
    check_dates(ds, ctx, findings)
    check_identifiers(ds, ctx, findings)
    check_results(ds, findings)
    check_death(ds, ctx, findings)
    check_trial_summary(ds, findings)
    check_supp_parents(ds, ctx, findings)
    remember_parent(ds, ctx)


def check_study(ctx: SdtmContext, findings: Findings) -> None:
    """What can only be said once every dataset was read."""
    if ctx.seen and "DM" not in ctx.seen:
        findings.one("SD1020", "DM", None, "the SDTM has no DM dataset")
    if ctx.seen and "TS" not in ctx.seen:
        findings.one("SD1115", "TS", None, "the SDTM has no TS dataset")

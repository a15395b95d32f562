"""SDTM checks, vectorised: of each dataset as a whole (:func:`check_dataset`), then of its
frames, groups of whole subjects (:func:`check_frame`: a record against its own subject's
records, --SEQ and keys holding USUBJID), then of the study (:func:`check_study`). The
cross-domain ones read DM, which is loaded first, and what earlier datasets left in the
:class:`SdtmContext`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from transforms import standards
from transforms.conformance import schedule
from transforms.conformance.dates import after, study_day, valid_iso8601
from transforms.conformance.findings import Dataset, Findings, as_text, isin
from transforms.conformance.rules import TS_DATES, TS_PARAMETERS, TS_VALUE_CODELISTS
from transforms.sdtm.algorithms import Epoch, Hardcode, nodes
from transforms.sdtm.dates import by_unique
from transforms.specs import DatasetSpec, StudySpec

SUPP_KEYS = ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"]
OBSERVATION_CLASSES = frozenset({"Events", "Interventions", "Findings", "Findings About"})
AE_DEATH = ["AEOUT", "AESDTH", "AEENDTC", "AESTDTC"]  # what the AE death checks read
RECOVERED = frozenset({"RECOVERED/RESOLVED", "RECOVERED/RESOLVED WITH SEQUELAE"})
ONGOING = frozenset({"NOT RECOVERED/NOT RESOLVED", "RECOVERING/RESOLVING"})
NUMBER = r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$"


@dataclass(frozen=True)
class Parent:
    """A parent dataset as its SUPP-- check needs it: the subject and identifying variables
    (--SEQ, --GRPID, --SPID, --REFID, --LNKID), read again when the SUPP-- is checked."""

    ids: list[str]
    read: Callable[[str], pd.Series]


@dataclass
class SdtmContext:
    """What the checks of one dataset need from the study and from datasets read before."""

    study: StudySpec | None
    epochs: frozenset[str]  # valid EPOCH values (TA, else the spec's epochs); empty: unknown
    epoch_source: str
    design: schedule.Schedule = field(default_factory=lambda: schedule.Schedule({}))
    dm: pd.DataFrame | None = None
    # Parent datasets, for the SUPP-- reference check.
    parents: dict[str, Parent] = field(default_factory=dict)
    # Datasets with a --LNKGRP, for the link group check once all are read.
    linked: dict[str, Dataset] = field(default_factory=dict)
    # Every dataset but the SUPP--, for the RELREC check once all are read.
    tables: dict[str, Dataset] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def spec(self, name: str) -> DatasetSpec | None:
        return self.study.datasets.get(name) if self.study else None

    def dm_value(self, ds: Dataset, column: str) -> pd.Series:
        """The subject's DM value of ``column`` for each row of ``ds`` (NA if unknown)."""
        if self.dm is None or column not in self.dm or "USUBJID" not in ds.variables:
            return pd.Series(pd.NA, index=ds.index, dtype="string")
        lookup = self.dm.drop_duplicates("USUBJID").set_index("USUBJID")[column]
        return by_unique(ds["USUBJID"], lambda subjects: subjects.map(lookup))


def spec_epochs(study: StudySpec) -> frozenset[str]:
    """The epochs the study spec's EPOCH rules can give: the protocol's epochs."""
    names: set[str] = set()
    for spec in study.datasets.values():
        for block in spec.blocks:
            rule = block.rules.get("EPOCH")
            # An Epoch's own date rules are not walked: their constants are dates.
            for node in nodes(rule, skip=(Epoch,)) if rule is not None else ():
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


def _core(ds: Dataset, ctx: SdtmContext) -> dict[str, str]:
    """Each variable's core (Req, Exp, Perm): the SDTMIG's, then the study spec's."""
    spec = ctx.spec(ds.name)
    core = {v.name: v.core for v in standards.ig_variables_of(ds.name)}
    if spec is not None:
        core.update({v.name: v.core for v in spec.variables if v.name not in core})
    return core


def check_presence(ds: Dataset, ctx: SdtmContext, findings: Findings) -> None:
    """Required and Expected variables present; EPOCH; a study day beside each date."""
    present = set(ds.columns)
    for name, level in _core(ds, ctx).items():
        if name in present or level not in ("Req", "Exp"):
            continue
        rule = "SD0056" if level == "Req" else "SD0057"
        findings.one(rule, ds.name, name, f"{level} variable {name} is not in {ds.name}")
    ig = standards.ig_dataset(ds.name)
    if ig is not None and ig.class_ in OBSERVATION_CLASSES and "EPOCH" not in present:
        findings.one("SD1077", ds.name, "EPOCH", "FDA expects EPOCH in this dataset")
    if ds.length == 0:
        findings.one("SD0001", ds.name, None, f"{ds.name} has no records")
    prefix = _prefix(ds)
    for suffix, (dy_suffix, dy_rule) in STUDY_DAYS.items():
        dated, dy = f"{prefix}{suffix}", f"{prefix}{dy_suffix}"
        if prefix and dated in ds.variables and dy not in ds.variables:
            findings.one(dy_rule, ds.name, dy, f"{dated} is in {ds.name} but {dy} is not")


def check_required(ds: Dataset, ctx: SdtmContext, findings: Findings) -> None:
    """Required variables never null."""
    core = _core(ds, ctx)
    for name in (n for n, level in core.items() if level == "Req" and n in ds.variables):
        findings.rows("SD0002", ds, _blank(ds[name]), name, f"Required {name} is null")


def _outside_codelist(
    ds: Dataset, findings: Findings, column: str, values: pd.Series, code: str,
    rows: pd.Series | None = None, what: str = "",
) -> None:  # fmt: skip
    """CT2001 (non-extensible) / CT2002 (extensible): a value of ``column`` (of the `rows`
    given, else every row) that is no term of codelist ``code``. A codelist outside the CT
    subset the project holds cannot be checked here."""
    try:
        codelist = standards.controlled_terms().codelist(code)
    except KeyError:
        return
    bad = values.notna() & ~isin(values, list(codelist.terms))
    if rows is not None:
        bad &= rows
    kind = "extensible" if codelist.extensible else "non-extensible"
    findings.rows(
        "CT2002" if codelist.extensible else "CT2001",
        ds,
        bad,
        column,
        f"{what}not a term of {kind} codelist {code} ({codelist.short_name})",
        values,
    )


def check_terminology(ds: Dataset, ctx: SdtmContext, findings: Findings) -> None:
    """Values in the variable's codelist: CT2001 (non-extensible), CT2002 (extensible)."""
    spec = ctx.spec(ds.name)
    for column in ds.variables:
        code = _codelist_code(ds, spec, column)
        if not code:
            continue
        values = as_text(ds[column])
        # CG0020: RACE MULTIPLE stands for several races (SUPPDM holds them)
        rows = values != "MULTIPLE" if column == "RACE" else None
        _outside_codelist(ds, findings, column, values, code, rows)


# A date of the general observation classes, the study day FDA expects beside it, and the
# rule that reports the study day missing (FDAB032).
STUDY_DAYS = {"DTC": ("DY", "CORE-000321"), "STDTC": ("STDY", "CORE-000328"),
              "ENDTC": ("ENDY", "CORE-000776")}  # fmt: skip
# Dates that must not fall after the end of participation, with their rule (FDAB034).
PARTICIPATION = {"DTC": "CORE-000720", "ENDTC": "CORE-000952"}


def _prefix(ds: Dataset) -> str | None:
    """The prefix of a domain's --variables (AE of AESEQ); None for a dataset of none."""
    return ds.name if len(ds.name) == 2 else None


def check_dates(ds: Dataset, ctx: SdtmContext, findings: Findings) -> None:
    """--DTC in ISO 8601; --DY, --STDY, --ENDY against the date and DM.RFSTDTC; --DTC and
    --ENDTC not after DM.RFPENDTC."""
    for column in (c for c in ds.variables if c.endswith("DTC")):
        findings.rows(
            "SD0003",
            ds,
            ~valid_iso8601(ds[column]),
            column,
            f"{column} is not an ISO 8601 date/time",
        )
    prefix = _prefix(ds)
    end = ctx.dm_value(ds, "RFPENDTC")
    for suffix, end_rule in PARTICIPATION.items():
        dated = f"{prefix}{suffix}"
        if not prefix or dated not in ds.variables or end.isna().all():
            continue
        late = after(ds[dated], end)
        if late.any():
            text = ds[dated].astype("string").where(late)
            findings.rows(end_rule, ds, late, dated, f"{dated} " + text + " after RFPENDTC " + end)
    reference = ctx.dm_value(ds, "RFSTDTC")
    for column in (c for c in ds.variables if c.endswith("DY") and c != "VISITDY"):
        values = ds[column]
        if not pd.api.types.is_numeric_dtype(values):
            continue
        day = values.astype("float64")
        findings.rows("SD0038", ds, day == 0, column, f"{column} is 0: there is no day 0")
        dtc = column[:-2] + "DTC"
        if dtc not in ds.variables:
            continue
        dates = ds[dtc]
        expected = study_day(dates, reference)
        wrong = day.notna() & expected.notna() & (day != expected) & (day != 0)
        missing = day.isna() & expected.notna()
        imputed = day.notna() & expected.isna() & (day != 0)
        # The message only for the rows reported (building it for every row costs seconds).
        hit = ds.index[(wrong | missing | imputed).fillna(False).to_numpy(dtype=bool)]
        if hit.empty:
            continue
        shown = expected.loc[hit].astype("Int64").astype("string").fillna("-")
        message = (
            f"{column} "
            + as_text(day.loc[hit]).fillna("null")
            + f" but {dtc} "
            + dates.loc[hit].astype("string").fillna("null")
            + " and RFSTDTC "
            + reference.loc[hit].astype("string").fillna("null")
            + " give "
            + shown
        )
        findings.rows("SD1086", ds, wrong, column, message)
        findings.rows("SD1084", ds, missing, column, message)
        findings.rows("SD1085", ds, imputed, column, message)


def _duplicated(ds: Dataset, columns: list[str]) -> pd.Series:
    """True where another row has the same values of ``columns`` (as DataFrame.duplicated
    with keep=False), reading one column at a time: each row's group number combines the
    codes of the columns read so far."""
    group = np.zeros(len(ds.index), dtype="int64")
    groups = 1  # group < groups
    for column in columns:
        codes, uniques = pd.factorize(ds[column], use_na_sentinel=False)
        if groups * len(uniques) > np.iinfo("int64").max:  # number the groups so far 0, 1, ..
            group, seen = pd.factorize(group)
            groups = len(seen)
        group = group * len(uniques) + codes
        groups *= len(uniques)
    return pd.Series(group, index=ds.index).duplicated(keep=False)


def _check_natural_key(ds: Dataset, keys: list[str], findings: Findings) -> None:
    dup = _duplicated(ds, keys)
    if not dup.any():
        return
    hit = ds.index[dup.to_numpy()]
    joined = ds[keys[0]].loc[hit].astype("string").fillna("")
    for key in keys[1:]:
        joined = joined + "|" + as_text(ds[key].loc[hit]).fillna("")
    findings.rows(
        "FDAB021",
        ds,
        dup,
        "/".join(keys),
        "more than one record with the same natural key",
        joined,
    )


def _natural_key(ds: Dataset, ctx: SdtmContext) -> list[str]:
    """The natural key of a domain (the study spec's), checked unique; none for DM and the
    SUPP-- (their own keys are checked) or a dataset lacking a key variable."""
    spec = ctx.spec(ds.name)
    if ds.name == "DM" or ds.name.startswith("SUPP") or spec is None:
        return []
    return list(spec.keys) if set(spec.keys) <= set(ds.variables) else []


def check_keys(ds: Dataset, ctx: SdtmContext, findings: Findings) -> None:
    """A natural key not holding USUBJID unique over the whole dataset (a column at a time,
    as numbers: :func:`_duplicated`); one holding it is checked a frame at a time."""
    keys = _natural_key(ds, ctx)
    if keys and "USUBJID" not in keys:
        _check_natural_key(ds, keys, findings)


def check_identifiers(ds: Dataset, ctx: SdtmContext, findings: Findings) -> None:
    """--SEQ unique per subject, natural keys holding USUBJID unique, DOMAIN, subject in DM:
    of one frame (whole subjects)."""
    seq = ds.seq_var
    if seq is not None:
        by = ["TSPARMCD"] if ds.name == "TS" else ["USUBJID"]
        if set(by) <= set(ds.variables):
            dup = ds[seq].notna() & _duplicated(ds, [*by, seq])
            rule = "CORE-000154" if ds.name == "TS" else "SD0005"
            findings.rows(rule, ds, dup, seq, f"{seq} repeats within {by[0]}")
    if ds.name == "DM" and "USUBJID" in ds.variables:
        findings.rows(
            "SD0083",
            ds,
            ds["USUBJID"].duplicated(keep=False),
            "USUBJID",
            "more than one DM record for the subject",
        )
    elif ds.name.startswith("SUPP") and set(SUPP_KEYS) <= set(ds.variables):
        dup = _duplicated(ds, SUPP_KEYS)
        findings.rows("SD0086", ds, dup, "QNAM", "qualifier given twice for one parent record")
    elif "USUBJID" in (keys := _natural_key(ds, ctx)):
        _check_natural_key(ds, keys, findings)
    if "DOMAIN" in ds.variables:
        domain = ds["DOMAIN"]
        other = domain.notna() & (domain != ds.name)
        findings.rows("SD0004", ds, other, "DOMAIN", f"DOMAIN is not {ds.name}")
    if ds.name != "DM" and ctx.dm is not None and "USUBJID" in ds.variables:
        subject = ds["USUBJID"]
        missing = subject.notna() & ~isin(subject, ctx.dm["USUBJID"])
        findings.rows("SD0064", ds, missing, "USUBJID", "subject is not in DM")
    if ctx.epochs and "EPOCH" in ds.variables:
        epoch = ds["EPOCH"]
        bad = epoch.notna() & ~isin(epoch, list(ctx.epochs))
        allowed = ", ".join(sorted(ctx.epochs))
        findings.rows("SD1015", ds, bad, "EPOCH", f"not an epoch of {ctx.epoch_source}: {allowed}")


def _numbers(text: pd.Series) -> pd.DataFrame:
    """Per value: whether it is written as a number, and that number."""
    numeric = text.str.contains(NUMBER, regex=True).fillna(False).astype(bool)
    parsed = pd.to_numeric(text.where(numeric).str.strip(), errors="coerce").astype("float64")
    return pd.DataFrame({"numeric": numeric, "parsed": parsed})


def check_results(ds: Dataset, findings: Findings) -> None:
    """--STRESN is the number in --STRESC, and only then."""
    prefix = ds.name[:2]
    stresc, stresn = f"{prefix}STRESC", f"{prefix}STRESN"
    if not {stresc, stresn} <= set(ds.variables):
        return
    text = ds[stresc].astype("string")
    number = pd.to_numeric(ds[stresn], errors="coerce").astype("float64")
    numbers = by_unique(text, _numbers)
    numeric = numbers["numeric"]
    close = np.isclose(numbers["parsed"].to_numpy(), number.to_numpy(), rtol=1e-9, atol=1e-12)
    mismatch = numeric & number.notna() & ~pd.Series(close, index=number.index)
    not_number = text.notna() & ~numeric & number.notna()
    no_number = numeric & number.isna()
    # The messages only for the rows reported.
    hit = ds.index[(mismatch | not_number | no_number).to_numpy()]
    number_text, shown = as_text(number.loc[hit]), text.loc[hit]
    message = f"{stresn} " + number_text.fillna("null") + f" but {stresc} " + shown
    findings.rows("SD1212", ds, mismatch, stresn, message, number)
    findings.rows(
        "SD1212",
        ds,
        not_number,
        stresn,
        f"{stresc} "
        + shown.fillna("")
        + " is not a number but "
        + stresn
        + " is "
        + number_text.fillna(""),
        number,
    )
    findings.rows(
        "SD1122",
        ds,
        no_number,
        stresn,
        f"{stresc} " + shown.fillna("") + f" is a number but {stresn} is null",
        text,
    )


def check_death(ds: Dataset, ctx: SdtmContext, findings: Findings) -> None:
    """DM death flag and date; fatal adverse events against them; AE outcome and end date."""
    if ds.name == "DM" and {"DTHDTC", "DTHFL"} <= set(ds.variables):
        data = ds.frame(["DTHDTC", "DTHFL"])
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
    data = ds.frame([c for c in AE_DEATH if c in ds.variables])
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


TS_COLUMNS = ("TSPARMCD", "TSPARM", "TSVAL", "TSVALNF", "TSVALCD", "TSVCDREF")


def check_trial_summary(ds: Dataset, findings: Findings) -> None:
    """TS holds every parameter FDA expects; its date parameters are ISO 8601; TSPARM is
    the decode of TSPARMCD (CT2003); TSVAL is given or its null flavour, not both
    (PIPE-014); a coded parameter's TSVAL is a term of its codelist (CT2001/CT2002) and,
    coded by CDISC CT, TSVALCD is that term's code (PIPE-015)."""
    if ds.name != "TS" or "TSPARMCD" not in ds.variables:
        return
    data = ds.frame([c for c in TS_COLUMNS if c in ds.variables]).astype("string")
    parmcd = data["TSPARMCD"]
    present = set(parmcd.dropna())
    for parm, rule in TS_PARAMETERS.items():
        if parm not in present:
            findings.one(rule, "TS", "TSPARMCD", f"no TS record with TSPARMCD {parm}", parm)
    terms = standards.controlled_terms()
    if "TSPARM" in data.columns:
        codes = {v: t.code for v, t in terms.codelist("C66738").terms.items()}
        names = {t.code: v for v, t in terms.codelist("C67152").terms.items()}
        expected = parmcd.map(codes).map(names).astype("string")
        wrong = expected.notna() & data["TSPARM"].ne(expected).fillna(True)
        message = "TSPARM of TSPARMCD " + parmcd + " is " + expected
        findings.rows("CT2003", ds, wrong, "TSPARM", message, data["TSPARM"])
    if "TSVAL" not in data.columns:
        return
    value = data["TSVAL"]
    for parm, rule in TS_DATES.items():
        bad = (parmcd == parm) & value.notna() & ~valid_iso8601(value)
        findings.rows(rule, ds, bad, "TSVAL", f"TSVAL of {parm} is not ISO 8601")
    flavour = data["TSVALNF"] if "TSVALNF" in data.columns else pd.Series(pd.NA, index=ds.index)
    findings.rows(
        "PIPE-014", ds, value.isna() & flavour.isna(), "TSVAL",
        "TSVAL of " + parmcd.fillna("") + " is null and TSVALNF gives no null flavour",
    )  # fmt: skip
    findings.rows(
        "PIPE-014", ds, value.notna() & flavour.notna(), "TSVALNF",
        "TSVALNF " + flavour + " beside TSVAL " + value,
    )  # fmt: skip
    for parm, code in TS_VALUE_CODELISTS.items():
        _outside_codelist(ds, findings, "TSVAL", value, code, parmcd == parm, f"{parm}: ")
    if {"TSVALCD", "TSVCDREF"} <= set(data.columns):
        coded = (data["TSVCDREF"] == "CDISC CT").fillna(False) & value.notna()
        known = pd.Series([
            {t.submission_value for t in terms.by_code(c)} if isinstance(c, str) else set()
            for c in data["TSVALCD"]
        ], index=ds.index)  # fmt: skip
        wrong = coded & ~pd.Series(
            [v in k for v, k in zip(value, known, strict=True)], index=ds.index
        )
        findings.rows(
            "PIPE-015", ds, wrong, "TSVALCD",
            "TSVALCD " + data["TSVALCD"].fillna("null") + " is not the CDISC CT code of "
            + value,
        )  # fmt: skip


def remember_parent(ds: Dataset, ctx: SdtmContext) -> None:
    """Remember a parent dataset's identifying variables for its SUPP-- dataset."""
    if ds.name.startswith("SUPP") or "USUBJID" not in ds.variables:
        return
    ids = [c for c in ds.variables if c.endswith(("SEQ", "GRPID", "SPID", "REFID", "LNKID"))]
    ctx.parents[ds.name] = Parent(["USUBJID", *ids], ds.read)


def check_supp_parents(ds: Dataset, ctx: SdtmContext, findings: Findings) -> None:
    """Every SUPP-- record names an existing parent record (RDOMAIN, IDVAR, IDVARVAL)."""
    if not ds.name.startswith("SUPP") or not set(SUPP_KEYS) <= set(ds.variables):
        return
    parent_name = ds.name[4:]
    parent = ctx.parents.get(parent_name)
    if parent is None:
        return
    data = ds.frame(["USUBJID", "IDVAR", "IDVARVAL"])
    subjects = as_text(parent.read("USUBJID"))
    orphan = pd.Series(False, index=data.index)
    by_subject = data["IDVAR"].isna()
    orphan |= by_subject & ~isin(data["USUBJID"], subjects)
    for idvar in data.loc[~by_subject, "IDVAR"].dropna().unique():
        mine = (data["IDVAR"] == idvar).fillna(False).astype(bool)
        if idvar not in parent.ids:
            orphan |= mine
            continue
        values = as_text(parent.read(idvar))
        known = subjects.notna() & values.notna()
        keys = pd.MultiIndex.from_arrays([subjects[known], values[known]])
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
    """The SDTM checks of one dataset as a whole, before its frames' (:func:`check_frame`)."""
    ctx.seen.add(ds.name)
    if ds.name == "DM":
        ctx.dm = ds.frame(ds.variables)
    check_presence(ds, ctx, findings)
    check_keys(ds, ctx, findings)
    check_trial_summary(ds, findings)
    check_supp_parents(ds, ctx, findings)


def check_frame(ds: Dataset, ctx: SdtmContext, findings: Findings) -> None:
    """The SDTM checks of the records of one frame of a dataset (whole subjects)."""
    check_required(ds, ctx, findings)
    check_terminology(ds, ctx, findings)
    check_dates(ds, ctx, findings)
    check_identifiers(ds, ctx, findings)
    check_results(ds, findings)
    check_death(ds, ctx, findings)
    schedule.check_dataset(ds, ctx.design, findings)


def checked(ds: Dataset, ctx: SdtmContext) -> None:
    """Keep what the checks of the study need of a dataset checked, not its rows."""
    remember_parent(ds, ctx)
    if f"{ds.name}LNKGRP" in ds.variables and "USUBJID" in ds.variables:
        ctx.linked[ds.name] = ds
    if not ds.name.startswith("SUPP"):
        ctx.tables[ds.name] = ds
    ds.release()  # kept for the study's checks, not its rows


def _given(ds: Dataset, column: str) -> pd.DataFrame:
    """USUBJID (null in a dataset without it) and ``column`` (text) of the records where
    ``column`` is given, indexed by their positions: read a frame at a time, only those
    records kept (LB's link groups are a few of its rows)."""
    subject = "USUBJID" in ds.variables
    parts = []
    for frame in ds.frames(["USUBJID", column] if subject else [column]):
        value = as_text(frame[column])
        given = value.notna()
        who = as_text(frame["USUBJID"]) if subject else pd.Series(pd.NA, index=value.index)
        parts.append(pd.DataFrame({"USUBJID": who[given].astype("string"), column: value[given]}))
    return pd.concat(parts)


def _pair_keys(*pairs: pd.DataFrame) -> list[np.ndarray]:
    """One integer per row of each two-column frame for its (first, second) pair, the same
    across the frames exactly when the pairs are (a missing value equal to a missing one).
    Pairs compared as numbers: a MultiIndex's isin, unique or duplicated makes a Python
    tuple per row (LB's link groups at 50,000 subjects: gigabytes)."""
    first = pd.concat([p.iloc[:, 0] for p in pairs], ignore_index=True)
    second = pd.concat([p.iloc[:, 1] for p in pairs], ignore_index=True)
    a, _ = pd.factorize(first)
    b, seconds = pd.factorize(second)
    keys = a.astype(np.int64) * (len(seconds) + 1) + b
    return np.split(keys, np.cumsum([len(p) for p in pairs])[:-1])


def check_link_groups(ctx: SdtmContext, findings: Findings) -> None:
    """Every --LNKGRP value of a subject is shared by a record of another dataset."""
    links = {name: _given(ds, f"{name}LNKGRP") for name, ds in ctx.linked.items()}
    if not links:
        return
    keys = dict(zip(links, _pair_keys(*links.values()), strict=True))
    for name, ds in ctx.linked.items():
        others = [k for other, k in keys.items() if other != name]
        found = np.isin(keys[name], np.concatenate(others) if others else [])
        value = links[name][f"{name}LNKGRP"]
        findings.rows(
            "PIPE-018", ds, ~pd.Series(found, index=value.index), f"{name}LNKGRP",
            "no record of another dataset of the subject has this link group", value,
        )  # fmt: skip


def _first_of(keys: pd.DataFrame, row: int = 0) -> str:
    subject, value = keys.iloc[row]
    return f"{value} of {subject}" if isinstance(subject, str) else str(value)


def _repeated(keys: np.ndarray) -> tuple[int, int]:
    """(how many pairs have several rows, the first row that repeats one) of pair keys."""
    again = pd.Series(keys).duplicated().to_numpy()
    if not again.any():
        return 0, -1
    return len(np.unique(keys[again])), int(np.flatnonzero(again)[0])


def _missing(keys: np.ndarray, among: np.ndarray) -> np.ndarray:
    """The first row of each distinct pair of `keys` not among `among`, in row order."""
    _, first = np.unique(keys, return_index=True)
    first.sort()
    return first[~np.isin(keys[first], among)]


def check_related_records(ctx: SdtmContext, findings: Findings) -> None:
    """Every RELREC record resolves (SDTMIG 3.4 sections 8.2, 8.3): RDOMAIN is a dataset of
    the run and IDVAR a variable of it; a record-level one (IDVARVAL given) names a record of
    the subject (USUBJID, IDVAR = IDVARVAL); a dataset-level one (USUBJID and IDVARVAL null)
    names a variable with values, each value of a ONE side is one record of the subject and
    has records of the subject in every MANY side of the same RELID."""
    rel = ctx.tables.get("RELREC")
    if rel is None or not {"RDOMAIN", "IDVAR", "RELID"} <= set(rel.variables):
        return
    columns = ["RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "RELTYPE", "RELID"]
    data = pd.DataFrame(
        {c: as_text(rel[c]) if c in rel.variables else pd.NA for c in columns}, index=rel.index
    ).astype("string")
    problems: dict[str, pd.Series] = {
        c: pd.Series(pd.NA, index=rel.index, dtype="string")
        for c in ("RDOMAIN", "IDVAR", "IDVARVAL", "RELTYPE")
    }
    sides: dict[int, pd.DataFrame] = {}  # dataset-level rows: their (USUBJID, value) pairs
    for i in range(len(data)):
        row = data.iloc[i]
        domain, idvar, value = row["RDOMAIN"], row["IDVAR"], row["IDVARVAL"]
        target = ctx.tables.get(str(domain)) if pd.notna(domain) else None
        if target is None:
            problems["RDOMAIN"][i] = f"{domain} is not a dataset of the run"
        elif pd.isna(idvar) or idvar not in target.variables:
            problems["IDVAR"][i] = f"{idvar} is not a variable of {domain}"
        elif pd.notna(value):
            keys = _given(target, str(idvar))
            subject = row["USUBJID"]
            same = keys[idvar] == value
            if pd.notna(subject):
                same &= keys["USUBJID"] == subject
            if not same.fillna(False).any():
                problems["IDVARVAL"][i] = f"no {domain} record of the subject has {idvar} {value}"
        else:
            keys = _given(target, str(idvar))
            if keys.empty:
                problems["IDVAR"][i] = f"{idvar} has no value in {domain}"
            else:
                sides[i] = keys
    records = [{str(k): v for k, v in r.items()} for r in data.astype(object).to_dict("records")]
    for relid in data["RELID"].dropna().unique():
        rows = [i for i in sides if records[i]["RELID"] == relid]
        many = [i for i in rows if records[i]["RELTYPE"] == "MANY"]
        for i in (i for i in rows if records[i]["RELTYPE"] == "ONE"):
            one = records[i]
            pairs = _pair_keys(sides[i], *(sides[j] for j in many))
            count, first = _repeated(pairs[0])
            if count:
                problems["RELTYPE"][i] = (
                    f"ONE, but {count} value(s) of {one['IDVAR']} have several "
                    f"{one['RDOMAIN']} records (first: {_first_of(sides[i], first)})"
                )
            text = [
                f"{len(missing)} value(s) with no {records[j]['RDOMAIN']} record with "
                f"{records[j]['IDVAR']} (first: {_first_of(sides[i], int(missing[0]))})"
                for j, other in zip(many, pairs[1:], strict=True)
                if len(missing := _missing(pairs[0], other))
            ]
            if text:
                problems["IDVAR"][i] = "; ".join(text)
    for column, message in problems.items():
        findings.rows("PIPE-019", rel, message.notna(), column, message.fillna(""), data[column])


def check_study(ctx: SdtmContext, findings: Findings) -> None:
    """What can only be said once every dataset was read."""
    check_link_groups(ctx, findings)
    check_related_records(ctx, findings)
    if ctx.seen and "DM" not in ctx.seen:
        findings.one("SD1020", "DM", None, "the SDTM has no DM dataset")
    if ctx.seen and "TS" not in ctx.seen:
        findings.one("SD1115", "TS", None, "the SDTM has no TS dataset")

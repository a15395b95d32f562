"""IMWG (International Myeloma Working Group) response derivations, as verbs a spec selects
(``verb: imwg.overall_response`` ...) and parameterises with its scale and windows.

- ``imwg.overall_response``: one record per overall response assessment; ANL01FL marks an
  *adequate* one: evaluable, on or after the first dose and not after new anticancer
  therapy.
- ``imwg.best_response``: the best confirmed overall response per subject (a response
  counts when the next adequate assessment is at least as good, the worse of the two being
  what is confirmed, up to the first progression; an unconfirmed response is stable disease
  at best), and Y/N rate parameters of it (CR or better, ...), dated at the best response
  or at the start of the first confirmed one.
- ``imwg.lab_response``: one record per disease assessment of SDTM LB, the IMWG 2016
  category the engine derives from its laboratory values (``transforms.imwg``, the rule the
  raw quality suite checks the investigator's response with); ANL01FL as for
  ``imwg.overall_response``.
- ``imwg.mrd_negativity``: Y/N per subject: a negative MRD result on or after the first dose
  and not after new anticancer therapy.
- ``imwg.sustained_mrd_negativity``: Y/N per subject: two negative MRD results at least a
  year apart with no positive one between.
- ``imwg.mrd_negative_response``: Y/N per subject: an MRD-negative result while in CR (on
  or after the start of the confirmed CR, before progression; MRD-negative CR).
- ``imwg.response_improvement``: Y/N per subject: the best response better than the
  response at entry (the ABLFL record).
- ``imwg.pfs_sources``: the PFS event and censoring records (FDA conventions): the first
  progression and death, ANL01FL when not after two or more missed assessments nor after
  new anticancer therapy, and the last adequate *post-baseline* assessment (after the first
  dose day) before progression; with ``after_stop: follow``, the same from every evaluable
  assessment whether or not after new therapy (the sensitivity analysis without censoring
  at new therapy).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import pandas as pd

from transforms import conditions
from transforms import imwg as rule
from transforms.adam.dates import iso_date
from transforms.adam.verbs import base
from transforms.adam.verbs.base import Arg, Inputs, Verb, Where, verb
from transforms.conditions import Condition


def _scale(raw: Any, where: Where) -> tuple[str, ...]:
    return base.values(raw, where)


def _sources(params: str, dataset: str, var: str, seq: str | None) -> dict[str, str]:
    """SRCDOM, SRCVAR and SRCSEQ in words, for the parameters named."""
    out = {"SRCDOM": f"{params}: {dataset}", "SRCVAR": f"{params}: {var}"}
    return {**out, "SRCSEQ": f"{params}: {dataset}.{seq}"} if seq else out


def _append(data: pd.DataFrame, *parts: pd.DataFrame) -> pd.DataFrame:
    frames = [data, *parts] if len(data.columns) else list(parts)
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True, kw_only=True)
class SubjectDates(Verb):
    """The subject-level dataset and the dates that bound an adequate assessment."""

    subjects: Annotated[str, Arg(base.name, "ADSL")]
    start: Annotated[str, Arg(base.name, "TRTSDT")]
    stop: Annotated[str, Arg(base.name, "NACTDT")]

    per_subject = True  # a subject's records from its own records and its ADSL record

    @property
    def records_from(self) -> tuple[str, ...]:  # of the subject-level dataset's subjects
        return (self.subjects,)


def _adequate(out: pd.DataFrame, dates: pd.DataFrame, start: str, stop: str | None) -> pd.Series:
    """Y where the record is evaluable (AVAL), on or after `start` and not after `stop`
    (None: whether or not after it)."""
    hit = out["AVAL"].notna() & (out["ADT"] >= dates[start])
    if stop is not None:
        hit &= dates[stop].isna() | (out["ADT"] <= dates[stop])
    return base.yes(hit)


def _ranked(out: pd.DataFrame, scale: tuple[str, ...]) -> pd.Series:
    rank = {value: float(n) for n, value in enumerate(scale, start=1)}
    return out["AVALC"].map(rank).astype("float64")


@verb("imwg.overall_response")
@dataclass(frozen=True, kw_only=True)
class OverallResponse(SubjectDates):
    """Records of `dataset` with --TESTCD `testcd` and a result, as parameter `paramcd`:
    AVALC the result, AVAL its position in `scale` (best first), ADT the assessment date;
    ANL01FL Y when evaluable, on or after `start` and not after `stop` (ADSL dates)."""

    paramcd: Annotated[str, Arg(base.name)]
    param: Annotated[str, Arg(base.text)]
    scale: Annotated[tuple[str, ...], Arg(_scale)]
    dataset: Annotated[str, Arg(base.name, "RS")]
    testcd: Annotated[str, Arg(base.text, "OVRLRESP")]

    @property
    def records_from(self) -> tuple[str, ...]:  # a record per record of `dataset`
        return (self.dataset, self.subjects)

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        rs = inputs.dataset(self.dataset, self.where)
        adsl = inputs.dataset(self.subjects, self.where)
        self.need(adsl, ["USUBJID", self.start, self.stop], "start", self.subjects)
        ovr = rs[(rs["RSTESTCD"] == self.testcd) & rs["RSSTRESC"].notna()]
        ovr = ovr.merge(adsl[["USUBJID", self.start, self.stop]], on="USUBJID", how="inner")
        out = pd.DataFrame(
            {
                "USUBJID": ovr["USUBJID"],
                "PARAMCD": self.paramcd,
                "PARAM": self.param,
                "AVALC": ovr["RSSTRESC"],
                "ADT": iso_date(ovr["RSDTC"]),
                "AVISIT": ovr["VISIT"],
                "AVISITN": ovr["VISITNUM"],
                "SRCDOM": self.dataset,
                "SRCVAR": "RSSTRESC",
                "SRCSEQ": ovr["RSSEQ"],
            }
        )
        out["AVAL"] = _ranked(out, self.scale)
        out["ANL01FL"] = _adequate(out, ovr, self.start, self.stop)
        return _append(data, out)

    def describe(self) -> dict[str, str]:
        scale = " ... ".join(
            f"{v}={n}" for n, v in enumerate(self.scale, 1) if n in (1, len(self.scale))
        )
        return {
            "AVALC": f"{self.paramcd}: {self.dataset}.RSSTRESC of {self.testcd}",
            "AVAL": f"{self.paramcd}: position of AVALC in the IMWG scale {scale}",
            "ANL01FL": f"{self.paramcd}: evaluable, on or after {self.start} "
            f"and not after {self.stop}",
            **_sources(self.paramcd, self.dataset, "RSSTRESC", "RSSEQ"),
        }


LAB_TESTS = ("serum", "serum_ife", "urine", "urine_ife", "ratio", "marrow", "kappa", "lambda")
_OPTIONAL_TESTS = ("kappa", "lambda")


def _tests(raw: Any, where: Where) -> Mapping[str, tuple[str, str | None]]:
    """``{serum|serum_ife|urine|urine_ife|ratio|marrow[|kappa|lambda]: {testcd[, spec]}}``:
    the LB test code (and specimen) of each value the IMWG rule reads."""
    needed = set(LAB_TESTS) - set(_OPTIONAL_TESTS)
    if not isinstance(raw, dict) or not needed <= set(raw) or set(raw) - set(LAB_TESTS):
        raise where.fail(f"expected a mapping of {list(LAB_TESTS)} (kappa, lambda optional)")
    out = {}
    for key, item in raw.items():
        here = where.at(arg=f"{where.arg}.{key}")
        if not isinstance(item, dict) or "testcd" not in item or set(item) - {"testcd", "spec"}:
            raise here.fail(f"expected {{testcd[, spec]}}, not {item!r}")
        spec = item.get("spec")
        out[key] = (
            base.text(item["testcd"], here),
            None if spec is None else base.text(spec, here),
        )
    return out


@verb("imwg.lab_response")
@dataclass(frozen=True, kw_only=True)
class LabResponse(SubjectDates):
    """Parameter `paramcd`: the IMWG 2016 category (``transforms.imwg``) of each disease
    assessment of `dataset` (LB): its `tests` on one date (LBDTC) of a subject, reductions
    measured from the records of the `diagnosis` condition (serum and urine M-protein at
    diagnosis), progression from the nadir. Serum in LBSTRESU g/L, urine in mg/day; a
    result below detection (LBSTRESC ``<x``) is 0; immunofixation LBSTRESC `negative` or
    an isotype. AVALC the category (NE when a serum or urine result is missing), AVAL its
    position in `scale`, ANL01FL as :class:`OverallResponse`; SRCSEQ the serum M-protein's
    LBSEQ."""

    paramcd: Annotated[str, Arg(base.name)]
    param: Annotated[str, Arg(base.text)]
    scale: Annotated[tuple[str, ...], Arg(_scale)]
    tests: Annotated[Mapping[str, tuple[str, str | None]], Arg(_tests)]
    diagnosis: Annotated[Condition, Arg(base.condition)]
    negative: Annotated[str, Arg(base.text, "NEGATIVE")]
    dataset: Annotated[str, Arg(base.name, "LB")]

    @property
    def records_from(self) -> tuple[str, ...]:  # a record per assessment date of `dataset`
        return (self.dataset, self.subjects)

    def check(self) -> None:
        missing = set(rule.CATEGORIES) - set(self.scale)
        if missing:
            raise self.where.at(arg="scale").fail(f"lacks the IMWG categories {sorted(missing)}")

    def _rows(self, lb: pd.DataFrame, key: str) -> pd.DataFrame:
        testcd, spec = self.tests[key]
        hit = lb["LBTESTCD"] == testcd
        if spec is not None:
            hit &= lb["LBSPEC"] == spec
        rows = lb[hit]
        text = rows["LBSTRESC"].astype("string").str.strip()
        if key.endswith("_ife"):
            positive = text.str.upper().ne(self.negative.upper()).astype("boolean")
            return rows.assign(VALUE=positive.mask(text.isna() | (text == "")), KEY=key)
        number = pd.to_numeric(rows["LBSTRESN"], errors="coerce").astype("float64")
        return rows.assign(VALUE=number.mask(text.str.startswith("<").fillna(False), 0.0), KEY=key)

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        adsl = inputs.dataset(self.subjects, self.where)
        self.need(adsl, ["USUBJID", self.start, self.stop], "start", self.subjects)
        columns = ["USUBJID", "LBSEQ", "LBTESTCD", "LBSPEC", "LBSTRESC", "LBSTRESN", "LBDTC"]
        # Of LB, the tests' records only, with what is read of them.
        used = [*columns, "VISIT", "VISITNUM", *sorted(conditions.subjects(self.diagnosis))]
        tested = {"var": "LBTESTCD", "in": sorted({testcd for testcd, _ in self.tests.values()})}
        tests = conditions.parse(tested, str(self.where), conditions.named("var"))
        lb = inputs.subset(self.dataset, self.where, used, tests)
        self.need(lb, [*columns, "VISIT", "VISITNUM"], "tests", self.dataset)
        diagnosis = base.mask(self.diagnosis, lb)
        parts = [self._rows(lb, key) for key in self.tests]
        long = pd.concat(parts, ignore_index=False).assign(ADT=lambda f: iso_date(f["LBDTC"]))
        long = long[long["ADT"].notna()]
        at_dx = diagnosis.reindex(long.index).to_numpy(dtype=bool)
        at_diagnosis = long[at_dx].sort_values("ADT", kind="stable")
        first_dx = at_diagnosis.groupby(["USUBJID", "KEY"])["VALUE"].first()
        dx = first_dx.unstack("KEY").reindex(columns=["serum", "urine"])
        visits = long[~at_dx].reset_index(drop=True)
        keys = ["USUBJID", "ADT"]
        wide = visits.groupby([*keys, "KEY"])["VALUE"].first().unstack("KEY")
        wide = wide.reindex(columns=list(LAB_TESTS)).reset_index().sort_values(keys)
        for key in ("serum_ife", "urine_ife"):
            wide[key] = wide[key].astype("boolean")
        for key in set(LAB_TESTS) - {"serum_ife", "urine_ife"}:
            wide[key] = wide[key].astype("float64")
        if not {"kappa", "lambda"} <= set(self.tests):
            wide = wide.drop(columns=["kappa", "lambda"])
        wide["dx_serum"] = dx["serum"].reindex(wide["USUBJID"]).to_numpy(dtype="float64")
        wide["dx_urine"] = dx["urine"].reindex(wide["USUBJID"]).to_numpy(dtype="float64")
        wide = wide.reset_index(drop=True)
        category = rule.categories(wide, by="USUBJID")
        # The record's visit and source: the serum M-protein's (else any test's) that day.
        first = visits.assign(SERUM=visits["KEY"] != "serum").sort_values(["SERUM", "LBSEQ"])
        first = first.drop_duplicates(keys).set_index(keys)
        at = pd.MultiIndex.from_frame(wide[keys])
        out = pd.DataFrame(
            {
                "USUBJID": wide["USUBJID"],
                "PARAMCD": self.paramcd,
                "PARAM": self.param,
                "AVALC": category.fillna("NE"),
                "ADT": wide["ADT"],
                "AVISIT": first["VISIT"].reindex(at).to_numpy(),
                "AVISITN": first["VISITNUM"].reindex(at).to_numpy(),
                "SRCDOM": self.dataset,
                "SRCVAR": "LBSTRESN",
                "SRCSEQ": first["LBSEQ"].reindex(at).to_numpy(),
            }
        )
        out = out.merge(adsl[["USUBJID", self.start, self.stop]], on="USUBJID", how="inner")
        out["AVAL"] = _ranked(out, self.scale)
        out["ANL01FL"] = _adequate(out, out, self.start, self.stop)
        return _append(data, out.drop(columns=[self.start, self.stop]))

    def describe(self) -> dict[str, str]:
        tests = ", ".join(
            f"{key} {code}" + (f" ({spec})" if spec else "")
            for key, (code, spec) in self.tests.items()
        )
        return {
            "AVALC": f"{self.paramcd}: IMWG 2016 category of the {self.dataset} disease "
            f"assessment of one date ({tests}); reductions from the records where "
            f"{base.words(self.diagnosis)} (diagnosis), progression from the nadir; "
            "NE when a serum or urine result is missing",
            "AVAL": f"{self.paramcd}: position of AVALC in the IMWG scale",
            "ADT": f"{self.paramcd}: {self.dataset}DTC of the assessment",
            "ANL01FL": f"{self.paramcd}: evaluable, on or after {self.start} "
            f"and not after {self.stop}",
            **_sources(self.paramcd, self.dataset, "LBSTRESN (serum M-protein)", "LBSEQ"),
        }


Rate = tuple[str, str, tuple[str, ...], str]
RATE_DATES = ("best", "first")


def _rates(raw: Any, where: Where) -> tuple[Rate, ...]:
    if not isinstance(raw, list):
        raise where.fail("expected a list of {paramcd, param, values[, date]}")
    out = []
    for i, item in enumerate(raw):
        here = where.at(arg=f"{where.arg}[{i}]")
        keys = {"paramcd", "param", "values"}
        if not isinstance(item, dict) or not keys <= set(item) <= keys | {"date"}:
            raise here.fail(f"a rate is {{paramcd, param, values[, date]}}, not {item!r}")
        out.append(
            (
                base.name(item["paramcd"], here),
                base.text(item["param"], here),
                base.values(item["values"], here),
                base.choice(*RATE_DATES)(item.get("date", "best"), here),
            )
        )
    return tuple(out)


SOURCES = ("SRCDOM", "SRCVAR", "SRCSEQ")


def confirmed_progression(adequate: pd.DataFrame, progression: str) -> pd.Series:
    """Per record of `adequate` (by subject and date): a `progression` the next adequate
    assessment, if there is one, confirms by being a progression too (IMWG 2016)."""
    following = adequate.groupby("USUBJID")["AVALC"].shift(-1)
    return (adequate["AVALC"] == progression) & (following.isna() | (following == progression))


def confirmed_assessments(
    adequate: pd.DataFrame,
    scale: list[str],
    confirm: list[str],
    stable: str,
    progression: str,
    *,
    confirm_progression: bool = False,
) -> pd.DataFrame:
    """The adequate assessments up to each subject's first progression (the first confirmed
    one with `confirm_progression`), sorted by date, with CONF: the scale position each
    one confirms (the worse of it and the next assessment when it needs confirmation; with
    none next, or when that is worse than `stable`, `stable` at best; `confirm` empty: the
    response as assessed, unconfirmed)."""
    seq = adequate.sort_values(["USUBJID", "ADT"], kind="stable").copy()
    pd_rank = float(scale.index(progression) + 1)
    is_pd = (
        confirmed_progression(seq, progression) if confirm_progression else seq["AVAL"] == pd_rank
    )
    first_pd = seq[is_pd].groupby("USUBJID")["ADT"].min()
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
    return seq


def best_confirmed(seq: pd.DataFrame, scale: list[str]) -> pd.DataFrame:
    """Per subject of ``confirmed_assessments``: the best confirmed response, the date it
    was first reached and the sources of that record when the assessments name them."""
    best = seq.sort_values(["USUBJID", "CONF", "ADT"]).groupby("USUBJID").first()
    labels = {float(n): value for n, value in enumerate(scale, start=1)}
    sources = [c for c in SOURCES if c in best.columns]
    return pd.DataFrame(
        {"AVAL": best["CONF"], "AVALC": best["CONF"].map(labels), "ADT": best["ADT"]}
    ).join(best[sources])


def first_confirmed(seq: pd.DataFrame, scale: list[str], values: tuple[str, ...]) -> pd.Series:
    """Per subject of ``confirmed_assessments``: the first date of an assessment that
    confirms one of `values` (the start of a confirmed response)."""
    ranks = [float(scale.index(v) + 1) for v in values if v in scale]
    return seq[seq["CONF"].isin(ranks)].groupby("USUBJID")["ADT"].min()


def _population(adsl: pd.DataFrame, cond: Condition | None) -> pd.Index:
    return pd.Index(adsl.loc[base.mask(cond, adsl), "USUBJID"], name="USUBJID")


def _confirm(raw: Any, where: Where) -> tuple[str, ...]:
    return () if raw == [] else base.values(raw, where)


@verb("imwg.best_response")
@dataclass(frozen=True)
class BestResponse(Verb):
    """Parameter `paramcd`: the best confirmed response of the adequate (ANL01FL) records of
    `from_param` per subject of the `population`; NE without one. `confirm`: the responses
    that need a next adequate assessment at least as good (``[]``: none, the unconfirmed
    best response); `stable`: the best an unconfirmed one gives; `progression` ends the
    search (`confirm_progression: next`: only a progression the next adequate assessment,
    if any, confirms). `rates`: Y/N parameters, Y when the best confirmed response is one
    of their `values`; ADT then the date the best one was first reached (`date: best`, the
    default) or, with `date: first`, the first assessment that confirms any of `values`
    (the start of a confirmed response, e.g. the origin of duration of response).
    SRCDOM/SRCVAR/SRCSEQ: those of the assessment the best response was first reached at."""

    paramcd: Annotated[str, Arg(base.name)]
    param: Annotated[str, Arg(base.text)]
    scale: Annotated[tuple[str, ...], Arg(_scale)]
    confirm: Annotated[tuple[str, ...], Arg(_confirm)]
    stable: Annotated[str, Arg(base.text)]
    progression: Annotated[str, Arg(base.text)]
    from_param: Annotated[str, Arg(base.name, "OVR")]
    rates: Annotated[tuple[Rate, ...], Arg(_rates, ())]
    population: Annotated[Condition | None, Arg(base.condition, None)]
    subjects: Annotated[str, Arg(base.name, "ADSL")]
    confirm_progression: Annotated[str, Arg(base.choice("none", "next"), "none")]

    per_subject = True  # a subject's records from its own records and its ADSL record

    @property
    def records_from(self) -> tuple[str, ...]:  # a record per subject of the population
        return (self.subjects,)

    def check(self) -> None:
        for arg in ("stable", "progression"):
            if getattr(self, arg) not in self.scale:
                raise self.where.at(arg=arg).fail(f"{getattr(self, arg)!r} is not in the scale")

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        self.need(data, ["PARAMCD", "ANL01FL", "AVAL", "AVALC", "ADT"], "from_param")
        adequate = data[(data["PARAMCD"] == self.from_param) & (data["ANL01FL"] == "Y")]
        adsl = inputs.dataset(self.subjects, self.where)
        index = _population(adsl, self.population)
        scale = list(self.scale)
        seq = confirmed_assessments(
            adequate,
            scale,
            list(self.confirm),
            self.stable,
            self.progression,
            confirm_progression=self.confirm_progression == "next",
        )
        best = best_confirmed(seq, scale).reindex(index)
        bor = pd.DataFrame(
            {
                "USUBJID": index,
                "PARAMCD": self.paramcd,
                "PARAM": self.param,
                "AVALC": best["AVALC"].fillna("NE").to_numpy(),
                "AVAL": best["AVAL"].to_numpy(),
                "ADT": best["ADT"].to_numpy(),
                **{c: best[c].to_numpy() for c in SOURCES if c in best.columns},
            }
        )
        rates = []
        for code, label, values, when in self.rates:
            hit = bor["AVALC"].isin(values)
            dates = bor["ADT"]
            if when == "first":
                dates = pd.Series(first_confirmed(seq, scale, values).reindex(index).to_numpy())
            rates.append(
                bor.assign(
                    PARAMCD=code,
                    PARAM=label,
                    AVALC=hit.map({True: "Y", False: "N"}),
                    AVAL=hit.astype("float64"),
                    ADT=dates.where(hit),
                )
            )
        return _append(data, bor, *rates)

    def describe(self) -> dict[str, str]:
        rates = "; ".join(
            f"{c}: Y when {self.paramcd} is {', '.join(v)}"
            + (" (ADT: the first assessment confirming one of them)" if d == "first" else "")
            for c, _, v, d in self.rates
        )
        codes = ", ".join([self.paramcd, *(c for c, _, _, _ in self.rates)])
        upto = "first " + ("confirmed " if self.confirm_progression == "next" else "")
        if self.confirm:
            how = (
                f"best confirmed response of the adequate {self.from_param} records up to the "
                f"{upto}{self.progression} (a {', '.join(self.confirm)} confirmed by the next "
                f"adequate assessment, else {self.stable} at best)"
            )
        else:
            how = (
                f"best response of the adequate {self.from_param} records up to the "
                f"{upto}{self.progression}, unconfirmed"
            )
        return {
            "AVALC": f"{self.paramcd}: {how}, NE without one" + (f"; {rates}" if rates else ""),
            "AVAL": f"{self.paramcd}: position of AVALC in the scale"
            + "".join(f"; {c}: 1 for Y, 0 for N" for c, _, _, _ in self.rates),
            "ADT": f"{self.paramcd}: the date the best response was first reached",
            "SRCSEQ": f"{codes}: the {self.from_param} record's SRCSEQ (the assessment the "
            "best response was first reached at)",
            "SRCDOM": f"{codes}: the {self.from_param} record's SRCDOM",
            "SRCVAR": f"{codes}: the {self.from_param} record's SRCVAR",
        }


@dataclass(frozen=True, kw_only=True)
class MrdResults(Verb):
    """The results of --TESTCD `testcd` in `dataset` on or after `start` and not after
    `stop` (new anticancer therapy: what is measured after it is that therapy's effect) of
    the subjects of the `population` (`negative` the negative result). The MRD negativity
    rate of myeloma trials counts negative results "after randomization and before
    progression or subsequent anti-myeloma therapy" (e.g. the MAIA and CASSIOPEIA
    protocols' definition, as FDA's reviews of them restate it)."""

    paramcd: Annotated[str, Arg(base.name)]
    param: Annotated[str, Arg(base.text)]
    testcd: Annotated[str, Arg(base.text)]
    negative: Annotated[str, Arg(base.text)]
    dataset: Annotated[str, Arg(base.name, "RS")]
    population: Annotated[Condition | None, Arg(base.condition, None)]
    subjects: Annotated[str, Arg(base.name, "ADSL")]
    start: Annotated[str, Arg(base.name, "TRTSDT")]
    stop: Annotated[str, Arg(base.name, "NACTDT")]

    per_subject = True  # a subject's records from its own records and its ADSL record

    @property
    def records_from(self) -> tuple[str, ...]:  # a record per subject of the population
        return (self.subjects,)

    def results(self, inputs: Inputs) -> tuple[pd.Index, pd.DataFrame]:
        """The population, and its results (ADT the date) by subject and date."""
        rs = inputs.dataset(self.dataset, self.where)
        adsl = inputs.dataset(self.subjects, self.where)
        self.need(adsl, ["USUBJID", self.start], "start", self.subjects)
        self.need(adsl, [self.stop], "stop", self.subjects)
        index = _population(adsl, self.population)
        mrd = rs[(rs["RSTESTCD"] == self.testcd) & rs["RSSTRESC"].notna()]
        mrd = mrd.merge(adsl[["USUBJID", self.start, self.stop]], on="USUBJID")
        mrd = mrd.assign(ADT=iso_date(mrd["RSDTC"]))
        kept = (mrd["ADT"] >= mrd[self.start]) & ~(mrd["ADT"] > mrd[self.stop])
        return index, mrd[kept].sort_values(["USUBJID", "ADT"], kind="stable")


@verb("imwg.mrd_negativity")
@dataclass(frozen=True, kw_only=True)
class MrdNegativity(MrdResults):
    """Parameter `paramcd`: Y/N per subject of the `population`: a `negative` result of
    --TESTCD `testcd` in `dataset` on or after `start` and not after `stop`; ADT the first
    such date."""

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        index, mrd = self.results(inputs)
        negative = mrd[mrd["RSSTRESC"] == self.negative]
        neg = negative.sort_values("ADT", kind="stable").groupby("USUBJID").first()
        neg = neg.reindex(index)
        hit = pd.Series(neg["ADT"].notna().to_numpy())
        out = pd.DataFrame(
            {
                "USUBJID": index,
                "PARAMCD": self.paramcd,
                "PARAM": self.param,
                "AVALC": hit.map({True: "Y", False: "N"}).to_numpy(),
                "AVAL": hit.astype("float64").to_numpy(),
                "ADT": neg["ADT"].to_numpy(),
                "SRCDOM": self.dataset,
                "SRCVAR": "RSSTRESC",
                "SRCSEQ": neg["RSSEQ"].to_numpy(),
            }
        )
        return _append(data, out)

    def describe(self) -> dict[str, str]:
        return {
            "AVALC": f"{self.paramcd}: Y when {self.testcd} is {self.negative} on or after "
            f"{self.start} and not after {self.stop}, else N",
            "AVAL": f"{self.paramcd}: 1 for Y, 0 for N",
            "ADT": f"{self.paramcd}: the first such {self.testcd} date",
            **_sources(self.paramcd, self.dataset, "RSSTRESC", "RSSEQ"),
        }


def _yes_no(index: pd.Index, hit: pd.Series, code: str, label: str) -> pd.DataFrame:
    """One Y/N record of parameter `code` per subject of `index` (`hit` by USUBJID)."""
    yes = hit.reindex(index).fillna(False).astype(bool).to_numpy()
    return pd.DataFrame(
        {
            "USUBJID": index,
            "PARAMCD": code,
            "PARAM": label,
            "AVALC": np.where(yes, "Y", "N"),
            "AVAL": yes.astype("float64"),
        }
    )


@verb("imwg.sustained_mrd_negativity")
@dataclass(frozen=True, kw_only=True)
class SustainedMrdNegativity(MrdResults):
    """Parameter `paramcd`: Y/N per subject of the `population`: two `negative` results of
    --TESTCD `testcd` in `dataset`, on or after `start` and not after `stop`, at least
    `days` apart with no other result between (a positive or indeterminate one ends the run
    of negatives); ADT and SRCSEQ those of the first negative result of the first such run."""

    days: Annotated[int, Arg(base.integer, 365)]

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        index, mrd = self.results(inputs)
        negative = mrd["RSSTRESC"] == self.negative
        run = (~negative).astype(int).groupby(mrd["USUBJID"]).cumsum()
        spans = mrd[negative].assign(RUN=run[negative]).groupby(["USUBJID", "RUN"])
        first = spans.first()
        lasting = spans["ADT"].max() - first["ADT"] >= pd.Timedelta(days=self.days)
        found = first[lasting].reset_index().groupby("USUBJID").first()
        out = _yes_no(index, found["ADT"].notna(), self.paramcd, self.param)
        out["ADT"] = found["ADT"].reindex(index).to_numpy()
        out["SRCDOM"] = self.dataset
        out["SRCVAR"] = "RSSTRESC"
        out["SRCSEQ"] = found["RSSEQ"].reindex(index).to_numpy()
        return _append(data, out)

    def describe(self) -> dict[str, str]:
        return {
            "AVALC": f"{self.paramcd}: Y when two {self.testcd} results {self.negative} on "
            f"or after {self.start} and not after {self.stop} are at least {self.days} days "
            f"apart with no other {self.testcd} result between, else N",
            "AVAL": f"{self.paramcd}: 1 for Y, 0 for N",
            "ADT": f"{self.paramcd}: the first {self.negative} result of that run",
            **_sources(self.paramcd, self.dataset, "RSSTRESC", "RSSEQ"),
        }


@verb("imwg.mrd_negative_response")
@dataclass(frozen=True, kw_only=True)
class MrdNegativeResponse(MrdResults):
    """Parameter `paramcd`: Y/N per subject of the `population`: Y when a `negative` result
    of --TESTCD `testcd` in `dataset` lies within the subject's complete response: on or
    after the ADT of its `response` record with AVALC Y (a Y/N parameter built before whose
    ADT is the first assessment of the confirmed CR or better: ``imwg.best_response`` rate
    with ``date: first``), before the ADT of its `progression` record if any (built before:
    ``imwg.pfs_sources``) and not after `stop` (new anticancer therapy: the response
    assessments end there). IMWG 2016 (Kumar et al., Lancet Oncol 2016): each of its MRD
    response categories "requires a complete response", so an MRD-negative CR needs the
    negative result while in CR, not a negative result and a CR at unrelated times. ADT
    and the sources: the first such result's (N: the sources of the first negative result
    not after `stop`, if any)."""

    response: Annotated[str, Arg(base.name)]
    progression: Annotated[str, Arg(base.name, "PD")]

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        self.need(data, ["PARAMCD", "AVALC", "ADT"], "response")
        index, mrd = self.results(inputs)  # none after the stop
        # A group of subjects none of the population is in has no response to check.
        if len(index) and not (data["PARAMCD"] == self.response).any():
            raise self.where.at(arg="response").fail(
                f"no records of PARAMCD {self.response} built before"
            )
        # Per subject: the start of the confirmed CR and the progression.
        yes = data[data["AVALC"] == "Y"]
        period = pd.DataFrame(
            {
                name: yes[yes["PARAMCD"] == code].groupby("USUBJID")["ADT"].min()
                for name, code in (("FROM", self.response), ("UNTIL", self.progression))
            }
        )
        negative = mrd[mrd["RSSTRESC"] == self.negative]
        spans = negative.merge(period, left_on="USUBJID", right_index=True, how="left")
        in_cr = (spans["ADT"] >= spans["FROM"]) & (
            spans["UNTIL"].isna() | (spans["ADT"] < spans["UNTIL"])
        )
        first = negative[in_cr].groupby("USUBJID").first().reindex(index)
        any_negative = negative.groupby("USUBJID").first().reindex(index)
        out = _yes_no(index, first["ADT"].notna(), self.paramcd, self.param)
        out["ADT"] = first["ADT"].to_numpy()
        out["SRCDOM"] = self.dataset
        out["SRCVAR"] = "RSSTRESC"
        out["SRCSEQ"] = first["RSSEQ"].fillna(any_negative["RSSEQ"]).to_numpy()
        return _append(data, out)

    def describe(self) -> dict[str, str]:
        result = f"{self.testcd} {self.negative}"
        return {
            "AVALC": f"{self.paramcd}: Y when a {result} result lies on or after the "
            f"{self.response} date (the start of the confirmed CR or better), before the "
            f"{self.progression} date and not after {self.stop} (IMWG 2016: MRD negative "
            "while in CR), else N",
            "AVAL": f"{self.paramcd}: 1 for Y, 0 for N",
            "ADT": f"{self.paramcd}: the date of the first such {result} result",
            **_sources(self.paramcd, self.dataset, "RSSTRESC", "RSSEQ"),
        }


@verb("imwg.response_improvement")
@dataclass(frozen=True)
class ResponseImprovement(Verb):
    """Parameter `paramcd`: per subject with a `from_param` record (the best response): Y
    when it is better (a lower AVAL) than the subject's `baseline_param` record flagged
    ABLFL (the response at entry), N when not, NE when either is not evaluable; ADT the
    best response's date when Y; the sources those of the entry record."""

    paramcd: Annotated[str, Arg(base.name)]
    param: Annotated[str, Arg(base.text)]
    from_param: Annotated[str, Arg(base.name, "BOR")]
    baseline_param: Annotated[str, Arg(base.name, "OVR")]

    per_subject = True  # a subject's record from its own records

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        self.need(data, ["PARAMCD", "AVAL", "ADT", "ABLFL"], "baseline_param")
        best = data[data["PARAMCD"] == self.from_param].drop_duplicates("USUBJID")
        best = best.set_index("USUBJID")
        entry = data[(data["PARAMCD"] == self.baseline_param) & (data["ABLFL"] == "Y")]
        entry = entry.drop_duplicates("USUBJID").set_index("USUBJID").reindex(best.index)
        better = best["AVAL"] < entry["AVAL"]
        known = best["AVAL"].notna() & entry["AVAL"].notna()
        out = _yes_no(pd.Index(best.index, name="USUBJID"), better, self.paramcd, self.param)
        out["AVALC"] = out["AVALC"].where(known.to_numpy(), "NE")
        out["AVAL"] = out["AVAL"].where(known.to_numpy())
        out["ADT"] = best["ADT"].where(better).to_numpy()
        for column in (c for c in SOURCES if c in entry.columns):
            out[column] = entry[column].to_numpy()
        return _append(data, out)

    def describe(self) -> dict[str, str]:
        return {
            "AVALC": f"{self.paramcd}: Y when {self.from_param} is better than the "
            f"{self.baseline_param} record flagged ABLFL (entry), N when not, NE when "
            "either is not evaluable",
            "AVAL": f"{self.paramcd}: 1 for Y, 0 for N",
            "ADT": f"{self.paramcd}: the {self.from_param} date when Y",
            "SRCSEQ": f"{self.paramcd}: the entry record's SRCSEQ",
        }


PFS_PARAMS = {
    "progression": ("PD", "Disease Progression (IMWG)"),
    "death": ("DEATH", "Death"),
    "last": ("LSTA", "Last Adequate Response Assessment"),
}


def _params(raw: Any, where: Where) -> Mapping[str, tuple[str, str]]:
    """``{progression|death|last: {paramcd, param}}``: the codes and names of the records
    made (each left out keeps its default)."""
    if not isinstance(raw, dict) or set(raw) - set(PFS_PARAMS):
        raise where.fail(f"expected a mapping of {sorted(PFS_PARAMS)} to {{paramcd, param}}")
    out = dict(PFS_PARAMS)
    for key, item in raw.items():
        here = where.at(arg=f"{where.arg}.{key}")
        if not isinstance(item, dict) or set(item) != {"paramcd", "param"}:
            raise here.fail(f"expected {{paramcd, param}}, not {item!r}")
        out[key] = (base.name(item["paramcd"], here), base.text(item["param"], here))
    return out


@verb("imwg.pfs_sources")
@dataclass(frozen=True, kw_only=True)
class PfsSources(SubjectDates):
    """Parameters `progression` (the first adequate `progression` record of `from_param`),
    `death` (ADSL.DTHDT) and `last` (the last adequate assessment after the `start` day
    and before progression). Progression and death carry ANL01FL when at most
    `missed_assessment_days` after the last adequate assessment (else `start`) and not
    after `stop`. `params` names the three (default PD, DEATH, LSTA). `confirm: next`
    (IMWG 2016: progression needs two consecutive assessments): a progression counts only
    when the next adequate assessment, if there is one, is a progression too (the first of
    the two dates it); the default, `none`, takes the first progression as it is.
    `after_stop: follow` (the FDA 2018 sensitivity analysis without censoring at new
    anticancer therapy): the assessments are every evaluable `from_param` record on or
    after `start`, whether or not after `stop` (not only its ANL01FL ones), and ANL01FL
    asks the missed-assessment window alone; the default, `censor`, ends them at `stop`."""

    missed_assessment_days: Annotated[int, Arg(base.integer)]
    progression: Annotated[str, Arg(base.text, "PD")]
    params: Annotated[Mapping[str, tuple[str, str]], Arg(_params, PFS_PARAMS)]
    from_param: Annotated[str, Arg(base.name, "OVR")]
    confirm: Annotated[str, Arg(base.choice("none", "next"), "none")]
    after_stop: Annotated[str, Arg(base.choice("censor", "follow"), "censor")]

    def _assessments(self, data: pd.DataFrame, subjects: pd.DataFrame) -> pd.DataFrame:
        """The adequate `from_param` records by subject and date: ANL01FL (not after
        `stop`), or with `after_stop: follow` every evaluable one on or after `start`."""
        if self.after_stop == "censor":
            self.need(data, ["PARAMCD", "ANL01FL", "ADT"], "from_param")
            adequate = data[(data["PARAMCD"] == self.from_param) & (data["ANL01FL"] == "Y")]
        else:
            self.need(data, ["PARAMCD", "AVAL", "ADT"], "from_param")
            records = data[data["PARAMCD"] == self.from_param]
            dates = subjects[[self.start]].reindex(records["USUBJID"]).set_index(records.index)
            adequate = records[_adequate(records, dates, self.start, None) == "Y"]
        return adequate.sort_values(["USUBJID", "ADT"], kind="stable")

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        adsl = inputs.dataset(self.subjects, self.where)
        self.need(adsl, ["USUBJID", "DTHDT", self.start, self.stop], "start", self.subjects)
        window = pd.Timedelta(days=self.missed_assessment_days)
        subjects = adsl.set_index("USUBJID")
        adequate = self._assessments(data, subjects)
        progressed = adequate["AVALC"] == self.progression
        if self.confirm == "next":
            progressed &= confirmed_progression(adequate, self.progression)
        pd_records = adequate[progressed].sort_values("ADT", kind="stable")
        first_pd = pd_records.groupby("USUBJID").first()
        before_pd = adequate.merge(
            first_pd["ADT"].rename("PDDT"), left_on="USUBJID", right_index=True, how="left"
        )
        before_pd = before_pd[before_pd["PDDT"].isna() | (before_pd["ADT"] < before_pd["PDDT"])]
        # Post-baseline: after the first dose day (an assessment on that day is baseline).
        start = subjects[self.start].reindex(before_pd["USUBJID"]).to_numpy()
        before_pd = before_pd[before_pd["ADT"].to_numpy() > start]
        lsta = before_pd.sort_values("ADT", kind="stable").groupby("USUBJID").last()
        last_adequate = lsta["ADT"].reindex(subjects.index).fillna(subjects[self.start])

        def within(date: pd.Series) -> pd.Series:
            """Not after two or more missed assessments, nor after new anticancer therapy
            (`stop`) unless the assessments follow it."""
            hit = date - last_adequate.reindex(date.index) <= window
            if self.after_stop == "follow":
                return hit
            stop = subjects[self.stop].reindex(date.index)
            return hit & (stop.isna() | (date <= stop))

        progression = pd.DataFrame(
            {
                "USUBJID": first_pd.index,
                "PARAMCD": self.params["progression"][0],
                "PARAM": self.params["progression"][1],
                "AVALC": "Y",
                "AVAL": 1.0,
                "ADT": first_pd["ADT"].to_numpy(),
                "ANL01FL": base.yes(within(first_pd["ADT"])).to_numpy(),
                "SRCDOM": "RS",
                "SRCVAR": "RSDTC",
                "SRCSEQ": first_pd["SRCSEQ"].to_numpy(),
            }
        )
        dead = subjects.loc[subjects["DTHDT"].notna(), "DTHDT"]
        death = pd.DataFrame(
            {
                "USUBJID": dead.index,
                "PARAMCD": self.params["death"][0],
                "PARAM": self.params["death"][1],
                "AVALC": "Y",
                "AVAL": 1.0,
                "ADT": dead.to_numpy(),
                "ANL01FL": base.yes(within(dead)).to_numpy(),
                "SRCDOM": self.subjects,
                "SRCVAR": "DTHDT",
            }
        )
        last = pd.DataFrame(
            {
                "USUBJID": lsta.index,
                "PARAMCD": self.params["last"][0],
                "PARAM": self.params["last"][1],
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
        return _append(data, progression, death, last)

    def describe(self) -> dict[str, str]:
        days = self.missed_assessment_days
        pd_, death, last = (self.params[k][0] for k in ("progression", "death", "last"))
        follow = self.after_stop == "follow"
        assessments = (
            f"{self.from_param} assessments evaluable on or after {self.start} (whether or not "
            f"after {self.stop})"
            if follow
            else f"adequate {self.from_param} assessments"
        )
        return {
            "ANL01FL": f"{pd_}/{death}: at most {days} days after the last of the "
            f"{assessments} (else {self.start})"
            + ("" if follow else f" and not after {self.stop}"),
            "ADT": f"{pd_}: the first {self.progression} of the {assessments}"
            + (" that the next one, if any, confirms" if self.confirm == "next" else "")
            + f"; {death}: {self.subjects}.DTHDT; {last}: the last of the {assessments} "
            f"after the {self.start} day and before {pd_}",
            "AVALC": f"{pd_}, {death}: Y; {last}: AVALC of that {self.from_param}",
            "AVAL": f"{pd_}, {death}: 1; {last}: AVAL of that {self.from_param}",
            "SRCDOM": f"{pd_}, {last}: RS; {death}: {self.subjects}",
            "SRCVAR": f"{pd_}, {last}: RSDTC; {death}: DTHDT",
            "SRCSEQ": f"{pd_}, {last}: RS.RSSEQ",
        }

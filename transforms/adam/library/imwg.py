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
- ``imwg.mrd_negativity``: Y/N per subject: a negative MRD result on or after the first dose.
- ``imwg.pfs_sources``: the PFS event and censoring records (FDA conventions): the first
  progression and death, ANL01FL when not after two or more missed assessments nor after
  new anticancer therapy, and the last adequate *post-baseline* assessment (after the first
  dose day) before progression.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import pandas as pd

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
        rank = {value: float(n) for n, value in enumerate(self.scale, start=1)}
        out["AVAL"] = out["AVALC"].map(rank).astype("float64")
        stop = ovr[self.stop]
        adequate = (
            out["AVAL"].notna()
            & (out["ADT"] >= ovr[self.start])
            & (stop.isna() | (out["ADT"] <= stop))
        )
        out["ANL01FL"] = base.yes(adequate)
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


def confirmed_assessments(
    adequate: pd.DataFrame, scale: list[str], confirm: list[str], stable: str, progression: str
) -> pd.DataFrame:
    """The adequate assessments up to each subject's first progression, sorted by date, with
    CONF: the scale position each one confirms (the worse of it and the next assessment
    when it needs confirmation; with none next, or when that is worse than `stable`,
    `stable` at best)."""
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
    return seq


def best_confirmed(seq: pd.DataFrame, scale: list[str]) -> pd.DataFrame:
    """Per subject of ``confirmed_assessments``: the best confirmed response and the date
    it was first reached."""
    best = seq.sort_values(["USUBJID", "CONF", "ADT"]).groupby("USUBJID").first()
    labels = {float(n): value for n, value in enumerate(scale, start=1)}
    return pd.DataFrame(
        {"AVAL": best["CONF"], "AVALC": best["CONF"].map(labels), "ADT": best["ADT"]}
    )


def first_confirmed(seq: pd.DataFrame, scale: list[str], values: tuple[str, ...]) -> pd.Series:
    """Per subject of ``confirmed_assessments``: the first date of an assessment that
    confirms one of `values` (the start of a confirmed response)."""
    ranks = [float(scale.index(v) + 1) for v in values if v in scale]
    return seq[seq["CONF"].isin(ranks)].groupby("USUBJID")["ADT"].min()


def _population(adsl: pd.DataFrame, cond: Condition | None) -> pd.Index:
    return pd.Index(adsl.loc[base.mask(cond, adsl), "USUBJID"], name="USUBJID")


@verb("imwg.best_response")
@dataclass(frozen=True)
class BestResponse(Verb):
    """Parameter `paramcd`: the best confirmed response of the adequate (ANL01FL) records of
    `from_param` per subject of the `population`; NE without one. `confirm`: the responses
    that need a next adequate assessment at least as good; `stable`: the best an
    unconfirmed one gives; `progression` ends the search. `rates`: Y/N parameters, Y when
    the best confirmed response is one of their `values`; ADT then the date the best one
    was first reached (`date: best`, the default) or, with `date: first`, the first
    assessment that confirms any of `values` (the start of a confirmed response, e.g. the
    origin of duration of response)."""

    paramcd: Annotated[str, Arg(base.name)]
    param: Annotated[str, Arg(base.text)]
    scale: Annotated[tuple[str, ...], Arg(_scale)]
    confirm: Annotated[tuple[str, ...], Arg(base.values)]
    stable: Annotated[str, Arg(base.text)]
    progression: Annotated[str, Arg(base.text)]
    from_param: Annotated[str, Arg(base.name, "OVR")]
    rates: Annotated[tuple[Rate, ...], Arg(_rates, ())]
    population: Annotated[Condition | None, Arg(base.condition, None)]
    subjects: Annotated[str, Arg(base.name, "ADSL")]

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
            adequate, scale, list(self.confirm), self.stable, self.progression
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
        return {
            "AVALC": f"{self.paramcd}: best confirmed response of the adequate {self.from_param} "
            f"records (a {', '.join(self.confirm)} confirmed by the next adequate assessment, "
            f"else {self.stable} at best), NE without one" + (f"; {rates}" if rates else ""),
            "AVAL": f"{self.paramcd}: position of AVALC in the scale"
            + "".join(f"; {c}: 1 for Y, 0 for N" for c, _, _, _ in self.rates),
            "ADT": f"{self.paramcd}: the date the best confirmed response was first reached",
        }


@verb("imwg.mrd_negativity")
@dataclass(frozen=True)
class MrdNegativity(Verb):
    """Parameter `paramcd`: Y/N per subject of the `population`: a `negative` result of
    --TESTCD `testcd` in `dataset` on or after `start`; ADT the first such date."""

    paramcd: Annotated[str, Arg(base.name)]
    param: Annotated[str, Arg(base.text)]
    testcd: Annotated[str, Arg(base.text)]
    negative: Annotated[str, Arg(base.text)]
    dataset: Annotated[str, Arg(base.name, "RS")]
    population: Annotated[Condition | None, Arg(base.condition, None)]
    subjects: Annotated[str, Arg(base.name, "ADSL")]
    start: Annotated[str, Arg(base.name, "TRTSDT")]

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        rs = inputs.dataset(self.dataset, self.where)
        adsl = inputs.dataset(self.subjects, self.where)
        index = _population(adsl, self.population)
        mrd = rs[(rs["RSTESTCD"] == self.testcd) & rs["RSSTRESC"].notna()]
        mrd = mrd.merge(adsl[["USUBJID", self.start]], on="USUBJID")
        mrd = mrd.assign(ADT=iso_date(mrd["RSDTC"]))
        negative = mrd[(mrd["RSSTRESC"] == self.negative) & (mrd["ADT"] >= mrd[self.start])]
        neg = negative.sort_values("ADT").groupby("USUBJID").first().reindex(index)
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
            f"{self.start}, else N",
            "AVAL": f"{self.paramcd}: 1 for Y, 0 for N",
            "ADT": f"{self.paramcd}: the first such {self.testcd} date",
            **_sources(self.paramcd, self.dataset, "RSSTRESC", "RSSEQ"),
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
    after `stop`, ANL02FL when within that window whatever `stop` (for the sensitivity
    analysis without censoring at `stop`). `params` names the three (default PD, DEATH,
    LSTA). `confirm: next` (IMWG 2016: progression needs two consecutive assessments): a
    progression counts only when the next adequate assessment, if there is one, is a
    progression too (the first of the two dates it); the default, `none`, takes the first
    progression as it is."""

    missed_assessment_days: Annotated[int, Arg(base.integer)]
    progression: Annotated[str, Arg(base.text, "PD")]
    params: Annotated[Mapping[str, tuple[str, str]], Arg(_params, PFS_PARAMS)]
    from_param: Annotated[str, Arg(base.name, "OVR")]
    confirm: Annotated[str, Arg(base.choice("none", "next"), "none")]

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        self.need(data, ["PARAMCD", "ANL01FL", "ADT"], "from_param")
        adequate = data[(data["PARAMCD"] == self.from_param) & (data["ANL01FL"] == "Y")]
        adequate = adequate.sort_values(["USUBJID", "ADT"], kind="stable")
        adsl = inputs.dataset(self.subjects, self.where)
        self.need(adsl, ["USUBJID", "DTHDT", self.start, self.stop], "start", self.subjects)
        window = pd.Timedelta(days=self.missed_assessment_days)
        subjects = adsl.set_index("USUBJID")
        progressed = adequate["AVALC"] == self.progression
        if self.confirm == "next":
            following = adequate.groupby("USUBJID")["AVALC"].shift(-1)
            progressed &= following.isna() | (following == self.progression)
        pd_records = adequate[progressed].sort_values("ADT")
        first_pd = pd_records.groupby("USUBJID").first()
        before_pd = adequate.merge(
            first_pd["ADT"].rename("PDDT"), left_on="USUBJID", right_index=True, how="left"
        )
        before_pd = before_pd[before_pd["PDDT"].isna() | (before_pd["ADT"] < before_pd["PDDT"])]
        # Post-baseline: after the first dose day (an assessment on that day is baseline).
        start = subjects[self.start].reindex(before_pd["USUBJID"]).to_numpy()
        before_pd = before_pd[before_pd["ADT"].to_numpy() > start]
        lsta = before_pd.sort_values("ADT").groupby("USUBJID").last()
        last_adequate = lsta["ADT"].reindex(subjects.index).fillna(subjects[self.start])

        def in_window(date: pd.Series) -> pd.Series:
            """Not after two or more missed assessments."""
            return date - last_adequate.reindex(date.index) <= window

        def within(date: pd.Series) -> pd.Series:
            """Not after two or more missed assessments, nor after new anticancer therapy."""
            stop = subjects[self.stop].reindex(date.index)
            return in_window(date) & (stop.isna() | (date <= stop))

        progression = pd.DataFrame(
            {
                "USUBJID": first_pd.index,
                "PARAMCD": self.params["progression"][0],
                "PARAM": self.params["progression"][1],
                "AVALC": "Y",
                "AVAL": 1.0,
                "ADT": first_pd["ADT"].to_numpy(),
                "ANL01FL": base.yes(within(first_pd["ADT"])).to_numpy(),
                "ANL02FL": base.yes(in_window(first_pd["ADT"])).to_numpy(),
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
                "ANL02FL": base.yes(in_window(dead)).to_numpy(),
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
        return {
            "ANL01FL": f"{pd_}/{death}: at most {days} days after the last adequate "
            f"assessment (else {self.start}) and not after {self.stop}",
            "ANL02FL": f"{pd_}/{death}: at most {days} days after the last adequate "
            f"assessment (else {self.start}), whether or not after {self.stop}",
            "ADT": f"{pd_}: the first adequate {self.progression}"
            + (" the next adequate assessment, if any, confirms" if self.confirm == "next" else "")
            + f"; {death}: "
            f"{self.subjects}.DTHDT; {last}: the last adequate {self.from_param} after the "
            f"{self.start} day and before {pd_}",
            "AVALC": f"{pd_}, {death}: Y; {last}: AVALC of that {self.from_param}",
            "AVAL": f"{pd_}, {death}: 1; {last}: AVAL of that {self.from_param}",
            "SRCDOM": f"{pd_}, {last}: RS; {death}: {self.subjects}",
            "SRCVAR": f"{pd_}, {last}: RSDTC; {death}: DTHDT",
            "SRCSEQ": f"{pd_}, {last}: RS.RSSEQ",
        }

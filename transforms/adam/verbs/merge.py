"""Variables from other datasets: merged by key (admiral derive_vars_merged), or the
extreme date over several sources (admiral derive_vars_extreme_event for dates)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import pandas as pd

from transforms.adam.dates import iso_date
from transforms.adam.verbs import base
from transforms.adam.verbs.base import Arg, Inputs, Verb, Where, verb
from transforms.adam.verbs.records import Source, order, order_words, sort, source


def renames(raw: Any, where: Where) -> tuple[tuple[str, str], ...]:
    """``[A, B]`` (copied as they are) or ``{NEW: SOURCEVAR, ...}``."""
    if isinstance(raw, list):
        return tuple((n, n) for n in base.names(raw, where))
    if isinstance(raw, dict) and raw:
        return tuple((base.name(k, where), base.name(v, where)) for k, v in raw.items())
    raise where.fail(f"expected a list of variables or a mapping NEW: SOURCE, not {raw!r}")


def constants(raw: Any, where: Where) -> tuple[tuple[str, Any], ...]:
    if not isinstance(raw, dict):
        raise where.fail(f"expected a mapping VAR: value, not {raw!r}")
    return tuple((base.name(k, where), base.value(v, where)) for k, v in raw.items())


@verb("merge_vars")
@dataclass(frozen=True)
class MergeVars(Verb):
    """Variables of another dataset's records joined on `by`. Without `order` the records
    must be unique by `by` (else a SpecError); with it, the `mode` (first/last) record per
    key is taken. `missing` sets the value of subjects without a record; `keep: matched`
    drops the records without one (an inner join)."""

    from_: Annotated[Source, Arg(source)]
    vars: Annotated[tuple[tuple[str, str], ...], Arg(renames)]
    by: Annotated[tuple[str, ...], Arg(base.names, ("USUBJID",))]
    order: Annotated[tuple[tuple[str, bool], ...], Arg(order, ())]
    mode: Annotated[str, Arg(base.choice("first", "last"), "first")]
    missing: Annotated[tuple[tuple[str, Any], ...], Arg(constants, ())]
    keep: Annotated[str, Arg(base.choice("all", "matched"), "all")]

    @property
    def per_subject(self) -> bool:
        return base.by_subject(self.by) and self.from_.per_subject

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        read = [*self.by, *(s for _, s in self.vars), *(n for n, _ in self.order)]
        added = self.from_.frame(inputs, read)
        self.need(data, self.by, "by")
        self.need(added, self.by, "by", self.from_.dataset)
        self.need(added, [s for _, s in self.vars], "vars", self.from_.dataset)
        if self.order:
            added = sort(added, self.by, self.order, self)
            added = pd.DataFrame(
                added.groupby(list(self.by)).nth(0 if self.mode == "first" else -1)
            )
        elif added.duplicated(list(self.by)).any():
            shown = added.loc[added.duplicated(list(self.by), keep=False), list(self.by)]
            raise self.where.at(arg="by").fail(
                f"{list(self.by)} is not a unique key of {self.from_.dataset}, e.g. "
                f"{shown.head(2).to_dict('records')}; give order and mode to pick one record"
            )
        picked = added[[*self.by, *dict.fromkeys(s for _, s in self.vars)]]
        picked = picked.rename(columns={s: f"__{s}" for _, s in self.vars})
        out = data.merge(
            picked, on=list(self.by), how="inner" if self.keep == "matched" else "left"
        )
        for new, src in self.vars:
            out[new] = out[f"__{src}"]
        out = out.drop(columns=[f"__{s}" for _, s in dict.fromkeys(self.vars)], errors="ignore")
        for var, val in self.missing:
            out[var] = out[var].where(out[var].notna(), val) if val is not None else out[var]
        return out

    def describe(self) -> dict[str, str]:
        pick = f"the {self.mode} record by {order_words(self.order)} of " if self.order else ""
        fills = dict(self.missing)
        derived = self.from_.derived()
        out = {}
        for new, src in self.vars:
            what = f"{derived[src]}; of" if src in derived else f"{self.from_.dataset}.{src} of"
            text = f"{what} {pick}{self.from_.words()}, by {', '.join(self.by)}"
            if new in fills:
                text += f"; none: {fills[new]}"
            out[new] = text
        return out


def date_sources(raw: Any, where: Where) -> tuple[tuple[Source, tuple[str, ...]], ...]:
    if not isinstance(raw, list) or not raw:
        raise where.fail("expected a non-empty list of {dataset, dates, where}")
    out = []
    for i, item in enumerate(raw):
        here = where.at(arg=f"{where.arg}[{i}]")
        if not isinstance(item, dict) or "dates" not in item:
            raise here.fail(
                f"a date source is {{dataset: X, dates: [..], where: ..}}, not {item!r}"
            )
        rest = {k: v for k, v in item.items() if k != "dates"}
        out.append(
            (source(rest, here), base.names(item["dates"], here.at(arg=f"{here.arg}.dates")))
        )
    return tuple(out)


@verb("extreme_date")
@dataclass(frozen=True)
class ExtremeDate(Verb):
    """The latest (`mode: last`) or earliest complete date per subject over the dates of
    several sources; `not_after`: a later date becomes that variable's date."""

    var: Annotated[str, Arg(base.name)]
    sources: Annotated[tuple[tuple[Source, tuple[str, ...]], ...], Arg(date_sources)]
    mode: Annotated[str, Arg(base.choice("first", "last"), "last")]
    not_after: Annotated[str | None, Arg(base.name, None)]

    @property
    def per_subject(self) -> bool:  # the date per USUBJID
        return all(src.per_subject for src, _ in self.sources)

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        parts = []
        for src, dates in self.sources:
            frame = src.frame(inputs, ["USUBJID", *dates])
            self.need(frame, ["USUBJID", *dates], "sources", src.dataset)
            parts += [
                pd.DataFrame({"USUBJID": frame["USUBJID"], "D": iso_date(frame[d])}) for d in dates
            ]
        found = pd.concat(parts, ignore_index=True).groupby("USUBJID")["D"]
        best = found.max() if self.mode == "last" else found.min()
        value = data["USUBJID"].map(best)
        if self.not_after:
            self.need(data, [self.not_after], "not_after")
            cap = data[self.not_after]
            value = value.where(cap.isna() | (value <= cap), cap)
        data[self.var] = value
        return data

    def describe(self) -> dict[str, str]:
        listed = "; ".join(f"{', '.join(d)} of {s.words()}" for s, d in self.sources)
        text = f"{'Latest' if self.mode == 'last' else 'Earliest'} complete date of {listed}"
        if self.not_after:
            text += f"; never after {self.not_after}"
        return {self.var: text}

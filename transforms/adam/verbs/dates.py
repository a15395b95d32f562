"""Analysis dates: from ISO 8601 text with imputation (admiral derive_vars_dt), study days
(derive_vars_dy) and durations (derive_vars_duration)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import pandas as pd

from transforms.adam.dates import impute_date, iso_date, study_day
from transforms.adam.verbs import base
from transforms.adam.verbs.base import Arg, Inputs, Verb, verb

IMPUTED = {"first": "first day", "last": "last day"}


@verb("date")
@dataclass(frozen=True)
class Date(Verb):
    """`var`: the first given of the `dtc` variables as a date. `impute: none` keeps only
    complete dates; `first` (`last`) imputes a missing day to the first (last) of the
    month, a missing month and day to the first (last) of the year, and `flag` says so (D,
    M). `min_date`: a date imputed before that variable's date, in the month (year) the
    partial date stands for, becomes it. `not_after`: a later date becomes that variable's."""

    var: Annotated[str, Arg(base.name)]
    dtc: Annotated[tuple[str, ...], Arg(base.names)]
    impute: Annotated[str, Arg(base.choice("none", "first", "last"), "none")]
    flag: Annotated[str | None, Arg(base.name, None)]
    min_date: Annotated[str | None, Arg(base.name, None)]
    not_after: Annotated[str | None, Arg(base.name, None)]

    def check(self) -> None:
        if self.impute == "none" and (self.flag or self.min_date):
            raise self.where.at(arg="flag").fail("flag and min_date need impute first or last")

    per_subject = True  # each record's value from the record alone

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        self.need(data, [*self.dtc, self.min_date, self.not_after], "dtc")
        dtc = data[self.dtc[0]]
        for other in self.dtc[1:]:
            dtc = dtc.fillna(data[other])
        if self.impute == "none":
            date, flag = iso_date(dtc), None
        else:
            date, flag = impute_date(dtc, "first" if self.impute == "first" else "last")
        if self.min_date:
            low = data[self.min_date]
            text = dtc.astype("string")
            month = text.str.len().eq(7) & (text == low.dt.strftime("%Y-%m").astype("string"))
            year = text.str.len().eq(4) & (text == low.dt.strftime("%Y").astype("string"))
            date = date.mask((month | year).fillna(False) & (low > date), low)
        if self.not_after:
            cap = data[self.not_after]
            date = date.mask(date.notna() & cap.notna() & (date > cap), cap)
        data[self.var] = date
        if self.flag:
            data[self.flag] = flag
        return data

    def describe(self) -> dict[str, str]:
        source = " (else ".join(self.dtc) + ")" * (len(self.dtc) - 1)
        text = f"{source} as a date"
        if self.impute != "none":
            day = IMPUTED[self.impute]
            text += f"; a missing day (month) imputed to the {day} of the month (year)"
        if self.min_date:
            text += f", or to {self.min_date} when that falls in the month (year) and is later"
        if self.not_after:
            text += f", never after {self.not_after}"
        out = {self.var: text}
        if self.flag:
            out[self.flag] = "D when the day was imputed, M when month and day were"
        return out


@verb("study_day")
@dataclass(frozen=True)
class StudyDay(Verb):
    """`var` = `date` - `ref` + 1 on or after the reference date, `date` - `ref` before."""

    var: Annotated[str, Arg(base.name)]
    date: Annotated[str, Arg(base.name)]
    ref: Annotated[str, Arg(base.name, "TRTSDT")]

    per_subject = True  # each record's value from the record alone

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        self.need(data, [self.date, self.ref], "date")
        data[self.var] = study_day(data[self.date], data[self.ref])
        return data

    def describe(self) -> dict[str, str]:
        d, r = self.date, self.ref
        return {self.var: f"{d} - {r} + 1 on or after {r}, {d} - {r} before"}


@verb("duration")
@dataclass(frozen=True)
class Duration(Verb):
    """`var` = `end` - `start` + 1 in days; `add_one: false`: `end` - `start` (admiral's
    `add_one`, e.g. the elapsed days LDDTHELD)."""

    var: Annotated[str, Arg(base.name)]
    start: Annotated[str, Arg(base.name)]
    end: Annotated[str, Arg(base.name)]
    add_one: Annotated[bool, Arg(base.boolean, True)]

    per_subject = True  # each record's value from the record alone

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        self.need(data, [self.start, self.end], "start")
        data[self.var] = (data[self.end] - data[self.start]).dt.days + float(self.add_one)
        return data

    def describe(self) -> dict[str, str]:
        return {self.var: f"{self.end} - {self.start}" + (" + 1" if self.add_one else "")}

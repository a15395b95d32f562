"""Flags: the first, last or worst record of a group (admiral derive_var_extreme_flag), and
treatment emergence (admiral derive_var_trtemfl)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import pandas as pd

from transforms.adam.verbs import base
from transforms.adam.verbs.base import Arg, Inputs, Verb, verb
from transforms.adam.verbs.records import order, order_words, sort
from transforms.conditions import Condition


@verb("flag_extreme")
@dataclass(frozen=True)
class FlagExtreme(Verb):
    """`var` = Y on the first (`mode: last`: last) record of each `by` group in `order`,
    among the records where `where` holds; null elsewhere."""

    var: Annotated[str, Arg(base.name)]
    by: Annotated[tuple[str, ...], Arg(base.names)]
    order: Annotated[tuple[tuple[str, bool], ...], Arg(order)]
    mode: Annotated[str, Arg(base.choice("first", "last"), "first")]
    where_: Annotated[Condition | None, Arg(base.condition, None)]

    @property
    def per_subject(self) -> bool:
        return base.by_subject(self.by)

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        self.need(data, self.by, "by")
        chosen = data[base.mask(self.where_, data)]
        chosen = sort(chosen, self.by, self.order, self)
        group = chosen.groupby(list(self.by), dropna=False)
        picked = (group.head(1) if self.mode == "first" else group.tail(1)).index
        data[self.var] = base.yes(pd.Series(data.index.isin(picked), index=data.index))
        return data

    def describe(self) -> dict[str, str]:
        among = f" among the records where {base.words(self.where_)}" if self.where_ else ""
        return {
            self.var: f"Y on the {self.mode} record per {', '.join(self.by)} by "
            f"{order_words(self.order)}{among}"
        }


@verb("trtemfl")
@dataclass(frozen=True)
class TreatmentEmergent(Verb):
    """`var` = Y when `trt_start` <= `start` <= `trt_end` + `end_window` days."""

    var: Annotated[str, Arg(base.name, "TRTEMFL")]
    start: Annotated[str, Arg(base.name, "ASTDT")]
    trt_start: Annotated[str, Arg(base.name, "TRTSDT")]
    trt_end: Annotated[str, Arg(base.name, "TRTEDT")]
    end_window: Annotated[int, Arg(base.integer, 0)]

    per_subject = True  # each record's value from the record alone

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        self.need(data, [self.start, self.trt_start, self.trt_end], "start")
        start = data[self.start]
        window_end = data[self.trt_end] + pd.Timedelta(days=self.end_window)
        data[self.var] = base.yes((start >= data[self.trt_start]) & (start <= window_end))
        return data

    def describe(self) -> dict[str, str]:
        days = f" + {self.end_window} days" if self.end_window else ""
        return {self.var: f"Y when {self.trt_start} <= {self.start} <= {self.trt_end}{days}"}

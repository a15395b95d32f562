"""A per-subject summary of another dataset's records merged as a variable (admiral
derive_var_merged_summary): the cumulative dose over EX, the number of events, the worst
grade."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Annotated

import pandas as pd

from transforms.adam.verbs import base
from transforms.adam.verbs.base import Arg, Inputs, Verb, verb
from transforms.adam.verbs.records import Source, order, order_words, sort, source
from transforms.adam.verbs.values import arithmetic, expression, expression_variables

FUNCTIONS = ("sum", "mean", "min", "max", "count", "first", "last")
NUMERIC = ("sum", "mean")  # the functions that need the expression's value as a number
WORDS = {"sum": "Sum", "mean": "Mean", "min": "Smallest value", "max": "Largest value"}
VALUE = "__value"  # the summarised value's column while merging (never a variable name)


@verb("merge_summary")
@dataclass(frozen=True)
class MergeSummary(Verb):
    """`var`: per `by` group of a source's records, the `function` of `expr` (the arithmetic
    of `compute`; a bare variable keeps its own values for min, max, count, first and last),
    merged on `by`. sum, mean, min, max and count skip null values (a group of nulls only:
    null; count: 0); first / last take the value of the first / last record in `order`.
    count without `expr` counts the records. A subject without records gets `missing`
    (null unless given); records without one in the dataset are ignored."""

    var: Annotated[str, Arg(base.name)]
    from_: Annotated[Source, Arg(source)]
    function: Annotated[str, Arg(base.choice(*FUNCTIONS))]
    expr: Annotated[ast.expr | None, Arg(expression, None)]
    by: Annotated[tuple[str, ...], Arg(base.names, ("USUBJID",))]
    order: Annotated[tuple[tuple[str, bool], ...], Arg(order, ())]
    missing: Annotated[str | int | float | None, Arg(base.value, None)]

    @property
    def per_subject(self) -> bool:
        return base.by_subject(self.by) and self.from_.per_subject

    def check(self) -> None:
        picks = self.function in ("first", "last")
        if picks and not self.order:
            raise self.where.at(arg="order").fail(f"{self.function} needs an order")
        if self.order and not picks:
            raise self.where.at(arg="order").fail("only first and last take an order")
        if self.expr is None and self.function != "count":
            raise self.where.at(arg="expr").fail(f"{self.function} needs an expr")

    def _values(self, frame: pd.DataFrame) -> pd.Series:
        if self.expr is None:
            return pd.Series(1.0, index=frame.index)
        if isinstance(self.expr, ast.Name) and self.function not in NUMERIC:
            column: pd.Series = frame[self.expr.id]
            return column
        return arithmetic(self.expr, frame)

    def _summary(self, frame: pd.DataFrame) -> pd.Series:
        """The summarised value per key (an index of `by`)."""
        keyed = frame[list(self.by)].assign(**{VALUE: self._values(frame)})
        if self.function in ("first", "last"):
            keyed = keyed.assign(**{n: frame[n] for n, _ in self.order})
            keyed = sort(keyed, self.by, self.order, self)
            group = keyed.groupby(list(self.by))
            picked = group.head(1) if self.function == "first" else group.tail(1)
            return picked.set_index(list(self.by))[VALUE]
        values = keyed.groupby(list(self.by))[VALUE]
        if self.function == "sum":
            return values.sum(min_count=1)
        if self.function == "count":
            return values.count().astype("float64")
        if self.function == "mean":
            return values.mean()
        return values.min() if self.function == "min" else values.max()

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        used = expression_variables(self.expr) if self.expr is not None else []
        frame = self.from_.frame(inputs, [*self.by, *used, *(n for n, _ in self.order)])
        dataset = self.from_.dataset
        self.need(data, self.by, "by")
        self.need(frame, self.by, "by", dataset)
        if self.expr is not None:
            self.need(frame, expression_variables(self.expr), "expr", dataset)
        self.need(frame, [n for n, _ in self.order], "order", dataset)
        table = self._summary(frame).rename(VALUE).reset_index()
        joined = data[list(self.by)].merge(table, on=list(self.by), how="left", indicator=True)
        value = joined[VALUE].set_axis(data.index)
        if self.missing is not None:
            none = pd.Series(joined["_merge"].eq("left_only").to_numpy(), index=data.index)
            value = value.mask(none, self.missing)
        data[self.var] = value
        return data

    def describe(self) -> dict[str, str]:
        of = ast.unparse(self.expr) if self.expr is not None else ""
        records = self.from_.words()
        if self.function == "count":
            text = f"Number of records of {records}" + (f" with a value of {of}" if of else "")
        elif self.function in WORDS:
            text = f"{WORDS[self.function]} of {of} over the records of {records}"
        else:
            text = f"{of} of the {self.function} record by {order_words(self.order)} of {records}"
        text += f", by {', '.join(self.by)}"
        derived = self.from_.derived()
        if derived:
            text += " (" + "; ".join(f"{v}: {d}" for v, d in derived.items()) + ")"
        if self.missing is not None:
            text += f"; none: {self.missing}"
        return {self.var: text}

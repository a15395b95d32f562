"""Records: where a dataset's rows come from, which are kept, and how they are numbered."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

import pandas as pd

from transforms.adam.verbs import base
from transforms.adam.verbs.base import Arg, Inputs, Verb, Where, verb
from transforms.conditions import Condition


@dataclass(frozen=True)
class Source:
    """Records of another dataset: ``{dataset: EX, where: <condition>, derive: [steps]}``;
    the steps run over those records before they are used (admiral's pre-processed
    ``dataset_add``)."""

    dataset: str
    where_: Condition | None
    derive: tuple[Verb, ...]
    at: Where

    def frame(self, inputs: Inputs, columns: Iterable[str] | None = None) -> pd.DataFrame:
        """The source's records; of their variables, `columns` (those the dataset has) and
        no other when given and the source has no steps of its own (which may read any)."""
        if columns is not None and not self.derive:
            return inputs.subset(self.dataset, self.at, columns, self.where_)
        frame = inputs.dataset(self.dataset, self.at)
        frame = frame[base.mask(self.where_, frame)]
        return base.run_steps(self.derive, frame, inputs)

    @property
    def per_subject(self) -> bool:
        """Whether its own steps are each :attr:`Verb.per_subject`."""
        return all(step.per_subject for step in self.derive)

    def words(self) -> str:
        kept = [base.words(s.where_) for s in self.derive if isinstance(s, Filter)]
        return (
            self.dataset
            + (f" where {base.words(self.where_)}" if self.where_ else "")
            + "".join(f", kept where {k}" for k in kept)
        )

    def derived(self) -> dict[str, str]:
        """What the source's own steps derive, in words, per variable."""
        out: dict[str, str] = {}
        for step in self.derive:
            out.update(step.describe())
        return out


def source(raw: Any, where: Where) -> Source:
    if not isinstance(raw, dict) or "dataset" not in raw:
        raise where.fail(f"a source is {{dataset: X, where: ..., derive: [...]}}, not {raw!r}")
    if unknown := sorted(set(raw) - {"dataset", "where", "derive"}):
        raise where.fail(f"unknown key(s) {unknown} of a source")
    dataset = base.name(raw["dataset"], where.at(arg=f"{where.arg}.dataset"))
    cond = (
        base.condition(raw["where"], where.at(arg=f"{where.arg}.where")) if "where" in raw else None
    )
    # A list among the steps is spliced in: shared steps written once (a YAML anchor) and
    # followed by steps of this source's own.
    steps = [
        s for item in raw.get("derive") or [] for s in (item if isinstance(item, list) else [item])
    ]
    derive = tuple(
        base.parse_step(s, where.at(arg=f"{where.arg}.derive[{i}]")) for i, s in enumerate(steps)
    )
    return Source(dataset, cond, derive, where)


@verb("records")
@dataclass(frozen=True)
class Records(Verb):
    """Append the records of `from` (the first step: the dataset's rows)."""

    from_: Annotated[Source, Arg(source)]

    @property
    def per_subject(self) -> bool:
        return self.from_.per_subject

    @property
    def records_from(self) -> tuple[str, ...]:
        return (self.from_.dataset,)

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        added = self.from_.frame(inputs)
        if data.empty and not len(data.columns):
            return added.reset_index(drop=True)
        return pd.concat([data, added], ignore_index=True)

    def describe(self) -> dict[str, str]:
        return {}


@verb("filter")
@dataclass(frozen=True)
class Filter(Verb):
    """Keep the records where the condition holds."""

    where_: Annotated[Condition, Arg(base.condition)]

    per_subject = True  # each record's value from the record alone

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        return data[base.mask(self.where_, data)]

    def describe(self) -> dict[str, str]:
        return {}


def order(raw: Any, where: Where) -> tuple[tuple[str, bool], ...]:
    """Sort keys ``[ADT, AVISITN]``, a key ``X desc`` sorting descending."""
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        parts = base.text(item, where).split()
        if len(parts) > 2 or (len(parts) == 2 and parts[1] != "desc"):
            raise where.fail(f"an order key is VAR or 'VAR desc', not {item!r}")
        out.append((base.name(parts[0], where), len(parts) == 1))
    return tuple(out)


def order_words(keys: tuple[tuple[str, bool], ...]) -> str:
    return ", ".join(n if up else f"{n} (descending)" for n, up in keys)


def sort(
    frame: pd.DataFrame,
    by: tuple[str, ...],
    keys: tuple[tuple[str, bool], ...],
    step: Verb,
    arg: str = "order",
) -> pd.DataFrame:
    """The frame sorted by `by` then the order keys (missing values last, stably)."""
    step.need(frame, [*by, *(n for n, _ in keys)], arg)
    names = [*by, *(n for n, _ in keys)]
    ascending = [True] * len(by) + [up for _, up in keys]
    return frame.sort_values(names, ascending=ascending, kind="stable", na_position="last")


@verb("seq")
@dataclass(frozen=True)
class Seq(Verb):
    """Number the records 1, 2, ... within `by` in `order` (admiral derive_var_obs_number)."""

    var: Annotated[str, Arg(base.name)]
    order: Annotated[tuple[tuple[str, bool], ...], Arg(order)]
    by: Annotated[tuple[str, ...], Arg(base.names, ("USUBJID",))]

    @property
    def per_subject(self) -> bool:
        return base.by_subject(self.by)

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        data = sort(data, self.by, self.order, self)
        data[self.var] = data.groupby(list(self.by)).cumcount() + 1.0
        return data.reset_index(drop=True)

    def describe(self) -> dict[str, str]:
        return {self.var: f"1, 2, ... per {', '.join(self.by)} by {order_words(self.order)}"}

"""BDS values over a subject's own records of a parameter: the baseline value on every
record (admiral derive_var_base), the lowest (highest) value so far (a nadir, for change
from nadir), parameters computed from other parameters of the same time point (admiral
derive_param_computed), and variables turned into parameter records (a subject-level
summary as BDS, as admiral derive_param_exposure gives one)."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import pandas as pd

from transforms.adam.verbs import base
from transforms.adam.verbs.base import Arg, Inputs, Verb, Where, verb
from transforms.adam.verbs.records import order, order_words, sort
from transforms.adam.verbs.values import arithmetic, expression, expression_variables
from transforms.conditions import Condition


def _by_words(by: tuple[str, ...]) -> str:
    return ", ".join(by)


@verb("base")
@dataclass(frozen=True)
class Base(Verb):
    """`var`: per `by` group, the `from` value of the group's record where `where` holds
    (the baseline record, ABLFL = Y, by default), on every record of the group; more than
    one such record in a group is an error naming the group."""

    var: Annotated[str, Arg(base.name)]
    from_: Annotated[str, Arg(base.name, "AVAL")]
    by: Annotated[tuple[str, ...], Arg(base.names, ("USUBJID", "PARAMCD"))]
    where_: Annotated[Condition | None, Arg(base.condition, None)]

    def _chosen(self, data: pd.DataFrame) -> pd.Series:
        if self.where_ is None:
            self.need(data, ["ABLFL"], "where")
            return data["ABLFL"].astype("string").eq("Y").fillna(False).astype(bool)
        return base.mask(self.where_, data)

    @property
    def per_subject(self) -> bool:
        return base.by_subject(self.by)

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        self.need(data, [*self.by, self.from_], "from")
        chosen = data.loc[self._chosen(data), [*self.by, self.from_]]
        dup = chosen.duplicated(list(self.by), keep=False)
        if dup.any():
            shown = chosen.loc[dup, list(self.by)].drop_duplicates().head(3).to_dict("records")
            raise self.where.at(arg="where").fail(
                f"more than one record per {list(self.by)} holds the condition, e.g. {shown}"
            )
        table = chosen.rename(columns={self.from_: "__base"})
        joined = data[list(self.by)].merge(table, on=list(self.by), how="left")
        data[self.var] = joined["__base"].set_axis(data.index)
        return data

    def describe(self) -> dict[str, str]:
        which = base.words(self.where_) if self.where_ else 'ABLFL = "Y"'
        return {self.var: f"{self.from_} of the record per {_by_words(self.by)} where {which}"}


@verb("nadir")
@dataclass(frozen=True)
class Nadir(Verb):
    """`var`: on each record where `where` holds, the lowest (`mode: max`: highest) `value`
    among the records of its `by` group that come before it in `order` and where `among`
    holds (null when there are none). Records tied in `order` do not see each other."""

    var: Annotated[str, Arg(base.name)]
    value: Annotated[str, Arg(base.name, "AVAL")]
    by: Annotated[tuple[str, ...], Arg(base.names, ("USUBJID", "PARAMCD"))]
    order: Annotated[tuple[tuple[str, bool], ...], Arg(order)]
    among: Annotated[Condition | None, Arg(base.condition, None)]
    where_: Annotated[Condition | None, Arg(base.condition, None)]
    mode: Annotated[str, Arg(base.choice("min", "max"), "min")]

    @property
    def per_subject(self) -> bool:
        return base.by_subject(self.by)

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        self.need(data, [self.value], "value")
        ordered = sort(data, self.by, self.order, self)
        keys = [*self.by, *(n for n, _ in self.order)]
        counted = pd.to_numeric(ordered[self.value], errors="coerce").astype("float64")
        counted = counted.where(base.mask(self.among, ordered))
        # One row per tie of the order keys: its extreme, then the running extreme of the
        # ties before it (shifted by one within the group).
        ties = ordered[keys].assign(__v=counted)
        tied = ties.groupby(keys, dropna=False, sort=False)["__v"]
        per_tie = (tied.min() if self.mode == "min" else tied.max()).reset_index()
        groups = [per_tie[b] for b in self.by]
        group = per_tie.groupby(groups, dropna=False, sort=False)["__v"]
        running = group.cummin() if self.mode == "min" else group.cummax()
        # cummin leaves a tie without a value null: it carries the extreme before it.
        running = running.groupby(groups, dropna=False, sort=False).ffill()
        per_tie["__before"] = running.groupby(groups, dropna=False, sort=False).shift(1)
        before = ties[keys].merge(per_tie[[*keys, "__before"]], on=keys, how="left")
        result = pd.Series(before["__before"].to_numpy(), index=ordered.index)
        result = result.where(base.mask(self.where_, ordered))
        data[self.var] = result.reindex(data.index)
        return data

    def describe(self) -> dict[str, str]:
        low = "Lowest" if self.mode == "min" else "Highest"
        among = f" where {base.words(self.among)}" if self.among else ""
        where = f"; on the records where {base.words(self.where_)}" if self.where_ else ""
        return {
            self.var: f"{low} {self.value} of the earlier records (by {order_words(self.order)})"
            f" of the same {_by_words(self.by)}{among}{where}"
        }


def _codes(raw: Any, where: Where) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    return tuple(base.name(v, where) for v in items)


@verb("param_computed")
@dataclass(frozen=True)
class ParamComputed(Verb):
    """New records of parameter `paramcd` (`param`): per `by` group (a subject's time
    point) holding a record of every one of `parameters`, AVAL = `expr` over those
    parameters' AVAL (named by their PARAMCD) and the `by` variables; a group whose
    result is null gets no record (admiral derive_param_computed). `keep`: variables
    copied from the group's first parameter's record."""

    paramcd: Annotated[str, Arg(base.name)]
    param: Annotated[str, Arg(base.text)]
    parameters: Annotated[tuple[str, ...], Arg(_codes)]
    expr: Annotated[ast.expr, Arg(expression)]
    by: Annotated[tuple[str, ...], Arg(base.names)]
    keep: Annotated[tuple[str, ...], Arg(base.names, ())]

    def check(self) -> None:
        unknown = set(expression_variables(self.expr)) - set(self.parameters) - set(self.by)
        if unknown:
            raise self.where.at(arg="expr").fail(
                f"{sorted(unknown)} are neither parameters nor by variables"
            )

    @property
    def per_subject(self) -> bool:
        return base.by_subject(self.by)

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        self.need(data, ["PARAMCD", "AVAL", *self.by, *self.keep], "by")
        rows = data[data["PARAMCD"].isin(self.parameters)]
        dup = rows.duplicated([*self.by, "PARAMCD"], keep=False)
        if dup.any():
            shown = rows.loc[dup, [*self.by, "PARAMCD"]].head(3).to_dict("records")
            raise self.where.at(arg="by").fail(
                f"more than one record of a parameter per {list(self.by)}, e.g. {shown}"
            )
        by = list(self.by)
        # One row per `by` that has records (pivot_table(dropna=False) would build the
        # cartesian product of the `by` values: subjects x dates x visits, GiBs at 500
        # subjects); rows with a missing key are left out, as the product left them out.
        wide = rows.groupby([*by, "PARAMCD"])["AVAL"].first().unstack("PARAMCD")
        wide = wide.reindex(columns=list(self.parameters)).reset_index()
        wide = wide[wide[list(self.parameters)].notna().all(axis=1)]
        value = arithmetic(self.expr, wide)
        first = rows[rows["PARAMCD"] == self.parameters[0]][[*by, *self.keep]]
        made = wide[by].assign(AVAL=value.to_numpy())
        made = made[made["AVAL"].notna()].merge(first, on=by, how="left")
        made = made.assign(PARAMCD=self.paramcd, PARAM=self.param)
        return pd.concat([data, made], ignore_index=True)

    def describe(self) -> dict[str, str]:
        return {
            "AVAL": f"{self.paramcd}: {ast.unparse(self.expr)} per {_by_words(self.by)} "
            f"with a record of each of {', '.join(self.parameters)}"
        }


def _parameters(raw: Any, where: Where) -> tuple[tuple[str, str, str], ...]:
    if not isinstance(raw, list) or not raw:
        raise where.fail("expected a non-empty list of {paramcd, param, from}")
    out = []
    for i, item in enumerate(raw):
        here = where.at(arg=f"{where.arg}[{i}]")
        if not isinstance(item, dict) or set(item) != {"paramcd", "param", "from"}:
            raise here.fail(f"a parameter is {{paramcd: X, param: text, from: VAR}}, not {item!r}")
        out.append(
            (base.name(item["paramcd"], here), base.text(item["param"], here),
             base.name(item["from"], here))
        )  # fmt: skip
    return tuple(out)


@verb("parameters")
@dataclass(frozen=True)
class Parameters(Verb):
    """Each record becomes one record per parameter of `parameters`: PARAMCD, PARAM and
    AVAL the value of its `from` variable (a null value gives no record); `keep` the
    variables the records keep (the others and the `from` variables are dropped)."""

    parameters: Annotated[tuple[tuple[str, str, str], ...], Arg(_parameters)]
    keep: Annotated[tuple[str, ...], Arg(base.names)]

    per_subject = True  # each record's value from the record alone

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        self.need(data, [*self.keep, *(f for _, _, f in self.parameters)], "parameters")
        parts = []
        for code, label, source in self.parameters:
            value = pd.to_numeric(data[source], errors="coerce").astype("float64")
            part = data[list(self.keep)].assign(PARAMCD=code, PARAM=label, AVAL=value)
            parts.append(part[value.notna()])
        return pd.concat(parts, ignore_index=True)

    def describe(self) -> dict[str, str]:
        return self.describe_after({})

    def describe_after(self, earlier: Mapping[str, str]) -> dict[str, str]:
        def how(source: str) -> str:
            return f"{source} ({earlier[source]})" if source in earlier else source

        return {
            "AVAL": "; ".join(f"{code}: {how(source)}" for code, _, source in self.parameters),
            "PARAMCD": ", ".join(code for code, _, _ in self.parameters),
        }

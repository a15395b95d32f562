"""Conditions over the rows of a form (the one condition language of
:mod:`transforms.conditions`, its subjects rules), and the rule that picks a value by the
first that holds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import pandas as pd

from transforms import conditions
from transforms.conditions import Condition
from transforms.sdtm.algorithms.base import (
    Arg,
    Context,
    Parsing,
    Rule,
    Scope,
    algorithm,
    parse_rule,
)


def parse_condition(raw: Any, scope: Scope, label: str) -> Condition:
    """A condition of the specs (:mod:`transforms.conditions`) whose subjects are rules over
    the rows of `scope`'s form; errors name the entry and `label` (``where``, ``when``)."""

    def rule(subject: Mapping[str, Any], where: str) -> Rule:
        return parse_rule(subject, scope)

    return conditions.parse(raw, f"{scope.where}: {label}", rule)


def holds(condition: Condition, ctx: Context) -> pd.Series:
    """Whether `condition` holds on each row of the context."""
    return conditions.mask(condition, ctx.frame.index, lambda rule: rule.evaluate(ctx))


def _cases(value: Any, p: Parsing) -> tuple[tuple[Condition, Rule], ...]:
    cases: list[tuple[Condition, Rule]] = []
    for case in value:
        if set(case) != {"when", "then"}:
            raise p.fail(f"each case has exactly 'when' and 'then': {case}")
        when = parse_condition(case["when"], p.scope, f"cases[{len(cases)}].when")
        cases.append((when, parse_rule(case["then"], p.scope)))
    return tuple(cases)


@algorithm("condition")
@dataclass(frozen=True)
class Case:
    """The first case whose ``when`` holds gives the value; otherwise ``else`` (or null)."""

    cases: Annotated[tuple[tuple[Condition, Rule], ...], Arg(_cases)]
    otherwise: Annotated[Rule | None, Arg(key="else", default=None)]

    def evaluate(self, ctx: Context) -> pd.Series:
        """Each branch runs only on its own rows, so it lists problems of those rows only."""
        parts = []
        left = pd.Series(True, index=ctx.frame.index)
        for when, then in self.cases:
            hit = holds(when, ctx) & left
            parts.append(then.evaluate(ctx.subset(hit)))
            left &= ~hit
        if self.otherwise is not None:
            parts.append(self.otherwise.evaluate(ctx.subset(left)))
        values = [p for p in parts if len(p)]
        if not values:
            return pd.Series(pd.NA, index=ctx.frame.index, dtype="string")
        return pd.concat(values).reindex(ctx.frame.index)

"""Conditions over a record, and the rule that picks a value by the first that holds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import pandas as pd

from transforms.sdtm.algorithms.base import (
    Arg,
    Context,
    Parsing,
    Rule,
    Scope,
    algorithm,
    parse_rule,
)

_OPS = ("eq", "ne", "in", "not_in", "is_null", "not_null", "on_or_after", "on_or_before")


def _date_bound(iso: pd.Series, high: bool) -> pd.Series:
    """The latest (or earliest) calendar date a possibly partial ISO date can stand for,
    as comparable text: ``2024-03`` -> ``2024-03-99`` / ``2024-03-00``."""
    day = iso.astype("string").str.slice(0, 10)
    pad = {4: "-99-99", 7: "-99", 10: ""} if high else {4: "-00-00", 7: "-00", 10: ""}
    return day + day.str.len().map(pad).astype("string")


@dataclass(frozen=True)
class Condition:
    """``{<source>, <op>: value}`` with op eq/ne/in/not_in/is_null/not_null (values compared
    trimmed, as text), or on_or_after/on_or_before another source (ISO dates; a partial date
    counts when any day it may stand for qualifies), or ``{all: [...]}``, ``{any: [...]}``,
    ``{not: {...}}``."""

    op: str
    source: Rule | None = None
    operand: Any = None
    parts: tuple[Condition, ...] = ()

    @classmethod
    def parse(cls, raw: Any, scope: Scope) -> Condition:
        if not isinstance(raw, Mapping):
            raise scope.fail(f"condition must be a mapping, not {raw!r}")
        for combinator in ("all", "any"):
            if combinator in raw:
                if len(raw) != 1:
                    raise scope.fail(f"condition: {combinator} stands alone")
                return cls(combinator, parts=tuple(cls.parse(p, scope) for p in raw[combinator]))
        if "not" in raw:
            return cls("not", parts=(cls.parse(raw["not"], scope),))
        ops = [k for k in raw if k in _OPS]
        if len(ops) != 1:
            raise scope.fail(f"condition needs exactly one of {list(_OPS)}: {dict(raw)}")
        op = ops[0]
        source = parse_rule({k: v for k, v in raw.items() if k != op}, scope)
        operand = raw[op]
        if op in ("on_or_after", "on_or_before"):
            operand = parse_rule(operand, scope)
        elif op in ("in", "not_in"):
            operand = frozenset(str(v) for v in operand)
        elif op in ("eq", "ne"):
            operand = str(operand)
        return cls(op, source, operand)

    def test(self, ctx: Context) -> pd.Series:
        if self.op in ("all", "any", "not"):
            results = [p.test(ctx) for p in self.parts]
            if self.op == "not":
                return ~results[0]
            out = results[0]
            for r in results[1:]:
                out = (out & r) if self.op == "all" else (out | r)
            return out
        assert self.source is not None
        values = self.source.evaluate(ctx)
        if self.op in ("on_or_after", "on_or_before"):
            other = self.operand.evaluate(ctx)
            after = self.op == "on_or_after"
            mine = _date_bound(values, high=after)
            theirs = _date_bound(other, high=not after)
            hit = (mine >= theirs) if after else (mine <= theirs)
            return hit.fillna(False).astype(bool)
        text = values.astype("string").str.strip()
        test = {
            "is_null": lambda: values.isna(),
            "not_null": lambda: values.notna(),
            "eq": lambda: text == self.operand,
            "ne": lambda: text != self.operand,
            "in": lambda: text.isin(self.operand),
            "not_in": lambda: ~text.isin(self.operand),
        }[self.op]()
        return pd.Series(test, index=ctx.frame.index).fillna(False).astype(bool)


def _cases(value: Any, p: Parsing) -> tuple[tuple[Condition, Rule], ...]:
    cases = []
    for case in value:
        if set(case) != {"when", "then"}:
            raise p.fail(f"each case has exactly 'when' and 'then': {case}")
        cases.append((Condition.parse(case["when"], p.scope), parse_rule(case["then"], p.scope)))
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
            hit = when.test(ctx) & left
            parts.append(then.evaluate(ctx.subset(hit)))
            left &= ~hit
        if self.otherwise is not None:
            parts.append(self.otherwise.evaluate(ctx.subset(left)))
        values = [p for p in parts if len(p)]
        if not values:
            return pd.Series(pd.NA, index=ctx.frame.index, dtype="string")
        return pd.concat(values).reindex(ctx.frame.index)

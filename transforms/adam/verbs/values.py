"""Values of a variable: by conditions (admiral mutate / derive_vars_cat), a value list's
position, numeric groups and numbers from text."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import pandas as pd

from transforms.adam.verbs import base
from transforms.adam.verbs.base import Arg, Inputs, Verb, Where, verb
from transforms.conditions import Condition, quote

Then = tuple[str, Any]  # ("var", NAME) or ("value", constant)


def then(raw: Any, where: Where) -> Then:
    if isinstance(raw, dict) and set(raw) == {"var"}:
        return ("var", base.name(raw["var"], where))
    return ("value", base.value(raw, where))


def cases(raw: Any, where: Where) -> tuple[tuple[Condition, Then], ...]:
    if not isinstance(raw, list) or not raw:
        raise where.fail("expected a non-empty list of {when: <condition>, then: <value>}")
    out = []
    for i, item in enumerate(raw):
        here = where.at(arg=f"{where.arg}[{i}]")
        if not isinstance(item, dict) or set(item) != {"when", "then"}:
            raise here.fail(f"a case is {{when: <condition>, then: <value>}}, not {item!r}")
        out.append(
            (
                base.condition(item["when"], here.at(arg=f"{here.arg}.when")),
                then(item["then"], here.at(arg=f"{here.arg}.then")),
            )
        )
    return tuple(out)


def _then_words(t: Then) -> str:
    return t[1] if t[0] == "var" else quote(t[1])


@verb("assign")
@dataclass(frozen=True)
class Assign(Verb):
    """`var` from the first of `cases` whose `when` holds (`then`: a constant or
    ``{var: X}``), else `else` (null by default); without cases, `else` for every record."""

    var: Annotated[str, Arg(base.name)]
    cases: Annotated[tuple[tuple[Condition, Then], ...], Arg(cases, ())]
    else_: Annotated[Then, Arg(then, ("value", None))]

    def _values(self, data: pd.DataFrame, t: Then) -> pd.Series:
        if t[0] == "var":
            self.need(data, [t[1]], "cases")
            column: pd.Series = data[str(t[1])]
            return column
        return pd.Series(t[1], index=data.index, dtype="object" if t[1] is None else None)

    per_subject = True  # each record's value from the record alone

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        out = self._values(data, self.else_)
        for cond, t in reversed(self.cases):
            hit = base.mask(cond, data)
            out = out.mask(hit, self._values(data, t))
        data[self.var] = out
        return data

    def describe(self) -> dict[str, str]:
        parts = [f"{_then_words(t)} when {base.words(c)}" for c, t in self.cases]
        if self.else_[1] is not None:
            parts.append(("else " if parts else "") + _then_words(self.else_))
        return {self.var: "; ".join(parts)}


@verb("code")
@dataclass(frozen=True)
class Code(Verb):
    """`var`: the position (1, 2, ...) of `from`'s value in `values`; null when not there."""

    var: Annotated[str, Arg(base.name)]
    from_: Annotated[str, Arg(base.name)]
    values: Annotated[tuple[str, ...], Arg(base.values)]

    per_subject = True  # each record's value from the record alone

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        self.need(data, [self.from_], "from")
        positions = {v: float(n) for n, v in enumerate(self.values, start=1)}
        data[self.var] = data[self.from_].map(positions).astype("float64")
        return data

    def describe(self) -> dict[str, str]:
        listed = ", ".join(f"{n} {v}" for n, v in enumerate(self.values, start=1))
        return {self.var: f"{self.from_}: {listed}"}


def groups(raw: Any, where: Where) -> tuple[tuple[str, float, float], ...]:
    if not isinstance(raw, list) or not raw:
        raise where.fail("expected a non-empty list of {label, min, max}")
    out = []
    for i, item in enumerate(raw):
        here = where.at(arg=f"{where.arg}[{i}]")
        if not isinstance(item, dict) or "label" not in item or set(item) - {"label", "min", "max"}:
            raise here.fail(f"a group is {{label: X, min: n, max: n}}, not {item!r}")
        low, high = item.get("min", float("-inf")), item.get("max", float("inf"))
        out.append((base.text(item["label"], here), float(low), float(high)))
    return tuple(out)


def _bound(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@verb("groups")
@dataclass(frozen=True)
class Groups(Verb):
    """`var`: the label of the first group whose `min` <= `from` <= `max` (either bound may
    be left out); `code`: its position 1, 2, ..."""

    var: Annotated[str, Arg(base.name)]
    from_: Annotated[str, Arg(base.name)]
    groups: Annotated[tuple[tuple[str, float, float], ...], Arg(groups)]
    code: Annotated[str | None, Arg(base.name, None)]

    per_subject = True  # each record's value from the record alone

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        self.need(data, [self.from_], "from")
        label = pd.Series(pd.NA, index=data.index, dtype="object")
        number = pd.Series(float("nan"), index=data.index)
        for n, (text, low, high) in reversed(list(enumerate(self.groups, start=1))):
            hit = data[self.from_].between(low, high).fillna(False)
            label, number = label.mask(hit, text), number.mask(hit, float(n))
        data[self.var] = label
        if self.code:
            data[self.code] = number
        return data

    def _range(self, low: float, high: float) -> str:
        f = self.from_
        if low == float("-inf"):
            return f"{f} <= {_bound(high)}"
        if high == float("inf"):
            return f"{f} >= {_bound(low)}"
        return f"{_bound(low)} <= {f} <= {_bound(high)}"

    def describe(self) -> dict[str, str]:
        out = {self.var: "; ".join(f"{self._range(lo, hi)}: {t}" for t, lo, hi in self.groups)}
        if self.code:
            listed = ", ".join(f"{n} for {t}" for n, (t, _, _) in enumerate(self.groups, 1))
            out[self.code] = listed
        return out


@verb("number")
@dataclass(frozen=True)
class Number(Verb):
    """`var`: `from` as a number (text that is not one gives null), rounded to `digits`
    decimals (halves away from zero, as SAS ROUND) when given."""

    var: Annotated[str, Arg(base.name)]
    from_: Annotated[str, Arg(base.name)]
    digits: Annotated[int | None, Arg(base.integer, None)]

    def check(self) -> None:
        if self.digits is not None and not 0 <= self.digits <= 10:
            raise self.where.at(arg="digits").fail("must be a whole number from 0 to 10")

    per_subject = True  # each record's value from the record alone

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        self.need(data, [self.from_], "from")
        number = pd.to_numeric(data[self.from_], errors="coerce").astype("float64")
        if self.digits is not None:
            scale = 10.0**self.digits
            # The decimal text first (147.35 is 147.3499... as a double), then the half away.
            shown = number.round(self.digits + 6)
            away = np.floor(shown.abs().to_numpy() * scale + 0.5) / scale
            number = pd.Series(np.sign(shown.to_numpy()) * away, index=data.index)
        data[self.var] = number
        return data

    def describe(self) -> dict[str, str]:
        rounded = "" if self.digits is None else f", rounded to {self.digits} decimal(s)"
        return {self.var: f"{self.from_} as a number{rounded}"}


# The arithmetic `compute` states: + - * / ** on numeric variables and numbers, brackets.
_OPERATORS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow,
}  # fmt: skip


def expression(raw: Any, where: Where) -> ast.expr:
    """An arithmetic expression over variables (upper-case names) and numbers."""
    text = base.text(raw, where)
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise where.fail(f"not an arithmetic expression: {text!r} ({exc.msg})") from exc
    for node in ast.walk(tree):
        ok = isinstance(node, ast.BinOp | ast.UnaryOp | ast.Name | ast.Load) or (
            isinstance(node, ast.Constant) and type(node.value) in (int, float)
        )
        ok = ok or type(node) in _OPERATORS or isinstance(node, ast.USub)
        if not ok:
            raise where.fail(f"{text!r}: only variables, numbers, + - * / ** and brackets")
        if isinstance(node, ast.Name):
            base.name(node.id, where)
    return tree


def expression_variables(tree: ast.expr) -> list[str]:
    """The variables an expression reads, in order of appearance."""
    return list(dict.fromkeys(n.id for n in ast.walk(tree) if isinstance(n, ast.Name)))


def _evaluate(node: ast.expr, data: pd.DataFrame) -> Any:
    if isinstance(node, ast.Name):
        return pd.to_numeric(data[node.id], errors="coerce").astype("float64")
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)  # expression() admits no other constant
        return float(node.value)
    if isinstance(node, ast.UnaryOp):
        return -_evaluate(node.operand, data)
    assert isinstance(node, ast.BinOp)
    return _OPERATORS[type(node.op)](_evaluate(node.left, data), _evaluate(node.right, data))


def arithmetic(tree: ast.expr, data: pd.DataFrame) -> pd.Series:
    """An expression (read by :func:`expression`) over the frame's records: a float per
    record, null where a variable it reads is null or a division is by zero."""
    value = pd.Series(_evaluate(tree, data), index=data.index, dtype="float64")
    return value.mask(~np.isfinite(value))


@verb("compute")
@dataclass(frozen=True)
class Compute(Verb):
    """`var`: the arithmetic `expr` of numeric variables and numbers (null where any
    variable is null, or a division is by zero)."""

    var: Annotated[str, Arg(base.name)]
    expr: Annotated[ast.expr, Arg(expression)]

    per_subject = True  # each record's value from the record alone

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        self.need(data, expression_variables(self.expr), "expr")
        data[self.var] = arithmetic(self.expr, data)
        return data

    def describe(self) -> dict[str, str]:
        return {self.var: ast.unparse(self.expr)}

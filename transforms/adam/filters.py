"""A small declarative condition language for ADaM record filters (no strings are evaluated).

A condition is a mapping, read from YAML:

- ``{var: X, eq: v}`` / ``{var: X, ne: v}``: X equals / differs from ``v``;
- ``{var: X, in: [v, ...]}`` / ``{var: X, not_in: [v, ...]}``;
- ``{var: X, not_null: true}`` / ``{var: X, is_null: true}``;
- ``{all: [c, ...]}``, ``{any: [c, ...]}``, ``{not: c}``.

Text variables are compared trimmed, with the value as text (``eq: 1`` matches ``"1"``);
numeric variables only with numbers. A missing value satisfies ``is_null`` and nothing else
(not ``ne``, not ``not_in``). A YAML boolean as a value (``eq: yes``) is refused: quote it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from transforms.sdtm.algorithms import SpecError

_VALUE_OPS = ("eq", "ne", "in", "not_in")
_NULL_OPS = ("is_null", "not_null")
_COMBINATORS = ("all", "any", "not")


class ConditionError(SpecError):
    """A condition that cannot be used; the message says where it stands in the spec."""


@dataclass(frozen=True)
class Condition:
    """A parsed condition: ``mask`` gives, per row of a frame, whether it holds."""

    op: str
    var: str | None = None
    values: tuple[str | int | float, ...] = ()
    parts: tuple[Condition, ...] = ()
    where: str = "condition"

    def variables(self) -> set[str]:
        """Every variable the condition reads."""
        found = {self.var} if self.var else set()
        for part in self.parts:
            found |= part.variables()
        return found

    def mask(self, frame: pd.DataFrame) -> pd.Series:
        """Boolean Series over ``frame.index``; a missing variable raises ConditionError."""
        if self.op in _COMBINATORS:
            results = [part.mask(frame) for part in self.parts]
            if self.op == "not":
                return ~results[0]
            out = results[0]
            for result in results[1:]:
                out = (out & result) if self.op == "all" else (out | result)
            return out
        assert self.var is not None
        if self.var not in frame.columns:
            raise ConditionError(f"{self.where}: unknown variable {self.var!r}")
        column = frame[self.var]
        if self.op == "is_null":
            return column.isna()
        if self.op == "not_null":
            return column.notna()
        if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(
            column.dtype
        ):
            texts = [v for v in self.values if isinstance(v, str)]
            if texts:
                raise ConditionError(
                    f"{self.where}: {self.var} is numeric; compare it with numbers, not {texts}"
                )
            hit = column.isin(list(self.values))
        else:
            text = column.astype("string").str.strip()
            hit = text.isin([str(v) for v in self.values]).fillna(False).astype(bool)
        if self.op in ("ne", "not_in"):
            hit = ~hit
        return (hit & column.notna()).astype(bool)


def _value(raw: Any, where: str) -> str | int | float:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise ConditionError(
            f"{where}: value {raw!r} must be text or a number (quote YAML words like yes/no)"
        )
    return raw


def parse_condition(raw: Any, where: str = "condition") -> Condition:
    """Check and parse one condition; ``where`` prefixes every error message."""
    if not isinstance(raw, Mapping) or not raw:
        raise ConditionError(f"{where}: a condition is a non-empty mapping, not {raw!r}")
    keys = set(raw)
    for combinator in _COMBINATORS:
        if combinator in keys:
            if keys != {combinator}:
                raise ConditionError(f"{where}: {combinator!r} stands alone, got {sorted(keys)}")
            inner = raw[combinator]
            if combinator == "not":
                return Condition(
                    "not", parts=(parse_condition(inner, f"{where}.not"),), where=where
                )
            if not isinstance(inner, list) or not inner:
                raise ConditionError(f"{where}: {combinator!r} takes a non-empty list")
            parts = tuple(
                parse_condition(p, f"{where}.{combinator}[{i}]") for i, p in enumerate(inner)
            )
            return Condition(combinator, parts=parts, where=where)
    ops = [k for k in raw if k in _VALUE_OPS + _NULL_OPS]
    unknown = keys - {"var", *_VALUE_OPS, *_NULL_OPS}
    if unknown or len(ops) != 1 or "var" not in keys:
        raise ConditionError(
            f"{where}: expected {{var: <name>, <op>: <value>}} with one op of "
            f"{list(_VALUE_OPS + _NULL_OPS)} or one of {list(_COMBINATORS)}, got {dict(raw)}"
        )
    var, op = raw["var"], ops[0]
    if not isinstance(var, str) or not var:
        raise ConditionError(f"{where}: 'var' must name a variable, not {var!r}")
    operand = raw[op]
    if op in _NULL_OPS:
        if operand is not True:
            raise ConditionError(f"{where}: write {op}: true")
        return Condition(op, var, where=where)
    if op in ("in", "not_in"):
        if not isinstance(operand, list) or not operand:
            raise ConditionError(f"{where}: {op} takes a non-empty list of values")
        values = tuple(_value(v, where) for v in operand)
    else:
        values = (_value(operand, where),)
    return Condition(op, var, values, where=where)

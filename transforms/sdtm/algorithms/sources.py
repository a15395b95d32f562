"""Where values come from as they are: a raw column, a variable derived before, a constant.

These are the shorthands of the specs (``{column: X}``, ``{var: X}``, ``{value: X}``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import pandas as pd

from transforms.sdtm.algorithms.base import (
    COLUMN,
    Arg,
    Context,
    Parsing,
    algorithm,
    flag,
    shorthand,
    trimmed,
)


def _form_column(value: Any, p: Parsing) -> str:
    name = str(value)
    if name not in p.scope.form_columns:
        raise p.scope.fail(f"unknown raw column {name!r} in form {p.scope.form}")
    return name


def _known_var(value: Any, p: Parsing) -> str:
    name = str(value)
    if name not in p.scope.known_vars:
        raise p.scope.fail(f"variable {name!r} is not derived before this one")
    return name


def _constant(value: Any, p: Parsing) -> str | float | None:
    if value is not None and not isinstance(value, str | int | float):
        raise p.scope.fail(f"hardcode value must be text or a number, not {value!r}")
    return value


def _sponsor(raw: Any, p: Parsing) -> bool:
    """Whether the constant (read before) is a sponsor term; a text outside the target's
    codelist must be one, and the codelist extensible."""
    sponsor = bool(flag(raw, p))
    value, codelist = p.so_far.get("value"), p.scope.codelist
    if isinstance(value, str) and codelist is not None and codelist.lookup(value) is None:
        if not sponsor:
            raise p.scope.fail(f"value {value!r} is not in codelist {codelist.code}")
        if not codelist.extensible:
            raise p.scope.fail(
                f"value {value!r}: codelist {codelist.code} is not extensible (no sponsor term)"
            )
    return sponsor


@shorthand("column")
@dataclass(frozen=True)
class Column:
    """A raw column of the current form, trimmed; optionally upper-cased."""

    name: Annotated[str, Arg(_form_column, key="column", names=COLUMN)]
    upper: Annotated[bool, Arg(flag, default=False)]

    def evaluate(self, ctx: Context) -> pd.Series:
        out = trimmed(ctx.frame[self.name])
        return out.str.upper() if self.upper else out


@shorthand("var")
@dataclass(frozen=True)
class Var:
    """A variable derived earlier in the same dataset."""

    name: Annotated[str, Arg(_known_var, key="var")]

    def evaluate(self, ctx: Context) -> pd.Series:
        return ctx.vars[self.name]


@algorithm("hardcode", shorthand="value")
@dataclass(frozen=True)
class Hardcode:
    """A constant (``value: null`` gives an empty Expected variable); ``sponsor: true``
    lets a text outside the variable's codelist through when that codelist is extensible
    (a sponsor-defined term, declared as such)."""

    value: Annotated[str | float | None, Arg(_constant)]
    sponsor: Annotated[bool, Arg(_sponsor, default=False)] = False

    def evaluate(self, ctx: Context) -> pd.Series:
        if isinstance(self.value, str):
            return pd.Series(self.value, index=ctx.frame.index, dtype="string")
        return pd.Series(self.value, index=ctx.frame.index, dtype="float64")

"""One condition language for every spec: SDTM rules and record blocks, ADaM filters and the
quality gates' ``where`` (documented once, in sdtm_specs/README.md, section Conditions).

A condition is a mapping read from YAML (nothing is evaluated as a string):

- ``{<subject>, eq: v}``, ``ne: v``, ``in: [v, ...]``, ``not_in: [v, ...]``: the subject's
  value equals / differs from / is among / is not among the values;
- ``{<subject>, is_null: true}``, ``{<subject>, not_null: true}``;
- ``{<subject>, on_or_after: <subject>}``, ``on_or_before``: ISO dates, a partial date
  qualifying when any day it may stand for does;
- ``{<subject>, gt: n}``, ``ge``, ``lt``, ``le``: the subject's value as a number is
  greater than / at least / less than / at most the number ``n`` (text that is not a
  number, and a missing value, satisfy none);
- ``{all: [c, ...]}``, ``{any: [c, ...]}``, ``{not: c}``.

The subject is the rest of the mapping, resolved by the user of the language: a rule in the
SDTM specs (``{column: X}``, ``{var: X}``, ``{dm: X}``, any algorithm), an ADaM variable
(``{var: X}``), a raw column in the quality suites (``{column: X}``). Text is compared
trimmed, values as text (``eq: 1`` matches ``"1"``); a numeric subject only with numbers. A
missing value satisfies ``is_null`` and nothing else (not ``ne``, not ``not_in``). A YAML
boolean as a value (``eq: yes``) is refused: quote it.

One parser (:func:`parse`) gives one tree (:class:`Condition`); it is evaluated by
:func:`mask` (a boolean Series; :func:`frame_mask` over a frame's columns), described in
words by :func:`describe` (Define-XML methods) and turned into a Great Expectations row
condition by :func:`gx_row_condition` (and its JSON by :func:`gx_row_condition_json`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import reduce
from typing import TYPE_CHECKING, Any

from transforms.errors import SpecError

if TYPE_CHECKING:  # pandas only where a condition is evaluated: parsing stays cheap
    import pandas as pd

VALUE_OPS = ("eq", "ne", "in", "not_in")
NULL_OPS = ("is_null", "not_null")
DATE_OPS = ("on_or_after", "on_or_before")
NUMBER_OPS = ("gt", "ge", "lt", "le")
OPS = VALUE_OPS + NULL_OPS + DATE_OPS + NUMBER_OPS
COMBINATORS = ("all", "any", "not")
EVERYTHING = OPS + COMBINATORS

Value = str | int | float


class ConditionError(SpecError):
    """A condition that cannot be used; the message says where it stands in the spec."""


@dataclass(frozen=True)
class Condition:
    """A parsed condition: a combinator (``all``/``any``/``not`` of `parts`) or a test of
    `subject` (``op`` with `values`, or with the `other` subject for the date ops)."""

    op: str
    subject: Any = None  # what the user's resolver made of the subject mapping
    values: tuple[Value, ...] = ()  # eq/ne: one value; in/not_in: several
    other: Any = None  # on_or_after/on_or_before: the subject compared with
    parts: tuple[Condition, ...] = ()
    where: str = "condition"  # the spec entry, for messages


Resolver = Callable[[Mapping[str, Any], str], Any]


def parse(raw: Any, where: str, subject: Resolver, ops: tuple[str, ...] = EVERYTHING) -> Condition:
    """Check and parse one condition. `subject` resolves a subject mapping (the condition
    without its op) or raises a SpecError naming `where`; `ops` are the operators and
    combinators this user allows. Every error message starts with `where`."""
    if not isinstance(raw, Mapping) or not raw:
        raise ConditionError(f"{where}: a condition is a non-empty mapping, not {raw!r}")
    keys = set(raw)
    for combinator in COMBINATORS:
        if combinator in keys:
            if combinator not in ops:
                raise ConditionError(f"{where}: {combinator!r} is not available here")
            if keys != {combinator}:
                raise ConditionError(f"{where}: {combinator!r} stands alone, got {sorted(keys)}")
            inner = raw[combinator]
            if combinator == "not":
                return Condition("not", parts=(parse(inner, f"{where}.not", subject, ops),),
                                 where=where)  # fmt: skip
            if not isinstance(inner, list) or not inner:
                raise ConditionError(f"{where}: {combinator!r} takes a non-empty list")
            parts = tuple(
                parse(p, f"{where}.{combinator}[{i}]", subject, ops) for i, p in enumerate(inner)
            )
            return Condition(combinator, parts=parts, where=where)
    found = [k for k in raw if k in OPS]
    allowed = [op for op in OPS if op in ops]
    if len(found) != 1 or found[0] not in ops:
        combinators = [c for c in COMBINATORS if c in ops]
        raise ConditionError(
            f"{where}: a condition needs exactly one of {allowed} (or one of {combinators}): "
            f"{dict(raw)}"
        )
    op = found[0]
    resolved = subject({k: v for k, v in raw.items() if k != op}, where)
    operand = raw[op]
    if op in NULL_OPS:
        if operand is not True:
            raise ConditionError(f"{where}: write {op}: true")
        return Condition(op, resolved, where=where)
    if op in DATE_OPS:
        if not isinstance(operand, Mapping):
            raise ConditionError(f"{where}: {op} takes a date to compare with, not {operand!r}")
        return Condition(op, resolved, other=subject(operand, where), where=where)
    if op in NUMBER_OPS:
        if isinstance(operand, bool) or not isinstance(operand, int | float):
            raise ConditionError(f"{where}: {op} takes a number, not {operand!r}")
        return Condition(op, resolved, (operand,), where=where)
    if op in ("in", "not_in"):
        if not isinstance(operand, list) or not operand:
            raise ConditionError(f"{where}: {op} takes a non-empty list of values")
        values = tuple(_value(v, where) for v in operand)
    else:
        values = (_value(operand, where),)
    return Condition(op, resolved, values, where=where)


def _value(raw: Any, where: str) -> Value:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise ConditionError(
            f"{where}: value {raw!r} must be text or a number (quote YAML words like yes/no)"
        )
    return raw


def named(key: str) -> Resolver:
    """A resolver of subjects written ``{<key>: NAME}`` (``{var: AVAL}``): NAME."""

    def resolve(raw: Mapping[str, Any], where: str) -> str:
        name = raw.get(key)
        if set(raw) != {key} or not isinstance(name, str) or not name:
            raise ConditionError(
                f"{where}: a condition here reads {{{key}: <name>, <op>: ...}}, not {dict(raw)}"
            )
        return name

    return resolve


# --- walking the tree ------------------------------------------------------------------------


def leaves(cond: Condition) -> Iterator[Condition]:
    """Every test of the condition (no combinator), in order."""
    if cond.op in COMBINATORS:
        for part in cond.parts:
            yield from leaves(part)
    else:
        yield cond


def subjects(cond: Condition) -> set[Any]:
    """Every subject the condition reads (those compared with included)."""
    found = set()
    for leaf in leaves(cond):
        found |= {leaf.subject} | ({leaf.other} if leaf.other is not None else set())
    return found


def rewrite(cond: Condition, leaf: Callable[[Condition], Condition]) -> Condition:
    """The same condition with each test replaced by ``leaf(test)``."""
    if cond.op in COMBINATORS:
        return replace(cond, parts=tuple(rewrite(p, leaf) for p in cond.parts))
    return leaf(cond)


# --- backend: a boolean mask ----------------------------------------------------------------


def mask(cond: Condition, index: pd.Index, values: Callable[[Any], pd.Series]) -> pd.Series:
    """Whether the condition holds, per row of `index`; ``values(subject)`` gives a
    subject's values over those rows."""
    import pandas as pd

    if cond.op in COMBINATORS:
        results = [mask(part, index, values) for part in cond.parts]
        if cond.op == "not":
            return ~results[0]
        return reduce(operator.and_ if cond.op == "all" else operator.or_, results)
    column = values(cond.subject)
    if cond.op in NULL_OPS:
        hit = column.isna() if cond.op == "is_null" else column.notna()
        return pd.Series(hit.to_numpy(dtype=bool), index=index)
    if cond.op in DATE_OPS:
        after = cond.op == "on_or_after"
        mine = _date_bound(column, high=after)
        theirs = _date_bound(values(cond.other), high=not after)
        hit = (mine >= theirs) if after else (mine <= theirs)
        return pd.Series(hit.fillna(False).to_numpy(dtype=bool), index=index)
    if cond.op in NUMBER_OPS:
        number = pd.to_numeric(column, errors="coerce").astype("float64")
        compare = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}
        hit = compare[cond.op](number, float(cond.values[0]))
        return pd.Series(hit.fillna(False).to_numpy(dtype=bool), index=index)
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        if texts := [v for v in cond.values if isinstance(v, str)]:
            raise ConditionError(
                f"{cond.where}: {cond.subject} is numeric; compare it with numbers, not {texts}"
            )
        hit = column.isin(list(cond.values))
    else:
        text = column.astype("string").str.strip()
        hit = text.isin([str(v) for v in cond.values]).fillna(False).astype(bool)
    if cond.op in ("ne", "not_in"):
        hit = ~hit
    return pd.Series((hit & column.notna()).to_numpy(dtype=bool), index=index)


def _date_bound(iso: pd.Series, high: bool) -> pd.Series:
    """The latest (or earliest) calendar date a possibly partial ISO date can stand for,
    as comparable text: ``2024-03`` -> ``2024-03-99`` / ``2024-03-00``."""
    day = iso.astype("string").str.slice(0, 10)
    pad = {4: "-99-99", 7: "-99", 10: ""} if high else {4: "-00-00", 7: "-00", 10: ""}
    return day + day.str.len().map(pad).astype("string")


def frame_mask(cond: Condition, frame: pd.DataFrame) -> pd.Series:
    """:func:`mask` of a condition whose subjects are columns of `frame` (ADaM variables,
    raw columns); a column the frame lacks is a ConditionError naming the entry."""
    for leaf in leaves(cond):
        for name in (leaf.subject, leaf.other):
            if name is not None and name not in frame.columns:
                raise ConditionError(f"{leaf.where}: unknown variable {name!r}")
    return mask(cond, frame.index, frame.__getitem__)


# --- backend: words ----------------------------------------------------------------------------


def quote(value: object) -> str:
    """A value as the descriptions write it: ``"5"``, ``"text"``, ``null``."""
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f'"{value}"'


def describe(
    cond: Condition, name: Callable[[Any], str], value: Callable[[object], str] = quote
) -> str:
    """The condition in words (Define-XML methods, listings); ``name(subject)`` names a
    subject, ``value(v)`` writes a value (quoted by default)."""
    if cond.op in ("all", "any"):
        joiner = " and " if cond.op == "all" else " or "
        return "(" + joiner.join(describe(p, name, value) for p in cond.parts) + ")"
    if cond.op == "not":
        return f"not {describe(cond.parts[0], name, value)}"
    subject = name(cond.subject)
    match cond.op:
        case "is_null":
            return f"{subject} is missing"
        case "not_null":
            return f"{subject} is present"
        case "eq":
            return f"{subject} = {value(cond.values[0])}"
        case "ne":
            return f"{subject} <> {value(cond.values[0])}"
        case "in" | "not_in":
            values = ", ".join(value(v) for v in sorted(set(cond.values), key=str))
            return f"{subject} {'in' if cond.op == 'in' else 'not in'} ({values})"
        case "gt" | "ge" | "lt" | "le":
            sign = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}[cond.op]
            return f"{subject} {sign} {cond.values[0]}"
    return f"{subject} {cond.op.replace('_', ' ')} {name(cond.other)}"


# --- backend: Great Expectations row conditions ----------------------------------------------

GX_OPS = ("all", "any", *VALUE_OPS, *NULL_OPS)  # what a GX row condition can state


def _gx_fold(
    cond: Condition,
    test: Callable[[str, str, Any], Any],
    both: Callable[[Any, Any], Any],
    either: Callable[[Any, Any], Any],
) -> Any:
    """The condition built from `test(column, op, parameter)` by `both` (and) and `either`
    (or), as GX chains ``&`` and ``|``. A value test also requires a value (``ne``: a
    missing value satisfies is_null only, as in :func:`mask`)."""
    if cond.op in ("all", "any"):
        parts = [_gx_fold(p, test, both, either) for p in cond.parts]
        return reduce(both if cond.op == "all" else either, parts)
    if cond.op not in GX_OPS:
        raise ValueError(f"{cond.where}: {cond.op} has no GX row condition")
    column = str(cond.subject)
    if cond.op in NULL_OPS:
        return test(column, cond.op, None)
    parameter = cond.values[0] if cond.op in ("eq", "ne") else list(cond.values)
    out = test(column, cond.op, parameter)
    return both(out, test(column, "not_null", None)) if cond.op in ("ne", "not_in") else out


def gx_row_condition(cond: Condition) -> Any:
    """The GX row condition object of a condition over columns of the validated frame."""
    from great_expectations.expectations.row_conditions import Column

    def test(column: str, op: str, parameter: Any) -> Any:
        c = Column(column)
        return {
            "eq": lambda: c == parameter,
            "ne": lambda: c != parameter,
            "in": lambda: c.is_in(parameter),
            "not_in": lambda: c.is_not_in(parameter),
            "is_null": c.is_null,
            "not_null": c.is_not_null,
        }[op]()

    return _gx_fold(cond, test, operator.and_, operator.or_)


_GX_OPERATORS = {"eq": "==", "ne": "!=", "in": "IN", "not_in": "NOT_IN"}


def gx_row_condition_json(cond: Condition) -> dict[str, Any]:
    """The row condition as GX serialises it in a suite."""

    def test(column: str, op: str, parameter: Any) -> dict[str, Any]:
        if op in NULL_OPS:
            return {"column": {"name": column}, "is_null": op == "is_null", "type": "nullity"}
        return {"column": {"name": column}, "operator": _GX_OPERATORS[op],
                "parameter": parameter, "type": "comparison"}  # fmt: skip

    def join(kind: str) -> Callable[[Any, Any], dict[str, Any]]:
        # GX serialises a chain of the same operator flat: (a & b) & c is and[a, b, c].
        def flat(part: dict[str, Any]) -> list[dict[str, Any]]:
            return list(part["conditions"]) if part.get("type") == kind else [part]

        return lambda a, b: {"conditions": [*flat(a), *flat(b)], "type": kind}

    return _gx_fold(cond, test, join("and"), join("or"))

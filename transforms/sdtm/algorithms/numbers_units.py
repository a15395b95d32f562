"""Numbers: raw text to numbers, results in the standard unit of their test, and where a
result stands against its normal range."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import pandas as pd

from transforms.sdtm import dates
from transforms.sdtm.algorithms.base import (
    Arg,
    Context,
    Parsing,
    Rule,
    algorithm,
    choice,
    extract,
)


@algorithm("number")
@dataclass(frozen=True)
class Number:
    """Raw text to a number; text that is not a number is listed."""

    source: Annotated[Rule, Arg()]

    def evaluate(self, ctx: Context) -> pd.Series:
        raw = self.source.evaluate(ctx)
        out = pd.to_numeric(raw, errors="coerce").astype("float64")
        ctx.report(raw.notna() & out.isna(), raw.astype("string"), "NUMBER", "not a number")
        return out


_RESULT = r"^(?P<op>[<>]=?)?\s*(?P<num>[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))$"


def _number_text(values: pd.Series) -> pd.Series:
    """Numbers as short text without float noise (8 significant digits)."""
    return dates.by_unique(
        values, lambda u: u.map("{:.8g}".format, na_action="ignore").astype("string")
    )


def _result(values: pd.Series) -> pd.DataFrame:
    """A result's comparison operator (``op``) and number (``number``; NaN if none)."""
    parts = extract(values, _RESULT)
    return pd.DataFrame({"op": parts["op"], "number": pd.to_numeric(parts["num"], errors="coerce")})


def _looked_up(keys: pd.Series, table: Mapping[str, Any]) -> pd.Series:
    """Each key's value in `table` (NaN where it has none), looked up once per distinct key."""
    return dates.by_unique(keys, lambda k: k.map(table, na_action="ignore"))


@dataclass(frozen=True)
class Units:
    """The ``units`` of a standardise rule: per test code its standard unit, and per (test,
    collected unit) the factor and offset to it; per test the decimals kept, if given."""

    table: Mapping[tuple[str, str], float]  # (test, collected unit) -> factor
    standard: Mapping[str, str | None]  # test -> standard unit
    offsets: Mapping[tuple[str, str], float] = field(default_factory=dict)
    decimals: Mapping[str, int] = field(default_factory=dict)  # test -> decimals kept


def _ratio(value: Any, where: str, p: Parsing) -> float:
    """A number, or a ratio written ``a/b`` (``5/9``), as a float."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    found = re.fullmatch(r"\s*(-?[0-9]+(?:\.[0-9]+)?)\s*/\s*([0-9]+(?:\.[0-9]+)?)\s*", str(value))
    if found is None or float(found.group(2)) == 0:
        raise p.scope.fail(f"{where}: {value!r} is not a number or a ratio such as 5/9")
    return float(found.group(1)) / float(found.group(2))


def _units(value: Any, p: Parsing) -> Units:
    table: dict[tuple[str, str], float] = {}
    offsets: dict[tuple[str, str], float] = {}
    standard: dict[str, str | None] = {}
    decimals: dict[str, int] = {}
    for test, entry in dict(value).items():
        if not isinstance(entry, Mapping) or not {"unit", "from"} <= set(entry) <= {
            "unit", "from", "round"
        }:  # fmt: skip
            raise p.fail(f"units.{test} needs 'unit' and 'from' (and may give 'round')")
        standard[str(test)] = None if entry["unit"] is None else str(entry["unit"])
        if "round" in entry:
            if not isinstance(entry["round"], int) or entry["round"] < 0:
                raise p.fail(f"units.{test}.round must be a whole number")
            decimals[str(test)] = entry["round"]
        for unit, conversion in dict(entry["from"]).items():
            key = (str(test), "" if unit is None else str(unit))
            where = f"{p.name}: units.{test}.from.{unit}"
            if isinstance(conversion, Mapping):
                if not {"factor"} <= set(conversion) <= {"factor", "offset"}:
                    raise p.scope.fail(f"{where}: give 'factor' (and 'offset')")
                factor = _ratio(conversion["factor"], where, p)
                offsets[key] = _ratio(conversion.get("offset", 0), where, p)
            else:
                factor = _ratio(conversion, where, p)
            if factor <= 0:
                raise p.fail(f"factor for {test} {unit} must be > 0")
            table[key] = factor
    return Units(table, standard, offsets, decimals)


@algorithm("standardise")
@dataclass(frozen=True)
class Standardise:
    """A result in the standard unit of its test (--STRESC/--STRESN/--STRESU).

    ``units`` maps each test code to ``{unit: <standard unit or null>, from: {<collected
    unit>: factor}, round: <decimals>}`` (a missing collected unit is written ``""``;
    ``round`` is optional). Numeric results, also ``<0.05``-style ones, are multiplied by the
    factor; a conversion that is not a plain factor is ``{factor: f, offset: o}`` (result
    x f + o: Fahrenheit to Celsius is ``{factor: 5/9, offset: -160/9}``; a factor or offset
    may be written as a ratio ``a/b``). ``output: number`` gives the value (null for a result
    with ``<``/``>``), ``text`` the standardised text (``<0.5``, or a text result
    upper-cased), ``unit`` the standard unit. A numeric result whose unit has no factor is
    listed, never guessed.
    """

    output: Annotated[str, Arg(choice("number", "text", "unit"))]
    units: Annotated[Units, Arg(_units)]
    test: Annotated[Rule, Arg()]
    value: Annotated[Rule, Arg()]
    unit: Annotated[Rule, Arg()]

    def evaluate(self, ctx: Context) -> pd.Series:
        test = self.test.evaluate(ctx).astype("string")
        if self.output == "unit":
            out = _looked_up(test, self.units.standard)
            value = self.value.evaluate(ctx).astype("string")
            has_number = dates.by_unique(value, lambda v: v.str.match(_RESULT).fillna(False))
            return out.astype("string").where(has_number.astype(bool))
        raw = self.value.evaluate(ctx).astype("string").str.strip()
        unit = self.unit.evaluate(ctx).astype("string").fillna("")
        parts = dates.by_unique(raw, _result)
        number = parts["number"]
        key = test.fillna("") + "\x1f" + unit
        table = {f"{t}\x1f{u}": f for (t, u), f in self.units.table.items()}
        factor = _looked_up(key, table).astype("float64")
        missing = number.notna() & factor.isna()
        ctx.report(missing, unit.mask(unit == "", "(no unit)"), "UNIT",
                   "no conversion factor in the spec for this test and unit")  # fmt: skip
        converted = number * factor
        if self.units.offsets:
            offsets = {f"{t}\x1f{u}": o for (t, u), o in self.units.offsets.items()}
            converted = converted + _looked_up(key, offsets).astype("float64").fillna(0.0)
        decimals = self.units.decimals
        for digits in set(decimals.values()):
            tests = [t for t, d in decimals.items() if d == digits]
            converted = converted.mask(test.isin(tests).fillna(False), converted.round(digits))
        if self.output == "number":
            return converted.where(parts["op"].isna())
        text = parts["op"].fillna("") + _number_text(converted)
        return text.where(number.notna(), raw.str.upper()).where(~missing)


@algorithm("nrind")
@dataclass(frozen=True)
class NormalRange:
    """--NRIND from a standardised value and its range: LOW, HIGH or NORMAL."""

    value: Annotated[Rule, Arg()]
    low: Annotated[Rule, Arg()]
    high: Annotated[Rule, Arg()]

    def evaluate(self, ctx: Context) -> pd.Series:
        value = pd.to_numeric(self.value.evaluate(ctx), errors="coerce")
        low = pd.to_numeric(self.low.evaluate(ctx), errors="coerce")
        high = pd.to_numeric(self.high.evaluate(ctx), errors="coerce")
        out = pd.Series(pd.NA, index=ctx.frame.index, dtype="string")
        known = value.notna() & (low.notna() | high.notna())
        out = out.mask(known, "NORMAL")
        out = out.mask(known & (value < low).fillna(False), "LOW")
        return out.mask(known & (value > high).fillna(False), "HIGH")

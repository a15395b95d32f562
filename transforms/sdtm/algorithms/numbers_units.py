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
from transforms.uniques import by_unique_rows


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
class Report:
    """What to list about some records (the arguments of :meth:`Context.report`)."""

    mask: pd.Series
    values: pd.Series
    rule: str
    message: str
    severity: str = "error"


@dataclass(frozen=True)
class Units:
    """The ``units`` of a standardise rule: per test code its standard unit, and per (test,
    collected unit) the factor and offset to it; per test the decimals kept (its reporting
    precision) and the range of plausible values in the standard unit, if given."""

    table: Mapping[tuple[str, str], float]  # (test, collected unit) -> factor
    standard: Mapping[str, str | None]  # test -> standard unit
    offsets: Mapping[tuple[str, str], float] = field(default_factory=dict)
    decimals: Mapping[str, int] = field(default_factory=dict)  # test -> decimals kept
    plausible: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # test -> lo, hi


def _ratio(value: Any, where: str, p: Parsing) -> float:
    """A number, or a ratio written ``a/b`` (``5/9``), as a float."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    found = re.fullmatch(r"\s*(-?[0-9]+(?:\.[0-9]+)?)\s*/\s*([0-9]+(?:\.[0-9]+)?)\s*", str(value))
    if found is None or float(found.group(2)) == 0:
        raise p.scope.fail(f"{where}: {value!r} is not a number or a ratio such as 5/9")
    return float(found.group(1)) / float(found.group(2))


def _plausible(value: Any, test: str, p: Parsing) -> tuple[float, float]:
    """A test's plausible range ``[low, high]`` in its standard unit."""
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        or value[0] >= value[1]
    ):
        raise p.fail(f"units.{test}.plausible must be [low, high] numbers, low < high")
    return float(value[0]), float(value[1])


def _units(value: Any, p: Parsing) -> Units:
    table: dict[tuple[str, str], float] = {}
    offsets: dict[tuple[str, str], float] = {}
    standard: dict[str, str | None] = {}
    decimals: dict[str, int] = {}
    plausible: dict[str, tuple[float, float]] = {}
    for test, entry in dict(value).items():
        if not isinstance(entry, Mapping) or not {"unit", "from"} <= set(entry) <= {
            "unit", "from", "round", "plausible"
        }:  # fmt: skip
            raise p.fail(
                f"units.{test} needs 'unit' and 'from' (and may give 'round', 'plausible')"
            )
        standard[str(test)] = None if entry["unit"] is None else str(entry["unit"])
        if "round" in entry:
            if not isinstance(entry["round"], int) or entry["round"] < 0:
                raise p.fail(f"units.{test}.round must be a whole number")
            decimals[str(test)] = entry["round"]
        if "plausible" in entry:
            plausible[str(test)] = _plausible(entry["plausible"], str(test), p)
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
            # A converted result carries the digits of the arithmetic (1.22 mg/dL x 88.42 =
            # 107.8724 umol/L): the test must say to what precision it is reported.
            if (factor != 1 or offsets.get(key, 0.0) != 0) and str(test) not in decimals:
                raise p.fail(
                    f"units.{test} converts {unit!r} (x {factor:g}): give its reporting "
                    "precision, round: <decimals>"
                )
            table[key] = factor
    return Units(table, standard, offsets, decimals, plausible)


@algorithm("standardise")
@dataclass(frozen=True)
class Standardise:
    """A result in the standard unit of its test (--STRESC/--STRESN/--STRESU).

    ``units`` maps each test code to ``{unit: <standard unit or null>, from: {<collected
    unit>: factor}, round: <decimals>, plausible: [low, high]}`` (a missing collected unit
    is written ``""``). Numeric results, also ``<0.05``-style ones, are multiplied by the
    factor; a conversion that is not a plain factor is ``{factor: f, offset: o}`` (result
    x f + o: Fahrenheit to Celsius is ``{factor: 5/9, offset: -160/9}``; a factor or offset
    may be written as a ratio ``a/b``). A test with a conversion must give ``round``, its
    reporting precision. ``output: number`` gives the value (null for a result with
    ``<``/``>``), always the number the text shows; ``text`` the standardised text
    (``<0.5``, or a text result upper-cased); ``unit`` the standard unit;
    ``original_unit`` the collected unit, or the unit the result was taken in (below). A
    numeric result whose unit has no factor is listed, never guessed.

    ``plausible`` (in the standard unit) catches a result recorded in the other unit system
    than its collected unit says (a height of 148 "in"): converted from its collected unit
    it falls outside the range; if exactly one other collected unit of the test gives a
    plausible value, the result is taken in that unit, else it is not standardised (no
    text, number or unit). Either way the ``text`` output lists it as a warning.
    """

    output: Annotated[str, Arg(choice("number", "text", "unit", "original_unit"))]
    units: Annotated[Units, Arg(_units)]
    test: Annotated[Rule, Arg()]
    value: Annotated[Rule, Arg()]
    unit: Annotated[Rule, Arg()]

    def _conversion(self, key: pd.Series, number: pd.Series) -> pd.Series:
        """`number` converted by the factor (and offset) of each (test, unit) `key`."""
        table = {f"{t}\x1f{u}": f for (t, u), f in self.units.table.items()}
        converted = number * _looked_up(key, table).astype("float64")
        if self.units.offsets:
            offsets = {f"{t}\x1f{u}": o for (t, u), o in self.units.offsets.items()}
            converted = converted + _looked_up(key, offsets).astype("float64").fillna(0.0)
        return converted

    def _plausible(
        self, test: pd.Series, raw: pd.Series, unit: pd.Series, number: pd.Series,
        reports: list[Report],
    ) -> tuple[pd.Series, pd.Series, pd.Series]:  # fmt: skip
        """The converted numbers, the unit each was taken in, and where a number could not
        be standardised (outside the plausible range, and inside it in no single other
        collected unit of its test); what to list is added to `reports`."""
        key = test.fillna("") + "\x1f" + unit
        converted = self._conversion(key, number)
        taken = unit.copy()
        failed = pd.Series(False, index=number.index)
        if not self.units.plausible:
            return converted, taken, failed
        ranges = self.units.plausible
        low = _looked_up(test, {t: lo for t, (lo, _) in ranges.items()}).astype("float64")
        high = _looked_up(test, {t: hi for t, (_, hi) in ranges.items()}).astype("float64")
        outside = (converted.notna() & ((converted < low) | (converted > high))).fillna(False)
        # Listed below even when nothing is outside: every group of subjects makes the same
        # checks (transforms.issues.IssueLog.merged).
        fits = pd.Series(0, index=number.index)
        other_unit = pd.Series(pd.NA, index=number.index, dtype="string")
        other_value = pd.Series(float("nan"), index=number.index)
        for t, u in self.units.table if outside.any() else ():
            rows = outside & (test == t).fillna(False) & (unit != u)
            if not rows.any():
                continue
            value = self._conversion(pd.Series(f"{t}\x1f{u}", index=number.index), number)
            fit = rows & (value >= low) & (value <= high)
            fits = fits + fit.astype(int)
            other_unit = other_unit.mask(fit, u)
            other_value = other_value.mask(fit, value)
        retaken = outside & (fits == 1)
        failed = outside & (fits != 1)
        shown = raw.fillna("") + " " + unit.mask(unit == "", "(no unit)")
        reports.append(Report(
            retaken, shown + ", taken as " + other_unit.fillna(""), "PLAUSIBLE",
            "outside the test's plausible range in its collected unit, inside it in the "
            "other unit of the spec: taken in that unit", "warning",
        ))  # fmt: skip
        reports.append(Report(
            failed, shown, "PLAUSIBLE", "outside the test's plausible range, and plausible in "
            "no single other unit of the spec: not standardised", "warning",
        ))  # fmt: skip
        converted = converted.mask(retaken, other_value).mask(failed)
        return converted, taken.mask(retaken, other_unit), failed

    def evaluate(self, ctx: Context) -> pd.Series:
        """Worked out once per distinct (test, result, unit) of the records, then spread
        back to the records (LB repeats its results, units and tests: at 2,000 subjects a
        group of 260,000 records holds a few thousand distinct ones); the listing too."""
        given = pd.DataFrame({
            "test": self.test.evaluate(ctx).astype("string"),
            "raw": self.value.evaluate(ctx).astype("string"),
            "unit": self.unit.evaluate(ctx).astype("string").fillna(""),
        })  # fmt: skip
        codes, distinct = by_unique_rows(given)
        reports: list[Report] = []
        out = self._standardised(distinct, reports)

        def spread(values: pd.Series) -> pd.Series:
            return values.take(codes).set_axis(given.index)

        for r in reports:
            ctx.report(spread(r.mask), spread(r.values), r.rule, r.message, r.severity)
        return spread(out)

    def _standardised(self, given: pd.DataFrame, reports: list[Report]) -> pd.Series:
        """The output for each (test, raw, unit) of `given`; what to list is added to
        `reports` (in the order the listing shows it)."""
        test, unit = given["test"], given["unit"]
        raw = given["raw"].str.strip()
        parts = dates.by_unique(raw, _result)
        number = parts["number"]
        plausible: list[Report] = []
        converted, taken, failed = self._plausible(test, raw, unit, number, plausible)
        if self.output == "text":
            reports += plausible
        if self.output == "original_unit":
            return taken.mask(taken == "").astype("string").where(raw.notna())
        if self.output == "unit":
            out = _looked_up(test, self.units.standard)
            has_number = dates.by_unique(raw, lambda v: v.str.match(_RESULT).fillna(False))
            return out.astype("string").where(has_number.astype(bool) & ~failed)
        key = test.fillna("") + "\x1f" + taken
        table = {f"{t}\x1f{u}": f for (t, u), f in self.units.table.items()}
        missing = number.notna() & _looked_up(key, table).isna() & ~failed
        no_factor = "no conversion factor in the spec for this test and unit"
        reports.append(Report(missing, unit.mask(unit == "", "(no unit)"), "UNIT", no_factor))
        decimals = self.units.decimals
        for digits in set(decimals.values()):
            tests = [t for t, d in decimals.items() if d == digits]
            converted = converted.mask(test.isin(tests).fillna(False), converted.round(digits))
        # The number is the one the text shows (8 significant digits at most): no floating
        # point residue (0.81 x 88.42 is 71.62020000000001 in binary, reported 71.6202).
        shown = _number_text(converted)
        if self.output == "number":
            value = pd.to_numeric(shown.astype("object"), errors="coerce").astype("float64")
            return value.where(parts["op"].isna())
        text = parts["op"].fillna("") + shown
        return text.where(number.notna(), raw.str.upper()).where(~missing & ~failed)


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

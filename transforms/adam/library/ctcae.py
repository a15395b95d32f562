"""CTCAE (Common Terminology Criteria for Adverse Events) grades of laboratory values, as a
verb a spec selects (``verb: ctcae.grade``) with the grade table as data: per parameter, the
CTCAE term and the bounds of each grade, a fixed number (in the parameter's unit) or a
multiple of a reference variable of the record (ANRLO, ANRHI, BASE), as admiral's
``derive_var_atoxgr_dir`` reads its criteria table.

A record's grade is the highest grade of a bound its value crosses (``lt``: below, ``gt``:
above); none crossed gives 0 when the value and every reference of the parameter's
required bounds are given, else null (the grade cannot be told). A bound marked
``optional`` (CTCAE v5's "> 3.0 x baseline" for creatinine) counts only where its reference
is given, and never makes the grade unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import pandas as pd

from transforms.adam.verbs import base
from transforms.adam.verbs.base import Arg, Inputs, Verb, Where, verb


@dataclass(frozen=True)
class Bound:
    grade: int
    op: str  # lt | gt
    number: float | None  # a fixed limit, or
    ref: str | None  # the variable the limit is a multiple of
    times: float
    optional: bool

    def limit(self, data: pd.DataFrame) -> pd.Series:
        if self.ref is None:
            return pd.Series(self.number, index=data.index, dtype="float64")
        ref = pd.to_numeric(data[self.ref], errors="coerce").astype("float64")
        return ref * self.times

    def words(self, value: str) -> str:
        sign = "<" if self.op == "lt" else ">"
        if self.ref is None:
            limit = f"{self.number:g}"
        else:
            limit = self.ref if self.times == 1 else f"{self.times:g} x {self.ref}"
        extra = f" (where {self.ref} is given)" if self.optional else ""
        return f"{value} {sign} {limit}{extra}"


@dataclass(frozen=True)
class Criteria:
    paramcd: str
    term: str
    bounds: tuple[Bound, ...]  # highest grade first


def _bound(raw: Any, where: Where) -> Bound:
    keys = {"grade", "lt", "gt", "optional"}
    if not isinstance(raw, dict) or "grade" not in raw or set(raw) - keys:
        raise where.fail(f"a bound is {{grade: n, lt|gt: limit, optional: true}}, not {raw!r}")
    ops = [k for k in ("lt", "gt") if k in raw]
    if len(ops) != 1:
        raise where.fail("a bound has one of lt (below) or gt (above)")
    grade = base.integer(raw["grade"], where)
    if not 1 <= grade <= 5:
        raise where.fail(f"grade {grade} is not a CTCAE grade 1-5")
    limit = raw[ops[0]]
    optional = raw.get("optional", False)
    if not isinstance(optional, bool):
        raise where.fail(f"optional is true or false, not {optional!r}")
    if isinstance(limit, int | float) and not isinstance(limit, bool):
        if optional:
            raise where.fail("only a bound on a reference variable is optional")
        return Bound(grade, ops[0], float(limit), None, 1.0, False)
    if isinstance(limit, dict) and "var" in limit and not set(limit) - {"var", "times"}:
        times = limit.get("times", 1)
        if isinstance(times, bool) or not isinstance(times, int | float) or times <= 0:
            raise where.fail(f"times is a positive number, not {times!r}")
        return Bound(grade, ops[0], None, base.name(limit["var"], where), float(times), optional)
    raise where.fail(f"a limit is a number or {{var: X, times: n}}, not {limit!r}")


def _criteria(raw: Any, where: Where) -> tuple[Criteria, ...]:
    if not isinstance(raw, dict) or not raw:
        raise where.fail("expected a mapping PARAMCD: {term, grades: [bounds]}")
    out = []
    for code, item in raw.items():
        here = where.at(arg=f"{where.arg}.{code}")
        if not isinstance(item, dict) or set(item) != {"term", "grades"}:
            raise here.fail(f"expected {{term: text, grades: [bounds]}}, not {item!r}")
        if not isinstance(item["grades"], list) or not item["grades"]:
            raise here.fail("grades is a non-empty list of bounds")
        bounds = tuple(
            _bound(b, here.at(arg=f"{here.arg}.grades[{i}]")) for i, b in enumerate(item["grades"])
        )
        if [b.grade for b in bounds] != sorted((b.grade for b in bounds), reverse=True):
            raise here.fail("list the grades from the highest down")
        if len({b.op for b in bounds}) != 1:
            raise here.fail("a parameter is graded in one direction (all lt or all gt)")
        out.append(Criteria(base.name(code, here), base.text(item["term"], here), bounds))
    return tuple(out)


@verb("ctcae.grade")
@dataclass(frozen=True)
class Grade(Verb):
    """`var` (text) and `code` (number): the CTCAE grade of `value` on the records of the
    parameters of `criteria` (by `by`, PARAMCD), `term` their CTCAE term; the highest grade
    whose bound the value crosses, 0 when none is and the required references are given."""

    var: Annotated[str, Arg(base.name)]
    code: Annotated[str, Arg(base.name)]
    term: Annotated[str, Arg(base.name)]
    criteria: Annotated[tuple[Criteria, ...], Arg(_criteria)]
    value: Annotated[str, Arg(base.name, "AVAL")]
    by: Annotated[str, Arg(base.name, "PARAMCD")]
    version: Annotated[str, Arg(base.text, "5.0")]

    per_subject = True  # each record's value from the record alone

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        refs = {b.ref for c in self.criteria for b in c.bounds if b.ref}
        self.need(data, [self.value, self.by, *sorted(refs)], "criteria")
        value = pd.to_numeric(data[self.value], errors="coerce").astype("float64")
        grade = pd.Series(float("nan"), index=data.index)
        term = pd.Series(pd.NA, index=data.index, dtype="string")
        for c in self.criteria:
            rows = data[self.by].astype("string").eq(c.paramcd).fillna(False).astype(bool)
            known = rows & value.notna()
            crossed = pd.DataFrame(index=data.index)
            for i, b in enumerate(c.bounds):
                limit = b.limit(data)
                hit = (value < limit) if b.op == "lt" else (value > limit)
                crossed[i] = hit.fillna(False).astype(bool).map({True: float(b.grade)})
                if not b.optional:
                    known &= limit.notna()
            found = crossed.max(axis=1).where(rows)  # the highest grade crossed
            found = found.mask(found.isna() & known, 0.0)
            grade = grade.mask(rows, found)
            term = term.mask(rows, c.term)
        data[self.code] = grade
        data[self.var] = grade.astype("Int64").astype("string")
        data[self.term] = term
        return data

    def describe(self) -> dict[str, str]:
        parts = []
        for c in self.criteria:
            bounds = "; ".join(f"{b.grade} if {b.words(self.value)}" for b in c.bounds)
            parts.append(f"{c.paramcd} ({c.term}): {bounds}; else 0")
        text = (
            f"CTCAE v{self.version}: "
            + " | ".join(parts)
            + (
                ". The highest grade whose bound is crossed; null when the value, or a reference"
                " a bound needs, is missing and no bound is crossed"
            )
        )
        return {
            self.var: text,
            self.code: f"{self.var} as a number",
            self.term: f"The CTCAE v{self.version} term of the parameter: "
            + "; ".join(f"{c.paramcd}: {c.term}" for c in self.criteria),
        }

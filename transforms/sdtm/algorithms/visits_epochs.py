"""Where a record sits in the study's schedule: its visit (number and label) and its epoch."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any

import pandas as pd

from transforms.sdtm import dates
from transforms.sdtm.algorithms.base import (
    FROM_DESIGN,
    Arg,
    Context,
    Parsing,
    Rule,
    algorithm,
    choice,
    complete_day,
    extract,
    normalise,
    normalised_texts,
    parse_rule,
    trimmed,
)


def _epochs(value: Any, p: Parsing) -> tuple[tuple[str, Rule, bool], ...]:
    """The rule's own epochs, else the study design's (read in the rule's scope: their
    start rules run over the rows of the rule's form; an error names both entries)."""
    if value is FROM_DESIGN:
        design = p.scope.design
        if design is None or not design.epochs:
            raise p.fail("no epochs: give epochs, or declare design.epochs in study.yaml")
        value = design.epochs
        p = replace(p, scope=replace(p.scope, where=f"{design.where}.epochs (for {p.scope.where})"))
    epochs = []
    for e in value:
        if not isinstance(e, Mapping) or not {"name", "start"} <= set(e) <= {
            "name", "start", "after"
        }:  # fmt: skip
            raise p.fail(f"each epoch is {{name, start, after}}: {e}")
        codelist = p.scope.codelist
        if codelist is not None and codelist.lookup(str(e["name"])) is None:
            raise p.fail(f"{e['name']!r} is not in codelist {codelist.code}")
        epochs.append((str(e["name"]), parse_rule(e["start"], p.scope), bool(e.get("after"))))
    return tuple(epochs)


def _period(iso: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The first and the last calendar day of each ISO 8601 date (datetime64): the day of a
    complete date, the month of ``YYYY-MM``, the year of ``YYYY`` (and of ``YYYY---DD``,
    whose month is unknown); NaT for none."""

    def bounds(text: pd.Series) -> pd.DataFrame:
        first = complete_day(text)
        month = text.str.fullmatch(r"[0-9]{4}-[0-9]{2}").fillna(False).astype(bool)
        year = text.str.fullmatch(r"[0-9]{4}(?:---[0-9]{2})?").fillna(False).astype(bool)
        start = text.str.slice(0, 4) + "-" + text.str.slice(5, 7).where(month, "01") + "-01"
        first = first.mask(
            month | year, pd.to_datetime(start.where(month | year), format="%Y-%m-%d")
        )
        last = first.mask(month, first + pd.offsets.MonthEnd(0))
        last = last.mask(year, first + pd.offsets.YearEnd(0))
        return pd.DataFrame({"first": first, "last": last})

    both = dates.by_unique(iso.astype("string").str.slice(0, 10), bounds)
    return both["first"], both["last"]


@algorithm("epoch")
@dataclass(frozen=True)
class Epoch:
    """EPOCH of a date: the last epoch whose start is on or before it.

    ``epochs`` lists ``{name, start, after}`` in time order (by default the study design's);
    ``after: true`` makes an epoch start the day after its date (e.g. FOLLOW-UP after the
    last dose). A partial date (``2025-01``) gets the epoch its whole period lies in (first
    and last day in the same epoch); one whose period spans two epochs, a date before the
    first start or a missing boundary gives null: EPOCH is never imputed.
    """

    epochs: Annotated[tuple[tuple[str, Rule, bool], ...], Arg(_epochs, default=FROM_DESIGN)]
    date: Annotated[Rule, Arg()]

    def evaluate(self, ctx: Context) -> pd.Series:
        first, last = _period(self.date.evaluate(ctx))
        starts = [
            (name, complete_day(rule.evaluate(ctx)), after) for name, rule, after in self.epochs
        ]

        def epoch_of(when: pd.Series) -> pd.Series:
            out = pd.Series(pd.NA, index=ctx.frame.index, dtype="string")
            for name, start, after in starts:
                begun = (when > start) if after else (when >= start)
                out = out.mask(begun.fillna(False).astype(bool), name)
            return out.where(when.notna())

        at_first, at_last = epoch_of(first), epoch_of(last)
        return at_first.where((at_first == at_last).fillna(False).astype(bool))


def _planned(value: Any, p: Parsing) -> tuple[tuple[str, str], ...]:
    """Planned visit names as regular expressions of their normalised text ({n}: a whole
    number, {x}: a decimal one), with their number template: the rule's own map, else the
    study design's (all of it, or the visits a list names)."""
    if value is FROM_DESIGN or isinstance(value, list):
        design = p.scope.design.planned if p.scope.design is not None else {}
        if not design:
            raise p.fail(
                "no planned visits: give a planned map, or declare design.visits in study.yaml"
            )
        if isinstance(value, list):
            if unknown := [v for v in value if v not in design]:
                raise p.fail(f"{unknown} are not planned visits of the study design")
            value = {name: number for name, number in design.items() if name in value}
        else:
            value = design
    if not isinstance(value, Mapping):
        raise p.fail(f"planned must map visit names to numbers, or list names: {value!r}")
    planned = []
    names = normalised_texts(tuple(str(name) for name in value))
    for name, number in zip(names, value.values(), strict=True):
        pattern = re.escape(name)
        pattern = pattern.replace(r"\{n\}", r"(?P<n>[0-9]+)")
        pattern = pattern.replace(r"\{x\}", r"(?P<n>[0-9]+(?:\.[0-9]+)?)")
        planned.append((pattern, str(number)))
    return tuple(planned)


def _visit_names(value: Any, p: Parsing) -> frozenset[str]:
    """Unscheduled visit names (normalised): the rule's own, else the study design's."""
    if value is FROM_DESIGN:
        value = p.scope.design.unscheduled if p.scope.design is not None else []
    return frozenset(normalised_texts(tuple(str(name) for name in value)))


def _days(value: Any, p: Parsing) -> tuple[tuple[float, int], ...]:
    """Planned study days by visit number: the rule's own, else the study design's."""
    if value is FROM_DESIGN:
        value = p.scope.design.days if p.scope.design is not None else {}
    if not isinstance(value, Mapping) or not all(
        isinstance(d, int) and not isinstance(d, bool) for d in value.values()
    ):
        raise p.fail(f"days must map visit numbers to whole study days: {value!r}")
    try:
        return tuple((float(n), int(d)) for n, d in value.items())
    except (TypeError, ValueError) as exc:
        raise p.fail(f"days must map visit numbers to whole study days: {value!r}") from exc


@algorithm("visit")
@dataclass(frozen=True)
class Visit:
    """VISITNUM (``output: number``), VISIT (``output: label``) or VISITDY (``output:
    day``: the planned study day of the visit number, null for an unscheduled visit) from
    the raw visit name.

    ``planned`` maps raw visit names to their number; a ``{n}`` in a name matches a whole
    number and may be used in the value (``"Cycle {n} Day 1": "{n}"``), a ``{x}`` a decimal
    one (``"Unscheduled {x}": "{x}"`` numbers ``Unscheduled 4.1`` 4.1). A visit named in
    ``unscheduled`` gets the number of the subject's last planned visit on or before its
    date plus .01, .02, ... per distinct date (SDTMIG: unscheduled as decimals), and the
    label ``UNSCHEDULED <number>``. Planned labels are the raw names upper-cased. Both
    default to the study design's (``planned: [name, ...]`` takes those of its visits), and
    so do the planned days (``days``, VISITNUM -> VISITDY: the design's TV visits).
    """

    output: Annotated[str, Arg(choice("number", "label", "day"))]
    # regex, number template
    planned: Annotated[tuple[tuple[str, str], ...], Arg(_planned, default=FROM_DESIGN)]
    unscheduled: Annotated[frozenset[str], Arg(_visit_names, default=FROM_DESIGN)]
    visit: Annotated[Rule, Arg()]
    date: Annotated[Rule, Arg()]
    days: Annotated[tuple[tuple[float, int], ...], Arg(_days, default=FROM_DESIGN)]

    def implicit_keys(self) -> tuple[str, ...]:
        """Unscheduled visits are numbered per subject: by the form's SUBJID."""
        return ("SUBJID",) if self.unscheduled else ()

    def _numbers(self, names: pd.Series) -> pd.Series:
        """The planned number of each (normalised) visit name; NaN if none matches."""
        number = pd.Series(float("nan"), index=names.index)
        for pattern, template in self.planned:
            found = extract(names, f"^(?P<all>{pattern})$")
            hit = found["all"].notna() & number.isna()
            if "{n}" in template or "{x}" in template:
                number = number.mask(hit, pd.to_numeric(found["n"], errors="coerce"))
            else:
                number = number.mask(hit, float(template))
        return number

    def evaluate(self, ctx: Context) -> pd.Series:
        raw = self.visit.evaluate(ctx).astype("string")
        name = normalise(raw)
        number = dates.by_unique(name, self._numbers)
        label = dates.by_unique(raw, lambda r: r.str.upper()).where(number.notna())
        unscheduled = name.isin(self.unscheduled)
        if unscheduled.any():
            day = complete_day(self.date.evaluate(ctx))
            subject = trimmed(ctx.frame["SUBJID"])
            plan = pd.DataFrame({"s": subject, "d": day, "n": number}).dropna()
            plan = plan.sort_values("d")
            todo = pd.DataFrame({"s": subject, "d": day})[unscheduled].dropna().sort_values("d")
            base = pd.merge_asof(
                todo.reset_index(), plan.rename(columns={"n": "base"}), on="d", by="s"
            ).set_index("index")
            base["base"] = base["base"].fillna(0.0)
            rank = base.groupby(["s", "base"])["d"].rank(method="dense")
            number = number.mask(unscheduled, (base["base"] + rank / 100).round(2))
            shown = dates.by_unique(number, lambda u: u.map("{:.2f}".format, na_action="ignore"))
            label = label.mask(unscheduled & number.notna(), "UNSCHEDULED " + shown)
        ctx.report(
            raw.notna() & number.isna(), raw, "VISIT",
            "not a planned visit of the spec, or an unscheduled visit without a complete date",
        )  # fmt: skip
        if self.output == "day":
            days = dict(self.days)
            return number.map(days).where(number.isin(list(days))).astype("float64")
        return number.astype("float64") if self.output == "number" else label.astype("string")

"""Spec rules in words, for Define-XML methods and comments.

Every algorithm of the mapping vocabulary (:mod:`transforms.sdtm.algorithms`) has a sentence
here; a rule nests, so does its description. Raw columns are named ``FORM.COLUMN`` (the form
whose rows the rule runs over), variables of the same dataset by name, DM variables as
``DM.VAR``. An algorithm this module does not know is named by its class, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from transforms import conditions
from transforms.conditions import Condition, quote
from transforms.sdtm import algorithms as alg

_FORMAT_NOTE = {"DD MON YYYY": " (partial dates kept)", "ISO": ""}


def _number(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Describer:
    """Describes rules that run over the rows of ``form``; ``sort`` is the dataset's record
    order (for --SEQ)."""

    form: str
    sort: tuple[str, ...] = ()

    def __call__(self, rule: alg.Rule) -> str:
        return self.rule(rule)

    def rule(self, rule: object) -> str:
        match rule:
            case alg.Column(name=name, upper=upper):
                where = {"_ROWS": "the spec row's ", "_STUDY": "the run's "}
                named = where[self.form] + name if self.form in where else f"{self.form}.{name}"
                return named + (" (upper-cased)" if upper else "")
            case alg.Var(name=name):
                return name
            case alg.DmValue(name=name):
                return f"DM.{name}"
            case alg.Hardcode(value=value):
                return quote(value)
            case alg.ControlledTerm(source=source, codelist=codelist):
                return (
                    f"{self.rule(source)} as the submission value of NCI codelist "
                    f"{codelist.code} (by the study's CT map, or as written)"
                )
            case alg.Iso8601(date=date, time=time, fmt=fmt):
                when = self.rule(date) + (f" and time {self.rule(time)}" if time else "")
                return f"{when} as an ISO 8601 date{_FORMAT_NOTE.get(fmt, f' (read as {fmt})')}"
            case alg.Concat(parts=parts, sep=sep):
                joined = ", ".join(self.rule(p) for p in parts)
                return f"{joined} joined by {quote(sep)} (null if any part is null)"
            case alg.Recode(source=source, mapping=mapping, default=default):
                pairs = "; ".join(f"{k} -> {v}" for k, v in mapping.items())
                tail = f"; anything else -> {quote(default)}" if default is not None else ""
                return f"{self.rule(source)} recoded (trimmed, any case): {pairs}{tail}"
            case alg.CountryIso3(source=source):
                return f"{self.rule(source)} as its ISO 3166-1 alpha-3 country code"
            case alg.StudyDay(date=date, ref=ref):
                return (
                    f"study day of {self.rule(date)} relative to {self.rule(ref)}: date - "
                    "reference + 1 on or after the reference date, date - reference before it "
                    "(no day 0); complete dates only"
                )
            case alg.DateAdd(date=date, days=days):
                return f"{self.rule(date)} plus {days} day(s) (complete dates only)"
            case alg.Number(source=source):
                return f"{self.rule(source)} as a number"
            case alg.Coalesce(sources=sources):
                return "the first non-missing of: " + "; ".join(self.rule(s) for s in sources)
            case alg.ParticipationEnd(sources=sources):
                return (
                    "the latest (largest) of: "
                    + "; ".join(self.rule(s) for s in sources)
                    + "; then, once every other dataset is mapped, of the subject's --DTC, "
                    "--STDTC and --ENDTC in each of them (the latest date of participation in "
                    "any domain; ISO 8601 dates compared as text)"
                )
            case alg.Extreme(sources=sources, pick=pick):
                word = "latest (largest)" if pick == "max" else "earliest (smallest)"
                return f"the {word} of: " + "; ".join(self.rule(s) for s in sources)
            case alg.Merge():
                return self._merge(rule)
            case alg.Seq(by=by):
                order = f" in the order of {', '.join(self.sort)}" if self.sort else ""
                return f"sequence number 1, 2, ... within each {', '.join(by)}{order}"
            case alg.Epoch(date=date, epochs=epochs):
                starts = "; ".join(
                    f"{name} from {'the day after ' if after else ''}{self.rule(start)}"
                    for name, start, after in epochs
                )
                return (
                    f"the epoch of {self.rule(date)}: the last of ({starts}) that starts on or "
                    "before it; a partial date gets the epoch its whole period (month, year) "
                    "lies in, null when the period spans two epochs (never imputed)"
                )
            case alg.Visit():
                return self._visit(rule)
            case alg.Standardise():
                return self._standardise(rule)
            case alg.NormalRange(value=value, low=low, high=high):
                return (
                    f"LOW when {self.rule(value)} < {self.rule(low)}, HIGH when above "
                    f"{self.rule(high)}, otherwise NORMAL (null without a value or a limit)"
                )
            case alg.LastBefore(by=by, date=date, value=value, ref=ref):
                groups = ", ".join(self.rule(b) for b in by)
                return (
                    f'"Y" on the last record per {groups} with a non-missing {self.rule(value)} '
                    f"whose {self.rule(date)} is on or before {self.rule(ref)} "
                    "(complete dates only)"
                )
            case alg.Decode(source=source):
                return f"the term with the same NCI C-code as {self.rule(source)}"
            case alg.TermCode(value=value, codelist=codelist):
                return (
                    f"the NCI C-code of {self.rule(value)} in the codelist named by "
                    f"{self.rule(codelist)}"
                )
            case alg.Aggregate(dataset=dataset, variable=variable, func=func):
                return f"the {func} of {dataset}.{variable} over the study"
            case alg.Case(cases=cases, otherwise=otherwise):
                branches = [f"if {self.condition(w)} then {self.rule(t)}" for w, t in cases]
                branches.append(f"otherwise {self.rule(otherwise) if otherwise else 'null'}")
                return "; ".join(branches)
        return type(rule).__name__

    def condition(self, cond: Condition) -> str:
        return conditions.describe(cond, self.rule)

    def _merge(self, rule: alg.Merge) -> str:
        inner = Describer(rule.form, self.sort)
        value = inner.rule(rule.value)
        records = f"the subject's {rule.form} record"
        if not rule.by:
            records = f"the one record of {_form_name(rule.form)}"
        elif tuple(rule.by) != ("SUBJID",):
            records = f"the {rule.form} record matched on {', '.join(rule.by)}"
        if rule.where is not None:
            records += f" where {inner.condition(rule.where)}"
        if rule.pick == "only":
            return f"{value}, from {records}"
        word = "largest (latest)" if rule.pick == "max" else "smallest (earliest)"
        return f"the {word} of {value}, over {records}s"

    def _visit(self, rule: alg.Visit) -> str:
        planned = "; ".join(
            f"{_unpattern(pattern)} -> {template.replace('{n}', 'n').replace('{x}', 'x')}"
            for pattern, template in rule.planned
        )
        unscheduled = ", ".join(sorted(rule.unscheduled)) or "none"
        if rule.output == "day":
            days = "; ".join(f"{n:g} -> {d}" for n, d in rule.days)
            return (
                f"planned study day of the visit number of {self.rule(rule.visit)} (any case: "
                f"{planned}): {days}; none for an unscheduled visit"
            )
        if rule.output == "number":
            return (
                f"visit number of {self.rule(rule.visit)} (any case): {planned}; an unscheduled "
                f"visit ({unscheduled}) gets the subject's last planned visit number on or "
                f"before {self.rule(rule.date)} plus .01, .02, ... per distinct date"
            )
        return (
            f"visit name {self.rule(rule.visit)} upper-cased for planned visits ({planned}); "
            f'an unscheduled visit ({unscheduled}) is labelled "UNSCHEDULED" and its visit '
            "number (n.nn)"
        )

    def _standardise(self, rule: alg.Standardise) -> str:
        test, value, unit = self.rule(rule.test), self.rule(rule.value), self.rule(rule.unit)
        conversions = "; ".join(_conversions(rule))
        if rule.output == "unit":
            return (
                f"the standard unit of the test {test} when {value} is numeric "
                f"(standard units and factors: {conversions})"
            )
        if rule.output == "original_unit":
            return (
                f"the collected unit {unit}, or the other unit of the test {test} a numeric "
                f"{value} is taken in when only that one gives a plausible value (standard "
                f"units, factors and plausible ranges: {conversions})"
            )
        what = "the number" if rule.output == "number" else "the text"
        tail = (
            "; a result with < or > has no number"
            if rule.output == "number"
            else ", keeping a < or > operator; a text result is upper-cased"
        )
        plausible = (
            "; a value outside the test's plausible range is taken in the one other unit that "
            "gives a plausible value, or not standardised"
            if rule.units.plausible
            else ""
        )
        return (
            f"{what} of {value} converted to the standard unit of the test {test} by the "
            f"factor of the collected unit {unit}, to the test's decimals{tail}{plausible} "
            f"(standard units, factors and decimals: {conversions})"
        )


def _unpattern(pattern: str) -> str:
    """A planned-visit regex of :class:`~transforms.sdtm.algorithms.Visit` back as text:
    its whole number ``n``, its decimal one ``x``."""
    named = pattern.replace(r"(?P<n>[0-9]+(?:\.[0-9]+)?)", "x").replace(r"(?P<n>[0-9]+)", "n")
    return re.sub(r"\\(.)", r"\1", named)


def _conversions(rule: alg.Standardise) -> Iterator[str]:
    by_test: dict[str, list[str]] = {}
    for (test, unit), factor in rule.units.table.items():
        standard = rule.units.standard.get(test)
        if factor != 1 or unit != (standard or ""):
            by_test.setdefault(test, []).append(f"{unit or 'no unit'} x {_number(factor)}")
    for test, standard in rule.units.standard.items():
        notes = list(by_test.get(test, []))
        if test in rule.units.decimals:
            notes.append(f"{rule.units.decimals[test]} decimals")
        if test in rule.units.plausible:
            low, high = rule.units.plausible[test]
            notes.append(f"plausible {_number(low)}-{_number(high)}")
        yield f"{test} {standard or 'no unit'}" + (f" ({', '.join(notes)})" if notes else "")


def describe_blocks(
    blocks: Iterable[tuple[str, Condition | None, alg.Rule]], sort: Sequence[str] = ()
) -> str:
    """One variable's rule in each source block (form, its where-condition, rule), in words:
    a single sentence when every block does the same, else one per block ("Records from
    form X where ...: ..."), repeated ones once."""
    texts: list[tuple[str, str]] = []
    for form, where, rule in blocks:
        describe = Describer(form, tuple(sort))
        label = _form_name(form) + (f" where {describe.condition(where)}" if where else "")
        if (label, text := describe(rule)) not in texts:
            texts.append((label, text))
    if len({text for _, text in texts}) == 1:
        return texts[0][1]
    return " ".join(f"Records from {label}: {text}." for label, text in texts)


def _form_name(form: str) -> str:
    if form == "_ROWS":
        return "the spec's own rows"
    if form == "_STUDY":
        return "the run's study-level facts"
    return f"form {form}"


def is_copy(rule: alg.Rule) -> bool:
    """A rule that only copies or states a value (nothing a reviewer needs explained)."""
    return isinstance(rule, alg.Column | alg.Var | alg.DmValue | alg.Hardcode)


def literal_values(rule: object) -> set[str]:
    """The text values a rule can give by itself (constants, recode targets, epoch names):
    the codelist terms a spec uses whether or not tonight's data holds them."""
    match rule:
        case alg.Hardcode(value=str() as value):
            return {value}
        case alg.Recode(mapping=mapping, default=default):
            return set(mapping.values()) | ({default} if default is not None else set())
        case alg.Epoch(epochs=epochs):
            return {name for name, _, _ in epochs}
        case alg.Case(cases=cases, otherwise=otherwise):
            found = set().union(*(literal_values(then) for _, then in cases))
            return found | (literal_values(otherwise) if otherwise is not None else set())
        case alg.Coalesce(sources=sources):
            return set().union(*(literal_values(s) for s in sources))
    return set()

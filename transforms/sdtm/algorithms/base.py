"""What every algorithm of the mapping vocabulary shares: the parse scope, the run context,
the registry of spec keywords, and the one way an algorithm declares its arguments.

An algorithm is a frozen dataclass registered with :func:`algorithm`; each of its spec
arguments is a field declared with :func:`arg` (the spec keyword, how its value is read,
its default). :func:`parse_rule` checks a spec's keys against those declarations (missing
or unknown arguments name the file and entry), reads each argument in field order and
builds the object; an algorithm whose arguments constrain each other adds a ``check``.

The same declarations say which raw fields a parsed rule reads (:func:`reads`): a nested
rule or condition is walked, and a plain argument that names raw columns or another form
says so (``Arg(..., names=COLUMN)``); a column read without an argument naming it (the
SUBJID a ``{dm: X}`` is joined on) is returned by the algorithm's ``implicit_keys()``.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache, partial
from typing import Any, Protocol, TypeVar, cast

import pandas as pd

from transforms.conditions import Condition, leaves
from transforms.errors import SpecError
from transforms.issues import IssueLog
from transforms.sdtm import dates


@dataclass(frozen=True)
class Design:
    """The study's trial design (``design:`` of study.yaml), as written: what the ``epoch``,
    ``visit`` and ``recode`` rules of every dataset take when they do not give their own."""

    where: str  # "sdtm_specs/POMMAINT/study.yaml: design", for messages
    epochs: tuple[Mapping[str, Any], ...] = ()  # {name, start, after} in time order
    planned: Mapping[str, Any] = field(default_factory=dict)  # raw visit name -> number
    unscheduled: tuple[str, ...] = ()  # raw names of unscheduled visits
    arms: Mapping[str, str] = field(default_factory=dict)  # ARMCD -> ARM
    days: Mapping[float, int] = field(default_factory=dict)  # VISITNUM -> planned VISITDY
    criteria: Mapping[str, str] = field(default_factory=dict)  # IETESTCD -> IETEST
    categories: Mapping[str, str] = field(default_factory=dict)  # IETESTCD -> IECAT


class _FromDesign:
    def __repr__(self) -> str:
        return "FROM_DESIGN"


# The default of an argument the study design supplies: its reader is given this value when
# the rule leaves the argument out, and looks the argument up in ``Scope.design``.
FROM_DESIGN: Any = _FromDesign()


@dataclass(frozen=True)
class Scope:
    """What a rule may refer to while it is parsed: for messages and checks."""

    where: str  # "sdtm_specs/POMMAINT/sdtm/dm.yaml: DM.RFSTDTC"
    form: str  # the form whose rows the rule runs over
    form_columns: frozenset[str]
    forms: Mapping[str, frozenset[str]]  # every form of the study -> its columns
    known_vars: frozenset[str]
    codelist: Codelist | None = None  # the target variable's codelist, if any
    with_dm: bool = False  # DM is built already: {dm: VAR} may be used
    design: Design | None = None  # the study's trial design, if study.yaml declares one

    def fail(self, message: str) -> SpecError:
        return SpecError(f"{self.where}: {message}")

    def in_form(self, form: str) -> Scope:
        if form not in self.forms:
            raise self.fail(f"unknown form {form!r} (forms: {', '.join(sorted(self.forms))})")
        return replace(self, form=form, form_columns=self.forms[form], known_vars=frozenset())


class Codelist(Protocol):
    """What the algorithms need of a controlled-terminology codelist."""

    code: str
    extensible: bool

    def lookup(self, value: str) -> object | None: ...


class MaskedVars(Mapping[str, pd.Series]):
    """The variables derived so far, on the rows of `mask` only: each one taken when a rule
    first reads it (a condition's branch reads few of the dataset's variables, and taking
    every one for every branch cost LB a tenth of its mapping)."""

    def __init__(self, of: Mapping[str, pd.Series], mask: pd.Series) -> None:
        self._of, self._mask = of, mask
        self._taken: dict[str, pd.Series] = {}

    def __getitem__(self, name: str) -> pd.Series:
        values = self._taken.get(name)
        if values is None:
            values = self._taken[name] = self._of[name][self._mask]
        return values

    def __iter__(self) -> Iterator[str]:
        return iter(self._of)

    def __len__(self) -> int:
        return len(self._of)


@dataclass
class Context:
    """The rows a rule runs over, and what it may consult."""

    frame: pd.DataFrame  # raw form rows (text), with __ROW
    form: str
    dataset: str
    column: str  # the target variable, for issue listings
    forms: Mapping[str, pd.DataFrame]
    vars: Mapping[str, pd.Series]  # the variables derived before, on these rows
    ct_map: Mapping[str, Mapping[str, str]]  # codelist code -> normalised raw -> value
    issues: IssueLog
    form_files: Mapping[str, str] = field(default_factory=dict)
    datasets: Mapping[str, pd.DataFrame] = field(default_factory=dict)  # built SDTM (DM)

    def subset(self, mask: pd.Series) -> Context:
        """The same context restricted to the rows where `mask` holds."""
        return replace(self, frame=self.frame[mask], vars=MaskedVars(self.vars, mask))

    def report(
        self, mask: pd.Series, values: pd.Series, rule: str, message: str, severity: str = "error"
    ) -> None:
        self.issues.add(
            self.frame,
            mask,
            severity=severity,
            dataset=self.dataset,
            form=self.form_files.get(self.form, self.form),
            column=self.column,
            values=values,
            rule=rule,
            message=message,
        )


class Rule(Protocol):
    def evaluate(self, ctx: Context) -> pd.Series: ...


# --- helpers the families share ------------------------------------------------------------


def normalise(values: pd.Series) -> pd.Series:
    """Raw text compared loosely: trimmed, inner blanks collapsed, case-folded."""
    return dates.by_unique(
        values.astype("string"),
        lambda v: v.str.strip().str.replace(r"\s+", " ", regex=True).str.casefold(),
    )


@cache
def normalised_texts(texts: tuple[str, ...]) -> tuple[str, ...]:
    """:func:`normalise` of a spec's texts (planned visit names, unscheduled ones), all at
    once and remembered: every dataset with VISIT or EPOCH reads the same study design."""
    return tuple(normalise(pd.Series(list(texts), dtype="string")).tolist())


def trimmed(values: pd.Series) -> pd.Series:
    """Values as trimmed text, an empty text as null."""
    out = values.astype("string").str.strip()
    return out.mask(out == "")


def extract(values: pd.Series, pattern: str) -> pd.DataFrame:
    """The groups `pattern` captures in each value (a frame, one column per group)."""
    return values.str.extract(pattern)


def complete_day(iso: pd.Series) -> pd.Series:
    """The calendar day of each complete ISO date (datetime64); NaT for a partial or
    missing one."""
    text = iso.astype("string")
    return pd.to_datetime(
        text.str.slice(0, 10).where(dates.is_complete_date(text)), format="%Y-%m-%d"
    )


def nodes(rule: object, *, skip: tuple[type, ...] = ()) -> Iterator[object]:
    """Every rule in a parsed rule, itself first (frozen dataclasses, nested directly or in
    tuples); the arguments of a rule of a type in ``skip`` are not walked."""
    if isinstance(rule, tuple | list):
        for item in rule:
            yield from nodes(item, skip=skip)
    elif dataclasses.is_dataclass(rule) and not isinstance(rule, type):
        yield rule
        if not isinstance(rule, skip):
            for f in dataclasses.fields(rule):
                yield from nodes(getattr(rule, f.name), skip=skip)


# --- declaring and reading arguments -------------------------------------------------------


@dataclass(frozen=True)
class Parsing:
    """One algorithm being read from a spec: what a reader may consult."""

    name: str  # the algorithm's spec keyword, for messages
    scope: Scope
    so_far: Mapping[str, Any]  # the arguments read before this one, by field name
    key: str = ""  # the keyword of the argument being read

    def fail(self, message: str) -> SpecError:
        """A spec error about this algorithm ("<name>: <message>")."""
        return self.scope.fail(f"{self.name}: {message}")


Reader = Callable[[Any, Parsing], Any]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Arg:
    """An argument of an algorithm, declared on its dataclass field as
    ``Annotated[<type>, Arg(read, key=..., default=...)]``: how the spec value is read into
    the field (by default as a nested rule), its spec keyword (by default the field's name)
    and its default (REQUIRED: none; None: the field is None when the spec leaves it out;
    any other default is read as if the spec wrote it).

    For :func:`reads`: `names` says what a plain (not rule) argument names (COLUMN, FORM or
    KEYS); `other_form` that a rule or condition argument runs over the rows of the form
    the FORM argument names rather than the rule's own."""

    read: Reader | None = None
    key: str = ""
    default: Any = REQUIRED
    names: str = ""
    other_form: bool = False


def arguments(cls: type) -> dict[str, Arg]:
    """An algorithm's arguments in field order: field name -> declaration, its keyword and
    reader filled in."""
    hints = typing.get_type_hints(cls, include_extras=True)
    out = {}
    for f in dataclasses.fields(cls):
        for a in getattr(hints[f.name], "__metadata__", ()):
            if isinstance(a, Arg):
                out[f.name] = replace(a, read=a.read or rule, key=a.key or f.name)
    return out


@dataclass(frozen=True)
class Registered:
    """An algorithm of the registry: its class and arguments."""

    name: str
    cls: type
    args: Mapping[str, Arg]
    check: Callable[[Any, Parsing], None] | None

    def parse(self, raw: Mapping[str, Any], scope: Scope) -> Rule:
        keys = set(raw) - {"algorithm"}
        required = {a.key for a in self.args.values() if a.default is REQUIRED}
        allowed = {a.key for a in self.args.values()}
        if missing := required - keys:
            raise scope.fail(f"{self.name}: missing argument(s) {sorted(missing)}")
        if unknown := keys - allowed:
            raise scope.fail(
                f"{self.name}: unknown argument(s) {sorted(unknown)}; allowed {sorted(allowed)}"
            )
        values: dict[str, Any] = {}
        for name, declared in self.args.items():
            parsing = Parsing(self.name, scope, values, declared.key)
            read = cast(Reader, declared.read)
            if declared.key in raw:
                values[name] = read(raw[declared.key], parsing)
            elif declared.default is None:
                values[name] = None
            else:
                values[name] = read(declared.default, parsing)
        built = self.cls(**values)
        if self.check is not None:
            self.check(built, Parsing(self.name, scope, values))
        return built


ALGORITHMS: dict[str, Registered] = {}  # spec keyword of `algorithm:` -> algorithm
SHORTHANDS: dict[str, Registered] = {}  # key of a shorthand rule ({column: X}) -> algorithm
BY_CLASS: dict[type, Registered] = {}  # the algorithm of a parsed rule, by its class

T = TypeVar("T", bound=type)


def algorithm(name: str, *, shorthand: str | None = None) -> Callable[[T], T]:
    """Register a dataclass as the algorithm `name` of the specs (``algorithm: name``),
    and with `shorthand` also as the rule a mapping with that key stands for
    (``{value: X}``). A ``check(self, parsing)`` method, if the class has one, runs on the
    built object."""
    return partial(_register, name=name, keyword=True, shorthand=shorthand)


def shorthand(name: str) -> Callable[[T], T]:
    """Register a dataclass as the rule a mapping with the key `name` stands for
    (``{column: X}``); it has no ``algorithm:`` keyword."""
    return partial(_register, name=name, keyword=False, shorthand=name)


def _register(cls: T, name: str, keyword: bool, shorthand: str | None) -> T:
    entry = Registered(name, cls, arguments(cls), getattr(cls, "check", None))
    tables = [(ALGORITHMS, name)] if keyword else []
    tables += [(SHORTHANDS, shorthand)] if shorthand is not None else []
    for table, key in tables:
        if key in table:
            raise ValueError(f"algorithm {key!r} registered twice")
        table[key] = entry
    BY_CLASS[cls] = entry
    return cls


def registered() -> dict[str, Registered]:
    """Every algorithm by name, shorthands included (``column``, ``var``, ``dm``, ...)."""
    return {r.name: r for r in (*ALGORITHMS.values(), *SHORTHANDS.values())}


def parse_rule(raw: Any, scope: Scope) -> Rule:
    """Parse one rule (or shorthand) of a spec into an algorithm object."""
    if not isinstance(raw, Mapping):
        raise scope.fail(f"a rule must be a mapping, not {raw!r}")
    if "algorithm" not in raw:
        for key, entry in SHORTHANDS.items():
            if key in raw:
                return entry.parse(raw, scope)
        shorthands = "/".join(sorted(SHORTHANDS))
        raise scope.fail(f"a rule needs 'algorithm' (or {shorthands}): {dict(raw)}")
    name = raw["algorithm"]
    if name not in ALGORITHMS:
        raise scope.fail(f"unknown algorithm {name!r}; known: {', '.join(sorted(ALGORITHMS))}")
    return ALGORITHMS[name].parse(raw, scope)


# --- readers: how a spec value becomes a field ---------------------------------------------


def rule(value: Any, p: Parsing) -> Rule:
    """A nested rule."""
    return parse_rule(value, p.scope)


def rules(value: Any, p: Parsing) -> tuple[Rule, ...]:
    """A list of nested rules."""
    return tuple(parse_rule(v, p.scope) for v in value)


def text(value: Any, p: Parsing) -> str:
    return str(value)


def texts(value: Any, p: Parsing) -> tuple[str, ...]:
    return tuple(str(v) for v in value)


def flag(value: Any, p: Parsing) -> bool:
    return bool(value)


def whole(value: Any, p: Parsing) -> int:
    """A whole number."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise p.fail(f"{p.key} must be a whole number")
    return value


def choice(*choices: str) -> Reader:
    """One of a few words (``pick: min``)."""

    def read(value: Any, p: Parsing) -> str:
        if value not in choices:
            words = f"{', '.join(choices[:-1])} or {choices[-1]}"
            raise p.fail(f"{p.key} must be {words}")
        return str(value)

    read.__name__ = f"choice{choices}"
    return read


# --- what a rule reads ---------------------------------------------------------------------

# What a plain argument names (``Arg(names=...)``): a raw column of the form the rule runs
# over; another form (the ``other_form`` arguments run over its rows); raw columns of both
# forms that join them.
COLUMN, FORM, KEYS = "column", "form", "keys"

# How a raw column is read: its value reaches the target; it is the key the target's value
# is looked up by (a join, the subject of {dm: X}); or it only decides (a condition: which
# records, which case), its value reaching nothing.
VALUE, KEY, CONDITION = "value", "key", "condition"


@dataclass(frozen=True)
class Read:
    """One raw column a rule reads, and how."""

    form: str
    column: str
    how: str  # VALUE | KEY | CONDITION


def reads(node: Any, form: str, how: str = VALUE) -> set[Read]:
    """The raw columns a parsed rule (or condition, or a tuple of them) reads when it runs
    over the rows of `form`, walked through the algorithms' declared arguments. Inside a
    condition every read is a CONDITION; a key read in a CONDITION stays one."""
    found: set[Read] = set()
    if isinstance(node, Condition):
        for leaf in leaves(node):
            for subject in (leaf.subject, leaf.other):
                found |= reads(subject, form, CONDITION)
    elif isinstance(node, tuple | list):
        for item in node:
            found |= reads(item, form, how)
    elif type(node) in BY_CLASS:
        entry = BY_CLASS[type(node)]
        key = KEY if how == VALUE else how
        other = next((getattr(node, n) for n, a in entry.args.items() if a.names == FORM), form)
        for name, arg in entry.args.items():
            value = getattr(node, name)
            if arg.names == COLUMN:
                found.add(Read(form, value, how))
            elif arg.names == KEYS:
                found |= {Read(f, k, key) for k in value for f in (form, other)}
            elif arg.names != FORM:
                found |= reads(value, other if arg.other_form else form, how)
        implicit = getattr(node, "implicit_keys", None)
        found |= {Read(form, k, key) for k in (implicit() if implicit else ())}
    return found

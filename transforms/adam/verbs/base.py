"""What every verb of the ADaM vocabulary shares: the registry, the one way a verb declares
its arguments, the reading of a spec's ``derivations`` and the running of them.

A verb is a frozen dataclass registered with :func:`verb`; each of its spec arguments is a
field declared ``Annotated[<type>, Arg(read, default)]`` (its spec keyword is the field's
name, a trailing underscore dropped: ``from_`` is ``from``). :func:`parse_steps` checks a
step's keys against those declarations and reads each argument; a verb's ``run`` takes the
dataset built so far and returns it with what the verb derives; ``describe`` says in words
what it derived, per variable (the Define-XML method text).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

import pandas as pd

from transforms import conditions
from transforms.conditions import Condition
from transforms.errors import SpecError


@dataclass(frozen=True)
class Where:
    """Where a step stands in its spec, for messages:
    ``<file>: <dataset>.<variable>: derivations[<n>] <verb>: <argument>: ...``."""

    file: str
    dataset: str
    verb: str = ""
    variable: str = ""
    arg: str = ""
    step: str = ""  # "derivations[2]"

    def at(self, **changes: str) -> Where:
        return dataclasses.replace(self, **changes)

    def __str__(self) -> str:
        target = f"{self.dataset}.{self.variable}" if self.variable else self.dataset
        parts = [p for p in (f"{self.step} {self.verb}".strip(), self.arg) if p]
        return ": ".join([self.file, target, *parts])

    def fail(self, message: str) -> SpecError:
        return SpecError(f"{self}: {message}")


Reader = Callable[[Any, Where], Any]


REQUIRED: Any = Ellipsis  # the default of an argument that has none


@dataclass(frozen=True)
class Arg:
    """An argument of a verb: how its spec value is read, its default (REQUIRED: none;
    any other default is used as it is when the spec leaves the argument out)."""

    read: Reader
    default: Any = REQUIRED


@dataclass
class Inputs:
    """The datasets a derivation may read: the published SDTM and the ADaM built so far."""

    sdtm: Mapping[str, pd.DataFrame]
    adam: Mapping[str, pd.DataFrame]
    reports: dict[str, pd.DataFrame] = field(default_factory=dict)  # listings to write

    def listing(self, name: str, frame: pd.DataFrame) -> None:
        """A listing a step makes (reports/<name>_<dataset>.csv): after what the earlier
        groups of subjects listed (:mod:`transforms.adam.chunks`; a step lists by subject,
        and the groups come in USUBJID order)."""
        earlier = self.reports.get(name)
        both = frame if earlier is None else pd.concat([earlier, frame], ignore_index=True)
        self.reports[name] = both

    def dataset(self, name: str, where: Where) -> pd.DataFrame:
        for tables in (self.adam, self.sdtm):
            if name in tables:
                return tables[name]
        raise where.fail(f"unknown dataset {name!r} (not built, not in the SDTM run)")

    def subset(
        self, name: str, where: Where, columns: typing.Iterable[str], cond: Condition | None
    ) -> pd.DataFrame:
        """Of a dataset, those of `columns` it has, of the rows where `cond` holds (over its
        own variables), indexed by their positions in it: from its file only those columns
        and rows when it is not in memory (a step that wants three tests of LB does not
        hold LB), else from the frame."""
        tables = self.adam if name in self.adam else self.sdtm
        if not isinstance(tables, Readable) or name not in tables:
            frame = self.dataset(name, where)
            return frame.loc[mask(cond, frame), [c for c in dict.fromkeys(columns) if c in frame]]
        have = tables.columns(name)
        wanted = [c for c in dict.fromkeys(columns) if c in have]
        if cond is None:
            return tables.read_columns(name, wanted)
        tested = tables.read_columns(name, [c for c in have if c in conditions.subjects(cond)])
        keep = mask(cond, tested).to_numpy(dtype=bool)
        del tested
        return tables.read_rows(name, keep, wanted)


@typing.runtime_checkable
class Readable(Protocol):
    """Tables read from their files a part at a time (transforms.jobs.kit.TableReader)."""

    def columns(self, name: str) -> list[str]: ...

    def read_columns(self, name: str, columns: list[str]) -> pd.DataFrame: ...

    def read_rows(self, name: str, keep: Any, columns: list[str] | None = None) -> pd.DataFrame: ...


class Verb:
    """A step of a derivation. Subclasses are frozen dataclasses registered with
    :func:`verb`; ``where`` is set by the parser."""

    name: ClassVar[str] = ""
    where: Where

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        raise NotImplementedError

    @property
    def per_subject(self) -> bool:
        """Whether what the verb derives for a record depends on its own subject's records
        only (of the dataset and of the datasets it reads): a dataset whose every step is
        may be derived a group of whole subjects at a time (:mod:`transforms.adam.chunks`).
        A verb that looks across subjects (a group or a key without USUBJID, a numbering
        over the dataset) is not; none is unless it says so."""
        return False

    @property
    def records_from(self) -> tuple[str, ...]:
        """The datasets whose records (a subject's) the records the verb adds are made of;
        none when it adds none, or adds them from the dataset's own records only. A dataset
        derived a group of subjects at a time (:mod:`transforms.adam.chunks`) sizes its
        groups by these datasets' rows, and every subject of theirs falls in a group."""
        return ()

    def describe(self) -> dict[str, str]:
        """Per variable it derives, the derivation in words."""
        raise NotImplementedError

    def describe_after(self, earlier: Mapping[str, str]) -> dict[str, str]:
        """:meth:`describe`, given what the steps before it derived (a verb that moves
        values into another variable says how they were derived)."""
        return self.describe()

    def need(
        self,
        frame: pd.DataFrame,
        names: typing.Iterable[str | None],
        arg: str,
        dataset: str = "the dataset",
    ) -> None:
        """A SpecError naming the argument when the frame lacks a variable it names."""
        missing = [n for n in names if n is not None and n not in frame.columns]
        if missing:
            raise self.where.at(arg=arg).fail(f"unknown variable(s) {missing} in {dataset}")


class Step(Protocol):
    where: Where

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame: ...
    def describe(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class Registered:
    name: str
    cls: type[Verb]
    args: Mapping[str, tuple[str, Arg]]  # spec keyword -> (field name, declaration)


_REGISTRY: dict[str, Registered] = {}
V = TypeVar("V", bound=type[Verb])


def verb(name: str) -> Callable[[V], V]:
    """Register a verb class under its spec name."""

    def register(cls: V) -> V:
        hints = typing.get_type_hints(cls, include_extras=True)
        args = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]  # a dataclass Verb
            for a in getattr(hints[f.name], "__metadata__", ()):
                if isinstance(a, Arg):
                    args[f.name.rstrip("_")] = (f.name, a)
        if name in _REGISTRY:
            raise ValueError(f"verb {name} registered twice")
        cls.name = name
        _REGISTRY[name] = Registered(name, cls, args)
        return cls

    return register


def registered() -> dict[str, Registered]:
    """Every verb registered so far by spec name (``transforms.adam.vocabulary`` imports
    every module that registers one)."""
    return dict(_REGISTRY)


def parse_step(raw: Any, where: Where) -> Verb:
    """One step ``{verb: <name>, <argument>: ...}`` read against its verb's declarations."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("verb"), str):
        raise where.fail(f"a step is a mapping with a verb, not {raw!r}")
    verbs = registered()
    name = raw["verb"]
    variable = raw.get("var")
    here = where.at(verb=name, variable=variable if isinstance(variable, str) else "")
    if name not in verbs:
        raise here.fail(f"unknown verb (verbs: {', '.join(sorted(verbs))})")
    entry = verbs[name]
    keys = set(raw) - {"verb"}
    required = {k for k, (_, a) in entry.args.items() if a.default is REQUIRED}
    if unknown := sorted(keys - set(entry.args)):
        raise here.fail(f"unknown argument(s) {unknown}; allowed: {sorted(entry.args)}")
    if missing := sorted(required - keys):
        raise here.fail(f"missing argument(s) {missing}")
    values = {}
    for key, (fname, a) in entry.args.items():
        values[fname] = a.read(raw[key], here.at(arg=key)) if key in raw else a.default
    step = entry.cls(**values)
    object.__setattr__(step, "where", here)
    check = getattr(step, "check", None)
    if check is not None:
        check()
    return step


def parse_steps(raw: Any, where: Where) -> tuple[Verb, ...]:
    if not isinstance(raw, list) or not raw:
        raise where.fail("derivations must be a non-empty list of steps")
    return tuple(parse_step(s, where.at(step=f"derivations[{i}]")) for i, s in enumerate(raw))


def run_steps(steps: typing.Iterable[Step], data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
    for step in steps:
        data = step.run(data, inputs)
    return data


# --- readers ---------------------------------------------------------------------------------


def text(raw: Any, where: Where) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise where.fail(f"expected non-empty text, not {raw!r}")
    return raw


def name(raw: Any, where: Where) -> str:
    value = text(raw, where)
    if not value.replace("_", "A").isalnum() or not value[0].isalpha() or len(value) > 8:
        raise where.fail(f"{value!r} is not a variable name (A-Z, 0-9, _, at most 8)")
    return value


def names(raw: Any, where: Where) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    return tuple(name(v, where) for v in items)


def integer(raw: Any, where: Where) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise where.fail(f"expected a whole number, not {raw!r}")
    return raw


def boolean(raw: Any, where: Where) -> bool:
    if not isinstance(raw, bool):
        raise where.fail(f"expected true or false, not {raw!r}")
    return raw


def value(raw: Any, where: Where) -> str | int | float | None:
    if raw is not None and (isinstance(raw, bool) or not isinstance(raw, str | int | float)):
        raise where.fail(f"expected text or a number (quote yes/no), not {raw!r}")
    return raw


def values(raw: Any, where: Where) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise where.fail(f"expected a non-empty list, not {raw!r}")
    return tuple(str(value(v, where)) for v in raw)


def condition(raw: Any, where: Where) -> Condition:
    """A condition of the one language over the dataset's variables (``{var: X, ...}``)."""
    return conditions.parse(raw, str(where), conditions.named("var"))


def choice(*options: str) -> Reader:
    def read(raw: Any, where: Where) -> str:
        if raw not in options:
            raise where.fail(f"must be one of {list(options)}, not {raw!r}")
        return str(raw)

    return read


def mask(cond: Condition | None, frame: pd.DataFrame) -> pd.Series:
    """Where the condition holds over the frame (all rows without one); a variable the
    frame lacks is an error naming the spec entry the condition was parsed at."""
    if cond is None:
        return pd.Series(True, index=frame.index)
    return conditions.frame_mask(cond, frame)


def by_subject(by: typing.Iterable[str]) -> bool:
    """Whether groups by `by` are within a subject (USUBJID among them): a verb by them is
    :attr:`Verb.per_subject`."""
    return "USUBJID" in by


def words(cond: Condition) -> str:
    return conditions.describe(cond, str)


def yes(hit: pd.Series) -> pd.Series:
    """ "Y" where `hit` holds, else null."""
    return pd.Series(pd.NA, index=hit.index, dtype="string").mask(hit.fillna(False), "Y")

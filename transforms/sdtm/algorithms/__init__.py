"""The mapping vocabulary: small reusable algorithms named in the specs, implemented once.

A rule in a spec is a mapping with an ``algorithm`` key, or one of four shorthands:
``{column: X}`` (a raw column of the current form), ``{var: X}`` (a variable already
derived in this dataset), ``{value: X}`` (a constant) and ``{dm: X}`` (the subject's DM
variable). Rules nest: wherever an algorithm takes a source, any rule may stand. Every
algorithm works on whole columns at once.

Each algorithm is parsed once when the spec is loaded (unknown algorithms, unknown or
missing arguments, unknown raw columns and codelist values are spec errors naming the
file and entry) and evaluated per run against a :class:`Context`. The algorithms live by
family (sources, terms, dates, numbers and units, visits and epochs, records, cases,
joins); :mod:`.base` holds what they share, the registry and the argument declarations.
"""

from transforms.sdtm.algorithms.base import (
    ALGORITHMS,
    CONDITION,
    KEY,
    SHORTHANDS,
    VALUE,
    Codelist,
    Context,
    Design,
    Read,
    Rule,
    Scope,
    SpecError,
    nodes,
    normalise,
    parse_rule,
    reads,
    registered,
)
from transforms.sdtm.algorithms.cases import Case, holds, parse_condition
from transforms.sdtm.algorithms.iso_dates import (
    DateAdd,
    Iso8601,
    LastBefore,
    StudyDay,
    to_iso8601,
)
from transforms.sdtm.algorithms.joins import (
    PARTICIPATION_DATES,
    Aggregate,
    DmValue,
    Merge,
    ParticipationEnd,
    latest_dates,
    raise_to,
)
from transforms.sdtm.algorithms.numbers_units import NormalRange, Number, Standardise, Units
from transforms.sdtm.algorithms.records import Coalesce, Concat, Extract, Extreme, Seq
from transforms.sdtm.algorithms.sources import Column, Hardcode, Var
from transforms.sdtm.algorithms.terms import ControlledTerm, CountryIso3, Decode, Recode, TermCode
from transforms.sdtm.algorithms.visits_epochs import Epoch, Visit

__all__ = [
    "ALGORITHMS",
    "CONDITION",
    "KEY",
    "PARTICIPATION_DATES",
    "SHORTHANDS",
    "VALUE",
    "Aggregate",
    "Case",
    "Coalesce",
    "Codelist",
    "Column",
    "Concat",
    "Context",
    "ControlledTerm",
    "CountryIso3",
    "DateAdd",
    "Decode",
    "Design",
    "DmValue",
    "Epoch",
    "Extract",
    "Extreme",
    "Hardcode",
    "Iso8601",
    "LastBefore",
    "Merge",
    "NormalRange",
    "Number",
    "ParticipationEnd",
    "Read",
    "Recode",
    "Rule",
    "Scope",
    "Seq",
    "SpecError",
    "Standardise",
    "StudyDay",
    "TermCode",
    "Units",
    "Var",
    "Visit",
    "holds",
    "latest_dates",
    "nodes",
    "normalise",
    "parse_condition",
    "parse_rule",
    "raise_to",
    "reads",
    "registered",
    "to_iso8601",
]

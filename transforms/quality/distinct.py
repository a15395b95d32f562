"""Validate a frame's record-wise checks on one record per distinct combination of the
values they read, and list every record that holds a failing combination.

A check that reads the record alone (:attr:`Check.across_records` false: a value in a set,
a pattern, a range, not null, two columns compared, ...) has the same outcome on every
record that meets its condition with the same values in the columns its arguments name,
and no outcome on a record that does not meet it. So Great Expectations needs to see each
such combination once: the first record of each, for every check, validated together as
one frame of real records (``<name>.distinct-records`` in the Data Docs, whose counts are
of those records). A failing combination is then every record of the frame that holds it.
LB's results repeat their test codes, units, dates and flags across thousands of records:
at 2,000 subjects a piece of LB keeps a small share of its rows, and GX's per-row work
(``isin``, regular expressions, ranges, row conditions) shrinks with it.

The other checks (keys, ``mostly``, statistics of a column) read other records: they run
on the whole frame (``<name>.all-records``), as does a check of a column the frame lacks
(GX reports it). When fewer than :data:`LEAVES_OUT` records
can be left out, the frame is validated once, as ``<name>``: a second validation costs
about 20 ms of GX's bookkeeping, results store and Data Docs pages, more than GX's per-row
work on a thousand records (a few µs each; measured with ``benchmarks/gx_parts.py`` on the
40- and 2,000-subject samples).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from transforms.conditions import Condition, subjects
from transforms.quality.checks import Check, Suite
from transforms.quality.engine import Outcome, Session, rows_meeting
from transforms.uniques import KnownCodes, first_rows, row_codes

LEAVES_OUT = 1000
"""The fewest records the distinct records must leave out to be validated apart."""


def outcome_codes(frame: pd.DataFrame, check: Check, known: KnownCodes,
                  met: dict[Condition, np.ndarray]) -> np.ndarray:  # fmt: skip
    """A code per record of `frame`, equal where the check must have the same outcome: the
    same values in the columns its arguments name, among the records that meet its
    condition (as GX selects them: :func:`rows_meeting`); every record that does not meet
    it has code 0 (GX does not check those). `known` and `met` keep the codes of
    each set of columns and each condition's records for the next call."""
    codes = row_codes(frame, check.arguments, known) + 1
    if check.where is None:
        return codes
    if check.where not in met:
        met[check.where] = meeting(frame, check.where, known)
    return np.where(met[check.where], codes, 0)


def meeting(frame: pd.DataFrame, where: Condition, known: KnownCodes) -> np.ndarray:
    """:func:`rows_meeting` of `frame`, asked of one record per distinct combination of the
    condition's columns (GX's query reads those alone) and spread back."""
    columns = sorted(c for c in subjects(where) if isinstance(c, str))
    codes = row_codes(frame, columns, known)
    firsts = first_rows(codes)
    meets = np.zeros(int(codes.max(initial=-1)) + 1, dtype=bool)
    meets[codes[firsts]] = rows_meeting(frame[columns].take(firsts).reset_index(drop=True), where)
    return meets[codes]


def validate_by_distinct_records(
    session: Session,
    suite: Suite,
    frame: pd.DataFrame,
    parameters: Mapping[str, Any],
    checks: Sequence[int],
    name: str,
) -> dict[int, Outcome]:
    """The outcome of each of `checks` (indexes into the suite) on `frame` (indexed 0, 1,
    ...), as :meth:`Session.validate` gives it, with the record-wise checks validated on
    the distinct records only (see the module's text); failing rows are positions in
    `frame`."""
    # a check reading a column the frame lacks is GX's to report ("could not be evaluated")
    wise = [i for i in checks if not suite.checks[i].across_records
            and suite.checks[i].columns <= set(frame.columns)]  # fmt: skip
    apart = set(wise)
    rest = [i for i in checks if i not in apart]
    known: KnownCodes = {}
    met: dict[Condition, np.ndarray] = {}
    codes: dict[tuple[frozenset[str], Condition | None], np.ndarray] = {}
    for i in wise:
        check = suite.checks[i]
        if (check.arguments, check.where) not in codes:
            codes[check.arguments, check.where] = outcome_codes(frame, check, known, met)
    keep = np.zeros(len(frame), dtype=bool)
    for code in codes.values():
        keep[first_rows(code)] = True
    records = np.flatnonzero(keep)
    if len(frame) - len(records) < LEAVES_OUT:
        return session.validate(suite, frame, parameters, checks, name)
    distinct = frame.take(records).reset_index(drop=True)
    outcomes = session.validate(suite, distinct, parameters, wise, f"{name}.distinct-records")
    del distinct
    for i, outcome in list(outcomes.items()):
        if len(outcome.positions):
            code = codes[suite.checks[i].arguments, suite.checks[i].where]
            failing = np.zeros(int(code.max()) + 1, dtype=bool)
            failing[code[records[outcome.positions]]] = True
            outcomes[i] = replace(outcome, positions=np.flatnonzero(failing[code]))
    if rest:
        outcomes |= session.validate(suite, frame, parameters, rest, f"{name}.all-records")
    return {i: outcomes[i] for i in sorted(outcomes)}

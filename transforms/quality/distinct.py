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

The distinct records hold only the columns those checks read. The other checks (keys,
``mostly``, statistics of a column) read other records: they run on the whole frame
(``<name>.all-records``), as do a check of a column the frame lacks (GX reports it) and one
of the table's columns (it reads their names). When fewer than :data:`LEAVES_OUT` records
can be left out, the frame is validated once, as ``<name>``: a second validation costs
about 20 ms of GX's bookkeeping, results store and Data Docs pages, more than GX's per-row
work on a thousand records (a few µs each; measured with ``benchmarks/gx_parts.py`` on the
40- and 2,000-subject samples).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from transforms.conditions import Condition, subjects
from transforms.quality.checks import COLUMN_SET, Check, Suite
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


Key = tuple[frozenset[str], Condition | None]
"""A record-wise check's arguments and condition: checks alike in both share their codes."""


@dataclass(frozen=True)
class Reduced:
    """A frame's checks split (:func:`reduce`): the record-wise ones (`wise`, validated on
    the distinct records: `records`, their positions in the frame, of the `columns` those
    checks read), the others (`rest`, validated on every record), and per record-wise
    check's :data:`Key` a code per record of the frame (`rows` records), equal where that
    check's outcome must be the same."""

    rows: int
    wise: tuple[int, ...]
    rest: tuple[int, ...]
    columns: tuple[str, ...]  # the columns the record-wise checks read, in the frame's order
    records: np.ndarray
    codes: dict[Key, np.ndarray]

    @property
    def apart(self) -> bool:
        """Whether the distinct records leave out enough records (:data:`LEAVES_OUT`) to be
        validated apart from the rest."""
        return bool(self.wise) and self.rows - len(self.records) >= LEAVES_OUT

    def spread(self, outcome: Outcome, failed: np.ndarray) -> Outcome:
        """A record-wise check's outcome on the frame, from the positions among the distinct
        records that failed it (`failed`): every record holding a failing combination."""
        if not len(failed):
            return outcome
        code = self.codes[outcome.check.arguments, outcome.check.where]
        failing = np.zeros(int(code.max()) + 1, dtype=bool)
        failing[code[self.records[failed]]] = True
        return replace(outcome, positions=np.flatnonzero(failing[code]))


def reduce(suite: Suite, frame: pd.DataFrame, checks: Sequence[int]) -> Reduced:
    """`checks` (indexes into the suite) of `frame` (indexed 0, 1, ...) split into the
    record-wise ones and the others, with the first record of each combination of values
    a record-wise check reads (see the module's text)."""
    # a check reading a column the frame lacks is GX's to report ("could not be evaluated");
    # one of the table's columns reads their names, not records: with the rest
    wise = [i for i in checks if not suite.checks[i].across_records
            and suite.checks[i].expectation not in COLUMN_SET
            and suite.checks[i].columns <= set(frame.columns)]  # fmt: skip
    apart = set(wise)
    read = set().union(*(suite.checks[i].columns for i in wise))
    known: KnownCodes = {}
    met: dict[Condition, np.ndarray] = {}
    codes: dict[Key, np.ndarray] = {}
    for i in wise:
        check = suite.checks[i]
        if (check.arguments, check.where) not in codes:
            code = outcome_codes(frame, check, known, met)
            codes[check.arguments, check.where] = code.astype(
                np.min_scalar_type(code.max(initial=0))
            )
    keep = np.zeros(len(frame), dtype=bool)
    for code in codes.values():
        keep[first_rows(code)] = True
    rest = tuple(i for i in checks if i not in apart)
    columns = tuple(c for c in frame.columns if c in read)
    return Reduced(len(frame), tuple(wise), rest, columns, np.flatnonzero(keep), codes)


def distinct_records(frame: pd.DataFrame, reduced: Reduced) -> pd.DataFrame:
    """The distinct records of `frame`, of the columns the record-wise checks read
    (indexed 0, 1, ...: the outcomes' positions)."""
    return frame.take(reduced.records)[list(reduced.columns)].reset_index(drop=True)


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
    reduced = reduce(suite, frame, checks)
    if not reduced.apart:
        return session.validate(suite, frame, parameters, checks, name)
    distinct = distinct_records(frame, reduced)
    outcomes = session.validate(suite, distinct, parameters, reduced.wise,
                                f"{name}.distinct-records")  # fmt: skip
    del distinct
    outcomes = {i: reduced.spread(o, o.positions) for i, o in outcomes.items()}
    if reduced.rest:
        outcomes |= session.validate(suite, frame, parameters, reduced.rest, f"{name}.all-records")
    return {i: outcomes[i] for i in sorted(outcomes)}


class DistinctBatch:
    """The distinct records of several pieces of one table (groups of subjects), validated
    together: one GX validation for as many pieces as the caller adds instead of one per
    piece. A validation costs GX's bookkeeping per expectation whatever its rows (~20 ms
    each: about a second for LB's 44 checks), and a piece of LB keeps a ninth of its
    records or fewer: at 10,000 subjects the SDTM gate's 26 groups of LB are 4 validations.
    Of each piece only its distinct records and their codes are kept (a few bytes per record
    of the piece); the outcomes come back per piece, failing rows as positions in that
    piece, as a validation of the piece alone gives them."""

    def __init__(self, session: Session, suite: Suite, parameters: Mapping[str, Any]) -> None:
        self.session, self.suite, self.parameters = session, suite, parameters
        self._frames: list[pd.DataFrame] = []
        self._pieces: list[tuple[int, Reduced]] = []
        self.rows = 0

    def add(self, piece: int, frame: pd.DataFrame, reduced: Reduced) -> None:
        """Keep the distinct records of `frame` (a piece of the table, numbered `piece`) for
        its record-wise checks (``reduced.wise``, the same for every piece)."""
        if self._pieces and reduced.wise != self._pieces[0][1].wise:
            raise ValueError("every piece of a batch must have the same record-wise checks")
        self._frames.append(distinct_records(frame, reduced))
        self._pieces.append((piece, reduced))
        self.rows += len(reduced.records)

    @property
    def pieces(self) -> list[int]:
        """The pieces kept, in the order added."""
        return [piece for piece, _ in self._pieces]

    def validate(self, name: str) -> list[tuple[int, dict[int, Outcome]]]:
        """Validate the records kept as `name`, then let go of them: per piece, in the
        order added, its record-wise checks' outcomes (a check failed only in other pieces
        has passed in this one)."""
        if not self._pieces:
            return []
        frame = pd.concat(self._frames, ignore_index=True)
        pieces, self._frames, self._pieces, self.rows = self._pieces, [], [], 0
        wise = pieces[0][1].wise
        outcomes = self.session.validate(self.suite, frame, self.parameters, wise, name)
        del frame
        ends = np.cumsum([len(reduced.records) for _, reduced in pieces])
        out = []
        for (piece, reduced), end in zip(pieces, ends, strict=True):
            start = end - len(reduced.records)
            mine = {}
            for i, o in outcomes.items():
                at = o.positions[(o.positions >= start) & (o.positions < end)] - start
                if len(o.positions) and not len(at):  # its failing rows are elsewhere
                    mine[i] = replace(o, success=True, positions=at, details="")
                else:
                    mine[i] = reduced.spread(o, at)
            out.append((piece, mine))
        return out

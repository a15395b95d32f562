"""A large dataset mapped a group of subjects at a time (issue 22: memory bounded by design).

A dataset sorted by subject first (STUDYID, USUBJID, ...) whose every record depends only on
its own subject's raw rows (and on DM and the other datasets built before) is mapped one
group of subjects at a time, the groups in USUBJID order: each group's records are then the
next records of one mapping of all subjects, their --SEQ (numbered per subject) and their
natural key checks (the keys hold USUBJID) the same. What such a dataset may use is checked
on its parsed rules (:func:`per_subject`): a rule that looks across subjects (a ``merge`` on
other keys, a ``last_before`` or --SEQ not per subject, one record per distinct value not
per subject) keeps the dataset in one group, as does a dataset of trial design tables or of
rows written in its spec.

A record's subject is its USUBJID, as the dataset's rule of it gives it from the row alone
(``{dm: USUBJID}``, DM's record of the row's SUBJID; or text made of raw columns, such as
``01-<PATNUM>``): a group holds every row of its subjects, and the rows of no subject (not
in DM: no USUBJID, sorted last) all fall in the last group. The groups hold about as many
raw rows as the caller asks (whole subjects: a subject is never split).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol, cast

import numpy as np
import pandas as pd

from transforms.issues import IssueLog
from transforms.sdtm.algorithms import (
    Column,
    Concat,
    Context,
    DmValue,
    Extract,
    Hardcode,
    LastBefore,
    Merge,
    Rule,
    Seq,
    Var,
    Visit,
    nodes,
    reads,
)
from transforms.sdtm.algorithms.base import BY_CLASS, trimmed
from transforms.specs import STUDY_FORM, DatasetSpec, StudySpec
from transforms.studies import REFERENCE_DATASET

SUBJECT = "SUBJID"  # the raw column naming a record's subject, which DM is joined on


class Tables(Protocol):
    """The run's raw forms as the mapping reads them (transforms.jobs.kit.TableReader)."""

    def __getitem__(self, name: str) -> pd.DataFrame: ...

    def __contains__(self, name: object) -> bool: ...

    def __iter__(self) -> Iterator[str]: ...

    def __len__(self) -> int: ...

    def read_columns(self, name: str, columns: list[str]) -> pd.DataFrame: ...

    def column_frames(self, name: str, columns: list[str]) -> Iterator[pd.DataFrame]: ...

    def columns(self, name: str) -> list[str]: ...

    def read_rows(
        self, name: str, keep: np.ndarray, columns: list[str] | None = None
    ) -> pd.DataFrame: ...

    def read_positions(
        self, name: str, positions: np.ndarray, columns: list[str] | None = None
    ) -> pd.DataFrame: ...


def _subject_rule(spec: DatasetSpec) -> Rule | None:
    """The one rule of USUBJID of every block, if it reads the row's own raw columns only
    (``{dm: USUBJID}`` joined on SUBJID, or text made of raw columns: ``01-<PATNUM>``)."""
    rules = {block.rules.get("USUBJID") for block in spec.blocks}
    rule = rules.pop() if len(rules) == 1 else None
    if isinstance(rule, DmValue):
        return rule if rule.name == "USUBJID" and not rule.by else None
    kinds = (Column, Hardcode, Concat, Extract)
    return rule if rule is not None and all(isinstance(n, kinds) for n in nodes(rule)) else None


def _per_subject_rule(node: object, key: frozenset[str]) -> bool:
    """Whether a rule (one node of a parsed rule) gives each row a value from its own
    subject's rows: every algorithm does but those that look at other rows. `key`: the raw
    columns the row's USUBJID is made from (SUBJID, PATNUM)."""
    if isinstance(node, Seq):
        return "USUBJID" in node.by
    if isinstance(node, LastBefore):  # the last record per group: a group of one subject
        return any(isinstance(b, Var) and b.name == "USUBJID" for b in node.by)
    if isinstance(node, Merge):  # joined on the subject, or the study's one row of facts
        return (bool(key) and key <= set(node.by)) or (node.form == STUDY_FORM and not node.by)
    if isinstance(node, Visit):  # unscheduled visits are numbered per SUBJID
        return not node.unscheduled or key == {SUBJECT}
    return True


def _forms_read(spec: DatasetSpec) -> set[str]:
    """The forms the dataset's rules read rows of: its blocks' and those merged in."""
    found = {b.source for b in spec.blocks}
    for block in spec.blocks:
        rules = (block.where, tuple(block.rules.values()), tuple(block.supplemental.values()))
        found |= {n.form for n in nodes(rules) if isinstance(n, Merge)}
    return found


def per_subject(spec: DatasetSpec, study: StudySpec) -> bool:
    """Whether the dataset may be mapped a group of subjects at a time (module doc)."""
    sort = list(spec.sort)
    if spec.name == REFERENCE_DATASET:  # one record a subject, read whole by every other
        return False
    if spec.rows or "USUBJID" not in spec.keys or "USUBJID" not in sort:
        return False
    if set(sort[: sort.index("USUBJID")]) - {"STUDYID"}:  # the study's one STUDYID first
        return False
    subject = _subject_rule(spec)
    if subject is None:
        return False
    if any(name not in study.forms for name in _forms_read(spec) - {STUDY_FORM}):
        return False  # a trial design table, or rows the spec writes
    for block in spec.blocks:
        key = frozenset(r.column for r in reads(subject, block.source))
        if block.distinct and not key <= set(block.distinct):  # a subject's first row
            return False
        rules = (block.where, tuple(block.rules.values()), tuple(block.supplemental.values()))
        if not all(_per_subject_rule(n, key) for n in nodes(rules) if type(n) in BY_CLASS):
            return False
    return True


def _subjects(
    rule: Rule, spec: DatasetSpec, study: StudySpec, forms: Tables, name: str,
    datasets: Mapping[str, pd.DataFrame],
) -> Iterator[Coded]:  # fmt: skip
    """The USUBJID of each row of form `name`, by the dataset's rule of it (null: none), a
    frame of rows at a time (LB's are millions)."""
    columns = sorted({r.column for r in reads(rule, name)})
    for frame in forms.column_frames(name, columns):
        ctx = Context(frame=frame, form=name, dataset=spec.name, column="USUBJID", forms={},
                      vars={}, ct_map=study.ct_map, issues=IssueLog(),
                      datasets=datasets)  # fmt: skip
        yield Coded.of(trimmed(rule.evaluate(ctx)))  # as written (its problems listed then)


@dataclass(frozen=True)
class Chunks:
    """The groups of subjects a dataset is mapped in: per form read, each row's group."""

    count: int
    groups: Mapping[str, np.ndarray]  # form -> group number of each of its rows

    def forms(self, forms: Tables) -> Iterator[Mapping[str, pd.DataFrame]]:
        """Each group's forms in turn: the rows of its subjects (indexed by their positions
        in the form), the other forms whole; one group: the forms as they are."""
        if self.count == 1:
            yield cast(Mapping[str, pd.DataFrame], forms)  # a TableReader: a Mapping
            return
        rows = GroupRows(self.groups)
        for number in range(self.count):
            yield SubjectRows(forms, rows, number)


def subject_chunks(
    spec: DatasetSpec,
    study: StudySpec,
    forms: Tables,
    datasets: Mapping[str, pd.DataFrame],
    rows: int,
) -> Chunks:
    """The groups of whole subjects, in USUBJID order, of about `rows` raw rows each (read
    by the dataset's rules) that the dataset is mapped in; one group when it may not be
    (:func:`per_subject`) or is small."""
    subject = _subject_rule(spec)
    if subject is None or REFERENCE_DATASET not in datasets or not per_subject(spec, study):
        return Chunks(1, {})
    names = sorted(_forms_read(spec) - {STUDY_FORM})
    return chunks_of({n: _subjects(subject, spec, study, forms, n, datasets) for n in names}, rows)


@dataclass(frozen=True)
class Coded:
    """The subjects of some rows of a table: a code per row (-1: none) into `subjects`,
    the distinct subjects' text (a subject's text once, not once per row of LB)."""

    codes: np.ndarray
    subjects: pd.Series

    @classmethod
    def of(cls, subjects: pd.Series) -> Coded:
        """The subject of each row (null: none), coded."""
        codes, distinct = pd.factorize(subjects.astype("string"), use_na_sentinel=True)
        return cls(codes, pd.Series(distinct, dtype="string"))

    def labels(self) -> pd.Index:
        """Code + 1 -> the subject, or UNKNOWN (code -1, or a null subject)."""
        return pd.Index([UNKNOWN, *self.subjects.fillna(UNKNOWN)])


def chunks_of(subjects: Mapping[str, Iterable[Coded]], rows: int) -> Chunks:
    """The groups of whole subjects (:func:`subject_groups`) of the tables whose rows'
    subjects are given (per table, its rows' subjects a piece at a time, in row order),
    with each table's rows' groups."""
    pieces = {name: [(p, p.labels()) for p in coded] for name, coded in subjects.items()}
    counts = [
        pd.Series(np.bincount(p.codes + 1, minlength=len(p.subjects) + 1), index=labels)
        for coded in pieces.values()
        for p, labels in coded
    ]
    numbers = groups_of_sizes((c[c > 0] for c in counts), rows)  # UNKNOWN: only if a row is
    if numbers is None:
        return Chunks(1, {})
    groups = {
        name: np.concatenate(
            [numbers.reindex(labels, fill_value=-1).to_numpy()[p.codes + 1] for p, labels in coded]
            or [np.zeros(0, dtype=np.int64)]
        )
        for name, coded in pieces.items()
    }
    return Chunks(int(numbers.max()) + 1, groups)


UNKNOWN = "\uffff"  # the subject of the rows of none (null USUBJID): after every USUBJID


def subject_groups(subjects: Iterable[pd.Series], rows: int) -> pd.Series | None:
    """The group number of each subject (USUBJID, the index; in USUBJID order) given the
    subject of each row of the tables read (null: none, sorted last, together): groups of
    whole subjects of about `rows` rows each. None when all the rows make one group. The
    tables' subjects may come a piece at a time (a column read a frame at a time): each
    piece is counted, not kept."""
    return groups_of_sizes([subject_counts(subjects)], rows)


def subject_counts(subjects: Iterable[pd.Series]) -> pd.Series:
    """The rows of each subject (the index; null: UNKNOWN), given the subject of each row of
    some tables, a piece at a time (a subject may come in several pieces: its index repeats)."""
    counts = [s.fillna(UNKNOWN).value_counts() for s in subjects]
    return pd.concat(counts) if counts else pd.Series(dtype="int64")


def groups_of_sizes(counts: Iterable[pd.Series], rows: int) -> pd.Series | None:
    """:func:`subject_groups` given the rows per subject of each table (or piece of one)."""
    sizes = pd.concat(counts).groupby(level=0, sort=True).sum()
    if sizes.sum() <= rows:
        return None
    return cut_sizes(sizes, rows)


def cut_sizes(sizes: pd.Series, rows: int) -> pd.Series:
    """The group number (0, 1, ...) of each subject: `sizes`, the rows of each subject in
    the order the groups follow, cut into groups of whole subjects of about `rows` rows (a
    subject goes in the group its first row falls in when the rows are cut every `rows`)."""
    first = sizes.cumsum() - sizes
    return pd.Series(pd.factorize(first // max(rows, 1))[0], index=sizes.index)


def group_of(numbers: pd.Series, subjects: pd.Series) -> np.ndarray:
    """The group of each row given its subject (:func:`subject_groups`; NaN: a subject of
    no group)."""
    return numbers.reindex(subjects.fillna(UNKNOWN)).to_numpy()


class GroupRows:
    """Of each table read by subject, the rows (their positions, ascending) of each group of
    subjects, given each row's group (`groups`: table -> group number of each of its rows;
    NaN or -1: none). The rows are sorted by group once per table, so a group's rows are
    then found in the time of its own rows, not of the table's (LB's millions, per group)."""

    def __init__(self, groups: Mapping[str, np.ndarray]) -> None:
        self._groups = groups
        self._sorted: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # table -> order, bounds

    def __contains__(self, name: object) -> bool:
        return name in self._groups

    def positions(self, name: str, number: int) -> np.ndarray:
        """The positions of the rows of group `number` in table `name`, ascending."""
        if name not in self._sorted:
            groups = np.asarray(self._groups[name])
            order = np.argsort(groups, kind="stable")  # a group's rows in their order
            top = int(np.nanmax(groups)) if np.isfinite(groups).any() else -1
            bounds = np.searchsorted(groups[order], np.arange(top + 2))
            self._sorted[name] = order, bounds
        order, bounds = self._sorted[name]
        if number + 1 >= len(bounds):
            return order[:0]
        return order[bounds[number] : bounds[number + 1]]


class SubjectRows(Mapping[str, pd.DataFrame]):
    """The forms for one group of subjects: of each form read by subject, the rows of the
    group's subjects (indexed by their positions in the form); the others whole. The
    columns asked of a form's group rows, all of them or some (of LB, the few a step of
    ADSL reads), are read from its file on first use, each once, and kept for the group;
    some of its rows (a step's three tests of LB) are read from the file alone unless
    their columns are kept already, as :class:`Tables` reads them."""

    def __init__(self, forms: Tables, rows: GroupRows, number: int) -> None:
        self._forms, self._rows, self._number = forms, rows, number
        self._held: dict[str, pd.DataFrame] = {}  # form -> the group's rows, columns read

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._rows:
            return self._forms[name]
        return self._columns(name, self._forms.columns(name))

    def columns(self, name: str) -> list[str]:
        return self._forms.columns(name)

    def read_columns(self, name: str, columns: list[str]) -> pd.DataFrame:
        if name not in self._rows:
            return self._forms.read_columns(name, columns)
        return self._columns(name, columns).copy(deep=False)  # the caller's, not the held

    def read_rows(
        self, name: str, keep: np.ndarray, columns: list[str] | None = None
    ) -> pd.DataFrame:
        """Of the group's rows of a form, those where `keep` (one flag per row) holds,
        indexed by their positions in the form, with its `columns` (None: all)."""
        if name not in self._rows:
            return self._forms.read_rows(name, keep, columns)
        wanted = self._forms.columns(name) if columns is None else columns
        held = self._held.get(name)
        if held is not None and all(c in held for c in wanted):
            return held.loc[np.asarray(keep, dtype=bool), wanted]
        # Not held: those rows alone from the file (of LB, a step's three tests), not kept.
        positions = self._rows.positions(name, self._number)[np.asarray(keep, dtype=bool)]
        return self._forms.read_positions(name, positions, columns)

    def _columns(self, name: str, columns: list[str]) -> pd.DataFrame:
        """The group's rows of a form with its `columns`, those not held yet read now."""
        held = self._held.get(name)
        if held is None or any(c not in held for c in columns):
            missing = [c for c in columns if held is None or c not in held]
            more = self._forms.read_positions(
                name, self._rows.positions(name, self._number), missing
            )
            held = more if held is None else pd.concat([held, more], axis=1)
            if len(held.columns) == len(columns):  # every column asked: kept in that order
                held = held[columns]
            self._held[name] = held
        return held if list(held.columns) == columns else held[columns]

    def __contains__(self, name: object) -> bool:
        return name in self._forms

    def __iter__(self) -> Iterator[str]:
        return iter(self._forms)

    def __len__(self) -> int:
        return len(self._forms)

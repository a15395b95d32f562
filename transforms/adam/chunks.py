"""An ADaM dataset derived a group of subjects at a time (issue 22: memory bounded by design).

A dataset sorted by subject first (its keys STUDYID, USUBJID, ...) whose first step makes
its records of other datasets' (:attr:`Verb.records_from`: a ``records`` step, the IMWG
verbs of ADRS, ``tte``) and whose every step is per subject (:attr:`Verb.per_subject`: what
it derives for a subject depends on that subject's records only) is derived one group of
whole subjects at a time, the groups in USUBJID order, of about as many rows as the caller
asks of the datasets its steps make records of and read by subject
(:func:`transforms.sdtm.chunks.subject_groups`; ADSL's group holds each subject's DM
record and LB's dates, not all of LB's): every subject of the datasets it makes records of
falls in a group. Each group's steps read, of every dataset with a USUBJID, the rows of the group's
subjects (from its file a frame at a time, only the columns and rows a step asks for); the
others whole. Each group's records, conformed and sorted by the keys, are then the next
records of one derivation of all the subjects: their sequence numbers (numbered per
subject: ADRS's ASEQ, which ADTTE's SRCSEQ points at) and key checks (the keys hold
USUBJID) the same, as are the listings the steps make by subject (appended group after
group, :meth:`Inputs.listing`). A step that looks across subjects (a numbering over the
dataset, a group without USUBJID, a parameter of the study) keeps the dataset whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any, cast

import numpy as np
import pandas as pd

from transforms.adam.spec import AdamSpec
from transforms.adam.verbs.base import Inputs, Verb
from transforms.adam.verbs.records import Source
from transforms.sdtm.chunks import (
    GroupRows,
    SubjectRows,
    Tables,
    group_of,
    groups_of_sizes,
    subject_counts,
)

SUBJECT = "USUBJID"


def per_subject(spec: AdamSpec) -> bool:
    """Whether the dataset may be derived a group of subjects at a time (module doc)."""
    keys = list(spec.keys)
    if SUBJECT not in keys or set(keys[: keys.index(SUBJECT)]) - {"STUDYID"}:
        return False
    steps = spec.derivations
    return bool(steps[0].records_from) and all(step.per_subject for step in steps)


def _counts(tables: Mapping[str, Tables]) -> pd.Series:
    """The rows of each subject in the tables with a USUBJID, read a frame at a time."""
    return subject_counts(
        piece[SUBJECT]
        for name, t in tables.items()
        if SUBJECT in t.columns(name)
        for piece in t.column_frames(name, [SUBJECT])
    )


def datasets_read(node: object) -> set[str]:
    """The datasets whose records the steps (a step, a value of one of a step's arguments)
    read: every :class:`Source` among their arguments, and the sources' own steps'."""
    if isinstance(node, Source):
        return {node.dataset} | datasets_read(node.derive)
    if isinstance(node, tuple | list):
        return set().union(*(datasets_read(item) for item in node))
    if isinstance(node, Verb):
        found = set(node.records_from)
        for field in dataclasses.fields(cast(Any, node)):
            found |= datasets_read(getattr(node, field.name))
        return found
    return set()


class Groups(Mapping[str, np.ndarray]):
    """Each row's group of subjects, of the datasets with a USUBJID (read on first use)."""

    def __init__(self, tables: Tables, numbers: pd.Series) -> None:
        self._tables, self._numbers = tables, numbers
        self._groups: dict[str, np.ndarray] = {}

    def __contains__(self, name: object) -> bool:
        return (
            isinstance(name, str) and name in self._tables and SUBJECT in self._tables.columns(name)
        )

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self:
            raise KeyError(name)
        if name not in self._groups:  # a frame of subjects at a time: LB's are millions
            pieces = self._tables.column_frames(name, [SUBJECT])
            found = [group_of(self._numbers, piece[SUBJECT]) for piece in pieces]
            self._groups[name] = np.concatenate(found) if found else np.empty(0)
        return self._groups[name]

    def __iter__(self) -> Iterator[str]:
        return (name for name in self._tables if name in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def subject_inputs(spec: AdamSpec, sdtm: Tables, adam: Tables, rows: int) -> Iterator[Inputs]:
    """The inputs of each group of subjects in turn, of about `rows` rows of the datasets
    the steps make records of and read (module doc); one group (the datasets as they are)
    when the dataset may not be derived so or is small. The listings the steps make are
    shared."""
    reports: dict[str, pd.DataFrame] = {}
    numbers = None
    if per_subject(spec):
        sources = sorted({name for step in spec.derivations for name in step.records_from})
        tables = {name: adam if name in adam else sdtm for name in sources}
        if all(name in t and SUBJECT in t.columns(name) for name, t in tables.items()):
            # Sized by the rows of every dataset read by subject too (ADSL makes a record
            # of each DM row, and reads each subject's LB dates), of its own subjects: a
            # subject of no record has no group.
            made = _counts(tables)
            others = sorted(datasets_read(spec.derivations) - set(sources))
            read = _counts({n: t for n in others for t in (adam, sdtm) if n in t})
            numbers = groups_of_sizes([made, read[read.index.isin(made.index)]], rows)
    if numbers is None:
        whole = cast(Mapping[str, pd.DataFrame], sdtm), cast(Mapping[str, pd.DataFrame], adam)
        yield Inputs(sdtm=whole[0], adam=whole[1], reports=reports)  # TableReaders: Mappings
        return
    by_sdtm, by_adam = GroupRows(Groups(sdtm, numbers)), GroupRows(Groups(adam, numbers))
    for number in range(int(numbers.max()) + 1):
        yield Inputs(
            sdtm=SubjectRows(sdtm, by_sdtm, number),
            adam=SubjectRows(adam, by_adam, number),
            reports=reports,
        )

"""The trial design datasets' source tables: what a study plans (arms, elements, visits,
eligibility criteria; ``design:`` of study.yaml) and what each subject went through (the
elements entered and the visits made).

Each table is a pseudo-form a dataset spec reads like a raw form (``source: _ARMS``,
``{column: ETCD}``): text columns named after the SDTM variables they feed, and ``__ROW``.

- ``_ARMS`` one row per planned element of each arm (TA), ``_ELEMENTS`` one per element
  (TE), ``_VISITS`` one per planned visit (TV), ``_CRITERIA`` one per eligibility criterion
  (TI): from the design alone.
- ``_SUBJECT_ELEMENTS`` (SE): per subject of DM, the elements of the subject's arm that
  the subject entered, each starting on its transition date: the start rule of its epoch
  (the same rules every dataset's EPOCH takes), or the element's own start rule for a
  later element of the same epoch; an element ends where the next one begins, the last at
  the design's end of participation.
- ``_SUBJECT_VISITS`` (SV): one row per subject and visit found in the datasets the spec
  reads, spanning the dates of the visit's records.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from transforms.sdtm import dates
from transforms.sdtm.algorithms.base import Context, Rule, Scope, complete_day, parse_rule

ARMS, ELEMENTS, VISITS, CRITERIA = "_ARMS", "_ELEMENTS", "_VISITS", "_CRITERIA"
SUBJECT_ELEMENTS, SUBJECT_VISITS = "_SUBJECT_ELEMENTS", "_SUBJECT_VISITS"
# Every table's columns (text; each table also has __ROW, the row's place).
COLUMNS: Mapping[str, tuple[str, ...]] = {
    ARMS: ("ARMCD", "ARM", "TAETORD", "ETCD", "ELEMENT", "TABRANCH", "TATRANS", "EPOCH"),
    ELEMENTS: ("ETCD", "ELEMENT", "TESTRL", "TEENRL", "TEDUR"),
    VISITS: ("VISITNUM", "VISIT", "VISITDY", "TVSTRL", "TVENRL"),
    CRITERIA: ("IETESTCD", "IETEST", "IECAT"),
    SUBJECT_ELEMENTS: ("USUBJID", "ETCD", "ELEMENT", "TAETORD", "EPOCH", "SESTDTC", "SEENDTC"),
    SUBJECT_VISITS: (
        "USUBJID", "VISITNUM", "VISIT", "VISITDY", "SVPRESP", "SVOCCUR", "SVSTDTC", "SVENDTC",
        "SVUPDES",
    ),
}  # fmt: skip
PLANNED = (ARMS, ELEMENTS, VISITS, CRITERIA)


@dataclass(frozen=True)
class Element:
    """A planned element (TE): its code, name, rules in words, planned duration, and the
    rule of its actual start where it follows another element of the same epoch."""

    etcd: str
    element: str
    testrl: str
    teenrl: str | None
    tedur: str | None
    start: Any = None  # the raw rule (parsed in the subjects' scope), or None


@dataclass(frozen=True)
class ArmElement:
    """One planned element of an arm (a TA record)."""

    armcd: str
    arm: str
    taetord: int
    etcd: str
    epoch: str
    tabranch: str | None
    tatrans: str | None


@dataclass(frozen=True)
class PlannedVisit:
    """One planned visit (a TV record): a design entry with ``{n}`` gives one per n."""

    visitnum: float
    visit: str  # the label the visit rule gives: the raw name, upper-cased
    visitdy: int | None
    tvstrl: str
    tvenrl: str | None


@dataclass(frozen=True)
class Unplanned:
    """Unplanned visits whose VISIT matches ``label`` (a regular expression), and what
    happened at them (SVUPDES)."""

    label: str
    svupdes: str


@dataclass(frozen=True)
class Criterion:
    ietestcd: str
    ietest: str
    iecat: str


@dataclass(frozen=True)
class TrialDesign:
    """The planned trial (``design:`` of study.yaml) beyond what the mapping rules read."""

    where: str
    arms: tuple[ArmElement, ...] = ()
    elements: Mapping[str, Element] = None  # type: ignore[assignment]
    visits: tuple[PlannedVisit, ...] = ()
    unplanned: tuple[Unplanned, ...] = ()
    criteria: tuple[Criterion, ...] = ()
    epochs: tuple[Mapping[str, Any], ...] = ()  # {name, start, after} in time order
    end: Any = None  # raw rule: a subject's end of participation

    def __post_init__(self) -> None:
        if self.elements is None:
            object.__setattr__(self, "elements", {})


# --- the planned tables -------------------------------------------------------------------


def _number_text(value: float | int | None) -> str | None:
    """A number as the shortest text that reads back to it (3.0 -> "3", 3.5 -> "3.5")."""
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _table(name: str, rows: Iterable[Iterable[Any]] | pd.DataFrame) -> pd.DataFrame:
    """A table of `name`'s columns as text, with __ROW (1, 2, ...)."""
    columns = list(COLUMNS[name])
    if isinstance(rows, pd.DataFrame):
        frame = rows[columns].reset_index(drop=True)
    else:
        frame = pd.DataFrame(list(rows), columns=columns, dtype="object")
    frame = frame.astype("string")
    frame["__ROW"] = np.arange(1, len(frame) + 1, dtype="int64")
    return frame


def planned_table(design: TrialDesign, name: str) -> pd.DataFrame:
    """One of the tables the design alone gives (``_ARMS``, ``_ELEMENTS``, ``_VISITS``,
    ``_CRITERIA``), in the order the design states them."""
    if name == ARMS:
        rows: Iterable[Iterable[Any]] = (
            (a.armcd, a.arm, str(a.taetord), a.etcd, design.elements[a.etcd].element,
             a.tabranch, a.tatrans, a.epoch)
            for a in design.arms
        )  # fmt: skip
    elif name == ELEMENTS:
        rows = ((e.etcd, e.element, e.testrl, e.teenrl, e.tedur) for e in design.elements.values())
    elif name == VISITS:
        rows = (
            (_number_text(v.visitnum), v.visit, _number_text(v.visitdy), v.tvstrl, v.tvenrl)
            for v in design.visits
        )
    elif name == CRITERIA:
        rows = ((c.ietestcd, c.ietest, c.iecat) for c in design.criteria)
    else:
        raise KeyError(name)
    return _table(name, rows)


# --- the subjects' elements ---------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """How a subject of arm ``armcd`` enters one of its planned elements: on the date
    ``rule`` gives (the day after it with ``after``)."""

    armcd: str | None  # None: the elements every arm opens with (a subject without an arm)
    taetord: int
    etcd: str
    element: str
    epoch: str
    rule: Rule
    after: bool


@dataclass(frozen=True)
class Schedule:
    """The design's transition rules, parsed to run over the rows of ``form`` (the form
    DM is mapped from), one per subject of DM."""

    form: str
    transitions: tuple[Transition, ...]
    end: Rule | None  # a subject's end of participation (the last element's end)


def schedule(design: TrialDesign, scope: Scope) -> Schedule:
    """Parse the design's transition rules in `scope` (the DM form, DM's variables known).

    An arm's first element of an epoch starts by the epoch's start rule; a later element
    of the same epoch by its own ``start``. The elements all arms open with, in the same
    order and epochs, are also those of a subject without an arm (a screen failure)."""
    epochs = {str(e["name"]): e for e in design.epochs}
    parsed: dict[tuple[str, str], tuple[Rule, bool]] = {}  # (epoch, etcd) -> rule, after

    def rule_of(arm: ArmElement, first: bool) -> tuple[Rule, bool]:
        if first:
            epoch = epochs[arm.epoch]
            key, raw, after = ("epoch", arm.epoch), epoch["start"], bool(epoch.get("after"))
            at = f"{design.where}.epochs[{list(epochs).index(arm.epoch)}].start"
        else:
            key, raw, after = ("element", arm.etcd), design.elements[arm.etcd].start, False
            at = f"{design.where}.elements.{arm.etcd}.start"
        if key not in parsed:
            where = f"{at} (for the subject elements, over form {scope.form})"
            parsed[key] = (parse_rule(raw, replace(scope, where=where)), after)
        return parsed[key]

    transitions = []
    by_arm: dict[str, list[ArmElement]] = {}
    for a in design.arms:
        by_arm.setdefault(a.armcd, []).append(a)
    for armcd, elements in by_arm.items():
        for i, a in enumerate(elements):
            first = i == 0 or elements[i - 1].epoch != a.epoch
            rule, after = rule_of(a, first)
            element = design.elements[a.etcd].element
            transitions.append(Transition(armcd, a.taetord, a.etcd, element, a.epoch, rule, after))
    # The opening elements shared by every arm: what a subject without an arm enters.
    sequences = [[(t.taetord, t.etcd, t.epoch) for t in transitions if t.armcd == arm]
                 for arm in by_arm]  # fmt: skip
    shared = 0
    while sequences and all(
        len(s) > shared and s[shared] == sequences[0][shared] for s in sequences
    ):
        shared += 1
    opening = [t for t in transitions if t.armcd == next(iter(by_arm))][:shared]
    transitions += [replace(t, armcd=None) for t in opening]
    end = None
    if design.end is not None:
        where = f"{design.where}.end (for the subject elements, over form {scope.form})"
        end = parse_rule(design.end, replace(scope, where=where))
    return Schedule(scope.form, tuple(transitions), end)


def subject_elements(
    plan: Schedule, subjects: pd.DataFrame, ctx: Context, arms: Iterable[str]
) -> pd.DataFrame:
    """``_SUBJECT_ELEMENTS``: the elements each subject entered, in order.

    `subjects` holds DM (USUBJID, ARMCD, ACTARMCD) in the order of `ctx.frame`, the rows of
    the form DM is mapped from; a subject follows the arm it was assigned to (ARMCD: SDTMIG
    3.4 SE, TAETORD and EPOCH are those of the assigned arm's planned sequence), else its
    actual one, else the elements every arm opens with. An element is entered when its
    first day (its transition date, the day after for an ``after`` epoch) is known and not
    after the end of participation. It starts on its transition date and ends on the next
    entered element's (the last one at the end of participation, when known). An element
    entered before the one before it is listed (SE-ORDER)."""
    known = list(arms)
    arm = subjects["ARMCD"].where(subjects["ARMCD"].isin(known), subjects["ACTARMCD"])
    arm = arm.where(arm.isin(known)).reset_index(drop=True)
    end = plan.end.evaluate(ctx).astype("string").reset_index(drop=True) if plan.end else None
    values: dict[int, pd.Series] = {}  # per distinct rule: its dates for every subject
    parts = []
    for t in plan.transitions:
        mine = (arm.isna() if t.armcd is None else arm.eq(t.armcd)).fillna(False).astype(bool)
        if not mine.any():
            continue
        if id(t.rule) not in values:
            values[id(t.rule)] = t.rule.evaluate(ctx).astype("string").reset_index(drop=True)
        text = values[id(t.rule)][mine]
        day = complete_day(text)
        parts.append(
            pd.DataFrame(
                {
                    "row": text.index.to_numpy(),
                    "TAETORD": t.taetord,
                    "ETCD": t.etcd,
                    "ELEMENT": t.element,
                    "EPOCH": t.epoch,
                    "transition": text.where(day.notna()),
                    # its first day: the transition date, or the day after it
                    "start": day + pd.Timedelta(days=1) if t.after else day,
                }
            )
        )
    if not parts:
        return _table(SUBJECT_ELEMENTS, [])
    table = pd.concat(parts, ignore_index=True).dropna(subset=["start"])
    rows = table["row"].to_numpy()
    if end is not None:
        last = complete_day(end).to_numpy()[rows]
        table = table[~(table["start"].to_numpy() > last)]  # no end (NaT): entered
    table = table.sort_values(["row", "TAETORD"], kind="stable").reset_index(drop=True)
    rows = table["row"].to_numpy()
    same = table["row"].eq(table["row"].shift(-1))
    ends = table["transition"].shift(-1).where(same)
    if end is not None:
        ends = ends.fillna(pd.Series(end.to_numpy()[rows], index=table.index))
    early = table["row"].eq(table["row"].shift()) & table["start"].lt(table["start"].shift())
    if early.any():
        sub = replace(ctx, frame=ctx.frame.iloc[table.loc[early, "row"].to_numpy()], vars={})
        etcd = table.loc[early, "ETCD"].to_numpy()
        sub.report(
            pd.Series(True, index=sub.frame.index),
            pd.Series(etcd, index=sub.frame.index, dtype="string"),
            "SE-ORDER",
            "element entered before the element planned before it",
            severity="warning",
        )
    # Elements meet: one starts on the transition date (its text: with its time, if it has
    # one) the one before ends on. An `after` transition (FOLLOW-UP after the last visit)
    # puts that day in the element before: the EPOCH rule's, and the first day counted for
    # entering (above).
    out = table.assign(
        USUBJID=subjects["USUBJID"].to_numpy()[rows],
        TAETORD=table["TAETORD"].astype("int64"),
        SESTDTC=table["transition"],
        SEENDTC=ends,
    )
    return _table(SUBJECT_ELEMENTS, out)


# --- the subjects' visits -----------------------------------------------------------------


def _visits(records: pd.DataFrame) -> pd.DataFrame:
    """Per subject and VISITNUM (sorted): the first VISIT label and the earliest start
    and latest end day of `records` (rows, or visits already summarised: the same again)."""
    grouped = records.groupby(["USUBJID", "VISITNUM"], sort=True, dropna=False)
    return grouped.agg(
        VISIT=("VISIT", "first"), SVSTDTC=("SVSTDTC", "min"), SVENDTC=("SVENDTC", "max")
    )


def _dataset_visits(
    name: str, frames: Callable[[str, list[str]], Iterable[pd.DataFrame]], variables: Iterable[str]
) -> pd.DataFrame | None:
    """A dataset's visits (:func:`_visits`): its visit records' subject, visit, label and
    the day of the record (the date part of its --DTC, else --STDTC, where a complete
    date: when it was observed, or when it started), summarised a frame of rows at a time
    (LB: millions of records, a few dozen visits per subject)."""
    names = set(variables)
    prefix = name[:2]
    date = next((c for c in (f"{prefix}DTC", f"{prefix}STDTC") if c in names), None)
    if not {"USUBJID", "VISITNUM"} <= names:
        return None
    columns = ["USUBJID", "VISITNUM", *(["VISIT"] if "VISIT" in names else []),
               *([date] if date else [])]  # fmt: skip
    parts = []
    for data in frames(name, columns):
        data = data[data["VISITNUM"].notna()]
        if date:
            text = data[date].astype("string")
            day = text.str.slice(0, 10).where(dates.is_complete_date(text))
        else:
            day = pd.Series(pd.NA, index=data.index)
        records = pd.DataFrame(
            {
                "USUBJID": data["USUBJID"].astype("string"),
                "VISITNUM": data["VISITNUM"].astype("float64"),
                "VISIT": data["VISIT"].astype("string") if "VISIT" in data else pd.NA,
                "SVSTDTC": day,
                "SVENDTC": day,
            }
        )
        parts.append(_visits(records))
    return pd.concat(parts).reset_index()


def subject_visits(
    design: TrialDesign,
    datasets: Mapping[str, Iterable[str]],
    frames: Callable[[str, list[str]], Iterable[pd.DataFrame]],
) -> pd.DataFrame:
    """``_SUBJECT_VISITS``: one row per subject and VISITNUM found in `datasets` (name ->
    its variables; `frames` gives some columns of one, a frame of rows at a time),
    spanning the complete dates of the visit's records (their date part). A planned visit
    (TV) takes its planned study day and is pre-specified and occurred (Y); another one is
    described by the first unplanned entry of the design whose label pattern its VISIT
    matches."""
    found = [f for n, v in datasets.items() if (f := _dataset_visits(n, frames, v)) is not None]
    if not found:
        return _table(SUBJECT_VISITS, [])
    visits = _visits(pd.concat(found, ignore_index=True)).reset_index()
    planned = {v.visitnum: v for v in design.visits}
    is_planned = visits["VISITNUM"].isin(list(planned))
    visitdy = (
        visits["VISITNUM"]
        .map({n: _number_text(v.visitdy) for n, v in planned.items()})
        .where(is_planned)
    )
    described = pd.Series(pd.NA, index=visits.index, dtype="string")
    label = visits["VISIT"].astype("string")
    for entry in design.unplanned:
        hit = ~is_planned & described.isna() & label.str.fullmatch(entry.label).fillna(False)
        described = described.mask(hit.astype(bool), entry.svupdes)
    out = pd.DataFrame(
        {
            "USUBJID": visits["USUBJID"],
            "VISITNUM": visits["VISITNUM"].map(
                {n: _number_text(n) for n in visits["VISITNUM"].unique()}
            ),
            "VISIT": label,
            "VISITDY": visitdy,
            "SVPRESP": pd.Series("Y", index=visits.index).where(is_planned),
            "SVOCCUR": pd.Series("Y", index=visits.index).where(is_planned),
            "SVSTDTC": visits["SVSTDTC"],
            "SVENDTC": visits["SVENDTC"],
            "SVUPDES": described,
        }
    )
    return _table(SUBJECT_VISITS, out)


def unplanned_label(name: str) -> str:
    """The VISIT labels (a regular expression) the visit rule gives the visits a design
    ``unscheduled`` entry names: the name upper-cased with ``{n}``/``{x}`` a number; a name
    without either is numbered after the last planned visit, ``UNSCHEDULED n.nn``."""
    if "{n}" in name or "{x}" in name:
        pattern = re.escape(name.upper()).replace(r"\{N\}", r"[0-9]+")
        return pattern.replace(r"\{X\}", r"[0-9]+(?:\.[0-9]+)?")
    return r"UNSCHEDULED [0-9]+\.[0-9]{2}"

"""The ``design:`` section of study.yaml: the trial design, declared once.

It gives two things (format in sdtm_specs/README.md, "Trial design"): what the mapping
rules default to (:class:`~transforms.sdtm.algorithms.Design`: the arm names, the epochs
and their start rules, the visit numbering), and the planned trial the trial design
datasets are made of (:class:`~transforms.sdtm.trial.TrialDesign`: the arms' elements,
the elements, the planned visits with their study days and windows, the eligibility
criteria, the end of participation). Only the shape is checked here; the start rules are
read where a rule (or the subjects' elements) uses them. Every problem is a SpecError
naming study.yaml and the entry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from transforms import standards, yamlfile
from transforms.sdtm.algorithms import Design, SpecError
from transforms.sdtm.trial import (
    ARMS,
    CRITERIA,
    ELEMENTS,
    SUBJECT_ELEMENTS,
    VISITS,
    ArmElement,
    Criterion,
    Element,
    PlannedVisit,
    TrialDesign,
    Unplanned,
    unplanned_label,
)
from transforms.yamlfile import Entry

EPOCH_CODELIST = "C99079"
IECAT_CODELIST = "C66797"
CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")  # ETCD, IETESTCD: 8 characters, a letter first
DURATION = re.compile(r"^P(?=\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?$")


def _text(value: Any, where: Entry, limit: int = 200) -> str:
    """A text of at most `limit` ASCII characters (an XPT v5 value)."""
    if not isinstance(value, str | int | float) or isinstance(value, bool) or value == "":
        raise where.error(f"expected a text, found {value!r}")
    text = str(value).strip()
    if len(text) > limit or not text.isascii():
        raise where.error(f"must be ASCII text of at most {limit} characters ({len(text)})")
    return text


def _optional(raw: Mapping[str, Any], key: str, where: Entry) -> str | None:
    return _text(raw[key], where / key) if raw.get(key) is not None else None


def _code(value: Any, where: Entry) -> str:
    code = str(value)
    if not CODE.fullmatch(code):
        raise where.error(f"{code!r}: a code is 1-8 of A-Z, 0-9, _ starting with a letter")
    return code


def _elements(raw: Any, where: Entry) -> dict[str, Element]:
    elements: dict[str, Element] = {}
    for etcd, body in yamlfile.mapping(raw, where).items():
        at = where / str(etcd)
        body = yamlfile.mapping(body, at)
        yamlfile.keys(body, at, {"element", "testrl"}, {"teenrl", "tedur", "start"})
        tedur = _optional(body, "tedur", at)
        if tedur is not None and not DURATION.fullmatch(tedur):
            raise (at / "tedur").error(f"{tedur!r} is not an ISO 8601 duration (P2W, P36M)")
        if tedur is None and body.get("teenrl") is None:
            raise at.error("give teenrl or tedur: how the element ends (SDTMIG TE)")
        element = Element(
            _code(etcd, at), _text(body["element"], at / "element"),
            _text(body["testrl"], at / "testrl"), _optional(body, "teenrl", at), tedur,
            body.get("start"),
        )  # fmt: skip
        if any(e.element == element.element for e in elements.values()):
            raise (at / "element").error(f"{element.element!r} names another element too")
        elements[element.etcd] = element
    return elements


def _arms(
    raw: Mapping[str, Any],
    where: Entry,
    epochs: list[str],
    elements: Mapping[str, Element],
) -> tuple[dict[str, str], tuple[ArmElement, ...]]:
    """ARMCD -> ARM, and each arm's elements in epoch order (TA). An arm is its name alone,
    or ``{arm, epochs: {EPOCH: ETCD or [ETCD, ..]}, tabranch: {ETCD: ..}, tatrans: ..}``."""
    names: dict[str, str] = {}
    planned: list[ArmElement] = []
    for armcd, body in raw.items():
        at = where / str(armcd)
        if len(str(armcd)) > 20:
            raise at.error("ARMCD is at most 20 characters")
        if not isinstance(body, Mapping):
            names[str(armcd)] = _text(body, at)
            continue
        yamlfile.keys(body, at, {"arm", "epochs"}, {"tabranch", "tatrans"})
        names[str(armcd)] = _text(body["arm"], at / "arm")
        given = yamlfile.mapping(body["epochs"], at / "epochs")
        if unknown := [e for e in given if e not in epochs]:
            raise (at / "epochs").error(f"{unknown} are not epochs of design.epochs {epochs}")
        sequence = []
        for epoch in (e for e in epochs if e in given):
            codes = given[epoch] if isinstance(given[epoch], list) else [given[epoch]]
            for etcd in codes:
                if str(etcd) not in elements:
                    raise (at / "epochs" / epoch).error(
                        f"{etcd!r} is not an element of design.elements {sorted(elements)}"
                    )
                sequence.append((epoch, str(etcd)))
        texts = {}
        for key in ("tabranch", "tatrans"):
            texts[key] = {
                str(k): _text(v, at / key / str(k))
                for k, v in yamlfile.mapping(body.get(key) or {}, at / key).items()
            }
            if stray := set(texts[key]) - {etcd for _, etcd in sequence}:
                raise (at / key).error(f"{sorted(stray)} are not elements of arm {armcd}")
        planned += [
            ArmElement(str(armcd), names[str(armcd)], i, etcd, epoch,
                       texts["tabranch"].get(etcd), texts["tatrans"].get(etcd))
            for i, (epoch, etcd) in enumerate(sequence, start=1)
        ]  # fmt: skip
    if planned and len({a.armcd for a in planned}) < len(names):
        raise where.error("give the epochs (elements) of every arm, or of none")
    return names, tuple(planned)


def _visit_number(template: Any, n: int | None, where: Entry) -> float:
    text = str(template).replace("{n}", str(n)) if n is not None else str(template)
    try:
        return float(text)
    except ValueError as exc:
        raise where.error(f"{template!r} does not give a visit number") from exc


def _planned_visits(
    raw: Mapping[str, Any], where: Entry
) -> tuple[dict[str, Any], tuple[PlannedVisit, ...]]:
    """Raw visit name -> VISITNUM template (the visit rule's map), and the planned visits
    of TV: one per entry that gives its rules (``tvstrl``), one per n of ``n: [first,
    last]`` for a name with ``{n}``, on study day ``visitdy`` + ``every`` x (n - first)."""
    numbers: dict[str, Any] = {}
    visits: list[PlannedVisit] = []
    for name, body in raw.items():
        at = where / str(name)
        if not isinstance(body, Mapping):  # name: number, numbering only
            numbers[str(name)] = body
            continue
        yamlfile.keys(body, at, {"number", "tvstrl"}, {"tvenrl", "visitdy", "every", "n"})
        numbers[str(name)] = body["number"]
        repeated = "{n}" in str(name)
        if repeated != ("n" in body):
            raise at.error("a visit named with {n} gives n: [first, last], and only such a one")
        ns: list[int | None] = [None]
        first = 0
        if repeated:
            bounds = yamlfile.sequence(body["n"], at / "n")
            whole = all(isinstance(b, int) and not isinstance(b, bool) for b in bounds)
            if len(bounds) != 2 or not whole or bounds[0] > bounds[1]:
                raise (at / "n").error("must be [first, last], whole numbers, first <= last")
            first, ns = bounds[0], list(range(bounds[0], bounds[1] + 1))
        every = body.get("every", 0)
        day = body.get("visitdy")
        for key, value in (("visitdy", day), ("every", every)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise (at / key).error("must be a whole number of days")
        if day == 0:
            raise (at / "visitdy").error("there is no study day 0")
        for n in ns:
            offset = every * (n - first) if n is not None else 0
            visitdy = None if day is None else day + offset + (day < 0 <= day + offset)

            def fill(text: str | None, n: int | None = n, visitdy: int | None = visitdy) -> Any:
                if text is None:
                    return None
                return text.replace("{n}", str(n)).replace("{visitdy}", str(visitdy))

            visits.append(
                PlannedVisit(
                    _visit_number(body["number"], n, at / "number"),
                    fill(str(name)).upper() if n is not None else str(name).upper(),
                    visitdy,
                    _text(fill(_text(body["tvstrl"], at / "tvstrl")), at / "tvstrl"),
                    fill(_optional(body, "tvenrl", at)),
                )
            )
    seen: dict[float, str] = {}
    for v in visits:
        if v.visitnum in seen:
            raise where.error(f"{seen[v.visitnum]} and {v.visit} have the same number")
        seen[v.visitnum] = v.visit
    return numbers, tuple(visits)


def _visits(
    raw: Any, where: Entry
) -> tuple[dict[str, Any], tuple[str, ...], tuple[PlannedVisit, ...], tuple[Unplanned, ...]]:
    """The visit rule's planned map and unscheduled names, TV's visits, SV's descriptions
    of unplanned ones. ``unscheduled`` lists names, or maps each to ``{svupdes, number}``
    (``number``: numbered by its name, ``Unscheduled {x}``; else after the last planned)."""
    visits = yamlfile.mapping(raw, where)
    yamlfile.keys(visits, where, set(), {"planned", "unscheduled"})
    planned, tv = _planned_visits(
        yamlfile.mapping(visits.get("planned") or {}, where / "planned"), where / "planned"
    )
    given = visits.get("unscheduled") or []
    if isinstance(given, list):
        given = dict.fromkeys((str(u) for u in given), None)
    unscheduled, unplanned = [], []
    for name, body in yamlfile.mapping(given, where / "unscheduled").items():
        at = where / "unscheduled" / str(name)
        if body is not None:
            body = yamlfile.mapping(body, at)
            yamlfile.keys(body, at, {"svupdes"}, {"number"})
            unplanned.append(Unplanned(unplanned_label(str(name)), _text(body["svupdes"], at)))
        if body is not None and "number" in body:
            planned[str(name)] = body["number"]  # numbered by its name, as a planned one
        else:
            unscheduled.append(str(name))
    if unscheduled and not planned:
        raise where.error("unscheduled visits need the planned ones")
    return planned, tuple(unscheduled), tv, tuple(unplanned)


def _criteria(raw: Any, where: Entry) -> tuple[Criterion, ...]:
    """``{IECAT: {IETESTCD: IETEST}}``: the protocol's eligibility criteria (TI)."""
    codelist = standards.controlled_terms().codelist(IECAT_CODELIST)
    criteria = []
    for category, entries in yamlfile.mapping(raw, where).items():
        at = where / str(category)
        if codelist.lookup(str(category)) is None:
            raise at.error(f"{category!r} is not in codelist {IECAT_CODELIST} (IECAT)")
        for code, text in yamlfile.mapping(entries, at).items():
            criteria.append(Criterion(_code(code, at / str(code)),
                                      _text(text, at / str(code)), str(category)))  # fmt: skip
    codes = [c.ietestcd for c in criteria]
    if dup := sorted({c for c in codes if codes.count(c) > 1}):
        raise where.error(f"{dup} given twice")
    return tuple(criteria)


def load_design(raw: Any, where: Entry) -> tuple[Design, TrialDesign]:
    """The ``design:`` section: what the rules default to, and the planned trial."""
    raw = yamlfile.mapping(raw, where)
    yamlfile.keys(raw, where, set(), {"arms", "elements", "epochs", "visits", "criteria", "end"})
    epochs = []
    for i, e in enumerate(yamlfile.sequence(raw.get("epochs") or [], where / "epochs")):
        e = yamlfile.mapping(e, where / "epochs" / i)
        yamlfile.keys(e, where / "epochs" / i, {"name", "start"}, {"after"})
        epochs.append(e)
    names = [str(e["name"]) for e in epochs]
    if len(set(names)) < len(names):
        raise (where / "epochs").error("an epoch is named twice")
    elements = _elements(raw.get("elements") or {}, where / "elements")
    arms = yamlfile.mapping(raw.get("arms") or {}, where / "arms")
    arm_names, planned_arms = _arms(arms, where / "arms", names, elements)
    if planned_arms:
        codelist = standards.controlled_terms().codelist(EPOCH_CODELIST)
        if outside := [n for n in names if codelist.lookup(n) is None]:
            raise (where / "epochs").error(f"{outside} are not in codelist {EPOCH_CODELIST}")
        if unused := sorted(set(elements) - {a.etcd for a in planned_arms}):
            raise (where / "elements").error(f"{unused} are in no arm")
        for a in planned_arms:
            before = [b for b in planned_arms if b.armcd == a.armcd and b.taetord < a.taetord]
            if before and before[-1].epoch == a.epoch and elements[a.etcd].start is None:
                raise (where / "elements" / a.etcd).error(
                    f"give start: the rule of its start date ({a.etcd} follows "
                    f"{before[-1].etcd} in epoch {a.epoch} of arm {a.armcd})"
                )
    elif elements:
        raise (where / "elements").error("elements need arms that list them by epoch")
    planned, unscheduled, tv, unplanned = _visits(raw.get("visits") or {}, where / "visits")
    days = {v.visitnum: v.visitdy for v in tv if v.visitdy is not None}
    criteria = _criteria(raw.get("criteria") or {}, where / "criteria")
    design = Design(
        str(where), tuple(epochs), planned, unscheduled, arm_names, days,
        criteria={c.ietestcd: c.ietest for c in criteria},
        categories={c.ietestcd: c.iecat for c in criteria},
    )  # fmt: skip
    trial = TrialDesign(
        where=str(where),
        arms=planned_arms,
        elements=elements,
        visits=tv,
        unplanned=unplanned,
        criteria=criteria,
        epochs=tuple(epochs),
        end=raw.get("end"),
    )
    return design, trial


def require(trial: TrialDesign | None, table: str, where: Entry | str) -> None:
    """A spec error naming `where` when the design lacks what a table needs."""
    needs: dict[str, tuple[str, str, Any]] = {
        ARMS: ("arms", "the arms' epochs (elements)", lambda t: t.arms),
        ELEMENTS: ("elements", "elements", lambda t: t.elements),
        SUBJECT_ELEMENTS: ("arms", "the arms' epochs (elements)", lambda t: t.arms),
        VISITS: ("visits", "planned visits with their rules (tvstrl)", lambda t: t.visits),
        CRITERIA: ("criteria", "eligibility criteria", lambda t: t.criteria),
    }
    if table not in needs:
        return
    key, what, present = needs[table]
    if trial is None or not present(trial):
        raise SpecError(f"{where}: source {table} needs {what} in design.{key} of study.yaml")

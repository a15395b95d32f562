"""The endpoint declaration of a study: study.yaml's ``endpoints:``, read as the SAP lists
its endpoints (the format is documented in sdtm_specs/README.md, "Endpoints").

It names the analysis populations (the ADSL flag of the efficacy and of the safety
population, how the report names each, the treatment variable each is counted by), the
time-to-event endpoints (dataset, PARAMCD, landmark days, days of the risk table), the
rates (dataset, PARAMCD, responder condition in the one condition language), the
adverse-event incidence (dataset, treatment-emergent condition, grade and high-grade
threshold) and, optionally, the arms every endpoint is also summarised by. The engine
(:mod:`transforms.adam.endpoints`) computes what this names and nothing else; the job
graph (:mod:`transforms.jobs.plan`) runs the summary after the datasets it reads.

Cheap on purpose (the standard library, PyYAML through :mod:`transforms.yamlfile` and the
condition parser): the DAG file reads it while Airflow parses it. Every problem is a
:class:`~transforms.errors.SpecError` naming the file, the entry and the key.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from transforms import conditions, yamlfile
from transforms.conditions import Condition
from transforms.yamlfile import Entry

# A variable or PARAMCD name (ADaMIG: up to 8 characters, a letter first).
VARIABLE = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
PARAMCD = re.compile(r"^[A-Z][A-Z0-9]{0,7}$")
# An endpoint's key in endpoints.json: upper case, so never one of its lower-case sections.
KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")
# How the report names a population (its JSON keys are this in lower case: itt, itt_by_arm).
POPULATION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
ROLES = ("efficacy", "safety")
# Optional sections of efficacy results beside time_to_event and rates.
EFFICACY_EXTRAS = ("subgroups", "median_followup", "shifts", "concordance")


@dataclass(frozen=True)
class Reads:
    """What the summary reads of a dataset: the variables (one the dataset lacks is not
    read: PARAM, EVNTDESC, STUDYID are optional) and the rows, by PARAMCD (None: every row)."""

    columns: tuple[str, ...]
    paramcds: tuple[str, ...] | None

    def __or__(self, other: Reads) -> Reads:
        """What two uses of one dataset read together."""
        paramcds = (
            None
            if self.paramcds is None or other.paramcds is None
            else tuple(dict.fromkeys((*self.paramcds, *other.paramcds)))
        )
        return Reads(tuple(dict.fromkeys((*self.columns, *other.columns))), paramcds)


def _variables(*conds: Condition | None) -> tuple[str, ...]:
    """The variables the conditions read, in name order."""
    return tuple(sorted({str(v) for c in conds if c is not None for v in conditions.subjects(c)}))


@dataclass(frozen=True)
class Population:
    """An analysis population: the subjects whose ADSL ``flag`` is "Y"."""

    role: str  # efficacy (time-to-event endpoints and rates) | safety (adverse events)
    flag: str
    name: str  # how the report's text names it: "ITT", "safety"
    label: str  # its row in the populations table
    arm: str | None  # the ADSL treatment variable its subjects are counted (and compared) by

    @property
    def key(self) -> str:
        """Its key in endpoints.json (``itt``, ``itt_by_arm``)."""
        return self.name.lower()


@dataclass(frozen=True)
class Landmark:
    """A day at which the Kaplan-Meier estimate is reported (``km_<day>``)."""

    day: int
    label: str  # "2 years"

    @property
    def key(self) -> str:
        return f"km_{self.day}"


@dataclass(frozen=True)
class TimeToEvent:
    """A time-to-event endpoint: the records of ``paramcd`` in ``dataset`` (AVAL, CNSR)."""

    key: str
    dataset: str
    paramcd: str
    label: str | None  # None: the dataset's PARAM names it
    landmarks: tuple[Landmark, ...]
    risk_table: tuple[int, ...]  # days of the numbers at risk under the plot
    where: str  # the spec entry, for messages
    purpose: str | None = None  # primary | secondary | exploratory (Define-XML ARM)
    censoring: bool = False  # a table of events and censorings by reason (EVNTDESC, CNSR)

    @property
    def reads(self) -> Reads:
        return Reads(("USUBJID", "PARAMCD", "AVAL", "CNSR", "PARAM", "EVNTDESC"), (self.paramcd,))


PURPOSES: Final = {
    "primary": "PRIMARY OUTCOME MEASURE",
    "secondary": "SECONDARY OUTCOME MEASURE",
    "exploratory": "EXPLORATORY OUTCOME MEASURE",
}
"""An endpoint's ``purpose`` and its ARM AnalysisPurpose term."""


@dataclass(frozen=True)
class Rate:
    """A rate: subjects whose ``paramcd`` record meets ``responder``, among those with one."""

    key: str
    dataset: str
    paramcd: str
    label: str
    responder: Condition
    where: str

    @property
    def reads(self) -> Reads:
        return Reads(("USUBJID", "PARAMCD", *_variables(self.responder)), (self.paramcd,))


@dataclass(frozen=True)
class Subgroup:
    """Subjects grouped by an ADSL variable (a cohort): every efficacy endpoint is also
    given per value, under ``by_<name>`` in endpoints.json."""

    name: str  # "cohort": the JSON key by_cohort
    var: str
    values: tuple[str, ...]  # in table order
    label: str  # how the report names the grouping: "Cohort"

    @property
    def key(self) -> str:
        return f"by_{self.name}"


@dataclass(frozen=True)
class Shift:
    """A subject's category at entry against a parameter's result, on an ordered scale
    (best first): how many improved, stayed, worsened, and the table of both. The entry
    category is a subject-level variable (``baseline``: the response at entry), or, with
    ``record``, a variable of the parameter's record itself (a CTCAE shift: BTOXGRL beside
    the worst post-baseline ATOXGRL, the record ``select`` chooses)."""

    key: str
    dataset: str
    paramcd: str
    label: str
    baseline: str  # the variable of the entry category (subject-level unless `on_record`)
    scale: tuple[str, ...]  # best first
    where: str
    population: str = "efficacy"  # the role (efficacy | safety) whose subjects count
    value: str = "AVALC"  # the record's variable of the result
    on_record: bool = False  # `baseline` is a variable of the record, not of the subjects
    select: Condition | None = None  # the one record per subject the result is read from
    heads: tuple[str, str] = ("At entry", "best")  # the table's row and column headings

    @property
    def reads(self) -> Reads:
        """Of its dataset (a subject-level ``baseline`` is read from the subjects')."""
        own = [self.baseline] if self.on_record else []
        columns = ("USUBJID", "PARAMCD", self.value, *own, *_variables(self.select))
        return Reads(columns, (self.paramcd,))


@dataclass(frozen=True)
class Rates:
    title: str  # the report's heading of the rates
    method: str | None  # who counts, in words (None: said from the declaration)
    endpoints: tuple[Rate, ...]


@dataclass(frozen=True)
class Grade:
    """The grade of an adverse event, and the grade from which it counts as high."""

    var: str
    at_least: int
    label: str  # what the grade is, in words: "toxicity grade"


@dataclass(frozen=True)
class AeRow:
    """A row of the adverse-event summary: subjects with >= 1 treatment-emergent event
    where `where` holds (serious, fatal, leading to discontinuation, of special interest)."""

    key: str
    label: str
    where: Condition


@dataclass(frozen=True)
class AdverseEvents:
    dataset: str
    treatment_emergent: Condition
    grade: Grade | None
    rows: tuple[AeRow, ...] = ()
    rows_title: str = "Adverse events by category"

    @property
    def reads(self) -> Reads:
        grade = [self.grade.var] if self.grade else []
        rows = _variables(*(r.where for r in self.rows))
        columns = ("USUBJID", "AEBODSYS", "AEDECOD", *_variables(self.treatment_emergent))
        return Reads((*columns, *grade, *rows), None)


@dataclass(frozen=True)
class ExposureParameter:
    key: str
    paramcd: str
    label: str | None  # default: the dataset's PARAM


@dataclass(frozen=True)
class Exposure:
    """Descriptive statistics (n, mean, median, min, max) of AVAL per parameter of a BDS
    dataset among the safety population: treatment duration, cycles, dose intensity."""

    dataset: str
    title: str
    parameters: tuple[ExposureParameter, ...]

    @property
    def reads(self) -> Reads:
        return Reads(
            ("USUBJID", "PARAMCD", "PARAM", "AVAL"), tuple(p.paramcd for p in self.parameters)
        )


@dataclass(frozen=True)
class Concordance:
    """Agreement of two responses on one scale (a derived one against the investigator's),
    per assessment (a parameter each, paired by subject and ADT) and per subject (a
    best-response parameter each): percent agreement, Cohen's kappa, discordant records."""

    dataset: str
    label: str
    scale: tuple[str, ...]  # the categories kappa is over
    derived: str  # what the report calls the derived response ("lab-derived")
    investigator: str  # ... and the other one ("investigator")
    assessment: tuple[str, str]  # PARAMCD of the derived and of the investigator's response
    subject: tuple[str, str]  # PARAMCD of their best responses per subject
    where: str

    @property
    def reads(self) -> Reads:
        return Reads(
            ("USUBJID", "PARAMCD", "AVALC", "ADT", "AVISIT"), (*self.assessment, *self.subject)
        )


@dataclass(frozen=True)
class EndpointSpec:
    """The endpoints of a study, as its study.yaml declares them."""

    where: str  # "<study.yaml>: endpoints"
    subjects: str  # the subject-level dataset (ADSL) the populations come from
    efficacy: Population
    safety: Population
    by_arm: tuple[str, ...]  # arms every endpoint is also summarised by, in table order
    time_to_event: tuple[TimeToEvent, ...]
    rates: Rates | None
    adverse_events: AdverseEvents | None
    exposure: Exposure | None = None
    subgroups: tuple[Subgroup, ...] = ()
    median_followup: str | None = None  # the time-to-event endpoint whose reverse KM gives it
    shifts: tuple[Shift, ...] = ()
    concordance: Concordance | None = None

    @property
    def datasets(self) -> tuple[str, ...]:
        """The ADaM datasets the summary reads, each once, subject-level first."""
        named = [self.subjects, *(t.dataset for t in self.time_to_event)]
        named += [r.dataset for r in self.rates.endpoints] if self.rates else []
        named += [self.adverse_events.dataset] if self.adverse_events else []
        named += [self.exposure.dataset] if self.exposure else []
        named += [s.dataset for s in self.shifts]
        named += [self.concordance.dataset] if self.concordance else []
        return tuple(dict.fromkeys(named))

    @property
    def reads(self) -> dict[str, Reads]:
        """What the summary reads of each dataset (:attr:`datasets`): the subjects' every row
        (identifiers, population flags and arms, subgroups, subject-level shift baselines),
        of the others what their endpoints declare they read."""
        pops = (self.efficacy, self.safety)
        subject_level = [s.baseline for s in self.shifts if not s.on_record]
        columns = (
            "USUBJID", "STUDYID", *(p.flag for p in pops), *(p.arm for p in pops if p.arm),
            *(g.var for g in self.subgroups), *subject_level,
        )  # fmt: skip
        out = {self.subjects: Reads(tuple(dict.fromkeys(columns)), None)}
        uses: list[TimeToEvent | Rate | Shift | AdverseEvents | Exposure | Concordance]
        uses = [*self.time_to_event, *(self.rates.endpoints if self.rates else ()), *self.shifts]
        uses += [u for u in (self.adverse_events, self.exposure, self.concordance) if u]
        for use in uses:
            out[use.dataset] = out[use.dataset] | use.reads if use.dataset in out else use.reads
        return out

    @property
    def landmarks(self) -> tuple[Landmark, ...]:
        """Every landmark of the time-to-event endpoints, each once, in declaration order."""
        return tuple(dict.fromkeys(lm for t in self.time_to_event for lm in t.landmarks))


def read_endpoint_spec(meta: Mapping[str, Any], doc: Entry) -> EndpointSpec | None:
    """The ``endpoints:`` of a study.yaml read by :func:`transforms.yamlfile.load` (``doc``
    names that file); None when it declares none."""
    if meta.get("endpoints") is None:
        return None
    where = doc / "endpoints"
    raw = yamlfile.mapping(meta["endpoints"], where)
    yamlfile.keys(
        raw, where, {"subjects", "populations"},
        {"by_arm", "time_to_event", "rates", "adverse_events", "exposure", *EFFICACY_EXTRAS},
    )  # fmt: skip
    adam = [str(d) for d in yamlfile.sequence(meta.get("adam") or [], doc / "adam")]
    if not any(raw.get(k) for k in ("time_to_event", "rates", "adverse_events")):
        raise where.error("declares no endpoint: give time_to_event, rates or adverse_events")
    pops = yamlfile.mapping(raw["populations"], where / "populations")
    yamlfile.keys(pops, where / "populations", set(ROLES), set())
    efficacy, safety = (_population(pops[r], where / "populations" / r, r) for r in ROLES)
    if efficacy.key == safety.key:
        raise (where / "populations").error(
            f"the efficacy and safety populations need different names, not {efficacy.name!r}"
        )
    by_arm = _by_arm(raw.get("by_arm"), where / "by_arm", (efficacy, safety))
    rates = raw.get("rates")
    events = raw.get("adverse_events")
    time_to_event = tuple(_tte(raw.get("time_to_event"), where / "time_to_event", adam))
    followup = raw.get("median_followup")
    if followup is not None and followup not in {t.key for t in time_to_event}:
        raise (where / "median_followup").error(
            f"{followup!r} is not a time_to_event endpoint {[t.key for t in time_to_event]}"
        )
    return EndpointSpec(
        where=str(where),
        subjects=_dataset(raw["subjects"], where / "subjects", adam),
        efficacy=efficacy,
        safety=safety,
        by_arm=by_arm,
        time_to_event=time_to_event,
        rates=None if rates is None else _rates(rates, where / "rates", adam),
        adverse_events=None if events is None else _events(events, where / "adverse_events", adam),
        exposure=_exposure(raw.get("exposure"), where / "exposure", adam),
        subgroups=tuple(_subgroups(raw.get("subgroups"), where / "subgroups")),
        median_followup=followup,
        shifts=tuple(_shifts(raw.get("shifts"), where / "shifts", adam)),
        concordance=_concordance(raw.get("concordance"), where / "concordance", adam),
    )


# --- the entries ------------------------------------------------------------------------------


def _text(raw: Any, where: Entry) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise where.error(f"must be text, not {raw!r}")
    return raw


def _name(raw: Any, where: Entry, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(raw, str) or not pattern.fullmatch(raw):
        raise where.error(f"{raw!r} is not {what} ({pattern.pattern})")
    return raw


def _dataset(raw: Any, where: Entry, adam: list[str]) -> str:
    if raw not in adam:
        raise where.error(f"{raw!r} is not a dataset of the study's adam: list {adam}")
    return str(raw)


def _condition(raw: Any, where: Entry) -> Condition:
    return conditions.parse(raw, str(where), conditions.named("var"))


def _population(raw: Any, where: Entry, role: str) -> Population:
    yamlfile.keys(yamlfile.mapping(raw, where), where, {"flag", "name"}, {"label", "arm"})
    name = _name(raw["name"], where / "name", POPULATION_NAME, "a name of letters and digits")
    arm = raw.get("arm")
    return Population(
        role=role,
        flag=_name(raw["flag"], where / "flag", VARIABLE, "a variable name"),
        name=name,
        label=_text(raw["label"], where / "label") if "label" in raw else name,
        arm=None if arm is None else _name(arm, where / "arm", VARIABLE, "a variable name"),
    )


def _by_arm(raw: Any, where: Entry, populations: tuple[Population, ...]) -> tuple[str, ...]:
    if raw is None:
        return ()
    arms = [_text(a, where / i) for i, a in enumerate(yamlfile.sequence(raw, where))]
    if not arms or len(set(arms)) != len(arms):
        raise where.error("must list the arms, each once")
    for pop in populations:
        if pop.arm is None:
            raise where.error(f"needs the {pop.role} population's arm: (its treatment variable)")
    return tuple(arms)


def _entries(raw: Any, where: Entry) -> Iterator[tuple[str, Mapping[str, Any], Entry]]:
    """The endpoints of a section, keyed as endpoints.json keys them."""
    given = yamlfile.mapping(raw, where)
    if not given:
        raise where.error("names no endpoint")
    for key, entry in given.items():
        at = where / str(key)
        _name(key, at, KEY, "an endpoint key")
        yield str(key), yamlfile.mapping(entry, at), at


def _tte(raw: Any, where: Entry, adam: list[str]) -> Iterator[TimeToEvent]:
    if raw is None:
        return
    for key, entry, at in _entries(raw, where):
        yamlfile.keys(
            entry,
            at,
            {"dataset", "paramcd", "risk_table"},
            {"label", "landmarks", "purpose", "censoring"},
        )
        censoring = entry.get("censoring", False)
        if not isinstance(censoring, bool):
            raise (at / "censoring").error(f"must be true or false, not {censoring!r}")
        purpose = entry.get("purpose")
        if purpose is not None and purpose not in PURPOSES:
            raise (at / "purpose").error(f"{purpose!r} is not one of {', '.join(PURPOSES)}")
        marks = yamlfile.mapping(entry.get("landmarks") or {}, at / "landmarks")
        for day in marks:
            if isinstance(day, bool) or not isinstance(day, int) or day <= 0:
                raise (at / "landmarks").error(f"{day!r} is not a whole number of days above 0")
        days = yamlfile.sequence(entry["risk_table"], at / "risk_table")
        if (
            not days
            or any(isinstance(d, bool) or not isinstance(d, int) or d < 0 for d in days)
            or any(b <= a for a, b in itertools.pairwise(days))
        ):
            raise (at / "risk_table").error(f"must list whole days from 0 up, ascending: {days}")
        yield TimeToEvent(
            key=key,
            dataset=_dataset(entry["dataset"], at / "dataset", adam),
            paramcd=_name(entry["paramcd"], at / "paramcd", PARAMCD, "a PARAMCD"),
            label=_text(entry["label"], at / "label") if "label" in entry else None,
            landmarks=tuple(
                Landmark(int(day), _text(text, at / "landmarks" / str(day)))
                for day, text in marks.items()
            ),
            risk_table=tuple(days),
            where=str(at),
            purpose=purpose,
            censoring=censoring,
        )


def _rates(raw: Any, where: Entry, adam: list[str]) -> Rates:
    yamlfile.keys(yamlfile.mapping(raw, where), where, {"endpoints"}, {"title", "method"})
    rates = []
    for key, entry, at in _entries(raw["endpoints"], where / "endpoints"):
        yamlfile.keys(entry, at, {"dataset", "paramcd", "label", "responder"}, set())
        rates.append(
            Rate(
                key=key,
                dataset=_dataset(entry["dataset"], at / "dataset", adam),
                paramcd=_name(entry["paramcd"], at / "paramcd", PARAMCD, "a PARAMCD"),
                label=_text(entry["label"], at / "label"),
                responder=_condition(entry["responder"], at / "responder"),
                where=str(at),
            )
        )
    return Rates(
        title=_text(raw["title"], where / "title") if "title" in raw else "Rates",
        method=_text(raw["method"], where / "method") if "method" in raw else None,
        endpoints=tuple(rates),
    )


def _events(raw: Any, where: Entry, adam: list[str]) -> AdverseEvents:
    yamlfile.keys(yamlfile.mapping(raw, where), where, {"dataset", "treatment_emergent"},
                  {"grade", "rows", "rows_title"})  # fmt: skip
    grade = None
    if raw.get("grade") is not None:
        at = where / "grade"
        yamlfile.keys(yamlfile.mapping(raw["grade"], at), at, {"var", "at_least"}, {"label"})
        high = raw["grade"]["at_least"]
        if isinstance(high, bool) or not isinstance(high, int):
            raise (at / "at_least").error(f"must be a whole grade, not {high!r}")
        label = raw["grade"].get("label", "grade")
        grade = Grade(
            var=_name(raw["grade"]["var"], at / "var", VARIABLE, "a variable name"),
            at_least=high,
            label=_text(label, at / "label"),
        )
    return AdverseEvents(
        dataset=_dataset(raw["dataset"], where / "dataset", adam),
        treatment_emergent=_condition(raw["treatment_emergent"], where / "treatment_emergent"),
        grade=grade,
        rows=tuple(_ae_rows(raw.get("rows"), where / "rows")),
        rows_title=_text(raw["rows_title"], where / "rows_title")
        if "rows_title" in raw
        else AdverseEvents.rows_title,
    )


def _ae_rows(raw: Any, where: Entry) -> Iterator[AeRow]:
    for key, item, at in _entries(raw, where) if raw is not None else ():
        yamlfile.keys(item, at, {"label", "where"}, set())
        yield AeRow(
            key, _text(item["label"], at / "label"), _condition(item["where"], at / "where")
        )


def _exposure(raw: Any, where: Entry, adam: list[str]) -> Exposure | None:
    if raw is None:
        return None
    yamlfile.keys(yamlfile.mapping(raw, where), where, {"dataset", "parameters"}, {"title"})
    params = []
    for key, item, at in _entries(raw["parameters"], where / "parameters"):
        yamlfile.keys(item, at, {"paramcd"}, {"label"})
        label = _text(item["label"], at / "label") if "label" in item else None
        params.append(
            ExposureParameter(
                key, _name(item["paramcd"], at / "paramcd", PARAMCD, "a PARAMCD"), label
            )
        )
    title = _text(raw["title"], where / "title") if "title" in raw else "Exposure"
    return Exposure(_dataset(raw["dataset"], where / "dataset", adam), title, tuple(params))


def _subgroups(raw: Any, where: Entry) -> Iterator[Subgroup]:
    if raw is None:
        return
    for name, entry in yamlfile.mapping(raw, where).items():
        at = where / str(name)
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise at.error(f"{name!r} is not a lower-case name (its JSON key is by_<name>)")
        yamlfile.keys(yamlfile.mapping(entry, at), at, {"var", "values"}, {"label"})
        values = [
            _text(v, at / "values" / i)
            for i, v in enumerate(yamlfile.sequence(entry["values"], at / "values"))
        ]
        if not values or len(set(values)) != len(values):
            raise (at / "values").error("must list the values, each once")
        yield Subgroup(
            name=name,
            var=_name(entry["var"], at / "var", VARIABLE, "a variable name"),
            values=tuple(values),
            label=_text(entry["label"], at / "label") if "label" in entry else name,
        )


def _categories(raw: Any, where: Entry) -> list[str]:
    """An ordered scale of categories (best first): at least two, each once."""
    scale = [_text(v, where / i) for i, v in enumerate(yamlfile.sequence(raw, where))]
    if len(scale) < 2 or len(set(scale)) != len(scale):
        raise where.error("must list at least two categories, best first, each once")
    return scale


def _shifts(raw: Any, where: Entry, adam: list[str]) -> Iterator[Shift]:
    if raw is None:
        return
    for key, entry, at in _entries(raw, where):
        optional = {"baseline", "record", "population"}
        yamlfile.keys(entry, at, {"dataset", "paramcd", "label", "scale"}, optional)
        scale = _categories(entry["scale"], at / "scale")
        if ("baseline" in entry) == ("record" in entry):
            raise at.error(
                "give baseline (the subject-level variable of the category at entry) or record"
                " ({baseline: VAR, value: VAR, where: condition} of the parameter's record)"
            )
        population = entry.get("population", "efficacy")
        if population not in ROLES:
            raise (at / "population").error(f"{population!r} is none of {list(ROLES)}")
        if "baseline" in entry:
            baseline = _name(entry["baseline"], at / "baseline", VARIABLE, "a variable name")
            value, select, heads = "AVALC", None, ("At entry", "best")
        else:
            here = at / "record"
            record = yamlfile.mapping(entry["record"], here)
            yamlfile.keys(record, here, {"baseline", "value", "where"}, set())
            baseline = _name(record["baseline"], here / "baseline", VARIABLE, "a variable name")
            value = _name(record["value"], here / "value", VARIABLE, "a variable name")
            select = _condition(record["where"], here / "where")
            heads = ("Baseline", "worst post-baseline")
        yield Shift(
            key=key,
            dataset=_dataset(entry["dataset"], at / "dataset", adam),
            paramcd=_name(entry["paramcd"], at / "paramcd", PARAMCD, "a PARAMCD"),
            label=_text(entry["label"], at / "label"),
            baseline=baseline,
            scale=tuple(scale),
            where=str(at),
            population=population,
            value=value,
            on_record="record" in entry,
            select=select,
            heads=heads,
        )


def _pair(raw: Any, where: Entry) -> tuple[str, str]:
    entry = yamlfile.mapping(raw, where)
    yamlfile.keys(entry, where, {"derived", "investigator"}, set())
    derived, investigator = (
        _name(entry[k], where / k, PARAMCD, "a PARAMCD") for k in ("derived", "investigator")
    )
    return derived, investigator


def _concordance(raw: Any, where: Entry, adam: list[str]) -> Concordance | None:
    if raw is None:
        return None
    entry = yamlfile.mapping(raw, where)
    yamlfile.keys(
        entry, where, {"dataset", "label", "scale", "assessment", "subject"},
        {"derived", "investigator"},
    )  # fmt: skip
    scale = _categories(entry["scale"], where / "scale")
    return Concordance(
        dataset=_dataset(entry["dataset"], where / "dataset", adam),
        label=_text(entry["label"], where / "label"),
        scale=tuple(scale),
        derived=_text(entry.get("derived", "derived"), where / "derived"),
        investigator=_text(entry.get("investigator", "investigator"), where / "investigator"),
        assessment=_pair(entry["assessment"], where / "assessment"),
        subject=_pair(entry["subject"], where / "subject"),
        where=str(where),
    )

"""The job graph: the steps of a study's night, computed once from its specs.

Two jobs per study: the nightly SDTM load, and the ADaM build that each SDTM publication
triggers. A job is a list of :class:`Step` in an order that respects every step's
``after``; the DAG factory (``dags/study_pipelines.py``) renders it as one Airflow task per
step, ``cdisc run`` (:mod:`transforms.jobs.runner`) calls the steps in that order. Neither
holds a stage name of its own, so the two cannot drift, and a new dataset spec is a new
step with no code change.

SDTM: extract -> reconcile_fields -> validate_raw -> map the reference dataset (DM) -> map
and write every other dataset -> complete and write DM (what it reads of them; a dataset
whose spec reads the completed DM after that) -> reconcile -> validate_sdtm -> define ->
conformance -> publish.
ADaM: start -> build each dataset after the ADaM datasets its spec reads (ADSL first)
-> endpoints (when study.yaml declares endpoints; after the datasets they read) -> define
-> conformance -> publish.

Cheap on purpose (the standard library, PyYAML and the spec readers built on them, no
pandas): the DAG file computes the plan while Airflow parses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from transforms import yamlfile
from transforms.errors import UserError
from transforms.studies import (
    DEFAULT_SCHEDULE,
    REFERENCE_DATASET,
    StudyInfo,
    read_study_info,
    sdtm_asset,
    sdtm_reads,
    specs_dir,
    study_files,
)

JobKind = Literal["sdtm", "adam"]


class PlanError(UserError):
    """The specs do not make a job graph (a cycle, an unknown dataset); names the file."""


@dataclass(frozen=True)
class Place:
    """Where a job reads exports and writes runs; `force` reruns what is published;
    `resume`: the first step goes on in the run folder of a run whose process died
    (:mod:`transforms.jobs.journal`; ``cdisc run`` does, Airflow retries tasks instead)."""

    store: Path
    landing: Path | None = None  # the SDTM job reads exports there; the ADaM job does not
    force: bool = False
    resume: bool = False


@dataclass(frozen=True)
class Step:
    """One stage of a job. The first step of a job is called ``call(study, place)`` and
    returns the run folder; every other is called ``call(run, study, *args)``."""

    id: str  # unique in its job; also the Airflow task id ("dm.map": task group "dm")
    call: str  # "package.module:function", imported only when the step runs
    args: tuple[str, ...] = ()
    after: tuple[str, ...] = ()

    @property
    def group(self) -> str | None:
        """The dataset the step belongs to (its Airflow task group), if any."""
        return self.id.split(".", 1)[0] if "." in self.id else None

    @property
    def name(self) -> str:
        """The step's id within its group."""
        return self.id.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Job:
    study: str
    kind: JobKind
    dag_id: str
    steps: tuple[Step, ...]  # in an order that respects every `after`
    datasets: tuple[str, ...]
    schedule: str | None  # cron, for a job started by the clock
    trigger: str | None  # the Asset whose update starts the job
    emits: str | None  # the Asset the publishing step updates
    publishing: str  # id of the step that publishes

    @property
    def first(self) -> Step:
        return self.steps[0]

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(f"{self.dag_id} has no step {step_id!r}")


SDTM = "transforms.jobs.sdtm"
ADAM = "transforms.jobs.adam"


def dag_id(study: str, kind: JobKind) -> str:
    """The id of the DAG of a study's job (``cdisc run`` names it in its alerts, as the
    DAG's own do)."""
    return f"{study.lower()}_sdtm_nightly" if kind == "sdtm" else f"{study.lower()}_adam"


def _start(study: str, kind: JobKind, schedule: str) -> tuple[str | None, str | None]:
    """What starts a study's job: the SDTM load its clock (`schedule`, cron), the ADaM build
    the Asset its SDTM publication updates: (schedule, trigger)."""
    return (schedule, None) if kind == "sdtm" else (None, sdtm_asset(study))


FIRST_STEP: dict[JobKind, str] = {"sdtm": "extract", "adam": "start"}
"""Each job's first step: the one that makes the run folder (and the task that fails
first when the study's specs cannot be read)."""


def sdtm_job(study: StudyInfo, root: Path | None = None) -> Job:
    """The nightly SDTM load of a study: each dataset mapped after DM (its reference
    dates) and after the datasets its spec reads (the subjects' visits: every dataset
    with VISITNUM)."""
    # The export's fields are accounted for first: a column no spec maps or declares stops
    # the night before anything is checked or mapped.
    steps = [
        Step(FIRST_STEP["sdtm"], f"{SDTM}:extract"),
        Step("reconcile_fields", f"{SDTM}:reconcile_fields", after=(FIRST_STEP["sdtm"],)),
        Step("validate_raw", f"{SDTM}:validate_raw", after=("reconcile_fields",)),
    ]
    written = []
    declared = sdtm_reads(study.id, study.sdtm, root)
    reference = REFERENCE_DATASET.lower()
    # What DM reads of every other dataset (RFPENDTC: the latest date of the subject in any
    # domain) is completed once they are mapped (dm.complete, before dm.xpt). A dataset
    # whose spec reads DM (`reads: [DM]`: SE, whose last element ends at RFPENDTC), or one
    # that reads such a dataset, is mapped after that instead.
    late: set[str] = set()
    while grown := {n for n, r in declared.items()
                    if n not in late and (REFERENCE_DATASET in r or late & set(r))}:  # fmt: skip
        late |= grown
    for name in _reference_first(study.sdtm):
        group = name.lower()
        reads = [] if name == REFERENCE_DATASET or REFERENCE_DATASET not in study.sdtm else [
            REFERENCE_DATASET
        ]  # fmt: skip
        reads += [d for d in declared[name] if d not in reads]
        after = ("validate_raw", *(
            f"{reference}.complete" if d == REFERENCE_DATASET and name in late
            else f"{d.lower()}.map" for d in reads
        ))  # fmt: skip
        steps.append(Step(f"{group}.map", f"{SDTM}:map_dataset", (name,), after))
        mapped = f"{group}.map"
        if name == REFERENCE_DATASET:
            before = [f"{n.lower()}.map" for n in study.sdtm if n != name and n not in late]
            steps.append(Step(f"{group}.complete", f"{SDTM}:complete_reference",
                              after=(mapped, *before)))  # fmt: skip
            mapped = f"{group}.complete"
        steps.append(Step(f"{group}.xpt", f"{SDTM}:write_xpt", (name,), (mapped,)))
        written.append(f"{group}.xpt")
    steps += [
        Step("reconcile", f"{SDTM}:reconcile", after=("validate_raw", *written)),
        Step("validate_sdtm", f"{SDTM}:validate_sdtm", after=("reconcile",)),
        Step("define", f"{SDTM}:define", after=("validate_sdtm",)),
        Step("conformance", f"{SDTM}:conformance", after=("define",)),
        Step("publish", f"{SDTM}:publish_run", after=("conformance",)),
    ]
    folder = (root or specs_dir()) / study.id / "sdtm"
    schedule, trigger = _start(study.id, "sdtm", study.schedule)
    return Job(
        study=study.id, kind="sdtm", dag_id=dag_id(study.id, "sdtm"),
        steps=ordered(steps, where=str(folder)), datasets=study.sdtm, schedule=schedule,
        trigger=trigger, emits=sdtm_asset(study.id), publishing="publish",
    )  # fmt: skip


def adam_job(study: StudyInfo, root: Path | None = None) -> Job:
    """The ADaM build of a study, started by each SDTM publication."""
    reads = adam_reads(study, root)
    steps = [Step(FIRST_STEP["adam"], f"{ADAM}:start")]
    built = []
    for name in study.adam:
        after = (FIRST_STEP["adam"], *(f"{r.lower()}.build" for r in reads[name]))
        steps.append(Step(f"{name.lower()}.build", f"{ADAM}:build", (name,), after))
        built.append(f"{name.lower()}.build")
    # The endpoint summary, when study.yaml declares endpoints: after the datasets they read.
    last = tuple(built)
    if study.endpoints:
        inputs = tuple(f"{d.lower()}.build" for d in study.adam if d in study.endpoints.datasets)
        steps.append(Step("endpoints", f"{ADAM}:endpoints", after=inputs))
        last = ("endpoints", *(b for b in built if b not in inputs))
    steps += [
        Step("define", f"{ADAM}:define", after=last),
        Step("conformance", f"{ADAM}:conformance", after=("define",)),
        Step("publish", f"{ADAM}:publish_run", after=("conformance",)),
    ]
    folder = (root or specs_dir()) / study.id / "adam"
    schedule, trigger = _start(study.id, "adam", study.schedule)
    return Job(
        study=study.id, kind="adam", dag_id=dag_id(study.id, "adam"),
        steps=ordered(steps, where=str(folder)), datasets=study.adam, schedule=schedule,
        trigger=trigger, emits=None, publishing="publish",
    )  # fmt: skip


def job_kinds(study: StudyInfo) -> list[JobKind]:
    """The kinds of the study's jobs (nothing read): SDTM, and ADaM when its study.yaml
    lists ADaM datasets."""
    return ["sdtm", "adam"] if study.adam else ["sdtm"]


def jobs(study: StudyInfo, root: Path | None = None) -> list[Job]:
    """The study's jobs (:func:`job_kinds`)."""
    return [job(study, kind, root) for kind in job_kinds(study)]


def job(study: StudyInfo, kind: JobKind, root: Path | None = None) -> Job:
    return sdtm_job(study, root) if kind == "sdtm" else adam_job(study, root)


@dataclass(frozen=True)
class Unplanned:
    """A study's job whose specs make no job graph (a spec that cannot be read, a cycle):
    its DAG keeps its id and its clock or trigger, and its one task fails with `problem`
    (and alerts), while the other studies' and jobs' DAGs are made as ever."""

    study: str
    kind: JobKind
    dag_id: str
    schedule: str | None
    trigger: str | None
    problem: str


def every_job(
    wanted: str | None = None, root: Path | None = None
) -> Iterator[tuple[StudyInfo, Job] | Unplanned]:
    """Every study's jobs, each with its study, or only the one whose DAG id is `wanted`
    (the others' specs are not read). Each job is made of its own study's specs alone: a
    spec error is an :class:`Unplanned` job (its study.yaml's: the SDTM job of the folder's
    name), not the end of every study's jobs."""
    for path in study_files(root):
        folder = path.parent.name
        try:
            study = read_study_info(path)
        except UserError as error:
            if wanted in (None, dag_id(folder, "sdtm")):
                yield Unplanned(folder, "sdtm", dag_id(folder, "sdtm"),
                                *_start(folder, "sdtm", DEFAULT_SCHEDULE), str(error))  # fmt: skip
            continue
        for kind in job_kinds(study):
            name = dag_id(study.id, kind)
            if wanted not in (None, name):
                continue
            made: tuple[StudyInfo, Job] | Unplanned
            try:
                made = study, job(study, kind, root)
            except UserError as error:
                made = Unplanned(study.id, kind, name, *_start(study.id, kind, study.schedule),
                                 str(error))  # fmt: skip
            yield made


def _reference_first(datasets: Iterable[str]) -> list[str]:
    names = list(datasets)
    return sorted(names, key=lambda n: n != REFERENCE_DATASET)  # stable: others keep order


def adam_reads(study: StudyInfo, root: Path | None = None) -> dict[str, tuple[str, ...]]:
    """Per ADaM dataset, the study's other ADaM datasets its spec reads: those named by a
    ``dataset:`` or ``subjects:`` at any depth of its ``derivations``, by a variable's
    ``source: DS.VAR``, or listed in an explicit ``reads:``."""
    folder = (root or specs_dir()) / study.id / "adam"
    known = set(study.adam)
    reads: dict[str, tuple[str, ...]] = {}
    for name in study.adam:
        path = folder / f"{name.lower()}.yaml"
        spec = yamlfile.load(path)  # the one reader: missing file, syntax, duplicate keys
        named = list(_datasets_named(spec.get("derivations")))
        for variable in spec.get("variables") or []:
            source = variable.get("source") if isinstance(variable, Mapping) else None
            if isinstance(source, str) and "." in source:
                named.append(source.split(".", 1)[0])
        explicit = spec.get("reads") or []
        unknown = [d for d in explicit if d not in known]
        if unknown:
            raise PlanError(f"{path}: reads {unknown}, not ADaM datasets of {study.id}")
        reads[name] = tuple(
            d for d in dict.fromkeys([*explicit, *named]) if d in known and d != name
        )
    return reads


def _datasets_named(node: Any) -> Iterable[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in ("dataset", "subjects") and isinstance(value, str):
                yield value
            else:
                yield from _datasets_named(value)
    elif isinstance(node, list):
        for item in node:
            yield from _datasets_named(item)


def ordered(steps: list[Step], where: str = "job") -> tuple[Step, ...]:
    """The steps in an order that respects every ``after`` (declaration order otherwise);
    an unknown step or a cycle is a PlanError naming it."""
    ids = {s.id for s in steps}
    for s in steps:
        missing = [a for a in s.after if a not in ids]
        if missing:
            raise PlanError(f"{where}: step {s.id} comes after unknown step(s) {missing}")
    done: list[Step] = []
    placed: set[str] = set()
    pending = list(steps)
    while pending:
        ready = next((s for s in pending if all(a in placed for a in s.after)), None)
        if ready is None:
            cycle = ", ".join(s.id for s in pending)
            raise PlanError(f"{where}: the datasets read each other in a cycle ({cycle})")
        done.append(ready)
        placed.add(ready.id)
        pending.remove(ready)
    return tuple(done)

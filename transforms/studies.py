"""Which studies exist and how they are scheduled: cheap enough for DAG parsing.

Imports only the standard library and PyYAML (through transforms.yamlfile; no pandas) and
the endpoint declaration's reader, so the DAG file can build one DAG per study folder in
well under a second.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from transforms import yamlfile
from transforms.endpoint_spec import EndpointSpec, read_endpoint_spec

STUDY_ID = re.compile(r"^[A-Z][A-Z0-9_]{0,19}$")
DEFAULT_SCHEDULE = "0 2 * * *"
# The SDTM dataset whose reference dates (RFSTDTC, RFXSTDTC...) every other dataset reads.
REFERENCE_DATASET = "DM"
# Specs shared by every study: sdtm_specs/_common/sdtm/<ds>.yaml serves a study that lists
# the dataset and has no spec of its own (the trial design datasets, made of the design).
COMMON = "_common"


def specs_dir() -> Path:
    """The sdtm_specs folder: $CDISC_SPECS_DIR, else the one beside this package."""
    env = os.environ.get("CDISC_SPECS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "sdtm_specs"


def sdtm_asset(study: str) -> str:
    """Name of the Airflow Asset a study's SDTM publication emits (the ADaM DAG's trigger)."""
    return f"{study.lower()}_sdtm_published"


CLOCK = re.compile(r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$")


@dataclass(frozen=True)
class Deadline:
    """By when a night's export must have arrived (study.yaml ``deadline:``): a wall-clock
    time in the data manager's time zone (IANA name, so summer time is followed)."""

    at: time
    timezone: str

    def after(self, moment: datetime) -> datetime:
        """The first deadline at or after `moment` (an aware time), in UTC."""
        zone = ZoneInfo(self.timezone)
        local = moment.astimezone(zone)
        due = datetime.combine(local.date(), self.at, tzinfo=zone)
        if due < local:
            due = datetime.combine(local.date() + timedelta(days=1), self.at, tzinfo=zone)
        return due.astimezone(UTC)

    def __str__(self) -> str:
        return f"{self.at:%H:%M} {self.timezone}"


def read_deadline(value: object, where: yamlfile.Entry) -> Deadline | None:
    """``deadline: {time: "06:00", timezone: Europe/Paris}`` (absent: no deadline)."""
    if value is None:
        return None
    given = yamlfile.mapping(value, where)
    yamlfile.keys(given, where, {"time", "timezone"}, set())
    clock = given["time"]
    if not isinstance(clock, str) or not CLOCK.fullmatch(clock):
        raise (where / "time").error(f'{clock!r} must be a quoted time of day HH:MM, e.g. "06:00"')
    zone = given["timezone"]
    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError):
        raise (where / "timezone").error(
            f"{zone!r} is not an IANA time zone name (e.g. Europe/Paris, UTC)"
        ) from None
    hours, minutes = (int(part) for part in clock.split(":"))
    return Deadline(time(hours, minutes), str(zone))


@dataclass(frozen=True)
class StudyInfo:
    id: str
    title: str
    schedule: str
    sdtm: tuple[str, ...]
    adam: tuple[str, ...]
    # the endpoints the ADaM job summarises (None: it writes no endpoint summary)
    endpoints: EndpointSpec | None = None
    # by when the night's export must have arrived (None: the night waits for nothing)
    deadline: Deadline | None = None


def read_study_info(path: Path) -> StudyInfo:
    """The scheduling facts of one ``study.yaml``."""
    meta = yamlfile.load(path)
    doc = yamlfile.Entry(path)
    study = str(meta.get("study", ""))
    if study != path.parent.name or not STUDY_ID.fullmatch(study):
        raise (doc / "study").error(f"{study!r} must match its folder and {STUDY_ID.pattern}")
    return StudyInfo(
        id=study,
        title=str(meta.get("title", study)),
        schedule=str(meta.get("schedule") or DEFAULT_SCHEDULE),
        sdtm=tuple(str(d) for d in yamlfile.sequence(meta.get("sdtm", []), doc / "sdtm")),
        adam=tuple(str(d) for d in yamlfile.sequence(meta.get("adam") or [], doc / "adam")),
        endpoints=read_endpoint_spec(meta, doc),
        deadline=read_deadline(meta.get("deadline"), doc / "deadline"),
    )


def study_files(root: Path | None = None) -> list[Path]:
    """The study.yaml of every study folder, sorted by folder (folders starting '_' are
    shared, not studies). Nothing is read."""
    found = sorted((root or specs_dir()).glob("*/study.yaml"))
    return [path for path in found if not path.parent.name.startswith("_")]


def list_studies(root: Path | None = None) -> list[StudyInfo]:
    """Every study folder with a study.yaml, sorted by id."""
    return [read_study_info(path) for path in study_files(root)]


def unknown_study(study: str, root: Path | None = None) -> str | None:
    """Why `study` is not a study of the specs folder (naming the known ones), or None.
    Reads folder names only: another study's broken spec does not stop this one."""
    known = [path.parent.name for path in study_files(root)]
    if study in known:
        return None
    return f"no specs for study {study} (known: {', '.join(known) or 'none'})"


def sdtm_spec_path(root: Path, study: str, dataset: str) -> Path:
    """The spec file of one of a study's SDTM datasets: the study's own
    ``sdtm/<ds>.yaml``, else the shared ``_common/sdtm/<ds>.yaml`` when there is one."""
    own = root / study / "sdtm" / f"{dataset.lower()}.yaml"
    shared = root / COMMON / "sdtm" / f"{dataset.lower()}.yaml"
    return shared if not own.exists() and shared.exists() else own


def _variable_names(spec: Mapping[str, object]) -> set[str]:
    entries = spec.get("variables") or []
    return {
        str(v if isinstance(v, str) else v.get("name"))
        for v in entries  # type: ignore[attr-defined]
        if isinstance(v, str | Mapping)
    }


def sdtm_reads(
    study: str, datasets: tuple[str, ...], root: Path | None = None
) -> dict[str, tuple[str, ...]]:
    """Per SDTM dataset of a study, the study's other SDTM datasets its spec's ``reads:``
    names (besides DM, which every other dataset reads; DM named here is the completed
    DM, see transforms.jobs.plan): a list of datasets, or
    ``{variable: X}``, every other dataset whose spec has the variable X (the subjects'
    visits read every dataset with VISITNUM). Unknown names are a spec error."""
    root = root or specs_dir()
    specs = {
        name: (path, yamlfile.load(path))
        for name in datasets
        for path in [sdtm_spec_path(root, study, name)]
    }
    reads: dict[str, tuple[str, ...]] = {}
    for name, (path, spec) in specs.items():
        given = spec.get("reads")
        where = yamlfile.Entry(path) / "reads"
        if given is None:
            named: list[str] = []
        elif isinstance(given, Mapping):
            yamlfile.keys(given, where, {"variable"}, set())
            wanted = str(given["variable"])
            named = [d for d, (_, s) in specs.items() if d != name and wanted in _variable_names(s)]
        else:
            named = [str(d) for d in yamlfile.sequence(given, where)]
            if unknown := [d for d in named if d not in specs or d == name]:
                raise where.error(f"{unknown} are not other SDTM datasets of {study}")
        reads[name] = tuple(named)
    return reads

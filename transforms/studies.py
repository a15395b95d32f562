"""Which studies exist and how they are scheduled: cheap enough for DAG parsing.

Imports only the standard library and PyYAML (through transforms.yamlfile; no pandas) and
the endpoint declaration's reader, so the DAG file can build one DAG per study folder in
well under a second.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from transforms import yamlfile
from transforms.endpoint_spec import EndpointSpec, read_endpoint_spec

STUDY_ID = re.compile(r"^[A-Z][A-Z0-9_]{0,19}$")
DEFAULT_SCHEDULE = "0 2 * * *"


def specs_dir() -> Path:
    """The sdtm_specs folder: $CDISC_SPECS_DIR, else the one beside this package."""
    env = os.environ.get("CDISC_SPECS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "sdtm_specs"


def sdtm_asset(study: str) -> str:
    """Name of the Airflow Asset a study's SDTM publication emits (the ADaM DAG's trigger)."""
    return f"{study.lower()}_sdtm_published"


@dataclass(frozen=True)
class StudyInfo:
    id: str
    title: str
    schedule: str
    sdtm: tuple[str, ...]
    adam: tuple[str, ...]
    # the endpoints the ADaM job summarises (None: it writes no endpoint summary)
    endpoints: EndpointSpec | None = None


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
    )


def list_studies(root: Path | None = None) -> list[StudyInfo]:
    """Every study folder with a study.yaml, sorted by id (folders starting '_' are shared)."""
    root = root or specs_dir()
    return [
        read_study_info(path)
        for path in sorted(root.glob("*/study.yaml"))
        if not path.parent.name.startswith("_")
    ]

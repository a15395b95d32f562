"""Seeded sample EDC exports (CSV or CDISC ODM 1.3.2), one file per raw eCRF form, or
(``odm-study``) one ODM file holding every form of the study.

A development tool beside the engine, not part of it: `transforms` never imports this
package and its distribution does not ship it (tests/test_samplegen_boundary.py). It uses
the engine's spec loading and checksums, so it depends on `transforms`, never the reverse.

`generate_export` writes ``<out>/<study>/<export-id>/`` atomically: every file goes into the
hidden sibling ``.<export-id>.tmp/``, ``export.json`` (checksums, row counts) last, and the
folder is then renamed into place, so a reader never sees a half-written export.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final, Literal, Protocol

import pandas as pd
import yaml

from samplegen import pommaint
from samplegen.writers import write_csv, write_manifest, write_odm, write_odm_study
from transforms.extract.exports import sha256_file
from transforms.studies import specs_dir

SOURCE_SYSTEM: Final = "cdisc-pipeline sample generator"
FORMATS: Final = ("csv", "odm", "odm-study")
"""CSV or ODM files per form, or one ODM file of the whole study (``<study>.xml``)."""


class Generator(Protocol):
    """A study's sample generator: (subjects, seed, cut-off[, volume profile]) -> forms."""

    def __call__(
        self, subjects: int, seed: int, cutoff: date, profile: str = ...
    ) -> dict[str, pd.DataFrame]: ...


Corrections = Callable[[dict[str, pd.DataFrame], int], dict[str, pd.DataFrame]]
Defects = Callable[
    [dict[str, pd.DataFrame], date], tuple[dict[str, pd.DataFrame], list[dict[str, str]]]
]
STUDIES: Final[dict[str, tuple[Generator, Corrections, str]]] = {
    pommaint.STUDY: (pommaint.generate, pommaint.as_entered, pommaint.DESCRIPTION),
}
# Per study: plants one defect of each class the quality gates catch (``--dirty``).
DIRTY: Final[dict[str, Defects]] = {pommaint.STUDY: pommaint.make_dirty}


def load_forms(study: str) -> dict[str, Any]:
    """The raw form contract of a study (the ``forms`` mapping of its forms.yaml)."""
    with (specs_dir() / study / "forms.yaml").open(encoding="utf-8") as fh:
        forms: dict[str, Any] = yaml.safe_load(fh)["forms"]
    return forms


def export_id(moment: datetime) -> str:
    """Export folder name: the moment in UTC as ``%Y%m%dT%H%M%SZ`` (naive means UTC)."""
    return _utc(moment).strftime("%Y%m%dT%H%M%SZ")


def _utc(moment: datetime) -> datetime:
    """The moment in UTC, truncated to seconds; a naive datetime is taken as UTC."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).replace(microsecond=0)


def generate_export(
    study: str,
    *,
    subjects: int = 15,
    seed: int = 20261123,
    out: Path,
    fmt: Literal["csv", "odm", "odm-study"] = "csv",
    export_time: datetime | None = None,
    cutoff: date = date(2026, 11, 15),
    night: int = 1,
    dirty: bool = False,
    profile: str = "standard",
) -> Path:
    """Write a sample export of `study` under `out` and return its folder.

    Same (study, subjects, seed, cutoff) gives byte-identical CSV form files; ODM files also
    carry the export id and creation time in their header. Refuses to overwrite an export.
    `night` 1 is the data as first entered; from night 2 the site's late corrections are in.
    `dirty` plants one defect of each class the quality gates catch and lists them in the
    manifest under ``defects`` (kind, form, subject, field, value, what).
    `profile` sets the volume: ``standard`` (the default), or ``realistic`` with denser lab
    sampling, for benchmarks; it is recorded in the manifest only when not the default.
    """
    if study not in STUDIES:
        raise ValueError(f"unknown study {study!r}; known studies: {', '.join(sorted(STUDIES))}")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    moment = _utc(export_time or datetime.now(UTC))
    ident = export_id(moment)
    created = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    study_dir = Path(out) / study
    final = study_dir / ident
    if final.exists():
        raise FileExistsError(f"export {final} already exists; refusing to overwrite it")

    generate, as_entered, description = STUDIES[study]
    forms = load_forms(study)
    frames = as_entered(generate(subjects, seed, cutoff, profile), night)
    defects: list[dict[str, str]] = []
    if dirty:
        if study not in DIRTY:
            raise ValueError(f"no dirty mode for study {study!r}")
        frames, defects = DIRTY[study](frames, cutoff)
    _check_contract(study, forms, frames)

    study_dir.mkdir(parents=True, exist_ok=True)
    staging = study_dir / f".{ident}.tmp"
    try:
        staging.mkdir()
    except FileExistsError:
        raise FileExistsError(
            f"{staging} exists: another export with id {ident} is being written, or an "
            "interrupted one left it behind (remove it once no writer is running)"
        ) from None
    try:
        files: dict[str, dict[str, Any]] = {}
        if fmt == "odm-study":
            path = staging / f"{study.lower()}.xml"
            rows = write_odm_study(
                {form: frames[form][list(spec["columns"])] for form, spec in forms.items()},
                forms, path, study=study, description=description,
                file_oid=f"{study}.{ident}", created=created,
            )  # fmt: skip
            files[path.name] = {"sha256": sha256_file(path), "rows": rows}
        for form, spec in forms.items() if fmt != "odm-study" else ():
            frame = frames[form][list(spec["columns"])]
            name = f"{spec['file']}.{'csv' if fmt == 'csv' else 'xml'}"
            path = staging / name
            if fmt == "csv":
                rows = write_csv(frame, path)
            else:
                rows = write_odm(
                    frame, path, form=form, spec=spec, study=study, description=description,
                    file_oid=f"{study}.{ident}.{form}", created=created,
                )  # fmt: skip
            files[name] = {"sha256": sha256_file(path), "rows": rows}
        manifest = {
            "study": study,
            "export_id": ident,
            "created": created,
            "data_cutoff": cutoff.isoformat(),
            "format": fmt,
            "source_system": SOURCE_SYSTEM,
            "seed": seed,
            "subjects": subjects,
            "night": night,
            "files": files,
        }
        if profile != "standard":
            manifest["profile"] = profile
        if dirty:
            manifest["defects"] = defects
        write_manifest(staging / "export.json", manifest)
        if final.exists():
            raise FileExistsError(f"export {final} appeared while writing; refusing to overwrite")
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def _check_contract(study: str, forms: dict[str, Any], frames: dict[str, pd.DataFrame]) -> None:
    """The generator must produce exactly the forms and columns of forms.yaml."""
    if set(frames) != set(forms):
        raise ValueError(
            f"{study}: generated forms {sorted(frames)} differ from forms.yaml {sorted(forms)}"
        )
    for form, spec in forms.items():
        if set(frames[form].columns) != set(spec["columns"]):
            raise ValueError(
                f"{study} {form}: generated columns {list(frames[form].columns)} differ from "
                f"forms.yaml {list(spec['columns'])}"
            )

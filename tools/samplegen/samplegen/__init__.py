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
from samplegen.blocks import BLOCK_SUBJECTS, Block, blocks
from samplegen.writers import write_csv, write_manifest, write_odm, write_odm_study
from transforms.extract.exports import sha256_file
from transforms.studies import specs_dir

SOURCE_SYSTEM: Final = "cdisc-pipeline sample generator"
FORMATS: Final = ("csv", "odm", "odm-study")
"""CSV or ODM files per form, or one ODM file of the whole study (``<study>.xml``)."""


class Generator(Protocol):
    """A study's sample generator: (subjects, seed, cut-off[, volume profile][, block of the
    subjects]) -> forms (of the block's subjects only, given one)."""

    def __call__(
        self, subjects: int, seed: int, cutoff: date, profile: str = ..., part: Block | None = ...
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
    block_subjects: int = BLOCK_SUBJECTS,
) -> Path:
    """Write a sample export of `study` under `out` and return its folder.

    Same (study, subjects, seed, cutoff) gives byte-identical CSV form files; ODM files also
    carry the export id and creation time in their header. Refuses to overwrite an export.
    `night` 1 is the data as first entered; from night 2 the site's late corrections are in.
    `dirty` plants one defect of each class the quality gates catch and lists them in the
    manifest under ``defects`` (kind, form, subject, field, value, what).
    `profile` sets the volume: ``standard`` (the default), or ``realistic`` with denser lab
    sampling, for benchmarks; it is recorded in the manifest only when not the default.

    The subjects are generated and written `block_subjects` at a time (see
    ``samplegen.blocks``), so memory depends on the block size, not on the study size. The
    night-1 state and the dirty defects are those of the first block's subjects. ODM needs
    the whole study at once: it is refused for a study of more than one block.
    """
    if study not in STUDIES:
        raise ValueError(f"unknown study {study!r}; known studies: {', '.join(sorted(STUDIES))}")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    parts = blocks(subjects, block_subjects)
    if fmt != "csv" and len(parts) > 1:
        raise ValueError(
            f"{fmt} is written from the whole study at once: at most {block_subjects} "
            f"subjects (got {subjects}); use csv, which is written a block at a time"
        )
    if dirty and study not in DIRTY:
        raise ValueError(f"no dirty mode for study {study!r}")
    moment = _utc(export_time or datetime.now(UTC))
    ident = export_id(moment)
    created = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    study_dir = Path(out) / study
    final = study_dir / ident
    if final.exists():
        raise FileExistsError(f"export {final} already exists; refusing to overwrite it")

    generate, as_entered, description = STUDIES[study]
    forms = load_forms(study)

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
        rows: dict[str, int] = {}  # file name -> rows (item groups) written
        odm = {"study": study, "description": description, "file_oid": f"{study}.{ident}",
               "created": created}  # fmt: skip
        defects: list[dict[str, str]] = []
        for part in parts:
            frames = generate(subjects, seed, cutoff, profile, part)
            if part.number == 0:  # the first subject's correction, the defects: block 0's
                frames = as_entered(frames, night)
                if dirty:
                    frames, defects = DIRTY[study](frames, cutoff)
            _check_contract(study, forms, frames)
            frames = {form: frames[form][list(spec["columns"])] for form, spec in forms.items()}
            for name, written in _write_block(frames, forms, staging, fmt, odm).items():
                rows[name] = rows.get(name, 0) + written
            del frames  # before the next block is drawn
        files = {
            name: {"sha256": sha256_file(staging / name), "rows": count}
            for name, count in rows.items()
        }
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


def _write_block(
    frames: dict[str, pd.DataFrame], forms: dict[str, Any], staging: Path, fmt: str,
    odm: dict[str, str],
) -> dict[str, int]:  # fmt: skip
    """Write one block's forms into `staging` (a CSV file already there: appended to);
    return the rows (item groups) written per file name. `odm`: the study, description,
    file OID and creation time an ODM file's header carries."""
    if fmt == "odm-study":
        path = staging / f"{odm['study'].lower()}.xml"
        return {path.name: write_odm_study(frames, forms, path, **odm)}
    written: dict[str, int] = {}
    for form, spec in forms.items():
        name = f"{spec['file']}.{'csv' if fmt == 'csv' else 'xml'}"
        if fmt == "csv":
            path = staging / name
            written[name] = write_csv(frames[form], path, append=path.exists())
        else:
            oid = f"{odm['file_oid']}.{form}"
            written[name] = write_odm(
                frames[form], staging / name, form=form, spec=spec, **{**odm, "file_oid": oid}
            )
    return written


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

"""Find the newest complete EDC export of a study in the landing folder.

An export is a folder ``<landing>/<STUDY>/<export-id>/`` whose id is a UTC timestamp such
as ``20261123T020000Z`` (so names sort in time order). It holds one file per eCRF form,
``<stem>.csv|.xml|.sas7bdat|.xpt``, or else one CDISC ODM 1.3.2 file holding every form
(any name ending ``.xml`` that is no form's stem: the only file of the export besides the
manifest), and optionally ``export.json``, the manifest the EDC writes last::

    {"study": "POMMAINT", "export_id": "20261123T020000Z", "created": "...",
     "data_cutoff": "2026-11-15", "files": {"dm.csv": {"sha256": "<hex>", "rows": 15}}}

Other folders (``.tmp``, partial copies) are ignored, and nothing reached through a
symbolic link that leaves the landing folder is used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transforms.errors import NotReady, UserError
from transforms.extract.readers import FORM_SUFFIXES

log = logging.getLogger("cdisc.extract")

STUDY_ID = re.compile(r"^[A-Z][A-Z0-9_]{0,19}$")
EXPORT_ID = re.compile(r"^\d{8}T\d{6}Z$")
MANIFEST = "export.json"


class NoExportError(UserError, LookupError):
    """No export of the study is complete; the message says what each candidate lacked."""


class ExportNotReady(NoExportError, NotReady):
    """No export has arrived yet, or the newest is still being written: a later try may
    find it complete (a broken export alone is a :class:`NoExportError`, not retried)."""


@dataclass(frozen=True)
class Export:
    """One complete export: its folder, the expected form files by stem, its manifest."""

    study: str
    export_id: str
    path: Path
    files: dict[str, Path]
    manifest: dict[str, Any] | None
    skipped: tuple[str, ...] = ()  # newer exports passed over, each with what it lacked
    study_file: Path | None = None  # the whole-study ODM file every form is read from

    def source(self, stem: str, form: str) -> str:
        """How listings name the source of a form: its file's name, and for a whole-study
        ODM file the form too (``pommaint.xml#AE``)."""
        name = self.files[stem].name
        return f"{name}#{form}" if self.study_file is not None else name


def sha256_file(path: Path) -> str:
    """SHA-256 of a file as lower-case hex, read in chunks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _study_folder(landing: Path, study: str) -> Path:
    if not STUDY_ID.fullmatch(study):
        raise ValueError(
            f"study id {study!r} refused: it must match {STUDY_ID.pattern} "
            "(upper-case letter, then up to 19 upper-case letters, digits or _)"
        )
    return landing / study


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path``, symbolic links resolved, lies within the resolved ``root``."""
    return path.resolve().is_relative_to(root.resolve())


def list_exports(landing: Path, study: str) -> list[Path]:
    """Export folders of a study, oldest first; other names and escaping links are ignored."""
    folder = _study_folder(landing, study)
    if not folder.is_dir() or not _inside(folder, landing):
        return []
    return sorted(
        (
            child
            for child in folder.iterdir()
            if EXPORT_ID.fullmatch(child.name) and child.is_dir() and _inside(child, landing)
        ),
        key=lambda child: child.name,
    )


def _form_files(
    landing: Path, folder: Path, expected: Sequence[str]
) -> tuple[dict[str, Path], list[str], Path | None]:
    """The expected form files by stem, what is wrong with them (empty if nothing), and the
    whole-study ODM file if the export is one (then every stem is that file)."""
    found: dict[str, list[Path]] = {stem: [] for stem in expected}
    others: list[Path] = []
    for child in sorted(folder.iterdir()):
        if child.suffix.lower() in FORM_SUFFIXES and child.stem in found:
            found[child.stem].append(child)
        elif child.suffix.lower() == ".xml":
            others.append(child)
    problems: list[str] = []
    if others and not any(found.values()):
        listed = ", ".join(p.name for p in others)
        if len(others) > 1:
            return {}, [f"{len(others)} ODM files ({listed}) and no form file: a whole-study "
                        "export holds one"], None  # fmt: skip
        if not others[0].is_file() or not _inside(others[0], landing):
            return {}, [f"{listed} is not a regular file inside the landing folder"], None
        return dict.fromkeys(expected, others[0]), [], others[0]
    files: dict[str, Path] = {}
    for stem, paths in found.items():
        names = [p.name for p in paths]
        if not paths:
            problems.append(f"no {stem} file")
        elif len(paths) > 1:
            problems.append(f"{len(paths)} files for {stem} ({', '.join(names)})")
        elif not paths[0].is_file() or not _inside(paths[0], landing):
            problems.append(f"{names[0]} is not a regular file inside the landing folder")
        else:
            files[stem] = paths[0]
    return files, problems, None


def _manifest_problems(
    landing: Path, folder: Path, study: str
) -> tuple[dict[str, Any] | None, list[str]]:
    """Load ``export.json`` if present and check study, export id and file checksums."""
    path = folder / MANIFEST
    if not path.exists():
        return None, []
    if not _inside(path, landing):
        return None, [f"{MANIFEST} leaves the landing folder"]
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, [f"{MANIFEST} is unreadable or not JSON ({exc})"]
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files", {}), dict):
        return None, [f"{MANIFEST} is not an object with a 'files' object"]
    problems: list[str] = []
    if manifest.get("study") != study:
        problems.append(f"{MANIFEST} is for study {manifest.get('study')!r}, not {study!r}")
    if manifest.get("export_id", folder.name) != folder.name:
        problems.append(f"{MANIFEST} names export {manifest['export_id']!r}")
    for name, entry in manifest.get("files", {}).items():
        listed = folder / name
        if Path(name).name != name or not listed.is_file() or not _inside(listed, landing):
            problems.append(f"{name} listed in {MANIFEST} is missing")
            continue
        expected = entry.get("sha256") if isinstance(entry, dict) else None
        if expected is not None and sha256_file(listed) != str(expected).lower():
            problems.append(f"{name} SHA-256 differs from {MANIFEST} (corrupt or partial copy)")
    return manifest, problems


def find_newest_complete(
    landing: Path, study: str, expected_files: Sequence[str], settle_seconds: float = 0.0
) -> Export:
    """The newest export holding every expected form file and agreeing with its manifest.

    ``expected_files`` are form-file stems (``dm``, ``ae``): each must match exactly one
    ``<stem>.<csv|xml|sas7bdat|xpt>``, unless the export is one whole-study ODM file. An
    export without ``export.json`` (written last by the EDC, so it marks a finished export)
    counts only once none of its form files has changed for ``settle_seconds``: a copy
    still in progress is passed over quietly. Newer exports that fail are skipped with a
    warning and named in ``Export.skipped``.
    """
    folder = _study_folder(landing, study)
    exports = list_exports(landing, study)
    if not exports:
        raise ExportNotReady(
            f"no export of {study} in {folder} (expected folders named like 20261123T020000Z)"
        )
    lacks: list[str] = []  # newer exports that are broken: the caller must not pass quietly
    waiting: list[str] = []  # newer copies still being written: read on a later run
    for path in reversed(exports):
        files, problems, study_file = _form_files(landing, path, expected_files)
        manifest, manifest_problems = _manifest_problems(landing, path, study)
        problems += manifest_problems
        if manifest is None and settle_seconds > 0:
            age = time.time() - max(p.stat().st_mtime for p in (path, *path.iterdir()))
            if age < settle_seconds:
                log.info("%s export %s is still being written: not read yet", study, path)
                waiting.append(
                    f"{path.name}: no export.json and files changed {age:.0f} s ago "
                    f"(waiting until they are {settle_seconds:g} s unchanged)"
                )
                continue
        if not problems:
            return Export(study, path.name, path, files, manifest, tuple(lacks), study_file)
        log.warning("%s export %s skipped: %s", study, path, "; ".join(problems))
        lacks.append(f"{path.name}: {'; '.join(problems)}")
    raise (ExportNotReady if waiting else NoExportError)(
        f"no complete export of {study} in {folder}:\n"
        + "\n".join(f"  {x}" for x in [*waiting, *lacks])
    )

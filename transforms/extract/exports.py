"""Find the newest complete EDC export of a study in the landing folder.

An export is a folder ``<landing>/<STUDY>/<export-id>/`` whose id is a UTC timestamp such
as ``20261123T020000Z`` (so names sort in time order). It holds one file per eCRF form,
``<stem>.csv|.xml|.sas7bdat|.xpt``, or else one CDISC ODM 1.3.2 file holding every form
(any name ending ``.xml`` that is no form's stem: the only file of the export besides the
manifest), and optionally ``export.json``, the manifest the EDC writes last::

    {"study": "POMMAINT", "export_id": "20261123T020000Z", "created": "...",
     "data_cutoff": "2026-11-15", "files": {"dm.csv": {"sha256": "<hex>", "rows": 15}}}

``export.json`` is read only if it is a regular file of at most :data:`MAX_MANIFEST_BYTES`
and type-checked field by field (:func:`manifest_problems`, rule EXPORT-MANIFEST): an
export whose manifest breaks a rule is not read. Hidden folders (``.<id>.tmp``: copies in
progress) are passed over quietly; any other folder or file whose name is not an export
id, and every export older than the published one, is passed over with a warning
(:func:`ignored`), and nothing reached through a symbolic link that leaves the landing
folder is used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from transforms.errors import NotReady, UserError
from transforms.extract.readers import FORM_SUFFIXES, RawFileError
from transforms.extract.regular import read_regular

log = logging.getLogger("cdisc.extract")

STUDY_ID = re.compile(r"^[A-Z][A-Z0-9_]{0,19}$")
EXPORT_ID = re.compile(r"^\d{8}T\d{6}Z$")
MANIFEST = "export.json"
MAX_MANIFEST_BYTES = 16 << 20
"""Largest export.json read (a manifest lists one short entry per form file)."""
MANIFEST_RULE = "EXPORT-MANIFEST"
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})$"
)
_FILE_KEYS = ("sha256", "rows")


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
    ignored: tuple[str, ...] = ()  # what else the study folder holds, and why not read

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


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    counts = Counter(k for k, _ in pairs)
    if len(counts) != len(pairs):
        twice = sorted(k for k, n in counts.items() if n > 1)
        raise ValueError(f"key(s) {twice} given twice in one object")
    return dict(pairs)


def _text(value: Any) -> str:
    """A manifest value as the message shows it: JSON, cut short."""
    shown = json.dumps(value, ensure_ascii=True)
    return shown if len(shown) <= 60 else shown[:57] + "..."


_KINDS = {str: "text", bool: "true/false", int: "a number", float: "a number", list: "a list",
          dict: "an object", type(None): "null"}  # fmt: skip


def _field(name: str, value: Any, expected: str) -> str:
    """A manifest field of the wrong type or form: its name, value, and what it must be."""
    kind = _KINDS.get(type(value), type(value).__name__)
    return (
        f"{MANIFEST} field {name}: {_text(value)} ({kind}), expected {expected} "
        f"(rule {MANIFEST_RULE})"
    )


def _plain_name(name: str) -> bool:
    """A file name the export folder can hold: no path, no NUL, encodable."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return name not in ("", ".", "..") and "\0" not in name and Path(name).name == name


def _is_iso(value: Any, form: re.Pattern[str], kind: type[date]) -> bool:
    """`value` is text of the ISO 8601 `form` naming a real date (or date-time)."""
    if not isinstance(value, str) or not form.fullmatch(value):
        return False
    try:
        kind.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def manifest_problems(manifest: Any, study: str, export_id: str) -> list[str]:
    """What is wrong with a parsed export.json, each naming its field and rule:
    ``study`` text equal to `study`; ``export_id`` (optional) equal to the folder's name;
    ``created`` (optional) an ISO 8601 date-time with its UTC offset or ``Z``;
    ``data_cutoff`` (optional) an ISO 8601 date; ``files`` (optional) an object whose keys
    are plain file names and values objects of ``sha256`` (64 hex digits) and ``rows``
    (a whole number >= 0), both optional, nothing else. Other top-level keys are the EDC's
    own and are not read."""
    if not isinstance(manifest, dict):
        return [_field("(top level)", manifest, "an object")]
    problems: list[str] = []
    if manifest.get("study") != study:
        problems.append(
            f"{MANIFEST} field study: {_text(manifest.get('study'))}, expected {study!r} "
            "(an export of another study?)"
            f" (rule {MANIFEST_RULE})"
        )
    if "export_id" in manifest and manifest["export_id"] != export_id:
        problems.append(
            f"{MANIFEST} field export_id: {_text(manifest['export_id'])}, expected the "
            f"folder's name {export_id!r} (rule {MANIFEST_RULE})"
        )
    if "created" in manifest and not _is_iso(manifest["created"], _DATETIME, datetime):
        problems.append(_field("created", manifest["created"],
                               "an ISO 8601 date-time with Z or an offset, "
                               "e.g. 2026-11-23T02:00:00Z"))  # fmt: skip
    if "data_cutoff" in manifest and not _is_iso(manifest["data_cutoff"], _DATE, date):
        problems.append(_field("data_cutoff", manifest["data_cutoff"],
                               "an ISO 8601 date, e.g. 2026-11-15 (leave the field out "
                               "when there is no cut-off)"))  # fmt: skip
    files = manifest.get("files", {})
    if not isinstance(files, dict):
        return [*problems, _field("files", files, "an object of file name: {sha256, rows}")]
    for name, entry in files.items():
        where = f"files.{_text(name)[1:-1]}"
        if not _plain_name(name):
            problems.append(f"{MANIFEST} field {where}: not a plain file name of the export "
                            f"folder (rule {MANIFEST_RULE})")  # fmt: skip
            continue
        if not isinstance(entry, dict):
            problems.append(_field(where, entry, "an object {sha256, rows}"))
            continue
        unknown = sorted(set(entry) - set(_FILE_KEYS))
        if unknown:
            problems.append(f"{MANIFEST} field {where}: unknown key(s) {unknown}, expected "
                            f"{list(_FILE_KEYS)} (rule {MANIFEST_RULE})")  # fmt: skip
        digest = entry.get("sha256")
        if "sha256" in entry and not (isinstance(digest, str) and _SHA256.fullmatch(digest)):
            problems.append(_field(f"{where}.sha256", digest, "64 hexadecimal digits"))
        rows = entry.get("rows")
        if "rows" in entry and not (isinstance(rows, int) and not isinstance(rows, bool)
                                    and rows >= 0):  # fmt: skip
            problems.append(_field(f"{where}.rows", rows, "a whole number >= 0"))
    return problems


def load_manifest(
    path: Path, study: str, export_id: str
) -> tuple[dict[str, Any] | None, list[str]]:
    """Read and check an export.json (:func:`manifest_problems`): the manifest, or None when
    it cannot be used, and what is wrong with it. Never blocks (a FIFO is refused unread),
    never reads more than :data:`MAX_MANIFEST_BYTES`, never raises for its content."""
    try:
        data = read_regular(path, MAX_MANIFEST_BYTES, "manifest")
    except RawFileError as exc:
        return None, [f"{MANIFEST} refused: {str(exc).removeprefix(f'{path}: ')}"]
    try:
        text = data.decode("utf-8-sig")
        manifest = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except UnicodeDecodeError as exc:
        return None, [f"{MANIFEST} is not UTF-8 (byte {exc.start}) (rule {MANIFEST_RULE})"]
    except RecursionError:
        return None, [f"{MANIFEST} nests too deep to be a manifest (rule {MANIFEST_RULE})"]
    except ValueError as exc:  # JSONDecodeError, a duplicate key, an integer too long
        return None, [f"{MANIFEST} is not valid JSON ({exc}) (rule {MANIFEST_RULE})"]
    problems = manifest_problems(manifest, study, export_id)
    return (manifest if isinstance(manifest, dict) else None), problems


def _manifest_problems(
    landing: Path, folder: Path, study: str
) -> tuple[dict[str, Any] | None, list[str]]:
    """Load ``export.json`` if present, type-check it and check the listed files."""
    path = folder / MANIFEST
    if not path.exists() and not path.is_symlink():
        return None, []
    if not _inside(path, landing):
        return None, [f"{MANIFEST} leaves the landing folder"]
    manifest, problems = load_manifest(path, study, folder.name)
    if manifest is None or problems:
        return manifest, problems
    for name, entry in manifest.get("files", {}).items():
        listed = folder / name
        if not listed.is_file() or not _inside(listed, landing):
            problems.append(f"{name} listed in {MANIFEST} is missing")
            continue
        expected = entry.get("sha256")
        if expected is not None and sha256_file(listed) != expected.lower():
            problems.append(f"{name} SHA-256 differs from {MANIFEST} (corrupt or partial copy)")
    return manifest, problems


def ignored(landing: Path, study: str, published: str = "") -> list[str]:
    """What the study's landing folder holds that is not read, each with why: names that
    are not export ids, exports that are not folders inside the landing, and exports older
    than `published` (the published export's id). Hidden names (copies in progress) are
    not listed."""
    folder = _study_folder(landing, study)
    if not folder.is_dir() or not _inside(folder, landing):
        return []
    out = []
    for child in sorted(folder.iterdir()):
        name = child.name
        if name.startswith("."):
            continue
        if not EXPORT_ID.fullmatch(name):
            out.append(f"{name}: not an export id (expected a folder named like "
                       "20261123T020000Z): not read")  # fmt: skip
        elif not child.is_dir() or not _inside(child, landing):
            out.append(f"{name}: not a folder inside the landing folder: not read")
        elif name < published:
            out.append(f"{name}: older than the published export {published}: not read")
    return out


def find_newest_complete(
    landing: Path,
    study: str,
    expected_files: Sequence[str],
    settle_seconds: float = 0.0,
    published: str = "",
) -> Export:
    """The newest export holding every expected form file and agreeing with its manifest.

    ``expected_files`` are form-file stems (``dm``, ``ae``): each must match exactly one
    ``<stem>.<csv|xml|sas7bdat|xpt>``, unless the export is one whole-study ODM file. An
    export without ``export.json`` (written last by the EDC, so it marks a finished export)
    counts only once none of its form files has changed for ``settle_seconds``: a copy
    still in progress is passed over quietly. Newer exports that fail are skipped with a
    warning and named in ``Export.skipped``. Exports older than `published` (the published
    export's id) are never read: a broken export of tonight is named as such, never
    replaced by an older one; they and folders that are no export are logged
    (:func:`ignored`) and named in ``Export.ignored``.
    """
    folder = _study_folder(landing, study)
    passed = ignored(landing, study, published)
    for line in passed:
        log.warning("%s landing: %s", study, line)
    exports = [p for p in list_exports(landing, study) if p.name >= published]
    if not exports:
        raise ExportNotReady(
            f"no export of {study} in {folder} (expected folders named like 20261123T020000Z"
            + (f", not older than the published {published}" if published else "")
            + ")"
            + "".join(f"\n  {line}" for line in passed)
        )
    lacks: list[str] = []  # newer exports that are broken: the caller must not pass quietly
    waiting: list[str] = []  # newer copies still being written: read on a later run
    for path in reversed(exports):
        files, problems, study_file = _form_files(landing, path, expected_files)
        manifest, manifest_problems = _manifest_problems(landing, path, study)
        problems += manifest_problems
        if manifest is None and not manifest_problems and settle_seconds > 0:
            age = time.time() - max(p.stat().st_mtime for p in (path, *path.iterdir()))
            if age < settle_seconds:
                log.info("%s export %s is still being written: not read yet", study, path)
                waiting.append(
                    f"{path.name}: no export.json and files changed {age:.0f} s ago "
                    f"(waiting until they are {settle_seconds:g} s unchanged)"
                )
                continue
        if not problems:
            return Export(
                study, path.name, path, files, manifest, tuple(lacks), study_file, tuple(passed)
            )
        log.warning("%s export %s skipped: %s", study, path, "; ".join(problems))
        lacks.append(f"{path.name}: {'; '.join(problems)}")
    raise (ExportNotReady if waiting else NoExportError)(
        f"no complete export of {study} in {folder} (rule EXPORT-COMPLETE):\n"
        + "\n".join(f"  {x}" for x in [*waiting, *lacks, *passed])
    )

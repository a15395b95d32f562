"""The submission and its manifest: every file of the run's eCTD module 5 folder, with its
checksum.

:func:`write_submission_manifest` builds ``<run>/submission/m5/datasets/<study>/...``
(:func:`transforms.store.assemble_submission`: the XPT files, define.xml, its stylesheet and
the documents, hard-linked) and lists exactly its files in
``<run>/reports/submission_manifest.csv`` and ``.md`` (a table to paste into a reviewer's
guide): file (relative to the submission folder, ``m5/...``), size in bytes, SHA-256,
dataset name, dataset label and number of records for datasets (.xpt; Dataset-JSON .json
and .parquet too, when :func:`manifest_entries` lists another folder).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pyreadstat

from transforms.define.xml import check_documents
from transforms.errors import PipelineError
from transforms.extract.exports import sha256_file
from transforms.files import write_text
from transforms.store import RunFolder, assemble_submission

COLUMNS = ("file", "bytes", "sha256", "dataset", "label", "records")
_HEAD_BYTES = 1 << 20


@dataclass(frozen=True)
class Entry:
    file: str
    bytes: int
    sha256: str
    dataset: str | None
    label: str | None
    records: int | None

    def row(self) -> list[str]:
        return [
            self.file,
            str(self.bytes),
            self.sha256,
            self.dataset or "",
            self.label or "",
            "" if self.records is None else str(self.records),
        ]


def _xpt(path: Path) -> tuple[str, str, int]:
    """(dataset name, label, records) of a SAS XPT file. The header holds no count: for a
    one-member XPT v5 file it follows from the file size; otherwise the file's first
    variable is read and counted."""
    _, meta = pyreadstat.read_xport(path, metadataonly=True)
    widths = [int(meta.variable_storage_width[name]) for name in meta.column_names]
    records = v5_records(path, widths)
    if records is None:
        first = list(meta.column_names)[:1]
        data, _ = pyreadstat.read_xport(path, usecols=first, disable_datetime_conversion=True)
        records = len(data)
    return str(meta.table_name).upper(), meta.file_label or "", records


_OBS_HEADER = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!"


def v5_records(path: Path, widths: list[int]) -> int | None:
    """Records of a one-member XPT v5 file (140-byte NAMESTRs): the bytes after the OBS
    header over the record width, less blank records in the final 80-byte padding (as
    readers count them); None if the file is not laid out so."""
    width = sum(widths)
    start = 8 * 80 + -(-140 * len(widths) // 80) * 80 + 80
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(start)
        if width <= 0 or size < start or head[start - 80 : start - 32] != _OBS_HEADER:
            return None
        if (size - start) % 80:
            return None
        records = (size - start) // width
        fh.seek(max(start, size - 80 - width))
        tail = fh.read()
    while records and (records - 1) * width > size - start - 80:
        offset = start + (records - 1) * width - (size - len(tail))
        if tail[offset : offset + width].strip(b" "):
            break
        records -= 1
    return records


def _top_level(text: str, wanted: frozenset[str]) -> dict[str, object] | None:
    """The ``wanted`` top-level attributes of a JSON object whose start is ``text``, parsed
    one attribute at a time up to ``rows``; None when the text ends (or the rows come)
    before they are all read."""
    decoder = json.JSONDecoder()
    blank = re.compile(r"[\s,]*")
    found: dict[str, object] = {}
    try:
        position = blank.match(text, 0).end()  # type: ignore[union-attr]
        if text[position] != "{":
            return None
        position += 1
        while not wanted <= set(found):
            position = blank.match(text, position).end()  # type: ignore[union-attr]
            if text[position] == "}":
                return None
            key, position = decoder.raw_decode(text, position)
            position = blank.match(text, position).end()  # type: ignore[union-attr]
            if text[position] != ":" or key == "rows":
                return None
            position = blank.match(text, position + 1).end()  # type: ignore[union-attr]
            value, position = decoder.raw_decode(text, position)
            found[str(key)] = value
    except (json.JSONDecodeError, IndexError):
        return None
    return found


def _dataset_json(path: Path) -> tuple[str, str, int] | None:
    """(name, label, records) of a Dataset-JSON file from its top-level attributes; None for
    a JSON file that is not Dataset-JSON. Only the head is read when the attributes precede
    the rows (as the pipeline writes them), else the whole file."""
    wanted = frozenset({"datasetJSONVersion", "records", "name", "label"})
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES).decode("utf-8", errors="replace")
    values = _top_level(head, wanted)
    if values is None:
        document = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict) or not wanted <= set(document):
            return None
        values = document
    records = values["records"]
    if not isinstance(records, int):
        return None
    return str(values["name"]).upper(), str(values["label"] or ""), records


def _parquet(path: Path) -> tuple[str, str, int]:
    import pyarrow.parquet as pq

    return path.stem.upper(), "", int(pq.read_metadata(path).num_rows)


def _entry(root: Path, path: Path) -> Entry:
    described: tuple[str, str, int] | None = None
    suffix = path.suffix.lower()
    if suffix == ".xpt":
        described = _xpt(path)
    elif suffix == ".json":
        described = _dataset_json(path)
    elif suffix == ".parquet":
        described = _parquet(path)
    name, label, records = described if described else (None, None, None)
    return Entry(
        file=path.relative_to(root).as_posix(),
        bytes=path.stat().st_size,
        sha256=sha256_file(path),
        dataset=name,
        label=label or None,
        records=records,
    )


def manifest_entries(root: Path) -> list[Entry]:
    """One entry per file under `root` (hidden files left out), sorted by path."""
    root = Path(root)
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    return [_entry(root, p) for p in files]


def _markdown(entries: list[Entry], run: RunFolder) -> str:
    lines = [
        f"# Submission files of run {run.run_id}",
        "",
        "| File | Dataset | Label | Records | Size (bytes) | SHA-256 |",
        "| --- | --- | --- | ---: | ---: | --- |",
    ]
    for e in entries:
        label = (e.label or "").replace("|", "\\|")
        records = "" if e.records is None else str(e.records)
        lines.append(
            f"| `{e.file}` | {e.dataset or ''} | {label} | {records} | {e.bytes} | `{e.sha256}` |"
        )
    return "\n".join(lines) + "\n"


def write_submission_manifest(run_dir: Path) -> Path:
    """Build the run's submission folder and write ``<run>/reports/submission_manifest.csv``
    (and ``.md``) of exactly its files; returns the CSV path. A define.xml naming a document
    (def:leaf) or stylesheet that is not beside it, in the run or the submission, is a
    PipelineError."""
    run = RunFolder(Path(run_dir))
    run.reports.mkdir(exist_ok=True)
    assemble_submission(run)
    # Every document a define.xml names is beside it, in the run and in the submission.
    defines = [run.path / layer / "define.xml" for layer in ("sdtm", "adam")]
    problems = [
        f"{path}: {problem}"
        for path in [*filter(Path.is_file, defines), *sorted(run.submission.rglob("define.xml"))]
        for problem in check_documents(path)
    ]
    if problems:
        raise PipelineError(f"{len(problems)} document(s) missing: " + "; ".join(problems[:10]))
    entries = manifest_entries(run.submission)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(e.row() for e in entries)
    target = run.report("submission_manifest.csv")
    write_text(target, buffer.getvalue())
    write_text(run.report("submission_manifest.md"), _markdown(entries, run))
    return target

"""Export finder: the newest complete export wins; incomplete, corrupt, ambiguous or
foreign exports are skipped with a reason; study ids cannot walk out of the landing."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest

from transforms.extract.exports import (
    Export,
    NoExportError,
    find_newest_complete,
    list_exports,
    load_manifest,
    sha256_file,
)

STUDY = "POMMAINT"
FORMS = ["dm", "ae"]
CONTENT = {"dm": b"SUBJID,SEX\n1001,F\n", "ae": b"SUBJID,AETERM\n1001,Fever\n"}


def make_export(
    landing: Path,
    export_id: str,
    forms: dict[str, bytes] | None = None,
    *,
    manifest: bool = True,
    study: str = STUDY,
) -> Path:
    """An export folder with one CSV per form and, by default, a matching export.json."""
    folder = landing / STUDY / export_id
    folder.mkdir(parents=True)
    forms = CONTENT if forms is None else forms
    for stem, data in forms.items():
        (folder / f"{stem}.csv").write_bytes(data)
    if manifest:
        files = {
            f"{stem}.csv": {"sha256": hashlib.sha256(data).hexdigest(), "rows": 1}
            for stem, data in forms.items()
        }
        (folder / "export.json").write_text(
            json.dumps({"study": study, "export_id": export_id, "format": "csv", "files": files}),
            encoding="utf-8",
        )
    return folder


def test_sha256_file(tmp_path: Path) -> None:
    path = tmp_path / "abc.txt"
    path.write_bytes(b"abc")
    assert sha256_file(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 3_000_000)
    assert sha256_file(big) == hashlib.sha256(b"x" * 3_000_000).hexdigest()


def test_list_exports_sorted_and_filtered(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    for name in ["20261123T020000Z", "20261121T020000Z", "20261122T020000Z"]:
        make_export(landing, name)
    study = landing / STUDY
    (study / "20261124T020000Z.tmp").mkdir()
    (study / ".20261124T020000Z").mkdir()
    (study / "latest").mkdir()
    (study / "20261125T020000Z").write_text("a file, not a folder")
    outside = tmp_path / "elsewhere" / "20261126T020000Z"
    outside.mkdir(parents=True)
    (study / "20261126T020000Z").symlink_to(outside, target_is_directory=True)
    assert [p.name for p in list_exports(landing, STUDY)] == [
        "20261121T020000Z",
        "20261122T020000Z",
        "20261123T020000Z",
    ]


def test_newest_complete_chosen(tmp_path: Path) -> None:
    landing = tmp_path
    make_export(landing, "20261121T020000Z")
    newest = make_export(landing, "20261122T020000Z", manifest=False)
    export = find_newest_complete(landing, STUDY, FORMS)
    assert isinstance(export, Export)
    assert (export.study, export.export_id, export.path) == (STUDY, "20261122T020000Z", newest)
    assert export.files == {"dm": newest / "dm.csv", "ae": newest / "ae.csv"}
    assert export.manifest is None


def test_incomplete_newest_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    landing = tmp_path
    older = make_export(landing, "20261121T020000Z")
    make_export(landing, "20261122T020000Z", {"dm": CONTENT["dm"]}, manifest=False)
    with caplog.at_level(logging.WARNING, logger="cdisc.extract"):
        export = find_newest_complete(landing, STUDY, FORMS)
    assert export.export_id == "20261121T020000Z"
    assert export.files["ae"] == older / "ae.csv"
    assert export.manifest is not None and export.manifest["study"] == STUDY
    assert "20261122T020000Z" in caplog.text and "no ae file" in caplog.text


def test_checksum_mismatch_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    landing = tmp_path
    make_export(landing, "20261121T020000Z")
    bad = make_export(landing, "20261122T020000Z")
    (bad / "ae.csv").write_bytes(CONTENT["ae"][:-4])  # a copy cut short
    with caplog.at_level(logging.WARNING, logger="cdisc.extract"):
        export = find_newest_complete(landing, STUDY, FORMS)
    assert export.export_id == "20261121T020000Z"
    [record] = caplog.records
    assert "20261122T020000Z" in record.getMessage()
    assert "ae.csv SHA-256 differs from export.json" in record.getMessage()


def test_manifest_of_another_study_skipped(tmp_path: Path) -> None:
    make_export(tmp_path, "20261121T020000Z")
    make_export(tmp_path, "20261122T020000Z", study="OTHER")
    assert find_newest_complete(tmp_path, STUDY, FORMS).export_id == "20261121T020000Z"


def test_listed_file_missing_skipped(tmp_path: Path) -> None:
    make_export(tmp_path, "20261121T020000Z")
    newest = make_export(tmp_path, "20261122T020000Z")
    manifest = json.loads((newest / "export.json").read_text())
    manifest["files"]["cm.csv"] = {"sha256": "0" * 64, "rows": 3}
    (newest / "export.json").write_text(json.dumps(manifest))
    assert find_newest_complete(tmp_path, STUDY, FORMS).export_id == "20261121T020000Z"


def test_unreadable_manifest_refused(tmp_path: Path) -> None:
    newest = make_export(tmp_path, "20261122T020000Z")
    (newest / "export.json").write_text('{"study": "POMMAINT", "files": {')  # cut short
    with pytest.raises(
        NoExportError,
        match=r"20261122T020000Z: export\.json is not valid JSON .* \(rule EXPORT-MANIFEST\)",
    ):
        find_newest_complete(tmp_path, STUDY, FORMS)


def test_two_files_for_one_form_skipped(tmp_path: Path) -> None:
    make_export(tmp_path, "20261121T020000Z")
    newest = make_export(tmp_path, "20261122T020000Z", manifest=False)
    (newest / "dm.xml").write_text("<ODM/>")
    assert find_newest_complete(tmp_path, STUDY, FORMS).export_id == "20261121T020000Z"


def test_form_file_linking_outside_landing_skipped(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    make_export(landing, "20261121T020000Z")
    newest = make_export(landing, "20261122T020000Z", {"ae": CONTENT["ae"]}, manifest=False)
    secret = tmp_path / "secret.csv"
    secret.write_bytes(CONTENT["dm"])
    (newest / "dm.csv").symlink_to(secret)
    assert find_newest_complete(landing, STUDY, FORMS).export_id == "20261121T020000Z"


@pytest.mark.parametrize("study", ["../POMMAINT", "pommaint", "", "POMMAINT/..", "A" * 21, "/etc"])
def test_bad_study_id_refused(tmp_path: Path, study: str) -> None:
    with pytest.raises(ValueError, match=r"study id .* refused"):
        find_newest_complete(tmp_path, study, FORMS)
    with pytest.raises(ValueError, match=r"study id .* refused"):
        list_exports(tmp_path, study)


def test_no_export_folder(tmp_path: Path) -> None:
    with pytest.raises(
        NoExportError, match=r"no export of POMMAINT in .*POMMAINT \(expected folders"
    ):
        find_newest_complete(tmp_path, STUDY, FORMS)


def test_no_complete_export_lists_what_each_lacked(tmp_path: Path) -> None:
    make_export(tmp_path, "20261121T020000Z", {"dm": CONTENT["dm"]}, manifest=False)
    bad = make_export(tmp_path, "20261122T020000Z")
    (bad / "dm.csv").write_bytes(b"SUBJID,SEX\n1001,M\n")
    with pytest.raises(NoExportError) as caught:
        find_newest_complete(tmp_path, STUDY, FORMS)
    lines = str(caught.value).splitlines()
    assert (
        lines[0] == f"no complete export of POMMAINT in {tmp_path / STUDY} (rule EXPORT-COMPLETE):"
    )
    assert lines[1:] == [
        "  20261122T020000Z: dm.csv SHA-256 differs from export.json (corrupt or partial copy)",
        "  20261121T020000Z: no ae file",
    ]


def _manifest_text(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "export.json"
    path.write_text(text, encoding="utf-8")
    return load_manifest(path, STUDY, "20261124T020000Z")[1]


def test_manifest_key_given_twice_is_refused(tmp_path: Path) -> None:
    """JSON keeps the last of two equal keys: a manifest saying rows twice is ambiguous."""
    text = '{"study": "POMMAINT", "files": {"dm.csv": {"rows": 5, "rows": 6}}}'
    (problem,) = _manifest_text(tmp_path, text)
    assert "key(s) ['rows'] given twice" in problem and "rule EXPORT-MANIFEST" in problem


def test_manifest_number_too_long_is_refused(tmp_path: Path) -> None:
    text = '{"study": "POMMAINT", "files": {"dm.csv": {"rows": ' + "9" * 5000 + "}}}"
    (problem,) = _manifest_text(tmp_path, text)
    assert problem.startswith("export.json is not valid JSON") and "4300" in problem


@pytest.mark.parametrize(
    ("entry", "field", "shown"),
    [({"rows": "5281"}, "files.dm.csv.rows", '"5281" (text)'),
     ({"rows": -1}, "files.dm.csv.rows", "-1 (a number)"),
     ({"rows": True}, "files.dm.csv.rows", "true (true/false)"),
     ({"rows": 1.0}, "files.dm.csv.rows", "1.0 (a number)"),
     ({"sha256": "abc"}, "files.dm.csv.sha256", '"abc" (text)'),
     ({"records": 5}, "files.dm.csv", "unknown key(s) ['records']")],
)  # fmt: skip
def test_manifest_file_entries_are_type_checked(
    tmp_path: Path, entry: dict[str, object], field: str, shown: str
) -> None:
    text = json.dumps({"study": STUDY, "files": {"dm.csv": entry}})
    (problem,) = _manifest_text(tmp_path, text)
    assert problem.startswith(f"export.json field {field}: {shown}"), problem


def test_an_older_export_is_never_read_once_a_newer_is_published(tmp_path: Path) -> None:
    """The published export gone from the landing, tonight's broken: the error names
    tonight's export and the older one left unread, never running on the older one."""
    make_export(tmp_path, "20261121T020000Z")
    (make_export(tmp_path, "20261123T020000Z") / "ae.csv").unlink()
    with pytest.raises(NoExportError) as caught:
        find_newest_complete(tmp_path, STUDY, FORMS, published="20261122T020000Z")
    assert str(caught.value).splitlines()[1:] == [
        "  20261123T020000Z: no ae file; ae.csv listed in export.json is missing",
        "  20261121T020000Z: older than the published export 20261122T020000Z: not read",
    ]
    with pytest.raises(NoExportError, match="not older than the published 20261124T020000Z"):
        find_newest_complete(tmp_path, STUDY, FORMS, published="20261124T020000Z")

"""Hostile configuration: study ids and spec entries that try to leave their folder,
symbolic links out of the landing folder, code in YAML, secrets in settings."""

from __future__ import annotations

import logging
import sys
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from samplegen.cli import main as sample_main
from tests.conftest import copy_study_specs
from transforms.cli import main
from transforms.extract.exports import NoExportError, find_newest_complete
from transforms.notify import notify_failure
from transforms.specs import SpecError, load_study

BAD_IDS = ["../x", "/etc", "POMMAINT/../../tmp", "pommaint", "POMMAINT\n", ".", ""]
SECRET = "s3cr3t-Pa55word"


@pytest.mark.parametrize("command", ["run", "sample", "where"])
@pytest.mark.parametrize("study", BAD_IDS)
def test_cli_refuses_a_study_id_that_is_a_path(
    command: str, study: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`cdisc run|where` and `cdisc-sample` (the sample generator's own command)."""
    calls = {
        "run": (main, ["run"], ["--landing", str(tmp_path), "--store", str(tmp_path / "s")]),
        "sample": (sample_main, [], ["--out", str(tmp_path / "o")]),
        "where": (main, ["where"], ["--store", str(tmp_path / "s")]),
    }
    entry, sub, paths = calls[command]
    assert entry([*sub, "--study", study, *paths]) == 2
    err = capsys.readouterr().err
    prog = "cdisc-sample" if command == "sample" else f"cdisc {command}"
    assert err.startswith(f"{prog}: error: study id") and "refused" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing created anywhere


def test_unknown_sample_study_is_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sample_main(["--study", "NOPE", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cdisc-sample: error: no sample generator for study 'NOPE'")
    assert "Traceback" not in err and sorted(tmp_path.iterdir()) == []


def _specs(tmp_path: Path) -> Path:
    root = tmp_path / "specs"
    copy_study_specs(root, "POMMAINT")
    return root


@pytest.mark.parametrize("key", ["sdtm", "adam"])
@pytest.mark.parametrize("name", ["../../../outside", "/etc/passwd", "DM/../../x"])
def test_spec_dataset_names_cannot_reach_other_files(key: str, name: str, tmp_path: Path) -> None:
    root = _specs(tmp_path)
    (tmp_path / "outside.yaml").write_text("dataset: DM\n")
    study = root / "POMMAINT" / "study.yaml"
    text = study.read_text()
    line = "sdtm: [DM, " if key == "sdtm" else "adam: [ADSL, "
    assert line in text
    study.write_text(text.replace(line, f"{line}'{name}', ", 1))
    with pytest.raises(SpecError, match=f"{key}: names .* must match"):
        load_study.__wrapped__("POMMAINT", root)


@pytest.mark.parametrize("file", ["forms.yaml", "ct_map.yaml", "sdtm/dm.yaml"])
def test_yaml_tags_never_construct_objects(file: str, tmp_path: Path) -> None:
    """Each spec file (study.yaml: tests/test_specs.py) is parsed by the safe loader: a
    python/object tag is an error and its code never runs."""
    root = _specs(tmp_path)
    witness = tmp_path / "ran"
    (root / "POMMAINT" / file).write_text(f"!!python/object/apply:os.mkdir ['{witness}']\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_study.__wrapped__("POMMAINT", root)
    assert not witness.exists()


def _export(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "dm.csv").write_text("SUBJID\n1001\n")


def test_study_folder_linking_out_of_landing_is_not_read(tmp_path: Path) -> None:
    landing, outside = tmp_path / "landing", tmp_path / "outside"
    _export(outside / "POMMAINT" / "20261124T020000Z")
    landing.mkdir()
    (landing / "POMMAINT").symlink_to(outside / "POMMAINT")
    with pytest.raises(NoExportError, match="no export of POMMAINT"):
        find_newest_complete(landing, "POMMAINT", ["dm"])


def test_export_folder_linking_out_of_landing_is_not_read(tmp_path: Path) -> None:
    landing, outside = tmp_path / "landing", tmp_path / "outside"
    _export(outside / "20261124T020000Z")
    (landing / "POMMAINT").mkdir(parents=True)
    (landing / "POMMAINT" / "20261124T020000Z").symlink_to(outside / "20261124T020000Z")
    with pytest.raises(NoExportError, match="no export of POMMAINT"):
        find_newest_complete(landing, "POMMAINT", ["dm"])


def test_manifest_linking_out_of_landing_is_refused(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    _export(landing / "POMMAINT" / "20261124T020000Z")
    (tmp_path / "export.json").write_text('{"study": "POMMAINT", "files": {}}')
    (landing / "POMMAINT" / "20261124T020000Z" / "export.json").symlink_to(tmp_path / "export.json")
    with pytest.raises(NoExportError, match=r"export\.json leaves the landing folder"):
        find_newest_complete(landing, "POMMAINT", ["dm"])


EVENT = {"study": "POMMAINT", "dag_id": "d", "task_id": "t", "run_id": "r", "error": "boom"}


def test_a_hook_setting_holding_a_password_is_never_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CDISC_ON_FAILURE", f"https://ops:{SECRET}@hooks.example.org/cdisc")
    with caplog.at_level(logging.ERROR):
        assert notify_failure(EVENT) is False
    assert "on-failure hook failed" in caplog.text and "CDISC_ON_FAILURE" in caplog.text
    assert SECRET not in caplog.text and "https://***@hooks.example.org" in caplog.text


def test_a_hook_error_quoting_a_connection_url_is_masked(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    module = types.ModuleType("fake_leaky")

    def send(event: Mapping[str, Any]) -> None:
        raise ConnectionError(f"cannot reach postgresql://airflow:{SECRET}@db:5432/airflow")

    module.send = send  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_leaky", module)
    monkeypatch.setenv("CDISC_ON_FAILURE", "fake_leaky:send")
    with caplog.at_level(logging.ERROR):
        assert notify_failure(EVENT) is False
    assert "ConnectionError" in caplog.text and "postgresql://***@db:5432" in caplog.text
    assert SECRET not in caplog.text

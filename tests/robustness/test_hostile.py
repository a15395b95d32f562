"""Hostile configuration: study ids and spec entries that try to leave their folder,
symbolic links out of the landing folder, code in YAML, secrets in settings; a store that
cannot be written or holds something unexpected; what the landing holds that is not read."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import sys
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from samplegen.cli import main as sample_main
from tests.conftest import copy_study_specs
from tests.robustness.test_corpus import published_tree
from transforms.cli import main
from transforms.errors import retry_helps
from transforms.extract.exports import NoExportError, find_newest_complete
from transforms.jobs import sdtm
from transforms.jobs.plan import Place
from transforms.notify import notify_failure
from transforms.specs import SpecError, load_study
from transforms.store import RunFolder, publish, store_fault

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


# --- the store: faults and things where its folders and link should be (issue 23.3) -------


NIGHT2 = "20261124T020000Z"


def _night(landing: Path, published: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A landing holding night 1 (published, in a store of its own) and night 2."""
    from tests.robustness.cases import new_night

    root, store = tmp_path / "landing", tmp_path / "store"
    clean = landing / "POMMAINT" / "20261123T020000Z"
    shutil.copytree(clean, root / "POMMAINT" / clean.name)
    new_night(clean, root, NIGHT2)
    shutil.copytree(published.parent.parent, store, symlinks=True)
    return root, store


def _run(root: Path, store: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["-q", "run", "--study", "POMMAINT", "--landing", str(root), "--store", str(store)])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.err


def _error(err: str) -> str:
    (line,) = [line for line in err.splitlines() if line.startswith("cdisc run: error:")]
    return line


def _faulty(real: Callable[..., Any], code: int, under: Path) -> Callable[..., Any]:
    """`real` (os.mkdir, os.replace...) failing with `code` for any path under `under`."""

    def call(*args: Any, **kwargs: Any) -> Any:
        for arg in args[:2]:
            if isinstance(arg, str | Path) and Path(arg).is_relative_to(under):
                raise OSError(code, os.strerror(code), str(arg))
        return real(*args, **kwargs)

    return call


@pytest.mark.parametrize(
    ("code", "name"), [(errno.EROFS, "EROFS"), (errno.ENOSPC, "ENOSPC"), (errno.EACCES, "EACCES")]
)
def test_a_store_that_cannot_be_written_fails_the_night_in_one_message(
    code: int,
    name: str,
    landing: Path,
    published: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The run folder cannot be made (read-only, full, not ours): exit 2, one message naming
    the path and the fault, `current` untouched; the rerun once fixed reads the export."""
    root, store = _night(landing, published, tmp_path)
    before = published_tree(store)
    with monkeypatch.context() as patch:
        patch.setattr(os, "mkdir", _faulty(os.mkdir, code, store))
        exit_code, err = _run(root, store, capsys)
    assert exit_code == 2
    line = _error(err)
    assert f"{store / 'POMMAINT' / 'runs'}" in line and f"({name})" in line, line
    assert os.strerror(code) in line and "rule FILE-SYSTEM" in line
    assert published_tree(store) == before
    run = sdtm.extract(load_study("POMMAINT"), Place(store, root))  # fixed: the night goes on
    assert run.info["export_id"] == NIGHT2


def test_a_full_disk_while_writing_the_snapshot_is_named(
    landing: Path,
    published: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """ENOSPC inside a stage (the raw snapshot's Parquet): one message naming the file and
    the fault, recorded in the run's failure.json; `current` untouched."""
    import pyarrow.parquet as pq

    root, store = _night(landing, published, tmp_path)
    before = published_tree(store)

    class Full(pq.ParquetWriter):  # the snapshot is written a block of records at a time
        def write_table(self, table: Any, *args: Any, **kwargs: Any) -> None:
            if Path(str(self.where)).name == "lb.parquet":
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.where))
            super().write_table(table, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(pq, "ParquetWriter", Full)
        exit_code, err = _run(root, store, capsys)
    assert exit_code == 2
    line = _error(err)
    assert "raw/lb.parquet: No space left on device (ENOSPC)" in line and "FILE-SYSTEM" in line
    assert published_tree(store) == before
    (run,) = (store / "POMMAINT" / "runs").glob(f"*-{NIGHT2}")
    failure = json.loads((run / "reports" / "failure.json").read_text(encoding="utf-8"))
    assert failure["stage"] == "extract" and failure["error"] == "StoreFault"


def _unpublished_run(store: Path) -> RunFolder:
    """A copy of the published run as a new, finished, unpublished run."""
    current = (store / "POMMAINT" / "current").resolve()
    target = current.parent / f"{current.name}.2"
    shutil.copytree(current, target)
    (target / "manifest.json").unlink()
    return RunFolder(target)


@pytest.mark.parametrize("at", ["manifest.json", "current"])
def test_a_full_disk_at_publish_leaves_nothing_half_written(
    at: str, published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC as manifest.json or the new `current` link is put in place: no manifest, no
    temporary file, `current` as it was; publishing again once there is room switches."""
    store = tmp_path / "store"
    shutil.copytree(published.parent.parent, store, symlinks=True)
    before = published_tree(store)
    run = _unpublished_run(store)
    real = os.replace

    def full(src: Any, dst: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(dst).name == at:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(src), None, str(dst))
        return real(src, dst, *args, **kwargs)

    with monkeypatch.context() as patch, pytest.raises(OSError) as caught:
        patch.setattr(os, "replace", full)
        publish(run, {"study": "POMMAINT"})
    fault = store_fault(caught.value)
    assert fault is not None and "No space left on device (ENOSPC)" in str(fault)
    assert retry_helps(fault)  # a scheduler retries it, as it did the OSError
    assert f"-> {run.study_dir / at if at == 'current' else run.manifest_path}" in str(fault)
    assert published_tree(store) == before
    assert not run.manifest_path.exists()
    leftovers = [p.name for p in [*run.path.iterdir(), *run.study_dir.iterdir()]]
    assert not [n for n in leftovers if n.endswith(".tmp")], leftovers
    publish(run, {"study": "POMMAINT"})  # room again
    assert (store / "POMMAINT" / "current").resolve() == run.path


@pytest.mark.parametrize(
    ("where", "thing", "kind"),
    [("runs", "file", "a file"), ("current", "file", "a file"),
     ("current", "folder", "a folder"), (".", "file", "a file")],
)  # fmt: skip
def test_something_unexpected_where_the_store_keeps_its_folders_is_named(
    where: str,
    thing: str,
    kind: str,
    landing: Path,
    published: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A file where ``runs/`` should be, a file or folder where ``current`` should be, a
    file where the study's folder should be: `cdisc run` (and `cdisc where`) exit 2, one
    message naming the path and what is there, the thing left as it is; once moved away
    the night reads its export."""
    root, store = _night(landing, published, tmp_path)
    path = (store / "POMMAINT" / where).resolve() if where == "." else store / "POMMAINT" / where
    aside = tmp_path / "aside"
    shutil.move(path, aside)
    if thing == "file":
        path.write_text("not the store's\n", encoding="utf-8")
    else:
        path.mkdir()
    exit_code, err = _run(root, store, capsys)
    assert exit_code == 2
    line = _error(err)
    assert f"{path}: {kind} where the store keeps" in line and "rule FILE-SYSTEM" in line, line
    assert main(["where", "--study", "POMMAINT", "--store", str(store)]) == 2
    assert f"{path}: {kind} where the store keeps" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") if thing == "file" else path.is_dir()
    if thing == "file":
        path.unlink()
    else:
        path.rmdir()
    shutil.move(aside, path)
    assert sdtm.extract(load_study("POMMAINT"), Place(store, root)).info["export_id"] == NIGHT2


# --- what the landing holds that is not read (issue 23.4) -----------------------------------


def test_exports_not_read_are_logged_and_shown_by_where_and_status(
    landing: Path,
    published: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.robustness.cases import new_night

    root, store = _night(landing, published, tmp_path)
    new_night(landing / "POMMAINT" / "20261123T020000Z", root, "20261122T020000Z")
    (root / "POMMAINT" / "backup").mkdir()
    (root / "POMMAINT" / ".20261125T020000Z.tmp").mkdir()  # a copy in progress: quiet
    expected = [
        "20261122T020000Z: older than the published export 20261123T020000Z: not read",
        "backup: not an export id (expected a folder named like 20261123T020000Z): not read",
    ]
    with caplog.at_level(logging.WARNING, logger="cdisc.extract"):
        export = find_newest_complete(root, "POMMAINT", ["dm"], published="20261123T020000Z")
    assert export.export_id == NIGHT2 and list(export.ignored) == expected
    assert [r.getMessage() for r in caplog.records] == [f"POMMAINT landing: {x}" for x in expected]
    for command in ("where", "status"):
        args = [command, "--study", "POMMAINT", "--store", str(store), "--landing", str(root)]
        assert main(args) == 0
        shown = capsys.readouterr().out.splitlines()
        at = shown.index(f"landing {root / 'POMMAINT'}: 2 not read:")
        assert shown[at + 1 :] == [f"  {x}" for x in expected], command

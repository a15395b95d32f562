"""The whole job outside Airflow: publishes, is deterministic, and fails safely."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from samplegen import generate_export
from tests.conftest import EXPORT_TIME, ROOT, NightTwo, copy_store
from transforms.errors import NothingNew, PipelineError
from transforms.extract.exports import sha256_file
from transforms.jobs.runner import run_sdtm as run_all
from transforms.specs import load_study

EXPORT = "20261123T020000Z"


def test_publishes_dm_and_suppdm(published: Path, landing: Path) -> None:
    assert published.is_symlink()
    sdtm = published / "sdtm"
    assert sorted(p.name for p in sdtm.iterdir()) == sorted(
        [f"{name}.{ext}"
         for name in ("dm", "suppdm", "ex", "suppex", "ae", "suppae", "cm", "suppcm", "ds", "suppds", "rs", "supprs", "lb",
                      "ss", "ts", "dd", "pr", "mh", "suppmh", "vs", "ie", "mb", "is", "gf", "rp", "ta", "te", "tv", "ti", "se", "sv",
                          "relrec")
         for ext in ("xpt", "parquet", "json")]
        + ["define.html", "define.xml", "define.xsl", "acrf.pdf", "csdrg.pdf"]
    )  # fmt: skip
    for sub in ("adam", "reports"):
        assert (published / sub).is_dir()
    # the submission (eCTD module 5): the XPT files, define.xml and its stylesheet
    study = published / "submission" / "m5" / "datasets" / "pommaint"
    assert sorted(p.name for p in (study / "tabulations" / "sdtm").iterdir()) == sorted(
        [p.name for p in sdtm.glob("*.xpt")] + ["define.xml", "define.xsl", "acrf.pdf", "csdrg.pdf"]
    )
    assert [p.name for p in study.iterdir()] == ["tabulations"]  # no ADaM built yet
    # Two independent readers agree with the Parquet copy.
    parquet = pd.read_parquet(sdtm / "dm.parquet")
    by_pandas = pd.read_sas(sdtm / "dm.xpt", format="xport", encoding="ascii")
    by_readstat, meta = pyreadstat.read_xport(sdtm / "dm.xpt")
    assert list(by_pandas.columns) == list(parquet.columns) == list(by_readstat.columns)
    assert meta.table_name == "DM" and meta.file_label == "Demographics"
    assert meta.column_names_to_labels["RFXSTDTC"] == "Date/Time of First Study Treatment"
    for col in parquet.columns:
        expected = parquet[col].astype("object").where(parquet[col].notna(), "")
        if parquet[col].dtype == "float64":
            pd.testing.assert_series_equal(by_readstat[col], parquet[col], check_names=False)
        else:
            assert by_readstat[col].tolist() == expected.tolist(), col


def test_manifest_records_inputs_and_outputs(published: Path, landing: Path) -> None:
    manifest = json.loads((published / "manifest.json").read_text())
    assert manifest["study"] == "POMMAINT" and manifest["export_id"] == EXPORT
    assert manifest["data_cutoff"] == "2026-11-15"
    export = landing / "POMMAINT" / EXPORT
    assert manifest["inputs"]["dm.csv"]["sha256"] == sha256_file(export / "dm.csv")
    # its size too: the deadline sensor's wait tells the same export by it (export_arrived)
    assert manifest["inputs"]["dm.csv"]["bytes"] == (export / "dm.csv").stat().st_size
    assert (
        len(manifest["inputs"]) == 22
    )  # the forms (issue 18: DX, MH, PRT, NT, CMED, ECOG, VS; SER, CYTO, CBP, PREG)
    assert manifest["outputs"]["sdtm/dm.xpt"]["sha256"] == sha256_file(
        published / "sdtm" / "dm.xpt"
    )
    assert manifest["rows"]["DM"] == 18  # 15 enrolled, 3 screen failures
    assert manifest["packages"]["apache-airflow"] == "3.3.2"
    assert "POMMAINT/sdtm/dm.yaml" in manifest["specs"]
    assert "_common/sdtm/sv.yaml" in manifest["specs"]  # the shared specs it lists


def _bad_night(landing: Path, tmp_path: Path, edit: str, find: str, replace: str) -> Path:
    """A newer export, copied from the good one with one file edited (no manifest)."""
    root = tmp_path / "landing"
    shutil.copytree(landing / "POMMAINT" / EXPORT, root / "POMMAINT" / EXPORT)
    newer = root / "POMMAINT" / "20261124T020000Z"
    shutil.copytree(landing / "POMMAINT" / EXPORT, newer)
    (newer / "export.json").unlink()
    path = newer / edit
    text = path.read_text()
    assert find in text
    path.write_text(text.replace(find, replace, 1))
    an_hour_ago = time.time() - 3600  # no manifest: the files must have settled
    for file in [*newer.iterdir(), newer]:
        os.utime(file, (an_hour_ago, an_hour_ago))
    return root


def test_an_export_still_being_copied_is_not_read(
    published: Path, landing: Path, tmp_path: Path
) -> None:
    """The newer export (its DM has a SEX the raw gate refuses) is still being copied: the
    night takes the newest settled export instead, the published one, so it has nothing new
    (read, the newer one would have failed the gate)."""
    store = tmp_path / "store"
    first = copy_store(published, store).resolve()
    root = _bad_night(landing, tmp_path, "dm.csv", ",Male,", ",Mle,")
    (root / "POMMAINT" / "20261124T020000Z" / "ae.csv").touch()  # still changing
    with pytest.raises(NothingNew, match=f"export {EXPORT} is already published"):
        run_all("POMMAINT", root, store)
    assert (store / "POMMAINT" / "current").resolve() == first


def test_a_half_copied_export_is_waited_for_not_failed(
    published: Path, landing: Path, tmp_path: Path
) -> None:
    """A copy in progress lacks forms as a broken export does; its fresh files tell them
    apart: the night ends as nothing new and the copy is read once it has settled."""
    store = tmp_path / "store"
    copy_store(published, store)
    root = _bad_night(landing, tmp_path, "dm.csv", ",Male,", ",Male,")
    newer = root / "POMMAINT" / "20261124T020000Z"
    (newer / "lb.csv").unlink()  # not copied yet: the folder has just changed
    with pytest.raises(NothingNew):
        run_all("POMMAINT", root, store)
    os.utime(newer, (time.time() - 3600,) * 2)  # settled, and still without lb.csv: broken
    with pytest.raises(PipelineError, match="no lb file"):
        run_all("POMMAINT", root, store)


def test_failed_night_keeps_the_last_good_publication(
    published: Path, landing: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    good = copy_store(published, store)
    target, digest = good.resolve(), sha256_file(good / "sdtm" / "dm.xpt")
    root = _bad_night(landing, tmp_path, "dm.csv", ",Male,", ",Mle,")
    with pytest.raises(PipelineError) as err:  # the raw quality gate stops it
        run_all("POMMAINT", root, store)
    message = str(err.value)
    assert "dm.csv row 3 subject 1002 column SEX [CT] value 'Mle'" in message
    assert (store / "POMMAINT" / "current").resolve() == target
    assert sha256_file(store / "POMMAINT" / "current" / "sdtm" / "dm.xpt") == digest
    runs = store / "POMMAINT" / "runs"
    listing = pd.read_csv(next(runs.glob("*20261124T020000Z/reports/quality_raw.csv")), dtype=str)
    errors = listing[listing["severity"] == "error"]
    assert errors[["file", "variable", "rule", "value"]].values.tolist() == [
        ["dm.csv", "SEX", "CT", "Mle"]
    ]
    failure = json.loads(next(runs.glob("*20261124T020000Z/reports/failure.json")).read_text())
    assert failure["stage"] == "validate raw" and failure["error"] == "QualityGateError"
    # `cdisc status`: the publication, the failed night with stage and reason, and a night
    # with nothing new (no run folder: the night log)
    with pytest.raises(NothingNew):
        run_all("POMMAINT", landing, store)
    shown = _status(store)
    failed = next(runs.glob("*20261124T020000Z")).name
    assert shown[0].startswith(
        f"POMMAINT: published run {target.name} (SDTM, export {EXPORT}, started 20"
    )
    assert shown[1] == "2 job(s) since:"
    assert shown[2].endswith(f"  SDTM  failed      {failed}")
    assert shown[3].startswith(
        "      at validate raw: QualityGateError: quality gate raw: 1 error expectation(s) failed"
    )
    assert shown[4].endswith("  SDTM  skipped     (no run folder)")
    assert shown[5] == (
        f"      at extract: NothingNew: export {EXPORT} is already published as run {target.name}"
    )
    assert len(shown) == 6


def _status(store: Path) -> list[str]:
    """What `cdisc status` prints for POMMAINT in `store`, line by line."""
    out = subprocess.run(
        [Path(sys.executable).parent / "cdisc", "status", "--study", "POMMAINT", "--store", store],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stderr == ""
    return out.stdout.splitlines()


def test_missing_column_is_named(landing: Path, tmp_path: Path) -> None:
    root = _bad_night(landing, tmp_path, "ae.csv", "AETOXGR", "GRADE")
    with pytest.raises(PipelineError, match=r"ae.csv: column\(s\) \['AETOXGR'\] missing"):
        run_all("POMMAINT", root, tmp_path / "store")


def test_duplicate_key_is_listed(landing: Path, tmp_path: Path) -> None:
    root = _bad_night(landing, tmp_path, "dm.csv", "\n01,1002,", "\n01,1001,")
    with pytest.raises(PipelineError) as err:
        run_all("POMMAINT", root, tmp_path / "store")
    assert "dm.csv row 3 subject 1001 column SUBJID [KEY] value '1001'" in str(err.value)
    # extract lists it too (same rule, same row) before the gate stops the run
    issues = pd.read_csv(next((tmp_path / "store").rglob("issues_raw.csv")), dtype=str)
    assert issues[["file", "row", "rule"]].values.tolist() == [
        ["dm.csv", "2", "KEY"], ["dm.csv", "3", "KEY"]
    ]  # fmt: skip


def test_odm_export_maps_to_the_same_sdtm(published: Path, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    generate_export(
        "POMMAINT", subjects=15, seed=20261123, out=landing, fmt="odm", export_time=EXPORT_TIME
    )
    current = run_all("POMMAINT", landing, tmp_path / "store")
    assert sha256_file(current / "sdtm" / "dm.xpt") == sha256_file(published / "sdtm" / "dm.xpt")
    for name in ("suppdm.xpt", "ex.xpt", "ae.xpt", "suppae.xpt", "ds.xpt"):
        assert sha256_file(current / "sdtm" / name) == sha256_file(published / "sdtm" / name)


def test_reconciliation_accounts_for_every_raw_record(published: Path, landing: Path) -> None:
    summary = pd.read_csv(published / "reports" / "reconciliation.csv").set_index("form")
    export = landing / "POMMAINT" / EXPORT
    for form, row in summary.iterrows():
        lines = (export / str(form)).read_text().count("\n") - 1  # header
        assert row["records_in"] == lines, form
    assert (summary["unaccounted"] == 0).all()
    counts = summary.to_dict("index")
    assert counts["ae.csv"]["mapped_AE"] == counts["ae.csv"]["records_in"] == 70
    assert counts["ic.csv"]["mapped_DS"] == 18  # consent; the screen failures' too
    # 7083 of the enrolled (with the IMWG assessments' urine, immunoglobulin and follow-up
    # results, issue 18.2), 36 screening results of the 3 screen failures (issue 18).
    assert counts["lb.csv"]["mapped_LB"] == counts["lb.csv"]["records_in"] == 7119
    # Every survival contact is an SS record; the new therapy's drugs are CM records of the
    # new anticancer therapy form (issue 18), not of the repeated answer.
    assert counts["sfu.csv"]["mapped_SS"] == counts["sfu.csv"]["records_in"] == 18
    assert counts["sfu.csv"]["mapped_CM"] == 0
    # The cohort form: every record the DS assignment milestone; the transplant-eligible
    # cohort's also a PR record (the transplant); prior drug therapy is CM from the PRT form.
    assert counts["coh.csv"]["mapped_DS"] == 15 and counts["coh.csv"]["not_mapped"] == 0
    assert counts["coh.csv"]["mapped_PR"] == 9 and counts["coh.csv"]["mapped_CM"] == 0
    # Issue 18: the diagnosis is an MH record and two RS records (ISS, R-ISS); each drug
    # line a CM record; ECOG visits RS records; each vital-signs row gives VS records. The 3
    # screen failures' diagnoses too (their screening visit collected them).
    assert counts["dx.csv"]["mapped_MH"] == counts["dx.csv"]["mapped_RS"] == 18
    for form, dataset in [
        ("mh.csv", "MH"),
        ("prt.csv", "CM"),
        ("nt.csv", "CM"),
        ("cmed.csv", "CM"),
        ("ecog.csv", "RS"),
        ("vs.csv", "VS"),
    ]:
        assert counts[form][f"mapped_{dataset}"] == counts[form]["records_in"] > 0, form
    assert counts["eos.csv"]["mapped_DD"] == 4  # the deaths with a cause


def test_a_raw_record_nobody_maps_stops_the_run(
    landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DS maps the consent of every subject but 1001: that IC record reaches no dataset.
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "sdtm_specs", specs)
    ds = specs / "POMMAINT" / "sdtm" / "ds.yaml"
    text = ds.read_text()
    block = "  - source: IC\n    rules:\n"
    assert block in text
    ds.write_text(text.replace(block, '  - source: IC\n    where: {column: SUBJID, ne: "1001"}\n'
                                     "    rules:\n"))  # fmt: skip
    monkeypatch.setenv("CDISC_SPECS_DIR", str(specs))
    load_study.cache_clear()
    try:
        with pytest.raises(PipelineError, match=r"1 raw record\(s\) neither mapped.*ic.csv row 2"):
            run_all("POMMAINT", landing, tmp_path / "store")
    finally:
        load_study.cache_clear()
    assert not (tmp_path / "store" / "POMMAINT" / "current").exists()
    lost = pd.read_csv(next((tmp_path / "store").rglob("unaccounted.csv")), dtype=str)
    assert lost[["form", "subject"]].values.tolist() == [["ic.csv", "1001"]]


def test_every_xpt_reads_back_as_its_parquet(published: Path) -> None:
    for xpt in sorted((published / "sdtm").glob("*.xpt")):
        parquet = pd.read_parquet(xpt.with_suffix(".parquet"))
        data, meta = pyreadstat.read_xport(xpt)
        assert meta.table_name == xpt.stem.upper()
        assert list(data.columns) == list(parquet.columns), xpt.name
        assert len(data) == len(parquet), xpt.name
        for col in parquet.columns:
            if parquet[col].dtype == "float64":
                pd.testing.assert_series_equal(data[col], parquet[col], check_names=False)
            else:
                expected = parquet[col].astype("object").where(parquet[col].notna(), "")
                assert data[col].tolist() == expected.tolist(), (xpt.name, col)


def test_dataset_json_beside_every_xpt(published: Path) -> None:
    import jsonschema

    from transforms.datasetjson import SCHEMA_PATH

    schema = json.loads(SCHEMA_PATH.read_text())
    for xpt in sorted((published / "sdtm").glob("*.xpt")):
        doc = json.loads(xpt.with_suffix(".json").read_text(encoding="utf-8"))
        jsonschema.validate(doc, schema)
        parquet = pd.read_parquet(xpt.with_suffix(".parquet"))
        name = xpt.stem.upper()
        assert doc["itemGroupOID"] == f"IG.{name}" and doc["records"] == len(parquet)
        assert [c["itemOID"] for c in doc["columns"]] == [f"IT.{name}.{c}" for c in parquet.columns]
        _, meta = pyreadstat.read_xport(xpt, metadataonly=True)
        for column in doc["columns"]:
            if column["dataType"] == "string":  # lengths as written to the XPT
                assert column["length"] == meta.variable_storage_width[column["name"]]
        for i, col in enumerate(parquet.columns):
            got = [row[i] for row in doc["rows"]]
            expected = [None if pd.isna(v) else v for v in parquet[col].tolist()]
            assert got == expected, (xpt.name, col)


def test_same_export_again_is_nothing_new_unless_forced_then_the_same_bytes(
    published: Path, landing: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    first = copy_store(published, store).resolve()
    with pytest.raises(NothingNew, match=f"export {EXPORT} is already published"):
        run_all("POMMAINT", landing, store)
    assert (store / "POMMAINT" / "current").resolve() == first
    assert len(list((store / "POMMAINT" / "runs").iterdir())) == 1
    forced = run_all("POMMAINT", landing, store, force=True)
    assert forced.resolve() != first
    assert pd.read_csv(forced / "reports" / "changes.csv").empty
    # the rerun of the same export writes the very same files
    for name in ("dm.xpt", "suppdm.xpt", "dm.parquet", "ae.xpt", "suppae.xpt", "ds.xpt", "ex.xpt",
                 "lb.xpt", "lb.json", "rs.parquet", "define.xml"):  # fmt: skip
        assert sha256_file(forced / "sdtm" / name) == sha256_file(published / "sdtm" / name), name


def test_change_report_shows_the_late_correction(night_two: NightTwo) -> None:
    """Night 2's SDTM job (the session's, on the store of night 1's publication) lists the
    site's two corrections."""
    published = night_two.sdtm_done / "POMMAINT" / "current"
    changes = pd.read_csv(published / "reports" / "changes.csv", dtype=str)
    assert changes.values.tolist() == [
        ["AE", "changed",
         "STUDYID=POMMAINT; USUBJID=POMMAINT-01-1001; AEDECOD=UPPER RESPIRATORY TRACT INFECTION; AESTDTC=2023-11",
         "AEOUT, AEENDTC, AEENDY, AEENRTPT, AEENTPT"],
        ["LB", "changed",
         "STUDYID=POMMAINT; USUBJID=POMMAINT-01-1001; LBTESTCD=HGB; LBSPEC=BLOOD; VISITNUM=1.0; LBDTC=2023-10-28",
         "LBORRES, LBSTRESC, LBSTRESN, LBNRIND"],
    ]  # fmt: skip
    manifest = json.loads((published / "manifest.json").read_text())
    assert manifest["changes"]["datasets"] == {"AE": {"changed": 1}, "LB": {"changed": 1}}
    # each changed value (the ADaM's follow in the ADaM run: tests/test_adam.py)
    cells = pd.read_csv(published / "reports" / "changes_cells.csv", dtype=str,
                        keep_default_na=False)  # fmt: skip
    assert cells[["dataset", "variable"]].values.tolist() == [
        ["AE", "AEOUT"], ["AE", "AEENDTC"], ["AE", "AEENDY"], ["AE", "AEENRTPT"], ["AE", "AEENTPT"],
        ["LB", "LBORRES"], ["LB", "LBSTRESC"], ["LB", "LBSTRESN"], ["LB", "LBNRIND"],
    ]  # fmt: skip
    assert list(cells[["old", "new"]].to_numpy()[5]) == ["100", "10.0"]
    assert (published / "reports" / "changes_cells.html").is_file()


def test_retention_keeps_the_newest_runs_and_the_published_one(tmp_path: Path) -> None:
    from transforms.store import new_run, prune

    store = tmp_path / "store"
    runs = [new_run(store, "POMMAINT", f"2026112{i}T020000Z-x") for i in range(5)]
    (store / "POMMAINT" / "current").symlink_to(Path("runs") / runs[0].run_id)
    removed = prune(store, "POMMAINT", keep=2)
    assert removed == [r.run_id for r in runs[1:3]]
    left = sorted(p.name for p in (store / "POMMAINT" / "runs").iterdir())
    assert left == [runs[0].run_id, runs[3].run_id, runs[4].run_id]


def test_an_older_export_never_replaces_a_newer_publication(
    night_two: NightTwo, tmp_path: Path
) -> None:
    """Night 1's export is taken again (forced) and prepared first; night 2's run is
    published meanwhile; finishing night 1's run must leave night 2's publication."""
    from transforms.jobs.plan import Place
    from transforms.jobs.sdtm import extract, publish_run
    from transforms.store import RunFolder, publish

    store, root = tmp_path / "store", tmp_path / "landing"
    copy_store(night_two.baseline / "POMMAINT" / "current", store)
    shutil.copytree(night_two.landing / "POMMAINT" / EXPORT, root / "POMMAINT" / EXPORT)
    study = load_study("POMMAINT")
    older = extract(study, Place(store, root, force=True))  # prepared first, published last
    night2 = (night_two.sdtm_done / "POMMAINT" / "current").resolve()
    newer = store / "POMMAINT" / "runs" / night2.name
    shutil.copytree(night2, newer)
    manifest = RunFolder(newer).manifest()
    publish(RunFolder(newer), {k: v for k, v in manifest.items() if k != "outputs"})
    assert (store / "POMMAINT" / "current").resolve() == newer.resolve()
    with pytest.raises(PipelineError, match=f"export {EXPORT} is older than the published"):
        publish_run(older, study)
    assert (store / "POMMAINT" / "current").resolve() == newer.resolve()
    assert not older.manifest()


def test_a_run_id_taken_by_a_crashed_run_is_never_reused(tmp_path: Path) -> None:
    from transforms.store import new_run

    first = new_run(tmp_path, "POMMAINT", "20261123T020000Z-x")
    (first.sdtm / "dm.parquet").write_bytes(b"partial")
    again = new_run(tmp_path, "POMMAINT", "20261123T020000Z-x")
    assert again.path.name == "20261123T020000Z-x.2" and not any(again.sdtm.iterdir())
    assert new_run(tmp_path, "POMMAINT", "20261123T020000Z-x").path.name.endswith(".3")


def test_a_failed_run_says_why_in_its_report(landing: Path, tmp_path: Path) -> None:
    from transforms.jobs.plan import Place
    from transforms.jobs.sdtm import extract, map_dataset

    study = load_study("POMMAINT")
    run = extract(study, Place(tmp_path / "store", landing))
    # DM was never mapped (its task died): mapping AE, which needs DM, fails.
    with pytest.raises(FileNotFoundError):
        map_dataset(run, study, "AE")
    failure = json.loads(run.failure.read_text())
    assert failure["stage"] == "map AE" and failure["error"] == "FileNotFoundError"
    assert "dm.parquet" in failure["message"]

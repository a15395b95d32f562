"""The job graph: computed once from the specs, rendered by the DAG file as it is, walked
by ``cdisc run`` in its order; a new dataset spec is a new step with no code change."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from benchmarks.bench import airflow_env
from tests.conftest import ROOT
from transforms.jobs.plan import PlanError, Step, adam_job, adam_reads, jobs, ordered, sdtm_job
from transforms.studies import StudyInfo, list_studies, read_study_info

SPECS = ROOT / "sdtm_specs"


def _pommaint(root: Path = SPECS) -> StudyInfo:
    return read_study_info(root / "POMMAINT" / "study.yaml")


def test_sdtm_steps_of_pommaint_in_order_with_their_dependencies() -> None:
    job = sdtm_job(_pommaint())
    ids = [s.id for s in job.steps]
    maps = [f"{d}.map" for d in ("dm", "ex", "ae", "cm", "ds", "rs", "lb", "ss", "ts", "dd",
                                 "pr", "mh", "vs", "ie", "mb", "is", "gf", "rp", "ta", "te",
                                 "tv", "ti", "se", "sv", "relrec")]  # fmt: skip
    assert ids[:4] == ["extract", "reconcile_fields", "validate_raw", "dm.map"]
    assert ids[-5:] == ["reconcile", "validate_sdtm", "define", "conformance", "publish"]
    # SE after DM's completion (below), the only one out of the specs' order.
    assert [i for i in ids if i.endswith(".map")] == [m for m in maps if m != "se.map"] + [
        "se.map"]  # fmt: skip
    after = {s.id: set(s.after) for s in job.steps}
    # The export's fields are accounted for before anything is checked or mapped.
    assert after["reconcile_fields"] == {"extract"}
    assert after["validate_raw"] == {"reconcile_fields"}
    assert after["dm.map"] == {"validate_raw"}
    assert after["lb.map"] == {"validate_raw", "dm.map"}  # DM's reference dates
    # The subjects' visits: after every dataset with VISITNUM (its spec's reads).
    assert after["sv.map"] == {"validate_raw", "dm.map", "rs.map", "lb.map", "ss.map", "vs.map",
                               "ie.map", "mb.map", "is.map", "gf.map", "rp.map",
                               "tv.map"}  # fmt: skip
    assert after["lb.xpt"] == {"lb.map"}
    # DM is completed (RFPENDTC: the latest date in any domain) once the other datasets are
    # mapped, and written after that; SE (reads: [DM], its last element ends at RFPENDTC)
    # is mapped after the completion instead.
    assert after["dm.complete"] == set(maps) - {"se.map"}
    assert after["dm.xpt"] == {"dm.complete"}
    assert after["se.map"] == {"validate_raw", "dm.complete"}
    assert job.step("dm.complete").call == "transforms.jobs.sdtm:complete_reference"
    assert after["reconcile"] == {"validate_raw", *(m.replace(".map", ".xpt") for m in maps)}
    assert job.step("lb.map").call == "transforms.jobs.sdtm:map_dataset"
    assert job.step("lb.map").args == ("LB",) and job.step("lb.map").group == "lb"
    assert job.emits == "pommaint_sdtm_published" and job.schedule == "0 2 * * *"


def test_adam_order_comes_from_what_each_spec_reads() -> None:
    study = _pommaint()
    assert adam_reads(study) == {
        "ADSL": (),
        "ADRS": ("ADSL",),  # merge_vars from: {dataset: ADSL}
        "ADAE": ("ADSL",),
        "ADTTE": ("ADRS", "ADSL"),  # derivations[0].sources.*.dataset
        "ADLB": ("ADSL",),  # a new dataset spec is a step of its own, no code change
        "ADEX": ("ADSL",),
    }
    job = adam_job(study)
    assert [s.id for s in job.steps] == [
        "start", "adsl.build", "adrs.build", "adae.build", "adtte.build", "adlb.build",
        "adex.build", "endpoints", "define", "conformance", "publish",
    ]  # fmt: skip
    assert set(job.step("adlb.build").after) == {"start", "adsl.build"}
    assert set(job.step("adtte.build").after) == {"start", "adrs.build", "adsl.build"}
    assert job.trigger == "pommaint_sdtm_published" and job.schedule is None
    # every dataset is read by the endpoints (ADLB by the CTCAE shift tables)
    assert job.step("define").after == ("endpoints",)


def test_the_endpoints_step_reads_the_datasets_the_declaration_names(tmp_path: Path) -> None:
    root = _copy_specs(tmp_path)
    path = root / "POMMAINT" / "study.yaml"
    meta = yaml.safe_load(path.read_text())
    # POMMAINT's endpoints read ADSL, ADTTE, ADRS, ADAE, (exposure) ADEX and (CTCAE shift
    # tables) ADLB.
    full = adam_job(read_study_info(path), root)
    assert set(full.step("endpoints").after) == {
        f"{d}.build" for d in ("adsl", "adrs", "adae", "adtte", "adex", "adlb")
    }
    # Without its rates, adverse events, exposure, response shifts and the concordance of
    # responses, only ADSL and ADTTE:
    # the summary may run while the others are still building, and Define-XML still waits
    # for every dataset.
    del meta["endpoints"]["rates"], meta["endpoints"]["adverse_events"]
    del meta["endpoints"]["exposure"], meta["endpoints"]["shifts"]
    del meta["endpoints"]["concordance"]
    path.write_text(yaml.safe_dump(meta))
    job = adam_job(read_study_info(path), root)
    assert job.step("endpoints").after == ("adsl.build", "adtte.build")
    assert job.step("define").after == (
        "endpoints", "adrs.build", "adae.build", "adlb.build", "adex.build",
    )  # fmt: skip
    # No endpoints: no step.
    del meta["endpoints"]
    path.write_text(yaml.safe_dump(meta))
    job = adam_job(read_study_info(path), root)
    assert "endpoints" not in [s.id for s in job.steps]
    assert set(job.step("define").after) == {
        f"{d}.build" for d in ("adsl", "adrs", "adae", "adtte", "adlb", "adex")
    }


def _copy_specs(tmp_path: Path) -> Path:
    root = tmp_path / "specs"
    shutil.copytree(SPECS, root)
    return root


def test_a_cycle_between_adam_specs_names_the_folder_and_the_steps(tmp_path: Path) -> None:
    root = _copy_specs(tmp_path)
    adsl = root / "POMMAINT" / "adam" / "adsl.yaml"
    spec = yaml.safe_load(adsl.read_text())
    spec["reads"] = ["ADTTE"]
    adsl.write_text(yaml.safe_dump(spec))
    with pytest.raises(PlanError, match=r"adam: the datasets read each other in a cycle") as err:
        adam_job(_pommaint(root), root)
    assert "adsl.build" in str(err.value) and "adtte.build" in str(err.value)


def test_reading_an_unknown_adam_dataset_is_refused(tmp_path: Path) -> None:
    root = _copy_specs(tmp_path)
    adae = root / "POMMAINT" / "adam" / "adae.yaml"
    adae.write_text(adae.read_text() + "reads: [ADXX]\n")
    with pytest.raises(PlanError, match=r"adae\.yaml: reads \['ADXX'\], not ADaM datasets"):
        adam_job(_pommaint(root), root)


def test_ordered_keeps_declaration_order_and_refuses_unknown_steps() -> None:
    steps = [Step("b", "m:f", after=("a",)), Step("a", "m:f"), Step("c", "m:f")]
    assert [s.id for s in ordered(steps)] == ["a", "b", "c"]
    with pytest.raises(PlanError, match=r"step b comes after unknown step\(s\) \['x'\]"):
        ordered([Step("b", "m:f", after=("x",))])


GRAPH = """
import json, runpy
ns = runpy.run_path("dags/study_pipelines.py")
print(json.dumps({k: {t.task_id: sorted(t.upstream_task_ids) for t in v.tasks}
                  for k, v in ns.items() if k.endswith(("_sdtm_nightly", "_adam"))}))
"""


def _dag_graph(tmp_path: Path, specs: Path | None = None) -> dict[str, dict[str, list[str]]]:
    env = airflow_env(tmp_path / "home", tmp_path, tmp_path)
    if specs is not None:
        env["CDISC_SPECS_DIR"] = str(specs)
    out = subprocess.run(
        [sys.executable, "-c", GRAPH], cwd=ROOT, env=env, capture_output=True, text=True,
        check=True,
    ).stdout  # fmt: skip
    graph: dict[str, dict[str, list[str]]] = json.loads(out.splitlines()[-1])
    return graph


def _plan_graph(root: Path) -> dict[str, dict[str, list[str]]]:
    graph = {}
    for study in list_studies(root):
        for job in jobs(study, root):
            # Every step also reads the run folder the first step made (its XCom).
            graph[job.dag_id] = {
                s.id: sorted({*s.after, *([job.first.id] if s is not job.first else [])})
                for s in job.steps
            }
            if job.kind == "sdtm" and study.deadline is not None:
                # the one task not of the plan: the sensor of the study's deadline before
                # the first step (it waits for an export; dags/study_pipelines.py)
                graph[job.dag_id]["wait_for_export"] = []
                graph[job.dag_id][job.first.id] = ["wait_for_export"]
    return graph


def test_the_dags_are_the_plan_and_a_new_dataset_spec_is_a_new_task(tmp_path: Path) -> None:
    graph = _dag_graph(tmp_path)
    assert graph == _plan_graph(SPECS)
    # The pilot's ADaM DAG, from its specs alone: its endpoints read ADSL, ADAE and ADTTE.
    assert graph["cdiscpilot01_adam"] == {
        "start": [], "adsl.build": ["start"], "adae.build": ["adsl.build", "start"],
        "adtte.build": ["adae.build", "adsl.build", "start"],
        "endpoints": ["adae.build", "adsl.build", "adtte.build", "start"],
        "define": ["endpoints", "start"],
        "conformance": ["define", "start"], "publish": ["conformance", "start"],
    }  # fmt: skip
    pilot = graph["cdiscpilot01_sdtm_nightly"]
    assert pilot["sv.map"] == [
        "dm.map", "ds.map", "ex.map", "extract", "tv.map", "validate_raw", "vs.map"
    ]  # fmt: skip
    # A new SDTM dataset named in study.yaml is a task, after what its spec reads, listed
    # before what it reads or not (the graph reads no more than study.yaml and the reads:).
    root = _copy_specs(tmp_path)
    study_yaml = root / "CDISCPILOT01" / "study.yaml"
    meta = yaml.safe_load(study_yaml.read_text())
    meta["sdtm"] = [*meta["sdtm"][:2], "MH", *meta["sdtm"][2:]]
    study_yaml.write_text(yaml.safe_dump(meta, sort_keys=False))
    (root / "CDISCPILOT01" / "sdtm" / "mh.yaml").write_text("dataset: MH\nreads: [VS]\n")
    graph = _dag_graph(tmp_path, root)
    assert graph == _plan_graph(root)
    pilot = graph["cdiscpilot01_sdtm_nightly"]
    assert pilot["mh.map"] == ["dm.map", "extract", "validate_raw", "vs.map"]
    assert "mh.xpt" in pilot["reconcile"]


UNPLANNED = """
import json, runpy
from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowFailException
ns = runpy.run_path("dags/study_pipelines.py")
out = {}
for name, dag in sorted((k, v) for k, v in ns.items() if isinstance(v, DAG)):
    out[name] = {"tasks": sorted(dag.task_dict), "schedule": str(dag.schedule)}
    if list(dag.task_dict) == ["extract"] or list(dag.task_dict) == ["start"]:
        task = next(iter(dag.task_dict.values()))
        try:
            task.python_callable(*task.op_args)
        except AirflowFailException as failed:
            out[name]["fails"] = str(failed)
print(json.dumps(out))
"""


def test_a_study_whose_specs_make_no_graph_loses_its_dag_alone(tmp_path: Path) -> None:
    """One study's broken spec fails that study's job at its first task (the alert names
    the file and line), on its clock; the other studies' DAGs and the study's other job
    are made as ever (before: the whole DAG file failed to import, every study's DAGs
    with it)."""
    root = _copy_specs(tmp_path)
    vs = root / "CDISCPILOT01" / "sdtm" / "vs.yaml"
    vs.write_text(vs.read_text() + "variables: [VSTESTCD\n")
    env = airflow_env(tmp_path / "home", tmp_path, tmp_path)
    env["CDISC_SPECS_DIR"] = str(root)
    out = subprocess.run([sys.executable, "-c", UNPLANNED], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True)  # fmt: skip
    dags = json.loads(out.stdout.splitlines()[-1])
    broken = dags.pop("cdiscpilot01_sdtm_nightly")
    assert broken["tasks"] == ["extract"]
    assert broken["schedule"] == "0 3 * * *"  # its study.yaml's clock
    assert broken["fails"].startswith(f"{vs}: line ")
    assert "not valid YAML" in broken["fails"]
    assert "cdiscpilot01_sdtm_nightly: " in out.stdout + out.stderr  # logged while parsed
    graph = _plan_graph(SPECS)
    for name, dag in dags.items():
        assert dag["tasks"] == sorted(graph[name]), name
    assert sorted(dags) == ["cdiscpilot01_adam", "pommaint_adam", "pommaint_sdtm_nightly"]
    # A study.yaml that cannot be read: the folder's SDTM job fails, on the default clock.
    (root / "POMMAINT" / "study.yaml").write_text("study: [POMMAINT\n")
    out = subprocess.run([sys.executable, "-c", UNPLANNED], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True)  # fmt: skip
    dags = json.loads(out.stdout.splitlines()[-1])
    assert sorted(dags) == [
        "cdiscpilot01_adam",
        "cdiscpilot01_sdtm_nightly",
        "pommaint_sdtm_nightly",
    ]
    assert dags["pommaint_sdtm_nightly"]["schedule"] == "0 2 * * *"
    assert dags["pommaint_sdtm_nightly"]["fails"].startswith(
        f"{root / 'POMMAINT' / 'study.yaml'}: "
    )

"""The ADaM job as stages, run after each SDTM publication (by the ADaM DAG that the SDTM
DAG's Asset triggers, or by ``cdisc run``).

A published run folder is never written to: ``start`` makes a new run folder from the
published SDTM run (its raw, sdtm and reports files hard-linked, so nothing is copied),
the datasets are derived into its ``adam/``, the endpoint summary into ``reports/``, and
``publish`` switches ``current`` to it only if that SDTM run is still the published one.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from transforms.extract.exports import sha256_file
from transforms.pipeline import (
    Column,
    NothingNew,
    ParquetTables,
    PipelineError,
    _write_outputs,
    check_conformance,
    log,
    stage,
)
from transforms.publish import RunFolder, current, new_run, prune, publish, study_lock
from transforms.specs import load_study

# Report files an ADaM run writes itself (never hard-linked from the SDTM run).
ADAM_REPORTS = ("endpoints.", "km_", "unassigned_", "submission_manifest.", "conformance.")
SAS_EPOCH = pd.Timestamp("1960-01-01")


class Superseded(NothingNew):
    """A newer SDTM run was published while this ADaM run was being built."""


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _specs_digest(study_path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(study_path.parent)): sha256_file(p)
        for p in sorted((study_path / "adam").glob("*.yaml"))
    }


def start(store: Path, study_id: str, force: bool = False) -> Path:
    """A new run folder for the ADaM of the published SDTM run; NothingNew when that run
    already has ADaM built from the same ADaM specs."""
    study = load_study(study_id)
    published = current(store, study_id)
    if published is None:
        raise NothingNew(f"{study_id}: no SDTM run is published yet")
    manifest = _manifest(published)
    sdtm_run = manifest.get("sdtm_run", published.name)
    adam = manifest.get("adam")
    if not force and adam and adam.get("specs") == _specs_digest(study.path):
        raise NothingNew(f"ADaM of SDTM run {sdtm_run} is already published ({published.name})")
    started = datetime.now(UTC)
    run = new_run(store, study_id, f"{sdtm_run}-adam-{started:%Y%m%dT%H%M%S%f}")
    for sub in ("raw", "sdtm", "reports"):
        for path in sorted((published / sub).rglob("*")):
            if path.is_dir() or (sub == "reports" and path.name.startswith(ADAM_REPORTS)):
                continue
            target = run.path / sub / path.relative_to(published / sub)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:  # published files are never rewritten in place, so a hard link is safe
                os.link(path, target)
            except OSError:
                shutil.copy2(path, target)
    info = {
        "study": study_id,
        "sdtm_run": sdtm_run,
        "from_run": published.name,
        "started": started.isoformat(),
    }
    (run.path / "adam_run.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return run.path


def _adam_columns(spec: Any) -> list[Column]:
    return [(v.name, v.label, v.type, v.length, v.format, v.data_type) for v in spec.variables]


def _sas_dates(data: pd.DataFrame) -> pd.DataFrame:
    """Datetime columns as SAS day counts (days since 1960-01-01), for XPT and JSON."""
    out = data.copy()
    for name in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[name]):
            out[name] = (out[name] - SAS_EPOCH).dt.days.astype("float64")
    return out


def build(run_dir: Path, dataset: str) -> int:
    """Derive one ADaM dataset into the run's adam/ as Parquet, XPT v5 and Dataset-JSON."""
    from transforms.adam.adae import derive_adae
    from transforms.adam.adrs import derive_adrs
    from transforms.adam.adsl import derive_adsl
    from transforms.adam.spec import conform, load_adam_spec
    from transforms.adam.tte import build_tte

    run = RunFolder(Path(run_dir))
    info = json.loads((run.path / "adam_run.json").read_text(encoding="utf-8"))
    study = load_study(info["study"])
    spec = load_adam_spec(study.path / "adam" / f"{dataset.lower()}.yaml")
    sdtm = ParquetTables({p.stem.upper(): p for p in sorted(run.sdtm.glob("*.parquet"))}, "SDTM")
    with stage(f"adam {dataset}", run) as s:
        built = {
            p.stem.upper(): pd.read_parquet(p)
            for p in sorted(run.adam.glob("*.parquet"))
            if p.stem.upper() != dataset
        }
        if spec.structure == "TTE":
            result = build_tte(spec.settings, built)
            if len(result.unassigned):
                path = run.reports / f"unassigned_{dataset.lower()}.csv"
                result.unassigned.to_csv(path, index=False)
            data = result.data
        elif dataset == "ADSL":
            data = derive_adsl(sdtm, spec)
        elif dataset == "ADRS":
            data = derive_adrs(sdtm, built["ADSL"], spec)
        elif dataset == "ADAE":
            data = derive_adae(sdtm, built["ADSL"], spec)
        else:
            raise PipelineError(f"{spec.path}: no derivation for ADaM dataset {dataset}")
        data = conform(data, spec)
        data.to_parquet(run.adam / f"{dataset.lower()}.parquet", index=False)
        # The export's time, as for SDTM: the same export gives the same bytes.
        extract = json.loads((run.raw / "extract.json").read_text(encoding="utf-8"))
        created = datetime.fromisoformat(extract["export_created"].replace("Z", "+00:00"))
        _write_outputs(
            _sas_dates(data), run.adam, dataset, spec.label, _adam_columns(spec), created
        )
        s.rows_out = len(data)
    return len(data)


def endpoints(run_dir: Path) -> list[Path]:
    """reports/endpoints.json and endpoints.html: PFS/OS Kaplan-Meier, response rates and
    the adverse-event incidence, from the ADaM just built."""
    from datetime import date

    from transforms.adam.endpoints import write_endpoints

    run = RunFolder(Path(run_dir))
    extract = json.loads((run.raw / "extract.json").read_text(encoding="utf-8"))
    cut = extract.get("data_cutoff")
    with stage("endpoints", run) as s:
        adam = {
            n: pd.read_parquet(run.adam / f"{n}.parquet") for n in ("adsl", "adtte", "adrs", "adae")
        }
        written = write_endpoints(
            adam["adsl"], adam["adtte"], adam["adrs"], adam["adae"], run.reports,
            data_cut=date.fromisoformat(cut) if cut else None,
        )  # fmt: skip
        s.rows_in = sum(len(f) for f in adam.values())
    return written


def document(run_dir: Path) -> Path:
    """Define-XML 2.1 (+ HTML) for the ADaM written, and the submission manifest."""
    from transforms.adam.spec import load_adam_spec
    from transforms.define import (
        DefineError,
        adam_metadata,
        write_define,
        write_submission_manifest,
    )

    run = RunFolder(Path(run_dir))
    info = json.loads((run.path / "adam_run.json").read_text(encoding="utf-8"))
    study = load_study(info["study"])
    specs = [load_adam_spec(study.path / "adam" / f"{name.lower()}.yaml") for name in study.adam]
    with stage("define adam", run) as s:
        try:
            define = write_define(
                run.path, "adam", adam_metadata(specs), dictionaries=study.dictionaries
            )
        except DefineError as exc:
            raise PipelineError(f"{run.adam / 'define.xml'}: {exc}") from exc
        write_submission_manifest(run.path)
        s.rows_out = len(specs)
    # The SDTM here is the SDTM run's, hard-linked: its checks stand (if that run is kept).
    sdtm_report = run.path.parent / info["sdtm_run"] / "reports" / "conformance.csv"
    check_conformance(run.path, sdtm_report if sdtm_report.is_file() else None)
    return define


def publish_run(run_dir: Path) -> Path:
    """Switch ``current`` to the ADaM run, if its SDTM run is still the published one."""
    run = RunFolder(Path(run_dir))
    info = json.loads((run.path / "adam_run.json").read_text(encoding="utf-8"))
    study = load_study(info["study"])
    store = run.study_dir.parent
    with stage("publish adam", run) as s, study_lock(store, info["study"]):
        published = current(store, info["study"])
        if published is None or published.name != info["from_run"]:
            raise Superseded(
                f"run {info['from_run']} is no longer the published one "
                f"({published.name if published else 'none'}): ADaM not published"
            )
        manifest = {k: v for k, v in _manifest(published).items() if k not in ("outputs",)}
        rows = {p.stem.upper(): len(pd.read_parquet(p)) for p in sorted(run.adam.glob("*.parquet"))}
        manifest["sdtm_run"] = info["sdtm_run"]
        manifest["adam"] = {
            "started": info["started"],
            "finished": datetime.now(UTC).isoformat(),
            "specs": _specs_digest(study.path),
            "rows": rows,
        }
        link = publish(run, manifest)
        s.rows_out = sum(rows.values())
        removed = prune(store, info["study"], study.retention)
        if removed:
            log.info("retention: removed %d old run folder(s): %s", len(removed), removed)
    return link


def run_all(store: Path, study_id: str, force: bool = False) -> Path:
    """The whole ADaM job outside Airflow; returns the published ``current`` link."""
    run_dir = start(store, study_id, force=force)
    for dataset in load_study(study_id).adam:
        build(run_dir, dataset)
    endpoints(run_dir)
    document(run_dir)
    return publish_run(run_dir)

"""The ADaM job's stages, run after each SDTM publication (by the ADaM DAG that the SDTM
DAG's Asset triggers, or by ``cdisc run``).

A published run folder is never written to: ``start`` makes a new run folder from the
published SDTM run (its raw, sdtm and reports files hard-linked, so nothing is copied),
the datasets are derived into its ``adam/`` in the order of what each spec reads, the
endpoint summary (when study.yaml declares ``endpoints:``) goes into
``reports/``, and ``publish`` switches ``current`` to it only if that SDTM run is still
the published one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow.parquet as pq

from transforms.endpoint_spec import Reads
from transforms.errors import NothingNew, PipelineError, Superseded
from transforms.jobs import journal
from transforms.jobs.kit import Column, TableReader, log, spec_digests, stage, write_outputs
from transforms.jobs.plan import Place
from transforms.jobs.sdtm import check_conformance
from transforms.specs import StudySpec
from transforms.store import (
    RunFolder,
    current,
    link_or_copy,
    new_run,
    prune,
    publish,
    remove_leftovers,
    study_lock,
)

if TYPE_CHECKING:
    from transforms.changes import Changes

# Report files an ADaM run writes itself (never hard-linked from the SDTM run).
ADAM_REPORTS = (
    "endpoints.", "km_", "unassigned_", "submission_manifest.", "conformance.", "findings.",
)  # fmt: skip
SAS_EPOCH = pd.Timestamp("1960-01-01")


def adam_specs(study: StudySpec) -> dict[str, str]:
    """Digests of what an ADaM run is made by: the ADaM specs and study.yaml (its ``adam:``
    list and its ``endpoints:``; a new endpoint there is a new ADaM run)."""
    return spec_digests(study, "adam/*.yaml") | spec_digests(study, "study.yaml")


def start(study: StudySpec, place: Place) -> RunFolder:
    """A new run folder for the ADaM of the published SDTM run; NothingNew when that run
    already has ADaM built from the same specs (:func:`adam_specs`)."""
    with stage("start adam") as s:  # its progress line too: a run shows each step it ran
        published = current(place.store, study.id)
        if published is None:
            raise NothingNew(f"{study.id}: no SDTM run is published yet")
        manifest = RunFolder(published).manifest()
        sdtm_run = manifest.get("sdtm_run", published.name)
        adam = manifest.get("adam")
        if not place.force and adam and adam.get("specs") == adam_specs(study):
            raise NothingNew(f"ADaM of SDTM run {sdtm_run} is already published ({published.name})")
        if place.resume:  # an earlier run on this publication whose process died goes on
            same = published.name
            resumed = journal.resumable(
                place.store, study, "adam", lambda r: r.adam_info.get("from_run") == same
            )
            if resumed is not None:
                s.run = resumed
                return resumed
        started = datetime.now(UTC)
        run = new_run(place.store, study.id, f"{sdtm_run}-adam-{started:%Y%m%dT%H%M%S%f}")
        s.run = run
        for sub in ("raw", "sdtm", "reports"):
            for path in sorted((published / sub).rglob("*")):
                if path.is_dir() or (sub == "reports" and path.name.startswith(ADAM_REPORTS)):
                    continue
                target = run.path / sub / path.relative_to(published / sub)
                target.parent.mkdir(parents=True, exist_ok=True)
                link_or_copy(path, target)
        run.write_adam_info(
            {
                "study": study.id,
                "sdtm_run": sdtm_run,
                "from_run": published.name,
                "started": started.isoformat(),
            }
        )
        return run


def _adam_columns(spec: Any) -> list[Column]:
    return [(v.name, v.label, v.type, v.length, v.format, v.data_type) for v in spec.variables]


def sas_dates(data: pd.DataFrame) -> pd.DataFrame:
    """Datetime columns as SAS day counts (days since 1960-01-01), for XPT and JSON."""
    dates = [n for n in data.columns if pd.api.types.is_datetime64_any_dtype(data[n])]
    return data.assign(**{n: (data[n] - SAS_EPOCH).dt.days.astype("float64") for n in dates})


def build(run: RunFolder, study: StudySpec, dataset: str) -> int:
    """Derive one ADaM dataset, by its spec's steps, into the run's adam/ as Parquet, XPT v5
    and Dataset-JSON; a listing a step makes goes to reports/<listing>_<dataset>.csv.

    A dataset whose every step is per subject is derived a group of subjects at a time
    (:mod:`transforms.adam.chunks`; about `frame_rows()` rows each of the datasets its
    steps make records of and read: ADSL's DM and the rows it reads of LB and the others,
    ADLB's LB and ADSL, ADTTE's ADRS and ADSL), each
    group's records appended to its Parquet, and the XPT and JSON written from that a frame
    at a time: the stage holds one group's records, not the dataset's. The files are those
    of one derivation of all the subjects."""
    from transforms.adam.chunks import subject_inputs
    from transforms.adam.spec import conform, load_adam_spec
    from transforms.adam.vocabulary import build as derive
    from transforms.jobs.kit import ParquetAppender, frame_rows, parquet_frames

    spec = load_adam_spec(study.adam_spec_path(dataset))
    sdtm = TableReader(run.sdtm_tables(), "SDTM")
    with stage(f"adam {dataset}", run) as s:
        built = TableReader(
            {name: path for name, path in run.adam_tables().items() if name != dataset}, "ADaM"
        )
        table = ParquetAppender(run.adam_table(dataset))
        groups = 0
        for inputs in subject_inputs(spec, sdtm, built, frame_rows()):
            table.append(conform(derive(spec.derivations, inputs), spec))
            groups += 1
        table.close()
        if groups > 1:
            log.info("%s: derived in %d groups of subjects", dataset, groups)
        for listing, frame in inputs.reports.items():
            frame.to_csv(run.report(f"{listing}_{dataset.lower()}.csv"), index=False)
        frames = parquet_frames(run.adam_table(dataset))
        # The export's time, as for SDTM: the same export gives the same bytes.
        write_outputs(
            lambda: (sas_dates(frame) for frame in frames()), run.adam, dataset, spec.label,
            _adam_columns(spec), run.export_created,
        )  # fmt: skip
        s.rows_out = table.rows
    return table.rows


def endpoints(run: RunFolder, study: StudySpec) -> list[Path]:
    """reports/endpoints.json and endpoints.html: the endpoints study.yaml's ``endpoints:``
    declares (Kaplan-Meier, rates, adverse-event incidence), from the ADaM just built: of
    each dataset, the columns and PARAMCD rows the declaration reads (:func:`read_declared`)."""
    from datetime import date

    from transforms.adam.endpoints import write_endpoints

    spec = study.endpoints
    if spec is None:
        raise PipelineError(f"{study.path / 'study.yaml'}: declares no endpoints:")
    cut = run.info.get("data_cutoff")
    with stage("endpoints", run) as s:
        adam = {
            name: read_declared(run.adam_table(name), spec.reads[name]) for name in spec.datasets
        }
        written = write_endpoints(
            spec, adam, run.reports, data_cut=date.fromisoformat(cut) if cut else None,
            run=run.run_id,
        )  # fmt: skip
        s.rows_in = sum(len(f) for f in adam.values())
    return written


def read_declared(path: Path, reads: Reads) -> pd.DataFrame:
    """The columns and rows of an ADaM table the endpoint summary declares it reads (the
    columns the table has, in its order; the rows of the declared PARAMCDs), not the table:
    of ADLB, a few parameters' grades."""
    held = pq.ParquetFile(path).schema_arrow.names
    columns = [c for c in held if c in reads.columns]
    rows = None
    if reads.paramcds is not None and "PARAMCD" in held:
        rows = [("PARAMCD", "in", list(reads.paramcds))]
    return pd.read_parquet(path, columns=columns, filters=rows)


def define(run: RunFolder, study: StudySpec) -> Path:
    """Define-XML 2.1 (+ its stylesheet and HTML) for the ADaM written, with the Analysis
    Results Metadata of the endpoints study.yaml gives a ``purpose``; the ADRG (written at
    publication) its supplemental document."""
    from transforms.adam.spec import load_adam_spec
    from transforms.define import DefineError, adam_metadata, endpoint_analyses, write_define
    from transforms.define.documents import GUIDES

    specs = [load_adam_spec(study.adam_spec_path(name)) for name in study.adam]
    with stage("define adam", run) as s:
        try:
            written = write_define(
                run.path,
                "adam",
                adam_metadata(specs),
                dictionaries=study.dictionaries,
                study=study,
                analyses=endpoint_analyses(study),
                supplemental=[GUIDES["adam"]],
            )
        except DefineError as exc:
            raise PipelineError(f"{run.adam / 'define.xml'}: {exc}") from exc
        s.unit, s.rows_out = "datasets", len(specs)
    return written


def conformance(run: RunFolder, study: StudySpec) -> None:
    """The conformance report of the run: the ADaM checked, the SDTM run's findings taken
    over (its SDTM is here hard-linked: its checks stand, if that run is kept)."""
    sdtm_report = RunFolder(run.path.parent / run.adam_info["sdtm_run"]).report("conformance.csv")
    check_conformance(run, study, sdtm_report if sdtm_report.is_file() else None)


def _change_report(run: RunFolder, study: StudySpec) -> dict[str, Any]:
    """reports/changes.csv and changes_cells.csv/.html: the SDTM run's changes, then the
    ADaM's against the ADaM of the publication that SDTM run was compared with (its
    ``against``; every record added when that run held no ADaM). Per dataset counts."""
    from transforms.adam.spec import load_adam_spec
    from transforms.changes import compare_groups, write_report

    sdtm = RunFolder(run.path.parent / run.adam_info["sdtm_run"])
    against = sdtm.manifest().get("changes", {}).get("against")
    previous = RunFolder(run.path.parent / against) if against else None

    def parts() -> Iterator[Changes]:  # a dataset's changes at a time
        for name, path in run.adam_tables().items():
            spec = load_adam_spec(study.adam_spec_path(name))
            keys = list(spec.keys)
            ignore = [v.name for v in spec.variables
                      if v.name.endswith("SEQ") and v.name not in keys]  # fmt: skip
            old = previous.adam_table(name) if previous is not None else None
            before = old if old is not None and old.exists() else None
            yield from compare_groups(name, before, path, keys, ignore)

    listed = sdtm.reports if sdtm.report("changes_cells.csv").is_file() else None
    return write_report(run.reports, parts(), against, study.id, run.run_id, before=listed)


def publish_run(run: RunFolder, study: StudySpec) -> Path:
    """Write the ADRG, build the submission folder (SDTM and ADaM) and its manifest, and
    switch ``current`` to the ADaM run, if its SDTM run is still the published one."""
    from transforms.define import write_submission_manifest
    from transforms.define.documents import write_documents

    info = run.adam_info
    with stage("publish adam", run) as s, study_lock(run.store, study.id):
        published = current(run.store, study.id)
        if published is None or published.name != info["from_run"]:
            raise Superseded(
                f"run {info['from_run']} is no longer the published one "
                f"({published.name if published else 'none'}): ADaM not published"
            )
        remove_leftovers(run)  # of a step cut short, then retried
        write_documents(run, study, "adam")
        write_submission_manifest(run.path)
        manifest = {
            k: v for k, v in RunFolder(published).manifest().items() if k not in ("outputs",)
        }
        rows = {name: pq.read_metadata(path).num_rows for name, path in run.adam_tables().items()}
        manifest["sdtm_run"] = info["sdtm_run"]
        manifest["adam"] = {
            "changes": _change_report(run, study),
            "started": info["started"],
            "finished": datetime.now(UTC).isoformat(),
            "specs": adam_specs(study),
            "rows": rows,
        }
        link = publish(run, manifest)
        s.rows_out = sum(rows.values())
        removed = prune(run.store, study.id, study.retention)
        if removed:
            log.info("retention: removed %d old run folder(s): %s", len(removed), removed)
    return link

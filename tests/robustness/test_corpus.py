"""The bad-input corpus (tests/robustness/cases.py) against the real engine.

Night 1 (the clean 15-subject sample) is published first; each case lands a mutated copy
of it as night 2 (20261124T020000Z) and runs. A case that fails must fail with one message
naming file, row or line, column and rule, and leave `current` (link and every byte under
it) as it was; a case that publishes must account for every raw record in
reports/reconciliation.csv and list its problem.

Cost: the cases decided at extract run one extract each (well under a second), those
decided when the export's fields are accounted for one whole job each (it stops right
after extract); those decided by the raw gate run together in one night (extract + gate),
those decided when writing XPT in another (up to the AE XPT), and those that publish in
one full `cdisc run`.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import EXPORT_TIME
from tests.robustness.cases import (
    CASES,
    Case,
    Listed,
    Sources,
    finish_manifest,
    new_night,
    records,
)
from transforms.errors import PipelineError, UserError
from transforms.extract.exports import sha256_file
from transforms.jobs import sdtm
from transforms.jobs.plan import Place
from transforms.jobs.runner import run_sdtm
from transforms.specs import load_study

STUDY = "POMMAINT"
CLEAN = "20261123T020000Z"
NIGHT = "20261124T020000Z"
CDISC = str(Path(sys.executable).parent / "cdisc")
SECRET = "s3cr3t-Pa55word"
SECRET_ENV = {
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://airflow:{SECRET}@db/airflow",
    "AIRFLOW__CELERY__BROKER_URL": f"redis://:{SECRET}@redis:6379/0",
}


def _cases(stage: str) -> list[Case]:
    return [c for c in CASES if c.stage == stage]


def _ids(cases: list[Case]) -> list[str]:
    return [c.id for c in cases]


# --- set-up --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Sources:
    """The same sample as CDISC ODM XML (for the ODM cases)."""
    from samplegen import generate_export

    root = tmp_path_factory.mktemp("odm")
    return Sources(
        odm=generate_export(STUDY, out=root, fmt="odm", export_time=EXPORT_TIME),
        odm_study=generate_export(
            STUDY, out=root / "study", fmt="odm-study", export_time=EXPORT_TIME
        ),
    )


@dataclass(frozen=True)
class Night:
    landing: Path
    store: Path
    export: Path  # the mutated export
    before: dict[str, str]  # `current` before the run: link target and file digests


def published_tree(store: Path) -> dict[str, str]:
    """Where `current` points and the SHA-256 of every file under it."""
    current = store / STUDY / "current"
    tree = {"->": str(current.readlink())}
    for path in sorted(current.resolve().rglob("*")):
        if path.is_file():
            tree[str(path.relative_to(current.resolve()))] = sha256_file(path)
    return tree


def land(cases: list[Case], where: Path, landing: Path, published: Path, sources: Sources) -> Night:
    """Night 1 published in a store of its own; the cases' mutated night 2 landed."""
    root, store = where / "landing", where / "store"
    clean = landing / STUDY / CLEAN
    shutil.copytree(clean, root / STUDY / CLEAN)
    export = new_night(clean, root, NIGHT)
    for case in cases:
        case.mutate(export, sources)
    finish_manifest(export, cases[0].manifest)
    for case in cases:
        if case.after is not None:
            case.after(export)
    shutil.copytree(published.parent.parent, store, symlinks=True)
    return Night(root, store, export, published_tree(store))


def assert_unchanged(night: Night) -> None:
    assert published_tree(night.store) == night.before


def listed(run: Path, item: Listed) -> bool:
    """Whether the listing `item.report` of the run holds the row `item` names."""
    path = run / "reports" / item.report
    if not path.exists():
        return False
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    # Every listing in the one layout (transforms.listing).
    hit = (frame["file"] == item.file) & (frame["rule"] == item.rule)
    hit &= (frame["variable"] == item.column) | frame["value"].str.contains(
        item.column, regex=False
    )
    if item.row is not None:
        hit &= frame["row"] == str(item.row)
    return bool(hit.any())


def run_of(night: Night) -> Path:
    (run,) = (night.store / STUDY / "runs").glob(f"*-{NIGHT}")
    return run


def assert_every_record_read(night: Night, run: Path) -> None:
    """Nothing lost at extract: the snapshot holds every record of every file."""
    info = pd.read_json(run / "raw" / "extract.json", typ="series")
    for name, entry in info["inputs"].items():
        assert entry["rows"] == records(night.export / name), name


# --- decided at extract ----------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("extract"), ids=_ids(_cases("extract")))
def test_refused_at_extract(
    case: Case,
    landing: Path,
    published: Path,
    sources: Sources,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    night = land([case], tmp_path, landing, published, sources)
    with pytest.raises(UserError) as err:  # the CLI shows these as one line, no traceback
        sdtm.extract(load_study(STUDY), Place(night.store, night.landing))
    message = str(err.value)
    for fragment in case.message:
        assert fragment in message, (fragment, message)
    assert_unchanged(night)


def test_cli_failure_is_one_message_without_secrets(
    landing: Path, published: Path, sources: Sources, tmp_path: Path
) -> None:
    """`cdisc run` itself on a truncated form: exit 2, one message naming file, line, column
    and rule, no traceback, no secret of the environment anywhere; `current` unchanged."""
    (case,) = [c for c in CASES if c.id == "truncated-csv"]
    night = land([case], tmp_path, landing, published, sources)
    run = subprocess.run(
        [CDISC, "run", "--study", STUDY, "--landing", night.landing, "--store", night.store],
        capture_output=True, text=True, env={**os.environ, **SECRET_ENV},
    )  # fmt: skip
    assert run.returncode == 2, run.stderr[-3000:]
    assert "Traceback" not in run.stderr + run.stdout
    errors = [line for line in run.stderr.splitlines() if line.startswith("cdisc run: error:")]
    assert len(errors) == 1
    for fragment in case.message:
        assert fragment in errors[0]
    assert_unchanged(night)
    assert SECRET not in run.stdout + run.stderr
    assert not [
        p for p in night.store.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()
    ]


# --- decided when accounting for the export's fields: the whole job ---------------------------


@pytest.mark.parametrize("case", _cases("reconcile fields"), ids=_ids(_cases("reconcile fields")))
def test_refused_when_reconciling_fields(
    case: Case, landing: Path, published: Path, sources: Sources, tmp_path: Path
) -> None:
    """The whole SDTM job: it stops at reconcile_fields naming form and field, after
    writing every field's account, and `current` stays."""
    night = land([case], tmp_path, landing, published, sources)
    with pytest.raises(PipelineError) as err:
        run_sdtm(STUDY, night.landing, night.store)
    message = str(err.value)
    for fragment in case.message:
        assert fragment in message, (fragment, message)
    assert_unchanged(night)
    run = run_of(night)
    assert_every_record_read(night, run)
    failure = pd.read_json(run / "reports" / "failure.json", typ="series")
    assert failure["stage"] == "reconcile fields"
    report = pd.read_csv(run / "reports" / "reconciliation_fields.csv", dtype=str)
    lost = report[report["status"] == "unaccounted"]
    assert len(lost) and len(report) > len(lost)
    for row in lost.itertuples():
        assert f"{row.file} (form {row.form}) field {row.field}: {row.reason}" in message


# --- decided at the raw gate: one night -------------------------------------------------------


@pytest.fixture(scope="module")
def gate_night(
    landing: Path, published: Path, sources: Sources, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Night, Path, str]:
    from transforms.quality.gates import QualityGateError

    night = land(_cases("raw gate"), tmp_path_factory.mktemp("gate"), landing, published, sources)
    study = load_study(STUDY)
    run = sdtm.extract(study, Place(night.store, night.landing))
    with pytest.raises(QualityGateError) as err:
        sdtm.validate_raw(run, study)
    return night, run.path, str(err.value)


def test_gate_night_fails_and_keeps_current(gate_night: tuple[Night, Path, str]) -> None:
    night, run, message = gate_night
    assert message.startswith("quality gate raw: ")
    assert_unchanged(night)
    assert_every_record_read(night, run)  # every record is in the snapshot and listed there
    failure = pd.read_json(run / "reports" / "failure.json", typ="series")
    assert failure["stage"] == "validate raw"


@pytest.mark.parametrize("case", _cases("raw gate"), ids=_ids(_cases("raw gate")))
def test_found_by_the_raw_gate(case: Case, gate_night: tuple[Night, Path, str]) -> None:
    _, run, message = gate_night
    for item in case.listing:
        assert listed(run, item), item
    first = case.listing[0]
    line = rf"{re.escape(first.file)} row {first.row} subject \S+ column {first.column} "
    shown = re.search(line + rf"\[{re.escape(first.rule)}\]", message)
    assert shown or re.search(r"\.\.\. and \d+ more error row", message), message


# --- decided when writing XPT: one night ------------------------------------------------------


@pytest.fixture(scope="module")
def xpt_night(
    landing: Path, published: Path, sources: Sources, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Night, Path, str]:
    night = land(_cases("write XPT"), tmp_path_factory.mktemp("xpt"), landing, published, sources)
    with pytest.raises(PipelineError) as err:
        run_sdtm(STUDY, night.landing, night.store)
    return night, run_of(night), str(err.value)


def test_xpt_night_fails_and_keeps_current(xpt_night: tuple[Night, Path, str]) -> None:
    night, run, message = xpt_night
    assert message.startswith("ae.xpt (dataset AE): 2 problem(s), nothing written")
    assert_unchanged(night)
    assert_every_record_read(night, run)
    failure = pd.read_json(run / "reports" / "failure.json", typ="series")
    assert failure["stage"] == "xpt AE"


@pytest.mark.parametrize("case", _cases("write XPT"), ids=_ids(_cases("write XPT")))
def test_refused_when_writing_xpt(case: Case, xpt_night: tuple[Night, Path, str]) -> None:
    _, run, message = xpt_night
    for fragment in case.message:
        assert fragment in message, (fragment, message)
    for item in case.listing:
        assert listed(run, item), item


# --- published with the problem listed: one `cdisc run` ---------------------------------------


@contextlib.contextmanager
def _captured() -> Iterator[io.StringIO]:
    """stdout, stderr and the log lines of an in-process CLI call, in one buffer."""
    root, ours = logging.getLogger(), logging.getLogger("cdisc")
    saved = (list(root.handlers), root.level, ours.level)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    root.addHandler(handler)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            yield out
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        ours.setLevel(saved[2])


@pytest.fixture(scope="module")
def publish_night(
    landing: Path, published: Path, sources: Sources, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Night, int, str]:
    from transforms.cli import main

    night = land(_cases("publish"), tmp_path_factory.mktemp("publish"), landing, published, sources)
    args = ["run", "--study", STUDY, "--landing", str(night.landing), "--store", str(night.store)]
    with pytest.MonkeyPatch.context() as env, _captured() as out:
        for name, value in SECRET_ENV.items():
            env.setenv(name, value)
        code = main(args)
    return night, code, out.getvalue()


def test_publish_night_publishes_and_accounts_for_every_record(
    publish_night: tuple[Night, int, str],
) -> None:
    night, code, output = publish_night
    assert code == 0, output[-3000:]
    assert "Traceback" not in output
    current = night.store / STUDY / "current"
    manifest = pd.read_json(current / "manifest.json", typ="series")
    assert manifest["export_id"] == NIGHT and manifest["sdtm_run"] == run_of(night).name
    summary = pd.read_csv(current / "reports" / "reconciliation.csv").set_index("form")
    for name in sorted(p.name for p in night.export.glob("*.csv")):
        assert summary.loc[name, "records_in"] == records(night.export / name), name
    assert (summary["unaccounted"] == 0).all()
    assert (current / "adam" / "adsl.xpt").exists()


def test_no_secret_in_logs_or_outputs(publish_night: tuple[Night, int, str]) -> None:
    night, _, output = publish_night
    assert SECRET not in output
    leaks = [p for p in night.store.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert not leaks


SLIP_SUBJECT = "POMMAINT-01-1001"  # whose AE end date the year-3025 case types as 3025


@pytest.mark.parametrize("case", _cases("publish"), ids=_ids(_cases("publish")))
def test_published_with_the_problem_listed(
    case: Case, publish_night: tuple[Night, int, str], published: Path
) -> None:
    night, code, _ = publish_night
    current = night.store / STUDY / "current"
    assert code == 0
    for item in case.listing:
        assert listed(current, item), item
    if case.id == "utf8-bom":  # read as the same text: DM as night 1's, value for value
        before = pd.read_parquet(published / "sdtm" / "dm.parquet")
        slip = before["USUBJID"] == SLIP_SUBJECT  # but the last date the year-3025 AE gives
        before["RFPENDTC"] = before["RFPENDTC"].mask(slip, "3025-02-26")
        pd.testing.assert_frame_equal(pd.read_parquet(current / "sdtm" / "dm.parquet"), before)
    if case.id == "sas-dated-xpt":  # the SAS dates read as the CSV's: EX as night 1's
        pd.testing.assert_frame_equal(
            pd.read_parquet(current / "sdtm" / "ex.parquet"),
            pd.read_parquet(published / "sdtm" / "ex.parquet"),
        )
    if case.id in ("odm-remove", "odm-upsert"):  # both applied to the one ae.xml
        ae = pd.read_parquet(current / "sdtm" / "ae.parquet")
        before = pd.read_parquet(published / "sdtm" / "ae.parquet")
        assert len(ae) == len(before) - 1  # the removed AE
        first = pd.read_parquet(published / "raw" / "ae.parquet").iloc[0]
        gone = (ae["USUBJID"].str.endswith("-" + first["SUBJID"])) & (
            ae["AESPID"] == first["AESPID"]
        )
        assert not gone.any() and (ae["AETERM"] == "Upserted term").sum() == 1
    if case.id == "year-3025":  # the year kept through SDTM and ADaM; days counted
        ae = pd.read_parquet(current / "sdtm" / "ae.parquet")
        row = ae[(ae["USUBJID"] == SLIP_SUBJECT) & (ae["AESPID"] == "2")].iloc[0]
        assert [row["AESTDTC"], row["AEENDTC"]] == ["2024-02-05", "3025-02-26"]
        assert float(row["AEENDY"]) - float(row["AESTDY"]) == 365_629  # days in between
        dm = pd.read_parquet(current / "sdtm" / "dm.parquet").set_index("USUBJID")
        assert dm.loc[SLIP_SUBJECT, "RFPENDTC"] == "3025-02-26"  # as the data say
        adae = pd.read_parquet(current / "adam" / "adae.parquet")
        assert str(adae["AENDT"].dropna().max().date()) == "3025-02-26"
    if case.id == "year-1663":
        mh = pd.read_parquet(current / "sdtm" / "mh.parquet")
        assert "1663-05-11" in mh["MHSTDTC"].tolist()
    if case.id == "header-only-form":
        summary = pd.read_csv(current / "reports" / "reconciliation.csv").set_index("form")
        assert summary.loc["mrd.csv", "records_in"] == 0


def test_every_case_has_an_outcome_and_a_check() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    for case in CASES:
        assert case.message or case.listing or case.outcome == "publishes", case.id

"""The endpoint summary reads only what its declaration says it reads (EndpointSpec.reads):
on both studies' runs, the summary of the declared columns and PARAMCD rows (as the
endpoints job reads them) is byte for byte the summary of the whole ADaM tables. An
endpoint that reads a variable it does not declare fails here (a KeyError, or a figure or
label that differs)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import built_once
from tests.test_cdiscpilot import run_pilot
from transforms.adam.endpoints import write_endpoints
from transforms.endpoint_spec import Reads
from transforms.jobs.adam import read_declared
from transforms.specs import load_study
from transforms.store import RunFolder


@pytest.fixture(scope="module")
def pilot_adam(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_once(tmp_path_factory, "cdiscpilot01", run_pilot)


def _outputs(study: str, read: dict[str, pd.DataFrame], out: Path) -> dict[str, bytes]:
    spec = load_study(study).endpoints
    assert spec is not None
    paths = write_endpoints(spec, read, out, run="run")
    return {p.name: p.read_bytes() for p in paths}


@pytest.mark.parametrize("study", ["POMMAINT", "CDISCPILOT01"])
def test_the_declared_columns_and_rows_give_the_whole_tables_summary(
    study: str, adam_published: Path, pilot_adam: Path, tmp_path: Path
) -> None:
    run = RunFolder(adam_published if study == "POMMAINT" else pilot_adam)
    spec = load_study(study).endpoints
    assert spec is not None
    whole = {name: pd.read_parquet(run.adam_table(name)) for name in spec.datasets}
    declared = {
        name: read_declared(run.adam_table(name), spec.reads[name]) for name in spec.datasets
    }
    for name, frame in declared.items():  # something was left out, else the test proves nothing
        assert len(frame.columns) < len(whole[name].columns), name
    if study == "POMMAINT":  # ADLB and ADRS hold parameters no endpoint reads (the pilot's not)
        assert len(declared["ADLB"]) < len(whole["ADLB"])
    expected = _outputs(study, whole, tmp_path / "whole")
    assert _outputs(study, declared, tmp_path / "declared") == expected


def test_reads_of_one_dataset_by_two_uses_are_joined() -> None:
    ttes = Reads(("USUBJID", "AVAL"), ("PFS",)) | Reads(("USUBJID", "CNSR"), ("OS",))
    assert ttes == Reads(("USUBJID", "AVAL", "CNSR"), ("PFS", "OS"))
    assert (ttes | Reads(("AEDECOD",), None)).paramcds is None  # one use reads every row

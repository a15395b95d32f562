"""A bad ADaM spec stops loading (or the build) with a SpecError naming the file, the
dataset, the variable, the step and the verb's argument."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adam_verbs.frames import ADSL, run
from transforms.adam.spec import load_adam_spec
from transforms.errors import SpecError

HEAD = "dataset: ADXX\nlabel: X\nstructure: BDS\nkeys: [USUBJID]\n"
VARS = "variables:\n  - {name: USUBJID, origin: Predecessor, source: ADSL.USUBJID}\n"


def _load(tmp_path: Path, derivations: str, variables: str = VARS) -> None:
    path = tmp_path / "adxx.yaml"
    path.write_text(HEAD + "derivations:\n" + derivations + variables)
    load_adam_spec(path)


def test_an_unknown_verb_is_named_with_the_file_dataset_and_variable(tmp_path: Path) -> None:
    with pytest.raises(
        SpecError,
        match=r"adxx.yaml: ADXX.AVAL: derivations\[1\] mergee: unknown "
        r"verb \(verbs: .*merge_vars",
    ):
        _load(
            tmp_path, "  - {verb: records, from: {dataset: ADSL}}\n  - {verb: mergee, var: AVAL}\n"
        )


def test_an_unknown_or_missing_argument_is_named(tmp_path: Path) -> None:
    with pytest.raises(
        SpecError,
        match=r"ADXX.ADY: derivations\[0\] study_day: unknown "
        r"argument\(s\) \['dat'\]",
    ):
        _load(tmp_path, "  - {verb: study_day, var: ADY, dat: ADT}\n")
    with pytest.raises(
        SpecError,
        match=r"ADXX.ADY: derivations\[0\] study_day: missing "
        r"argument\(s\) \['date'\]",
    ):
        _load(tmp_path, "  - {verb: study_day, var: ADY}\n")


def test_a_bad_argument_value_names_the_argument(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"ADXX.ADT: derivations\[0\] date: impute: must be one of"):
        _load(tmp_path, "  - {verb: date, var: ADT, dtc: X, impute: middle}\n")


def test_an_unknown_source_variable_names_the_argument_and_dataset() -> None:
    with pytest.raises(
        SpecError,
        match=r"test.yaml: ADXX.ADY: derivations\[1\] study_day: date: "
        r"unknown variable\(s\) \['ADT'\] in the dataset",
    ):
        run(
            "[{verb: records, from: {dataset: ADSL}}, {verb: study_day, var: ADY, date: ADT}]",
            adam={"ADSL": ADSL},
        )


def test_a_method_written_beside_the_step_that_derives_it_is_refused(tmp_path: Path) -> None:
    steps = (
        "  - {verb: records, from: {dataset: ADSL}}\n"
        "  - {verb: study_day, var: ADY, date: TRTSDT}\n"
    )
    with pytest.raises(
        SpecError,
        match=r"variables\[1\].method: ADY: the method is the "
        r"derivation's own description",
    ):
        _load(tmp_path, steps, VARS + "  - {name: ADY, origin: Derived, method: by hand}\n")
    _load(tmp_path, steps, VARS + "  - {name: ADY, origin: Derived}\n")  # generated: fine

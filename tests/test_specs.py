"""Loading the study specs: the real ones load; broken ones fail naming file and entry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, copy_study_specs
from transforms import standards
from transforms.specs import SpecError, load_study
from transforms.studies import list_studies


def test_pommaint_loads_with_ig_metadata() -> None:
    study = load_study("POMMAINT")
    assert list(study.datasets) == [
        "DM", "EX", "AE", "CM", "DS", "RS", "LB", "SS", "TS", "DD", "PR", "MH", "VS",
        "IE", "MB", "IS", "GF", "RP", "TA", "TE", "TV", "TI", "SE", "SV", "RELREC",
    ]  # fmt: skip
    # IC twice: the consent of every subject, the screen failure of some.
    assert study.datasets["DS"].sources == ["IC", "IC", "COH", "EOT", "EOS"]
    dm = study.datasets["DM"]
    assert dm.label == "Demographics"
    assert dm.keys == ("STUDYID", "USUBJID")
    names = [v.name for v in dm.output_variables()]
    # SDTMIG 3.4 order, whatever the order of evaluation in the spec.
    assert names[:6] == ["STUDYID", "DOMAIN", "USUBJID", "SUBJID", "RFSTDTC", "RFENDTC"]
    assert names[-3:] == ["COUNTRY", "DMDTC", "DMDY"]
    age = next(v for v in dm.variables if v.name == "AGE")
    assert (age.type, age.core, age.label) == ("Num", "Exp", "Age")
    sex = next(v for v in dm.variables if v.name == "SEX")
    assert (sex.codelist, sex.core) == ("C66731", "Req")
    assert [q.qnam for q in dm.supplemental] == ["RACEOTH", "TRNSINRS"]


def test_every_required_and_expected_dm_variable_is_specified() -> None:
    dm = load_study("POMMAINT").datasets["DM"]
    wanted = {v.name for v in standards.ig_variables_of("DM") if v.core in ("Req", "Exp")}
    assert wanted <= {v.name for v in dm.variables}
    assert wanted == {
        "STUDYID", "DOMAIN", "USUBJID", "SUBJID", "RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC",
        "RFICDTC", "RFPENDTC", "DTHDTC", "DTHFL", "SITEID", "AGE", "AGEU", "SEX", "RACE",
        "ARMCD", "ARM", "ACTARMCD", "ACTARM", "ARMNRS", "ACTARMUD", "COUNTRY",
    }  # fmt: skip


def test_every_codelist_value_used_by_the_specs_exists_in_the_ct_subset() -> None:
    terms = standards.controlled_terms()
    for study in list_studies():
        ct_map = yaml.safe_load((ROOT / "sdtm_specs" / study.id / "ct_map.yaml").read_text())
        for code, table in ct_map.items():
            codelist = terms.codelist(code)
            for value in table.values():
                assert codelist.lookup(value) is not None, (study.id, code, value)
        # Hard-coded values and recode targets are checked against the codelist on load.
        load_study(study.id)


def test_dag_list_matches_the_study_folders() -> None:
    assert [s.id for s in list_studies()] == ["CDISCPILOT01", "POMMAINT"]


def _broken(tmp_path: Path, edit: Callable[[dict], None], file: str = "sdtm/dm.yaml") -> str:
    root = tmp_path / "specs"
    copy_study_specs(root, "POMMAINT")
    path = root / "POMMAINT" / file
    spec = yaml.safe_load(path.read_text())
    edit(spec)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    with pytest.raises(SpecError) as err:
        load_study.__wrapped__("POMMAINT", root)
    return str(err.value)


def _name(entry: str | dict) -> str:
    """A variable entry's name (a bare name, such as ``- STUDYID``, is its own)."""
    return entry if isinstance(entry, str) else entry["name"]


def _var(spec: dict, name: str) -> dict:
    return next(v for v in spec["variables"] if _name(v) == name)


def test_no_dataset_reads_a_dm_variable_completed_after_it(tmp_path: Path) -> None:
    # RFPENDTC is raised to the latest date in every dataset once they are mapped: a rule of
    # another dataset would read it before that.
    def read_rfpendtc(spec: dict) -> None:
        _var(spec, "AEENDTC")["rule"] = {"algorithm": "coalesce", "of": [
            {"algorithm": "iso8601", "date": {"column": "AEENDAT"}}, {"dm": "RFPENDTC"}]}  # fmt: skip

    msg = _broken(tmp_path, read_rfpendtc, "sdtm/ae.yaml")
    assert msg.endswith("ae.yaml: AE.AEENDTC: reads DM.RFPENDTC, which is completed only once "
                        "the other datasets are mapped (participation_end): give the spec "
                        "reads: [DM]")  # fmt: skip


def test_se_reads_the_completed_dm_or_its_spec_is_refused(tmp_path: Path) -> None:
    # The pilot's design ends the last element at DM.RFPENDTC: SE must be mapped after DM's
    # completion (reads: [DM]); a spec that forgets it is refused, naming the design rule.
    root = tmp_path / "specs"
    copy_study_specs(root, "CDISCPILOT01")
    path = root / "_common" / "sdtm" / "se.yaml"
    spec = yaml.safe_load(path.read_text())
    assert spec.pop("reads") == ["DM"]
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    with pytest.raises(SpecError, match=r"se.yaml: SE.\(design end\): reads DM.RFPENDTC, which "
                       r"is completed only once the other datasets are mapped"):  # fmt: skip
        load_study.__wrapped__("CDISCPILOT01", root)


def test_unknown_algorithm_names_file_and_variable(tmp_path: Path) -> None:
    msg = _broken(tmp_path, lambda s: _var(s, "AGE")["rule"].update(algorithm="numbr"))
    assert "POMMAINT/sdtm/dm.yaml" in msg
    assert "DM AGE" in msg or "DM.AGE" in msg or "AGE" in msg
    assert "unknown algorithm 'numbr'" in msg


def test_unknown_raw_column(tmp_path: Path) -> None:
    msg = _broken(tmp_path, lambda s: _var(s, "SITEID")["rule"].update(column="SITE"))
    assert "dm.yaml" in msg and "SITEID" in msg and "unknown raw column 'SITE' in form DM" in msg


def test_value_level_keys_must_be_the_test_code_and_variables(tmp_path: Path) -> None:
    assert load_study("POMMAINT").datasets["LB"].value_level == ("LBTESTCD", "LBSPEC")
    msg = _broken(tmp_path, lambda s: s.update(value_level=["LBTESTCD", "LBSPECX"]),
                  "sdtm/lb.yaml")  # fmt: skip
    assert "lb.yaml" in msg and "value_level" in msg and "['LBSPECX'] are not variables" in msg
    msg = _broken(tmp_path / "2", lambda s: s.update(value_level=["LBSPEC", "LBTESTCD"]),
                  "sdtm/lb.yaml")  # fmt: skip
    assert "the first key must be the dataset's test code (LBTESTCD), not LBSPEC" in msg


def test_bad_codelist_reference(tmp_path: Path) -> None:
    msg = _broken(tmp_path, lambda s: _var(s, "SEX").update(codelist="C99999999"))
    assert "dm.yaml" in msg and "SEX" in msg and "C99999999" in msg


def test_value_outside_the_codelist(tmp_path: Path) -> None:
    msg = _broken(
        tmp_path, lambda s: _var(s, "ARMNRS")["rule"]["cases"][0]["then"].update(value="NONE")
    )
    assert "ARMNRS" in msg and "'NONE' is not in codelist C142179" in msg


def test_missing_expected_variable(tmp_path: Path) -> None:
    def drop(spec: dict) -> None:
        spec["variables"] = [v for v in spec["variables"] if _name(v) != "ACTARMUD"]

    assert "missing from the spec: ['ACTARMUD']" in _broken(tmp_path, drop)


def test_ct_map_target_must_be_a_term(tmp_path: Path) -> None:
    msg = _broken(tmp_path, lambda s: s["C66731"].update(Male="MALE"), file="ct_map.yaml")
    assert "ct_map.yaml: C66731" in msg and "['MALE']" in msg


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    root = tmp_path / "specs"
    copy_study_specs(root, "POMMAINT")
    (root / "POMMAINT" / "study.yaml").write_text("!!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_study.__wrapped__("POMMAINT", root)


def test_study_id_must_be_safe() -> None:
    with pytest.raises(SpecError, match="must match"):
        load_study("../etc")

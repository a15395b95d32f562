"""The trial design declared once per study (study.yaml design:) and the boilerplate
variables a spec names bare: what the loader makes of them, and what it refuses."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, copy_study_specs
from transforms.sdtm import algorithms as alg
from transforms.specs import SpecError, StudySpec, load_study

STUDIES = ("POMMAINT", "CDISCPILOT01")


def _edited(tmp_path: Path, study: str, edits: Mapping[str, Callable[[dict], None]]) -> Path:
    """A copy of the study's specs with each file of `edits` changed by its function."""
    root = tmp_path / "specs"
    copy_study_specs(root, study)
    for file, edit in edits.items():
        path = root / study / file
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        edit(spec)
        path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return root


def _load(root: Path, study: str = "POMMAINT") -> StudySpec:
    return load_study.__wrapped__(study, root)


def _error(root: Path, study: str = "POMMAINT") -> str:
    with pytest.raises(SpecError) as err:
        _load(root, study)
    return str(err.value)


def _entry(spec: dict, name: str) -> dict:
    """Variable `name`'s entry of a dataset spec, as a mapping (a bare name becomes one)."""
    names = [v if isinstance(v, str) else v["name"] for v in spec["variables"]]
    i = names.index(name)
    if isinstance(spec["variables"][i], str):
        spec["variables"][i] = {"name": name}
    return spec["variables"][i]


def _rule(study: StudySpec, dataset: str, variable: str, block: int = 0) -> alg.Rule:
    return study.datasets[dataset].blocks[block].rules[variable]


def _variable(study: StudySpec, dataset: str, name: str) -> Any:
    return next(v for v in study.datasets[dataset].variables if v.name == name)


# --- the design ----------------------------------------------------------------------------


def test_the_design_gives_every_epoch_rule_the_study_epochs(tmp_path: Path) -> None:
    study = load_study("POMMAINT")
    assert study.design is not None
    assert [e["name"] for e in study.design.epochs] == ["SCREENING", "TREATMENT", "FOLLOW-UP"]
    # The same rule as a spec that writes the design's epochs itself.
    epochs = yaml.safe_load((ROOT / "sdtm_specs/POMMAINT/study.yaml").read_text())["design"]

    def own_epochs(spec: dict) -> None:
        _entry(spec, "EPOCH")["rule"]["epochs"] = epochs["epochs"]

    written = _load(_edited(tmp_path, "POMMAINT", {"sdtm/ae.yaml": own_epochs}))
    for dataset in ("AE", "CM", "DS", "EX", "LB", "RS", "SS"):
        rule = _rule(study, dataset, "EPOCH")
        assert isinstance(rule, alg.Epoch)
        assert [(n, after) for n, _, after in rule.epochs] == [
            ("SCREENING", False), ("TREATMENT", False), ("FOLLOW-UP", True)
        ]  # fmt: skip
    assert _rule(study, "AE", "EPOCH") == _rule(written, "AE", "EPOCH")


def test_the_design_gives_the_visit_rules_their_planned_visits() -> None:
    pom = load_study("POMMAINT")
    for dataset, block in (("LB", 0), ("LB", 1), ("RS", 0), ("RS", 1)):
        rule = _rule(pom, dataset, "VISITNUM", block)
        assert isinstance(rule, alg.Visit)
        assert [t for _, t in rule.planned] == ["0", "{n}"]
        # IMWG assessments after treatment are unscheduled visits too ("Disease follow-up")
        assert rule.unscheduled == frozenset({"unscheduled", "disease follow-up"})
    pilot = load_study("CDISCPILOT01")
    # 21 planned visits (TV) and the numbered unscheduled ones (Unscheduled 3.1 is 3.1)
    assert pilot.design is not None and len(pilot.design.planned) == 22
    vs, ds = _rule(pilot, "VS", "VISITNUM"), _rule(pilot, "DS", "VISITNUM")
    assert isinstance(vs, alg.Visit) and isinstance(ds, alg.Visit)
    assert vs.planned == ds.planned and len(vs.planned) == 22
    # EX names the design visits dosing happens at: just those, with the design's numbers.
    ex = _rule(pilot, "EX", "VISITNUM")
    assert isinstance(ex, alg.Visit) and [t for _, t in ex.planned] == ["3", "4", "12"]
    arm = _rule(pilot, "DM", "ARM")
    assert isinstance(arm, alg.Recode)
    assert dict(arm.mapping) == {"pbo": "Placebo", "xan_lo": "Xanomeline Low Dose",
                                 "xan_hi": "Xanomeline High Dose"}  # fmt: skip


def _without_epochs(s: dict) -> None:
    """The design without epochs, its arms named only (no elements by epoch, no TA/SE)."""
    design = s["design"]
    for key in ("epochs", "elements", "end"):
        design.pop(key)
    design["arms"] = {armcd: arm["arm"] for armcd, arm in design["arms"].items()}
    s["sdtm"] = [d for d in s["sdtm"] if d not in ("TA", "TE", "SE")]


def test_epoch_without_a_design_names_file_and_entry(tmp_path: Path) -> None:
    root = _edited(tmp_path, "POMMAINT", {"study.yaml": _without_epochs})
    msg = _error(root)
    # EX is the first dataset (after DM, which has no EPOCH) to use the design.
    assert msg.startswith(f"{root}/POMMAINT/sdtm/ex.yaml: variables[")
    assert msg.endswith(": EPOCH: epoch: no epochs: give epochs, or declare design.epochs in "
                        "study.yaml")  # fmt: skip


def test_visit_without_a_design_names_file_and_entry(tmp_path: Path) -> None:
    def drop_visits(s: dict) -> None:
        del s["design"]["visits"]

    msg = _error(_edited(tmp_path, "POMMAINT", {"study.yaml": drop_visits}))
    assert "POMMAINT/sdtm/rs.yaml: records[0].rules.VISITNUM: visit: no planned visits" in msg


def test_arm_names_without_a_design_name_file_and_entry(tmp_path: Path) -> None:
    root = _edited(tmp_path, "POMMAINT", {"study.yaml": lambda s: s.pop("design")})
    assert _error(root) == (
        f"{root}/POMMAINT/sdtm/dm.yaml: variables[20].rule: ARM: recode: map: arms needs the "
        "arms of a design: section in study.yaml"
    )


def test_an_unknown_epoch_start_names_the_design_and_the_dataset(tmp_path: Path) -> None:
    def bad_start(s: dict) -> None:
        s["design"]["epochs"][2]["start"]["form"] = "EOX"

    root = _edited(tmp_path, "POMMAINT", {"study.yaml": bad_start})
    msg = _error(root)
    assert msg.startswith(
        f"{root}/POMMAINT/study.yaml: design.epochs (for {root}/POMMAINT/sdtm/ex.yaml:"
    )
    assert ".rule: EPOCH): unknown form 'EOX' (forms: AE, CBP, CMED, COH, CYTO, DM," in msg


def test_an_epoch_outside_the_epoch_codelist_is_refused(tmp_path: Path) -> None:
    def rename(s: dict) -> None:
        s["design"]["epochs"][0]["name"] = "SCREENED"
        for arm in s["design"]["arms"].values():
            arm["epochs"] = {"SCREENED": "SCRN", "TREATMENT": "POM", "FOLLOW-UP": "FU"}

    # Read by the design itself when its arms have elements (TA, SE) ...
    msg = _error(_edited(tmp_path / "a", "POMMAINT", {"study.yaml": rename}))
    assert msg.endswith("study.yaml: design.epochs: ['SCREENED'] are not in codelist C99079")

    def rename_names_only(s: dict) -> None:
        rename(s)
        epochs = s["design"]["epochs"]
        _without_epochs(s)
        s["design"]["epochs"] = epochs

    # ... else where the first dataset's EPOCH rule takes the design's epochs.
    msg = _error(_edited(tmp_path / "b", "POMMAINT", {"study.yaml": rename_names_only}))
    assert "study.yaml: design.epochs (for" in msg
    assert "epoch: 'SCREENED' is not in codelist C99079" in msg


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["epochs"][1].pop("start"), "design.epochs[1]: missing ['start']"),
        (
            lambda d: d["epochs"].append(dict(d["epochs"][0])),
            "design.epochs: an epoch is named twice",
        ),
        (lambda d: d.update(windows={}), "design: unknown key(s) ['windows']"),
        (lambda d: d["visits"].update(planned=[0]), "design.visits.planned: expected a mapping"),
        (
            lambda d: d["visits"].pop("planned"),
            "design.visits: unscheduled visits need the planned",
        ),
    ],
)
def test_a_malformed_design_names_its_entry(
    tmp_path: Path, edit: Callable[[dict], None], message: str
) -> None:
    root = _edited(tmp_path, "POMMAINT", {"study.yaml": lambda s: edit(s["design"])})
    assert _error(root).startswith(f"{root}/POMMAINT/study.yaml: {message}")


def test_a_planned_list_names_visits_of_the_design(tmp_path: Path) -> None:
    def unknown_visit(s: dict) -> None:
        _entry(s, "VISITNUM")["rule"]["planned"] = ["Baseline", "Week 3"]

    msg = _error(_edited(tmp_path, "CDISCPILOT01", {"sdtm/ex.yaml": unknown_visit}), "CDISCPILOT01")
    assert "CDISCPILOT01/sdtm/ex.yaml" in msg
    assert "visit: ['Week 3'] are not planned visits of the study design" in msg


# --- boilerplate defaults ------------------------------------------------------------------


def test_bare_boilerplate_variables_get_their_defaults() -> None:
    study = load_study("POMMAINT")
    for dataset in ("AE", "CM", "DS", "EX", "LB", "RS", "SS"):
        expected = {
            "STUDYID": ("Protocol", alg.Hardcode("POMMAINT")),
            "DOMAIN": ("Assigned", alg.Hardcode(dataset)),
            "USUBJID": ("Derived", alg.DmValue("USUBJID", None)),
        }
        for name, (origin, rule) in expected.items():
            assert _variable(study, dataset, name).origin == origin
            assert _rule(study, dataset, name) == rule
        seq = _rule(study, dataset, f"{dataset}SEQ")
        assert (
            isinstance(seq, alg.Seq)
            and _variable(study, dataset, f"{dataset}SEQ").origin == "Derived"
        )
    # The variables keep the order the spec writes them in.
    ae = [v.name for v in study.datasets["AE"].variables]
    assert ae[:5] == ["STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AESPID"]


def test_seq_default_numbers_per_subject() -> None:
    seq = _rule(load_study("POMMAINT"), "AE", "AESEQ")
    assert isinstance(seq, alg.Seq) and seq.by == ("USUBJID",)


def test_written_rules_and_origins_win_over_the_defaults(tmp_path: Path) -> None:
    pilot = load_study("CDISCPILOT01")
    # CDISCPILOT01's forms carry PATNUM, not SUBJID: USUBJID is derived from it.
    assert isinstance(_rule(pilot, "AE", "USUBJID"), alg.Concat)
    ts_seq = _rule(pilot, "TS", "TSSEQ")
    assert isinstance(ts_seq, alg.Seq) and ts_seq.by == ("TSPARMCD",)
    # DM has no USUBJID default (DM is where it is made).
    assert isinstance(_rule(pilot, "DM", "USUBJID"), alg.Concat)

    def own(s: dict) -> None:
        _entry(s, "STUDYID").update(origin="Assigned")
        _entry(s, "DOMAIN").update(rule={"value": "AE"}, length=2)

    study = _load(_edited(tmp_path, "POMMAINT", {"sdtm/ae.yaml": own}))
    assert _variable(study, "AE", "STUDYID").origin == "Assigned"
    assert _rule(study, "AE", "STUDYID") == alg.Hardcode("POMMAINT")
    assert _variable(study, "AE", "DOMAIN").length == 2


def test_a_bare_name_without_a_default_is_refused(tmp_path: Path) -> None:
    def bare(s: dict) -> None:
        s["variables"][s["variables"].index(_entry(s, "AETERM"))] = "AETERM"

    root = _edited(tmp_path, "POMMAINT", {"sdtm/ae.yaml": bare})
    assert _error(root) == f"{root}/POMMAINT/sdtm/ae.yaml: variables[5]: missing ['origin']"

    def dm_usubjid(s: dict) -> None:
        s["variables"][s["variables"].index(_entry(s, "USUBJID"))] = "USUBJID"

    root = _edited(tmp_path / "dm", "POMMAINT", {"sdtm/dm.yaml": dm_usubjid})
    assert "POMMAINT/sdtm/dm.yaml: variables[4]: missing ['origin']" in _error(root)


# --- no copies left ------------------------------------------------------------------------


def _keyed(node: Any, key: str) -> Iterator[Any]:
    """Every value stored under `key` anywhere in a YAML document."""
    if isinstance(node, Mapping):
        for k, v in node.items():
            if k == key:
                yield v
            yield from _keyed(v, key)
    elif isinstance(node, list):
        for v in node:
            yield from _keyed(v, key)


@pytest.mark.parametrize("study", STUDIES)
def test_no_dataset_spec_repeats_the_trial_design(study: str) -> None:
    specs = sorted((ROOT / "sdtm_specs" / study / "sdtm").glob("*.yaml"))
    assert len(specs) >= 6
    for path in specs:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert list(_keyed(doc, "epochs")) == [], path
        assert [p for p in _keyed(doc, "planned") if not isinstance(p, list)] == [], path
    # ... and the checks would see a copy: the design itself holds both.
    design = yaml.safe_load((ROOT / "sdtm_specs" / study / "study.yaml").read_text())["design"]
    assert isinstance(next(_keyed(design, "planned")), Mapping)

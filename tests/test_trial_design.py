"""The trial design datasets: TA, TE, TV, TI made of study.yaml's design:, SE and SV of it
and the subjects' data; what a bad design entry gives; the tables' rules on small frames.

Golden SE and SV records derived by hand from raw rows are in test_domains.py (POMMAINT)
and test_cdiscpilot.py (the pilot's titrated high dose)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml
from lxml import etree

from tests.conftest import ROOT, copy_study_specs
from transforms.define.xml import NS
from transforms.issues import IssueLog
from transforms.sdtm import trial
from transforms.sdtm.algorithms import Context, Scope
from transforms.specs import SpecError, load_study
from transforms.studies import sdtm_reads


def _read(published: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(published / "sdtm" / f"{name}.parquet")


# --- what the pipeline writes ---------------------------------------------------------------


def test_ta_has_every_element_of_every_arm_in_epoch_order(published: Path) -> None:
    ta = _read(published, "ta")
    rows = ta[["ARMCD", "TAETORD", "ETCD", "EPOCH"]].astype(str).values.tolist()
    assert rows == [
        [arm, f"{n}.0", etcd, epoch]
        for arm in ("TE", "TI")
        for n, (etcd, epoch) in enumerate(
            [("SCRN", "SCREENING"), ("POM", "TREATMENT"), ("FU", "FOLLOW-UP")], start=1
        )
    ]
    assert (
        ta["ARM"].tolist()
        == ["Pomalidomide 2 mg, transplant eligible"] * 3
        + ["Pomalidomide 2 mg, transplant ineligible"] * 3
    )
    assert ta["TABRANCH"].notna().tolist() == [True, False, False] * 2
    te = _read(published, "te")
    assert te["ETCD"].tolist() == ["SCRN", "POM", "FU"]
    assert (te["TEENRL"].notna() | te["TEDUR"].notna()).all()  # SDTMIG TE: one of them


def test_tv_repeats_the_cycle_visit_every_28_days(published: Path) -> None:
    tv = _read(published, "tv")
    assert tv["VISITNUM"].tolist() == list(range(40))  # screening and cycles 1 to 39
    assert tv["VISIT"].iloc[[0, 1, 39]].tolist() == ["SCREENING", "CYCLE 1 DAY 1", "CYCLE 39 DAY 1"]
    cycles = tv.iloc[1:]
    assert cycles["VISITDY"].tolist() == [1 + 28 * (n - 1) for n in range(1, 40)]
    assert pd.isna(tv["VISITDY"].iloc[0]) and tv["ARMCD"].isna().all()
    assert cycles["TVSTRL"].iloc[1] == (
        "Day 1 of treatment cycle 2 (planned study day 29; a delayed cycle moves it), from 3 "
        "days before"
    )
    ti = _read(published, "ti")
    assert ti["IECAT"].value_counts().to_dict() == {"EXCLUSION": 11, "INCLUSION": 7}
    assert ti["IETESTCD"].iloc[[0, 7]].tolist() == ["INCL01", "EXCL01"]
    assert ti["IETEST"].str.len().max() <= 200


def test_se_and_sv_cover_every_subject_and_visit(published: Path) -> None:
    dm, se, sv = (_read(published, n) for n in ("dm", "se", "sv"))
    assert set(se["USUBJID"]) == set(dm["USUBJID"])
    for subject, elements in se.groupby("USUBJID"):
        starts = elements["SESTDTC"].tolist()
        assert starts == sorted(starts), subject
        # no gaps: an element ends where the next starts (or the day before, after: true)
        ends = pd.to_datetime(elements["SEENDTC"].iloc[:-1].str.slice(0, 10)).tolist()
        nexts = pd.to_datetime(elements["SESTDTC"].iloc[1:]).tolist()
        assert all((b - a).days in (0, 1) for a, b in zip(ends, nexts, strict=True)), subject
    visits = {
        (r.USUBJID, r.VISITNUM)
        for n in ("lb", "rs")
        for r in _read(published, n).dropna(subset=["VISITNUM"]).itertuples()
    }
    assert visits == set(zip(sv["USUBJID"], sv["VISITNUM"], strict=True))
    assert (sv["SVPRESP"].isna() == sv["SVUPDES"].notna()).all()


def test_define_describes_the_new_datasets_with_their_class(published: Path) -> None:
    root = etree.parse(str(published / "sdtm" / "define.xml")).getroot()
    classes = {
        g.get("Name"): g.find("def:Class", NS).get("Name")
        for g in root.iterfind(".//odm:ItemGroupDef", NS)
    }
    assert {n: classes[n] for n in ("TA", "TE", "TV", "TI", "SE", "SV")} == {
        "TA": "TRIAL DESIGN", "TE": "TRIAL DESIGN", "TV": "TRIAL DESIGN", "TI": "TRIAL DESIGN",
        "SE": "SPECIAL PURPOSE", "SV": "SPECIAL PURPOSE",
    }  # fmt: skip
    assert all((published / "sdtm" / f"{n}.xpt").exists() for n in ("ta", "se", "sv"))


# --- a bad design entry names study.yaml and the entry ------------------------------------


def _error(tmp_path: Path, edit: Callable[[dict], None], study: str = "POMMAINT") -> str:
    root = copy_study_specs(tmp_path / "specs", study)
    path = root / study / "study.yaml"
    meta = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(meta["design"])
    path.write_text(yaml.safe_dump(meta, sort_keys=False), encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_study.__wrapped__(study, root)
    prefix = f"{path}: "
    assert str(err.value).startswith(prefix), err.value
    return str(err.value).removeprefix(prefix)


def _set(path: str, value: object) -> Callable[[dict], None]:
    """An edit setting the design entry at a dotted path (list positions as numbers)."""

    def edit(design: dict) -> None:
        keys: list[str | int] = [int(k) if k.isdigit() else k for k in path.split(".")]
        node = design
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            _set("arms.TE.epochs.TREATMENT", "POX"),
            "design.arms.TE.epochs.TREATMENT: 'POX' is not an element of design.elements "
            "['FU', 'POM', 'SCRN']",
        ),
        (
            _set("arms.TI.epochs", {"SCREENING": "SCRN", "MAINTENANCE": "POM"}),
            "design.arms.TI.epochs: ['MAINTENANCE'] are not epochs of design.epochs "
            "['SCREENING', 'TREATMENT', 'FOLLOW-UP']",
        ),
        (
            _set("arms.TE.tabranch", {"SCRN": "x", "FX": "y"}),
            "design.arms.TE.tabranch: ['FX'] are not elements of arm TE",
        ),
        (_set("elements.POM.tedur", "36 months"), "design.elements.POM.tedur: '36 months' is"),
        (_set("elements.FU.teenrl", None), "design.elements.FU: give teenrl or tedur"),
        (_set("elements.SCREENING2", {"element": "x", "testrl": "y", "tedur": "P1D"}),
         "design.elements.SCREENING2: 'SCREENING2': a code is 1-8 of A-Z"),
        (_set("arms.TE.epochs.TREATMENT", ["POM", "FU"]),
         "design.elements.FU: give start: the rule of its start date (FU follows POM in epoch "
         "TREATMENT of arm TE)"),
        (_set("visits.planned.Cycle {n} Day 1.n", [39, 1]),
         "design.visits.planned.Cycle {n} Day 1.n: must be [first, last]"),
        (_set("visits.planned.Screening.visitdy", 0),
         "design.visits.planned.Screening.visitdy: there is no study day 0"),
        (_set("visits.planned.Screening.number", 5),
         "design.visits.planned: SCREENING and CYCLE 5 DAY 1 have the same number"),
        (_set("criteria.INCLUSION.INCL02", "x" * 201),
         "design.criteria.INCLUSION.INCL02: must be ASCII text of at most 200 characters (201)"),
        (_set("criteria.ELIGIBILITY", {"ELIG01": "x"}),
         "design.criteria.ELIGIBILITY: 'ELIGIBILITY' is not in codelist C66797 (IECAT)"),
        (_set("end", {"algorithm": "merge", "form": "EOX", "value": {"column": "EOSDAT"}}),
         "design.end (for the subject elements, over form DM): unknown form 'EOX'"),
    ],
)  # fmt: skip
def test_a_bad_design_entry_names_study_yaml_and_the_entry(
    tmp_path: Path, edit: Callable[[dict], None], message: str
) -> None:
    assert _error(tmp_path, edit).startswith(message)


def test_a_design_table_without_its_design_part_names_the_spec(tmp_path: Path) -> None:
    root = copy_study_specs(tmp_path / "specs", "POMMAINT")
    path = root / "POMMAINT" / "study.yaml"
    meta = yaml.safe_load(path.read_text(encoding="utf-8"))
    del meta["design"]["criteria"]
    # IE's rules read the criteria too (recode map: criteria; its own message, test_terms.py).
    meta["sdtm"].remove("IE")
    path.write_text(yaml.safe_dump(meta, sort_keys=False), encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_study.__wrapped__("POMMAINT", root)
    assert str(err.value) == (
        f"{root}/_common/sdtm/ti.yaml: source: source _CRITERIA needs eligibility criteria "
        "in design.criteria of study.yaml"
    )


def test_a_study_spec_of_its_own_wins_over_the_shared_one(tmp_path: Path) -> None:
    root = copy_study_specs(tmp_path / "specs", "POMMAINT")
    own = yaml.safe_load((root / "_common" / "sdtm" / "ti.yaml").read_text(encoding="utf-8"))
    own["variables"].append({"name": "TIVERS", "origin": "Protocol", "rule": {"value": "1.1"}})
    (root / "POMMAINT" / "sdtm" / "ti.yaml").write_text(yaml.safe_dump(own), encoding="utf-8")
    study = load_study.__wrapped__("POMMAINT", root)
    assert study.datasets["TI"].path == root / "POMMAINT" / "sdtm" / "ti.yaml"
    assert "TIVERS" in [v.name for v in study.datasets["TI"].variables]
    assert study.datasets["TA"].path == root / "_common" / "sdtm" / "ta.yaml"


# --- what a spec reads ----------------------------------------------------------------------


def test_reads_names_datasets_or_those_with_a_variable(tmp_path: Path) -> None:
    reads = sdtm_reads("POMMAINT", tuple(load_study("POMMAINT").datasets))
    # Every dataset with VISITNUM.
    assert reads["SV"] == ("RS", "LB", "SS", "VS", "IE", "MB", "IS", "GF", "RP", "TV")
    assert reads["LB"] == () and reads["SE"] == ("DM",)  # SE ends at the completed RFPENDTC
    root = copy_study_specs(tmp_path / "specs", "POMMAINT")
    sv = root / "_common" / "sdtm" / "sv.yaml"
    sv.write_text(sv.read_text(encoding="utf-8").replace(
        "reads: {variable: VISITNUM}", "reads: [LB, XX]"), encoding="utf-8")  # fmt: skip
    with pytest.raises(SpecError, match=r"sv\.yaml: reads: \['XX'\] are not other SDTM"):
        load_study.__wrapped__("POMMAINT", root)


# --- the tables, on small frames ------------------------------------------------------------

ELEMENTS = {
    "A": trial.Element("A", "Run-in", "Consent", None, "P1W"),
    "B": trial.Element("B", "Drug", "First dose", None, "P4W"),
    "C": trial.Element("C", "Drug, high", "Week 2", None, "P2W", start={"column": "UP"}),
    "F": trial.Element("F", "Follow-up", "Day after last dose", "End of study", None),
}
DESIGN = trial.TrialDesign(
    where="study.yaml: design",
    arms=(
        trial.ArmElement("X", "Arm X", 1, "A", "SCREENING", "Randomized to X", None),
        trial.ArmElement("X", "Arm X", 2, "B", "TREATMENT", None, None),
        trial.ArmElement("X", "Arm X", 3, "C", "TREATMENT", None, None),
        trial.ArmElement("X", "Arm X", 4, "F", "FOLLOW-UP", None, None),
        trial.ArmElement("Y", "Arm Y", 1, "A", "SCREENING", "Randomized to Y", None),
        trial.ArmElement("Y", "Arm Y", 2, "B", "TREATMENT", None, None),
        trial.ArmElement("Y", "Arm Y", 3, "F", "FOLLOW-UP", None, None),
    ),
    elements=ELEMENTS,
    epochs=(
        {"name": "SCREENING", "start": {"column": "IC"}},
        {"name": "TREATMENT", "start": {"column": "DOSE1"}},
        {"name": "FOLLOW-UP", "start": {"column": "LAST"}, "after": True},
    ),
    end={"column": "EOS"},
)
FORM = pd.DataFrame(
    {
        "__ROW": [1, 2, 3, 4],
        "IC": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
        "DOSE1": ["2024-01-08", "2024-01-09T10:30", None, "2024-01-10"],
        "UP": ["2024-01-22", None, None, "2024-01-05"],
        "LAST": ["2024-02-05", "2024-01-30", None, None],
        "EOS": ["2024-03-01", "2024-01-30", "2024-01-03", None],
    },
    dtype="string",
).astype({"__ROW": "int64"})
SUBJECTS = pd.DataFrame(
    {
        "USUBJID": ["S1", "S2", "S3", "S4"],
        "ARMCD": ["X", "Y", None, "X"],
        "ACTARMCD": ["X", "Y", None, "X"],
    },
    dtype="string",
)


def test_subject_elements_on_a_small_design() -> None:
    columns = frozenset(FORM.columns)
    scope = Scope("", "F", columns, {"F": columns}, frozenset())
    plan = trial.schedule(DESIGN, scope)
    issues = IssueLog()
    ctx = Context(FORM, "F", "SE", "SESTDTC", {"F": FORM}, {}, {}, issues)
    table = trial.subject_elements(plan, SUBJECTS, ctx, ["X", "Y"])
    got = table.drop(columns=["__ROW", "ELEMENT"]).astype(object).where(table.notna(), None)
    assert got.values.tolist() == [
        # X: run-in, drug from the first dose, high dose from UP, follow-up from the last
        # dose (its epoch from the day after), to the end of study
        ["S1", "A", "1", "SCREENING", "2024-01-01", "2024-01-08"],
        ["S1", "B", "2", "TREATMENT", "2024-01-08", "2024-01-22"],
        ["S1", "C", "3", "TREATMENT", "2024-01-22", "2024-02-05"],
        ["S1", "F", "4", "FOLLOW-UP", "2024-02-05", "2024-03-01"],
        # Y: the follow-up's first day is after the end of study: not entered; a time is kept
        ["S2", "A", "1", "SCREENING", "2024-01-02", "2024-01-09T10:30"],
        ["S2", "B", "2", "TREATMENT", "2024-01-09T10:30", "2024-01-30"],
        # no arm: the elements every arm opens with (no first dose: screening only)
        ["S3", "A", "1", "SCREENING", "2024-01-03", "2024-01-03"],
        # X, high dose on a date before the first dose: kept in plan order, and listed
        ["S4", "A", "1", "SCREENING", "2024-01-04", "2024-01-10"],
        ["S4", "B", "2", "TREATMENT", "2024-01-10", "2024-01-05"],
        ["S4", "C", "3", "TREATMENT", "2024-01-05", None],
    ]
    listed = issues.frame()
    assert listed["rule"].tolist() == ["SE-ORDER"] and listed["value"].tolist() == ["C"]
    assert listed["severity"].tolist() == ["warning"]


def test_subject_visits_on_small_datasets() -> None:
    design = trial.TrialDesign(
        where="study.yaml: design",
        visits=(
            trial.PlannedVisit(1.0, "BASELINE", 1, "Day 1", None),
            trial.PlannedVisit(2.0, "WEEK 2", 15, "Day 15", None),
        ),
        unplanned=(trial.Unplanned(trial.unplanned_label("Unscheduled"), "Extra draw"),),
    )
    data = {
        "LB": pd.DataFrame({"USUBJID": ["S1", "S1", "S1", "S2"], "VISITNUM": [1, 1.01, 2, None],
                            "VISIT": ["BASELINE", "UNSCHEDULED 1.01", "WEEK 2", None],
                            "LBDTC": ["2024-01-02T08:00", "2024-01-05", "2024-01", "2024-01-09"]}),
        "EX": pd.DataFrame({"USUBJID": ["S1"], "VISITNUM": [1.0], "VISIT": ["BASELINE"],
                            "EXSTDTC": ["2024-01-03"], "EXENDTC": ["2024-02-01"]}),
    }  # fmt: skip
    variables = {name: list(frame.columns) for name, frame in data.items()}
    table = trial.subject_visits(design, variables, lambda n, c: [data[n][c]])
    # a dataset read a record at a time (LB streamed a frame at a time) makes the same
    rows = trial.subject_visits(
        design, variables, lambda n, c: [data[n][c].iloc[[i]] for i in range(len(data[n]))]
    )
    pd.testing.assert_frame_equal(rows, table)
    got = table.drop(columns="__ROW").astype(object).where(table.notna(), None)
    assert got.values.tolist() == [
        # a visit spans its records' dates (not EXENDTC: when dosing ended)
        ["S1", "1", "BASELINE", "1", "Y", "Y", "2024-01-02", "2024-01-03", None],
        ["S1", "1.01", "UNSCHEDULED 1.01", None, None, None, "2024-01-05", "2024-01-05",
         "Extra draw"],
        # a visit with partial dates only has none
        ["S1", "2", "WEEK 2", "15", "Y", "Y", None, None, None],
    ]  # fmt: skip


def test_planned_tables_are_text_in_the_design_order() -> None:
    design = trial.TrialDesign(
        where="study.yaml: design", arms=DESIGN.arms, elements=ELEMENTS,
        visits=(trial.PlannedVisit(3.5, "ECG", None, "Day 13", "Day 14"),),
        criteria=(trial.Criterion("INCL01", "Age 18 or older", "INCLUSION"),),
    )  # fmt: skip
    arms = trial.planned_table(design, trial.ARMS)
    assert arms[["ARMCD", "TAETORD", "ETCD", "ELEMENT"]].values.tolist()[:3] == [
        ["X", "1", "A", "Run-in"], ["X", "2", "B", "Drug"], ["X", "3", "C", "Drug, high"]
    ]  # fmt: skip
    assert arms["__ROW"].tolist() == list(range(1, 8))
    visits = trial.planned_table(design, trial.VISITS)
    assert visits[["VISITNUM", "VISITDY", "TVENRL"]].astype(object).values.tolist() == [
        ["3.5", pd.NA, "Day 14"]
    ]
    assert trial.planned_table(design, trial.CRITERIA)["IECAT"].tolist() == ["INCLUSION"]
    assert (ROOT / "sdtm_specs" / "_common" / "sdtm" / "ta.yaml").exists()


def test_subject_visits_of_any_year() -> None:
    """No nanosecond-timestamp limits (1677-2262): a visit dated by a slip (3025, 1663)
    spans the dates its records give."""
    design = trial.TrialDesign(
        where="study.yaml: design",
        visits=(trial.PlannedVisit(1.0, "BASELINE", 1, "Day 1", None),),
    )
    data = {
        "LB": pd.DataFrame({"USUBJID": ["S1", "S1", "S2"], "VISITNUM": [1.0, 1.0, 1.0],
                            "VISIT": ["BASELINE"] * 3,
                            "LBDTC": ["1663-05-11", "3025-02-26T08:00", "0001-01-01"]}),
    }  # fmt: skip
    variables = {name: list(frame.columns) for name, frame in data.items()}
    table = trial.subject_visits(design, variables, lambda n, c: [data[n][c]])
    got = table[["USUBJID", "SVSTDTC", "SVENDTC"]].astype(object).values.tolist()
    assert got == [["S1", "1663-05-11", "3025-02-26"], ["S2", "0001-01-01", "0001-01-01"]]

"""Values from another form, from DM, from the whole of DM."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.sdtm_algorithms.frames import Env, text, values
from transforms.sdtm.algorithms import SpecError, latest_dates, raise_to


def test_merge_min_max_and_only() -> None:
    env = Env()
    first = {"algorithm": "merge", "form": "EX", "pick": "min",
             "value": {"algorithm": "iso8601", "date": {"column": "EXSTDAT"}}}  # fmt: skip
    assert values(env.run(first)) == ["2024-02-01", "2024-02-10", None]
    last = {**first, "pick": "max"}
    assert values(env.run(last)) == ["2024-03-01", "2024-02-10", None]
    only = {**first, "pick": "only"}
    assert values(env.run(only)) == [None, None, None]
    listing = env.issues.frame()
    assert sorted(listing["row"].tolist()) == [2, 3, 4, 5]
    assert set(listing["rule"]) == {"MERGE"}


def test_merge_where_filters_the_other_form() -> None:
    env = Env()
    rule = {"algorithm": "merge", "form": "EX", "pick": "max", "value": {"column": "EXSTDAT"},
            "where": {"column": "EXSTDAT", "ne": "01 MAR 2024"}}  # fmt: skip
    assert values(env.run(rule)) == ["01 FEB 2024", "10 FEB 2024", None]


def test_merge_without_keys_gives_every_row_the_forms_one_value() -> None:
    # by: [] (as over the run's one-row _STUDY facts): the value of the one record of the
    # other form on every row; a second record is an error with pick only, as for a key.
    env = Env()
    one = {"algorithm": "merge", "form": "EX", "by": [], "value": {"column": "EXSTDAT"},
           "where": {"column": "EXSTDAT", "eq": "01 MAR 2024"}}  # fmt: skip
    assert values(env.run(one)) == ["01 MAR 2024"] * 3
    assert env.issues.frame().empty
    several = {**one, "where": {"column": "SUBJID", "eq": "1002"}}
    assert values(env.run(several)) == [None, None, None]
    assert env.listed("row", "rule", "message") == [
        [4, "MERGE", "more than one EX record"],
        [5, "MERGE", "more than one EX record"],
    ]
    latest = {**several, "pick": "max", "where": {"column": "SUBJID", "ne": "1003"}}
    assert values(env.run(latest)) == ["10 FEB 2024"] * 3  # as text: "10 F" > "01 M"


def test_merge_keys_must_be_columns_of_both_forms() -> None:
    with pytest.raises(SpecError, match="merge: key 'SEX' must be a column of DM and EX"):
        Env().run(
            {"algorithm": "merge", "form": "EX", "by": ["SEX"], "value": {"column": "EXSTDAT"}}
        )


DM_BUILT = pd.DataFrame(
    {
        "SUBJID": ["1001", "1002"],
        "USUBJID": ["S-1001", "S-1002"],
        "RFICDTC": pd.Series(["2024-01-05", None], dtype="string"),
        "AGE": [64.0, 70.0],
    }
)


def test_dm_joins_the_subjects_dm_record() -> None:
    env = Env(datasets={"DM": DM_BUILT})
    assert values(env.run({"dm": "USUBJID"})) == ["S-1001", "S-1002", None]
    assert env.listed("subject", "rule") == [["1003", "SUBJECT-NOT-IN-DM"]]
    by_var = Env(datasets={"DM": DM_BUILT}, vars={"USUBJID": text("S-1002", "S-1001", None)})
    assert values(by_var.run({"dm": "AGE", "by": "USUBJID"})) == [70.0, 64.0, None]


def test_dm_only_after_dm() -> None:
    with pytest.raises(SpecError, match="only available in datasets mapped after DM"):
        Env().run({"dm": "AGE"})


def test_aggregate_min_max_count_over_dm() -> None:
    env = Env(datasets={"DM": DM_BUILT})
    rule = {"algorithm": "aggregate", "dataset": "DM", "value": "RFICDTC", "func": "min"}
    assert values(env.run(rule)) == ["2024-01-05"] * 3
    assert values(env.run({**rule, "func": "count"})) == ["1"] * 3
    assert values(env.run({**rule, "value": "USUBJID", "func": "max"})) == ["S-1002"] * 3
    empty = Env(datasets={"DM": DM_BUILT.iloc[:0]})
    assert values(empty.run(rule)) == [None] * 3
    assert values(empty.run({**rule, "func": "count"})) == ["0"] * 3


def test_participation_end_takes_the_latest_then_every_dataset_raises_it() -> None:
    # At DM's mapping: the latest of what DM's own forms say, ISO dates compared as text.
    env = Env(vars={"IC": text("2024-01-15", "2024-02-01", None),
                    "LAST": text("2024-12-24", None, None),
                    "DTH": text("2025-03-11", None, None)})  # fmt: skip
    rule = {
        "algorithm": "participation_end",
        "of": [{"var": "IC"}, {"var": "LAST"}, {"var": "DTH"}],
    }
    assert values(env.run(rule)) == ["2025-03-11", "2024-02-01", None]
    # Once every other dataset is mapped: each subject's latest --DTC/--STDTC/--ENDTC.
    ae = pd.DataFrame({"USUBJID": ["A", "A", "B"], "AESTDTC": ["2025-01", "2025-02-01", None],
                       "AEENDTC": ["2025-04-02", None, "2024"], "AETERM": ["x", "y", "z"]})  # fmt: skip
    lb = pd.DataFrame({"USUBJID": ["B", "C"], "LBDTC": ["2023-12-31T10:00", "2024-05-05"]})
    ts = pd.DataFrame({"TSPARMCD": ["SSTDTC"], "TSVAL": ["2020-01-01"]})  # not about subjects
    latest = latest_dates({"AE": ae, "LB": lb, "TS": ts})
    assert latest.to_dict() == {"A": "2025-04-02", "B": "2024", "C": "2024-05-05"}
    # The same, given a frame of records at a time (the job streams LB).
    frames = [("AE", ae.iloc[:1]), ("LB", lb), ("AE", ae.iloc[1:]), ("TS", ts)]
    assert latest_dates(iter(frames)).to_dict() == latest.to_dict()
    # Raised where later (a partial date only where surely later: "2024" < "2024-02-01").
    dm = pd.Series(["2025-03-11", "2024-02-01", None, "2024-06-01"], dtype="string")
    later = pd.Series(["2025-04-02", "2024", "2024-05-05", None], dtype="string")
    assert values(raise_to(dm, later)) == ["2025-04-02", "2024-02-01", "2024-05-05", "2024-06-01"]

"""Values put together per record, and --SEQ."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.sdtm_algorithms.frames import Env, text, values
from transforms.sdtm.algorithms import Seq, SpecError, parse_rule


def dates_env() -> Env:
    return Env(
        vars={"D1": text("2024-01-01", None, None), "D2": text("2023-12-31", "2024-05-05", None)}
    )


def test_concat_is_null_when_a_part_is() -> None:
    rule = {
        "algorithm": "concat",
        "sep": "-",
        "parts": [{"value": "S"}, {"column": "SUBJID"}, {"var": "D1"}],
    }
    assert values(dates_env().run(rule)) == ["S-1001-2024-01-01", None, None]
    no_sep = {"algorithm": "concat", "parts": [{"column": "SUBJID"}, {"value": "X"}]}
    assert values(dates_env().run(no_sep)) == ["1001X", "1002X", "1003X"]


def test_coalesce_takes_the_first_non_null() -> None:
    rule = {"algorithm": "coalesce", "of": [{"var": "D1"}, {"var": "D2"}]}
    assert values(dates_env().run(rule)) == ["2024-01-01", "2024-05-05", None]


def test_extreme_min_and_max() -> None:
    env = dates_env()
    rule = {"algorithm": "extreme", "pick": "max", "of": [{"var": "D1"}, {"var": "D2"}]}
    assert values(env.run(rule)) == ["2024-01-01", "2024-05-05", None]
    assert values(env.run({**rule, "pick": "min"})) == ["2023-12-31", "2024-05-05", None]


def test_extract_first_group_or_the_group_named_value() -> None:
    env = Env(vars={"ID": text("701-1015", "702-1", "x")})
    rule = {"algorithm": "extract", "source": {"var": "ID"}, "pattern": r"^(\d+)-\d+$"}
    assert values(env.run(rule)) == ["701", "702", None]
    assert env.listed("value", "rule") == [["x", "EXTRACT"]]
    named = {**rule, "pattern": r"^(\d+)-(?P<value>\d+)$"}
    assert values(Env(vars=env.vars).run(named)) == ["1015", "1", None]


def test_extract_pattern_must_capture() -> None:
    with pytest.raises(SpecError, match=r"extract: pattern .* captures no group"):
        Env().run({"algorithm": "extract", "source": {"column": "SUBJID"}, "pattern": r"^\d+$"})


def test_seq_numbers_records_per_group_in_their_order() -> None:
    seq = parse_rule({"algorithm": "seq"}, Env().scope())
    assert seq == Seq(("USUBJID",))
    records = pd.DataFrame({"USUBJID": ["A", "B", "A", "A"], "TSPARMCD": ["X", "X", "Y", "X"]})
    assert assert_seq(seq, records) == [1.0, 1.0, 2.0, 3.0]
    by_parm = parse_rule({"algorithm": "seq", "by": ["TSPARMCD"]}, Env().scope())
    assert assert_seq(by_parm, records) == [1.0, 2.0, 1.0, 3.0]


def assert_seq(seq: object, records: pd.DataFrame) -> list[float]:
    assert isinstance(seq, Seq)
    return seq.number(records).tolist()

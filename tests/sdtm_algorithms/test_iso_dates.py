"""Dates: ISO 8601, study days, moved dates, the last record before a date."""

from __future__ import annotations

import pandas as pd

from tests.sdtm_algorithms.frames import Env, text, values


def test_iso8601_lists_impossible_dates_with_their_row() -> None:
    env = Env()
    out = env.run({"algorithm": "iso8601", "date": {"column": "BRTHDAT"}})
    assert values(out) == ["1960-01-05", "1955-06", None]
    assert env.listed("row", "rule") == [[4, "ISO8601"]]


def test_iso8601_reads_a_layout_and_its_partial_dates() -> None:
    env = Env(vars={"D": text("01/16/2014", "01/2014", "13/45/2014")})
    out = env.run({"algorithm": "iso8601", "date": {"var": "D"}, "format": "MM/DD/YYYY"})
    assert values(out) == ["2014-01-16", "2014-01", None]
    assert env.listed("value") == [["13/45/2014"]]


def test_iso8601_adds_the_time() -> None:
    env = Env(vars={"T": text("08:30", None, "23:59")})
    rule = {"algorithm": "iso8601", "date": {"column": "BRTHDAT"}, "time": {"var": "T"}}
    assert values(env.run(rule))[:2] == ["1960-01-05T08:30", "1955-06"]


def test_study_day_has_no_day_zero() -> None:
    env = Env(vars={"D": text("2024-01-10", "2024-01-09", "2024-01"),
                    "REF": text("2024-01-10", "2024-01-10", "2024-01-10")})  # fmt: skip
    assert values(env.run({"algorithm": "study_day", "date": {"var": "D"}, "ref": {"var": "REF"}})) == [
        1, -1, None]  # fmt: skip


def test_date_add_moves_complete_dates_only() -> None:
    env = Env(vars={"D": text("2024-01-31", "2024-02", "2024-12-31T10:00")})
    assert values(env.run({"algorithm": "date_add", "date": {"var": "D"}, "days": 1})) == [
        "2024-02-01", None, "2025-01-01"]  # fmt: skip
    assert values(env.run({"algorithm": "date_add", "date": {"var": "D"}, "days": -31})) == [
        "2023-12-31", None, "2024-11-30"]  # fmt: skip
    env = Env(vars={"D": text("3025-02-26", "1663-05-11", "0001-01-31")})  # any year 0001-9999
    assert values(env.run({"algorithm": "date_add", "date": {"var": "D"}, "days": -30})) == [
        "3025-01-27", "1663-04-11", "0001-01-01"]  # fmt: skip


def test_last_before_flags_the_last_record_with_a_value_per_group() -> None:
    frame = pd.DataFrame(
        {
            "__ROW": [2, 3, 4, 5, 6],
            "SUBJID": ["1", "1", "1", "2", "2"],
            "D": ["2024-01-01", "2024-01-05", "2024-01-12", "2024-01-03", "2024-01-02"],
            "V": ["5", "6", "7", None, "3"],
            "REF": ["2024-01-10", "2024-01-10", "2024-01-10", "2024-01-03", "2024-01-03"],
        },
        dtype="string",
    ).astype({"__ROW": "int64"})
    env = Env(frame=frame)
    rule = {"algorithm": "last_before", "by": [{"column": "SUBJID"}], "date": {"column": "D"},
            "value": {"column": "V"}, "ref": {"column": "REF"}}  # fmt: skip
    # Subject 1: 01-12 is after the reference; subject 2: 01-03 has no value.
    assert values(env.run(rule)) == [None, "Y", None, None, "Y"]

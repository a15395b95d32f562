"""Numbers, standard units, normal ranges."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.sdtm_algorithms.frames import Env, text, values
from transforms.sdtm.algorithms import SpecError


def test_number_lists_text() -> None:
    env = Env()
    assert values(env.run({"algorithm": "number", "source": {"column": "AGE"}})) == [64, 70, None]
    assert env.listed("value", "rule") == [["sixty", "NUMBER"]]


LB = pd.DataFrame(
    {
        "__ROW": [2, 3, 4, 5, 6],
        "SUBJID": ["1", "1", "1", "2", "2"],
        "TEST": ["GLUC", "GLUC", "GLUC", "TEMP", "GLUC"],
        "VALUE": ["90", "<5", "abc", "98.6", "5"],
        "UNIT": ["mg/dL", "mmol/L", None, "F", "g/L"],
    },
    dtype="string",
).astype({"__ROW": "int64"})
UNITS = {
    "GLUC": {"unit": "mmol/L", "from": {"mmol/L": 1, "mg/dL": "1/18"}, "round": 1},
    "TEMP": {"unit": "C", "from": {"F": {"factor": "5/9", "offset": "-160/9"}}, "round": 1},
}


def standardise(env: Env, output: str) -> list[object]:
    return values(env.run({"algorithm": "standardise", "test": {"column": "TEST"},
                           "value": {"column": "VALUE"}, "unit": {"column": "UNIT"},
                           "units": UNITS, "output": output}))  # fmt: skip


def test_standardise_number_text_and_unit() -> None:
    env = Env(frame=LB)
    # 90 mg/dL / 18 = 5.0 mmol/L; 98.6 F x 5/9 - 160/9 = 37.0 C; g/L has no factor.
    assert standardise(env, "number") == [5.0, None, None, 37.0, None]
    assert env.listed("row", "value", "rule") == [[6, "g/L", "UNIT"]]
    assert standardise(Env(frame=LB), "text") == ["5", "<5", "ABC", "37", None]
    assert standardise(Env(frame=LB), "unit") == ["mmol/L", "mmol/L", None, "C", "mmol/L"]


def test_standardise_refuses_a_factor_that_is_not_a_number() -> None:
    units = {"GLUC": {"unit": "mmol/L", "from": {"mg/dL": "x/18"}}}
    rule = {"algorithm": "standardise", "test": {"column": "TEST"}, "value": {"column": "VALUE"},
            "unit": {"column": "UNIT"}, "units": units, "output": "number"}  # fmt: skip
    with pytest.raises(SpecError, match=r"standardise: units.GLUC.from.mg/dL: 'x/18' is not a"):
        Env(frame=LB).run(rule)


def test_nrind_low_high_normal_and_unknown() -> None:
    env = Env(frame=LB, vars={"V": pd.Series(["3", "10", "5", "5", None], dtype="string"),
                              "LO": pd.Series(["4", "4", "4", None, "4"], dtype="string"),
                              "HI": pd.Series(["8", "8", "8", None, "8"], dtype="string")})  # fmt: skip
    rule = {
        "algorithm": "nrind",
        "value": {"var": "V"},
        "low": {"var": "LO"},
        "high": {"var": "HI"},
    }
    assert values(env.run(rule)) == ["LOW", "HIGH", "NORMAL", None, None]


def test_nrind_with_one_limit_only() -> None:
    env = Env(
        vars={"V": text("3", "10", "5"), "LO": text("4", "4", "4"), "HI": text(None, None, None)}
    )
    rule = {
        "algorithm": "nrind",
        "value": {"var": "V"},
        "low": {"var": "LO"},
        "high": {"var": "HI"},
    }
    assert values(env.run(rule)) == ["LOW", "NORMAL", "NORMAL"]

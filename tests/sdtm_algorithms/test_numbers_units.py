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


def test_standardise_number_is_the_number_its_text_shows() -> None:
    # 0.81 mg/dL x 88.42 is 71.62020000000001 in binary floating point; x 1/3 to 10 decimals
    # is 0.3333333333, shown with 8 significant digits. The number is always the text's.
    frame = pd.DataFrame({"__ROW": [2, 3, 4], "SUBJID": ["1", "1", "1"],
                          "TEST": ["CREAT", "THIRD", "CREAT"], "VALUE": ["0.81", "1", "1.22"],
                          "UNIT": ["mg/dL", "x", "mg/dL"]}, dtype="string").astype({"__ROW": "int64"})  # fmt: skip
    units = {"CREAT": {"unit": "umol/L", "from": {"mg/dL": 88.42}, "round": 4},
             "THIRD": {"unit": "y", "from": {"x": "1/3"}, "round": 10}}  # fmt: skip
    rule = {"algorithm": "standardise", "test": {"column": "TEST"}, "value": {"column": "VALUE"},
            "unit": {"column": "UNIT"}, "units": units}  # fmt: skip
    text = values(Env(frame=frame).run({**rule, "output": "text"}))
    number = values(Env(frame=frame).run({**rule, "output": "number"}))
    assert text == ["71.6202", "0.33333333", "107.8724"]
    assert number == [71.6202, 0.33333333, 107.8724]
    assert [repr(n) for n in number] == text
    # The reporting precision (decimals kept) is declared per test: 1.22 x 88.42 to 0.
    units["CREAT"]["round"] = 0
    assert values(Env(frame=frame).run({**rule, "units": units, "output": "text"}))[2] == "108"


def test_standardise_needs_the_reporting_precision_of_a_conversion() -> None:
    units = {"CREAT": {"unit": "umol/L", "from": {"mg/dL": 88.42, "umol/L": 1}}}
    rule = {"algorithm": "standardise", "test": {"column": "TEST"}, "value": {"column": "VALUE"},
            "unit": {"column": "UNIT"}, "units": units, "output": "number"}  # fmt: skip
    with pytest.raises(SpecError, match=r"units.CREAT converts 'mg/dL' \(x 88.42\): give its "
                                        r"reporting precision, round: <decimals>"):  # fmt: skip
        Env(frame=LB).run(rule)
    # A test collected in its standard unit only needs none.
    units = {"CREAT": {"unit": "umol/L", "from": {"umol/L": 1}}}
    Env(frame=LB).run({**rule, "units": units})
    with pytest.raises(SpecError, match=r"units.CREAT.plausible must be \[low, high\]"):
        Env(frame=LB).run({**rule, "units": {"CREAT": {**units["CREAT"], "plausible": [5, 1]}}})


VS = pd.DataFrame(
    {
        "__ROW": [2, 3, 4, 5, 6, 7],
        "SUBJID": ["1", "1", "2", "3", "3", "4"],
        "TEST": ["HEIGHT", "HEIGHT", "HEIGHT", "TEMP", "TEMP", "HEIGHT"],
        "VALUE": ["65", "148", "900", "98.6", "36.2", "<60"],
        "UNIT": ["in", "in", "in", "F", "F", "in"],
    },
    dtype="string",
).astype({"__ROW": "int64"})
VS_UNITS = {
    "HEIGHT": {"unit": "cm", "from": {"in": 2.54, "cm": 1}, "round": 1, "plausible": [100, 230]},
    "TEMP": {"unit": "C", "from": {"F": {"factor": "5/9", "offset": "-160/9"}, "C": 1},
             "round": 1, "plausible": [30, 45]},
}  # fmt: skip


def test_standardise_plausible_takes_the_one_unit_a_result_fits() -> None:
    rule = {"algorithm": "standardise", "test": {"column": "TEST"}, "value": {"column": "VALUE"},
            "unit": {"column": "UNIT"}, "units": VS_UNITS}  # fmt: skip
    env = Env(frame=VS)
    # 65 in = 165.1 cm; 148 "in" = 375.9 cm, but 148 cm is plausible: taken in cm; 900 is
    # neither 2286 cm nor 900 cm: not standardised; 36.2 "F" = 2.3 C, 36.2 C plausible.
    assert values(env.run({**rule, "output": "text"})) == [
        "165.1", "148", None, "37", "36.2", "<152.4"]  # fmt: skip
    assert env.listed("row", "value", "rule", "severity") == [
        [3, "148 in, taken as cm", "PLAUSIBLE", "warning"],
        [6, "36.2 F, taken as C", "PLAUSIBLE", "warning"],
        [4, "900 in", "PLAUSIBLE", "warning"],
    ]
    quiet = Env(frame=VS)
    assert values(quiet.run({**rule, "output": "number"})) == [165.1, 148.0, None, 37.0, 36.2, None]
    assert values(quiet.run({**rule, "output": "unit"})) == ["cm", "cm", None, "C", "C", "cm"]
    assert values(quiet.run({**rule, "output": "original_unit"})) == [
        "in", "cm", "in", "F", "C", "in"]  # fmt: skip
    assert quiet.issues.frame().empty  # listed once, by the text output


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

"""The sources: a raw column, a variable derived before, a constant."""

from __future__ import annotations

import pytest

from tests.sdtm_algorithms.frames import SEX, Env, FakeCodelist, text, values
from transforms.sdtm.algorithms import SpecError


def test_column_is_trimmed_and_optionally_upper_cased() -> None:
    env = Env()
    assert values(env.run({"column": "SEX"})) == ["Male", "female", "Mle"]
    assert values(env.run({"column": "SEX", "upper": True})) == ["MALE", "FEMALE", "MLE"]


def test_column_blank_text_is_null() -> None:
    env = Env(frame=Env().frame.assign(SEX=text("  ", "M", "")))
    assert values(env.run({"column": "SEX"})) == [None, "M", None]


def test_var_gives_the_variable_derived_before() -> None:
    env = Env(vars={"RFSTDTC": text("2024-01-01", None, "2024-02")})
    assert values(env.run({"var": "RFSTDTC"})) == ["2024-01-01", None, "2024-02"]


def test_hardcode_text_number_and_null() -> None:
    env = Env()
    out = env.run({"value": "M"}, SEX)
    assert values(out) == ["M", "M", "M"]
    assert str(out.dtype) == "string"
    number = env.run({"algorithm": "hardcode", "value": 5})
    assert values(number) == [5.0, 5.0, 5.0]
    assert str(number.dtype) == "float64"
    assert values(env.run({"value": None})) == [None, None, None]


def test_hardcode_refuses_a_value_outside_the_codelist_or_a_list() -> None:
    with pytest.raises(SpecError, match="value 'MALE' is not in codelist C66731"):
        Env().run({"value": "MALE"}, SEX)
    with pytest.raises(SpecError, match="hardcode value must be text or a number"):
        Env().run({"value": ["M"]})


def test_hardcode_sponsor_term_only_of_an_extensible_codelist() -> None:
    # ISS has no NCI test code (issue 18): a declared sponsor term of the extensible
    # ONCRTSCD passes; the same word undeclared, or in a closed codelist, stops loading.
    tests = FakeCodelist("C96782", {"OVRLRESP"}, extensible=True)
    out = Env().run({"value": "ISS01", "sponsor": True}, tests)
    assert values(out) == ["ISS01", "ISS01", "ISS01"]
    assert values(Env().run({"value": "OVRLRESP", "sponsor": True}, tests)) == ["OVRLRESP"] * 3
    with pytest.raises(SpecError, match="value 'ISS01' is not in codelist C96782"):
        Env().run({"value": "ISS01"}, tests)
    with pytest.raises(SpecError, match="codelist C66731 is not extensible"):
        Env().run({"value": "MALE", "sponsor": True}, SEX)

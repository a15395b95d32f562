"""Raw text to controlled terms."""

from __future__ import annotations

import pytest

from tests.sdtm_algorithms.frames import SEX, Env, text, values
from transforms import standards
from transforms.sdtm.algorithms import Design, SpecError


def test_ct_maps_raw_spelling_and_lists_unknown_terms() -> None:
    env = Env()
    out = env.run({"algorithm": "ct", "source": {"column": "SEX"}}, SEX)
    assert values(out) == ["M", "F", None]
    assert env.listed("row", "subject", "value", "rule") == [[4, "1003", "Mle", "CT"]]
    assert "C66731" in str(env.issues.frame().loc[0, "message"])


def test_ct_takes_a_submission_value_as_written() -> None:
    env = Env(vars={"S": text("U", "INTERSEX", "u")})
    assert values(env.run({"algorithm": "ct", "source": {"var": "S"}}, SEX)) == [
        "U", "INTERSEX", None]  # fmt: skip
    assert env.listed("value") == [["u"]]


def test_ct_needs_a_codelist() -> None:
    with pytest.raises(SpecError, match="ct: the target variable has no codelist"):
        Env().run({"algorithm": "ct", "source": {"column": "SEX"}})
    with pytest.raises(SpecError, match="ct: unknown codelist 'C0'"):
        Env().run({"algorithm": "ct", "source": {"column": "SEX"}, "codelist": "C0"})


def test_recode_lists_values_outside_the_table() -> None:
    env = Env()
    rule = {"algorithm": "recode", "source": {"column": "SEX"}, "map": {"MALE": "1", "Female": "2"}}
    assert values(env.run(rule)) == ["1", "2", None]
    assert env.listed("value", "rule") == [["Mle", "RECODE"]]


def test_recode_default_and_null_default_list_nothing() -> None:
    env = Env()
    rule = {"algorithm": "recode", "source": {"column": "SEX"}, "map": {"MALE": "1", "Female": "2"}}
    assert values(env.run({**rule, "default": "9"})) == ["1", "2", "9"]
    assert values(env.run({**rule, "default": None})) == ["1", "2", None]
    assert env.issues.frame().empty


def test_recode_keys_must_differ_once_normalised() -> None:
    rule = {"algorithm": "recode", "source": {"column": "SEX"}, "map": {"Male": "1", " MALE": "2"}}
    with pytest.raises(SpecError, match="recode: keys clash once trimmed and case-folded"):
        Env().run(rule)


def test_country_iso3_reads_names_and_codes() -> None:
    env = Env()
    assert values(env.run({"algorithm": "country_iso3", "source": {"column": "COUNTRY"}})) == [
        "CHN", "CHN", None]  # fmt: skip
    assert env.listed("value", "rule") == [["Narnia", "ISO3166"]]


def test_decode_gives_the_term_with_the_same_c_code() -> None:
    vstest = standards.controlled_terms().codelist("C67153")
    env = Env(vars={"VSTESTCD": text("SYSBP", "HEIGHT", "NOPE")})
    rule = {"algorithm": "decode", "source": {"var": "VSTESTCD"}, "from": "C66741"}
    assert values(env.run(rule, vstest)) == ["Systolic Blood Pressure", "Height", None]
    assert env.listed("value", "rule") == [["NOPE", "CT"]]


def test_term_code_of_a_value_in_the_codelist_named_per_record() -> None:
    env = Env(
        frame=Env().frame.assign(CODELIST=text("C66731", "C66731", "C66742")),
        vars={"TSVAL": text("F", "X", "Y")},
    )
    rule = {"algorithm": "term_code", "value": {"var": "TSVAL"}, "codelist": {"column": "CODELIST"}}
    assert values(env.run(rule)) == ["C16576", None, "C49488"]
    assert env.listed("row", "value", "rule") == [[3, "X", "CT"]]


def test_term_code_is_null_where_no_codelist_is_named() -> None:
    """M is a term of C66731, named on the first row only: the unnamed row stays null."""
    env = Env(
        frame=Env().frame.assign(CODELIST=text("C66731", None, None)),
        vars={"TSVAL": text("F", "M", None)},
    )
    rule = {"algorithm": "term_code", "value": {"var": "TSVAL"}, "codelist": {"column": "CODELIST"}}
    assert values(env.run(rule)) == ["C16576", None, None]
    assert env.issues.frame().empty


def test_recode_map_arms_is_the_design_arm_table() -> None:
    arms = {"TE": "Transplant eligible arm", "TI": "Transplant ineligible arm"}
    env = Env(vars={"A": text("TE", "ti", "XX")}, design=Design("study.yaml: design", arms=arms))
    out = env.run({"algorithm": "recode", "source": {"var": "A"}, "map": "arms"})
    assert values(out) == ["Transplant eligible arm", "Transplant ineligible arm", None]
    assert env.listed("value") == [["XX"]]
    with pytest.raises(SpecError, match="map: arms needs the arms of a design"):
        Env(vars={"A": text("TE", None, None)}).run(
            {"algorithm": "recode", "source": {"var": "A"}, "map": "arms"}
        )


def test_recode_map_criteria_is_the_design_criteria_table() -> None:
    design = Design(
        "study.yaml: design",
        criteria={"INCL06": "Platelets above 75 x10^9/L", "EXCL05": "Active hepatitis B"},
        categories={"INCL06": "INCLUSION", "EXCL05": "EXCLUSION"},
    )
    env = Env(vars={"A": text("INCL06", "excl05", "INCL99")}, design=design)
    out = env.run({"algorithm": "recode", "source": {"var": "A"}, "map": "criteria"})
    assert values(out) == ["Platelets above 75 x10^9/L", "Active hepatitis B", None]
    assert env.listed("value") == [["INCL99"]]
    cat = env.run({"algorithm": "recode", "source": {"var": "A"}, "map": "criteria_categories"})
    assert values(cat) == ["INCLUSION", "EXCLUSION", None]
    with pytest.raises(SpecError, match="map: criteria needs the criteria of a design"):
        Env(vars={"A": text("INCL06", None, None)}).run(
            {"algorithm": "recode", "source": {"var": "A"}, "map": "criteria"}
        )

"""The spec-driven ADTTE builder: the pharmaverseadam reference row for row, then each rule
on small hand-made frames."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyreadstat
import pytest

from transforms.adam.tte import (
    TteDataError,
    TteResult,
    TteSpecError,
    build_tte,
    load_tte_spec,
    parse_tte_spec,
)
from transforms.conditions import ConditionError, frame_mask, named, parse

REF = Path(__file__).resolve().parent / "fixtures" / "pharmaverseadam"


# --- the pharmaverseadam reference ---------------------------------------------------------


def _read(name: str) -> pd.DataFrame:
    frame, _ = pyreadstat.read_xport(str(REF / f"{name}.xpt"))
    return frame


@pytest.fixture(scope="module")
def reference() -> dict[str, pd.DataFrame]:
    return {name: _read(name) for name in ("adsl", "adrs_onco", "adtte_onco")}


@pytest.fixture(scope="module")
def onco_spec() -> dict[str, Any]:
    import yaml

    return yaml.safe_load((REF / "adtte_onco.yaml").read_text(encoding="utf-8"))


def _build(reference: dict[str, pd.DataFrame], spec: Any) -> TteResult:
    return build_tte(spec, {"ADSL": reference["adsl"], "ADRS": reference["adrs_onco"]})


def _comparable(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One representation for both sides: XPT has no empty text (blank = missing), and
    every XPT number is a double; dates as calendar days."""
    out = pd.DataFrame(index=range(len(frame)))
    for column in columns:
        values = frame[column].reset_index(drop=True)
        if column in ("ADT", "STARTDT"):
            out[column] = pd.to_datetime(values).astype("datetime64[s]")
        elif pd.api.types.is_numeric_dtype(values.dtype):
            out[column] = values.astype("float64")
        else:
            out[column] = values.astype("object").where(values.notna() & (values != ""), None)
    return out


def test_reference_reproduced_row_for_row(reference: dict[str, pd.DataFrame]) -> None:
    result = _build(reference, load_tte_spec(REF / "adtte_onco.yaml"))
    expected = reference["adtte_onco"]
    assert set(result.data.columns) == set(expected.columns)
    columns = list(expected.columns)
    pd.testing.assert_frame_equal(
        _comparable(result.data, columns), _comparable(expected, columns), check_exact=True
    )


def test_reference_every_subject_accounted_for(reference: dict[str, pd.DataFrame]) -> None:
    result = _build(reference, load_tte_spec(REF / "adtte_onco.yaml"))
    subjects = set(reference["adsl"]["USUBJID"])
    for paramcd in ("OS", "PFS", "RSD"):
        rows = set(result.data.loc[result.data["PARAMCD"] == paramcd, "USUBJID"])
        listed = set(result.unassigned.loc[result.unassigned["PARAMCD"] == paramcd, "USUBJID"])
        assert not rows & listed
        assert rows | listed == subjects
    os_reasons = set(result.unassigned.loc[result.unassigned["PARAMCD"] == "OS", "REASON"])
    assert os_reasons == {"no origin date (ADSL.RANDDT is missing)"}
    assert len(result.unassigned) == 52 + 52 + 302


def test_reference_tie_follows_listing_order(
    reference: dict[str, pd.DataFrame], onco_spec: dict[str, Any]
) -> None:
    """01-708-1236 was last known alive on the day of randomization: the reference says
    Randomization because that censoring is listed first; listed second, Alive wins."""
    swapped = copy.deepcopy(onco_spec)
    swapped["parameters"][0]["censors"] = ["lastalive", "rand"]
    for spec, expected in ((onco_spec, "Randomization"), (swapped, "Alive")):
        data = _build(reference, spec).data
        row = data[(data["USUBJID"] == "01-708-1236") & (data["PARAMCD"] == "OS")]
        assert row["EVNTDESC"].tolist() == [expected]
        assert row["AVAL"].tolist() == [1]


# --- hand-made frames ----------------------------------------------------------------------


def d(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def make_adsl(**columns: list[Any]) -> pd.DataFrame:
    n = len(next(iter(columns.values()))) if columns else 3
    frame = pd.DataFrame(
        {
            "STUDYID": ["S1"] * n,
            "USUBJID": [f"S1-{i + 1}" for i in range(n)],
            "RANDDT": pd.to_datetime(["2024-01-01"] * n),
        }
    )
    for name, values in columns.items():
        frame[name] = pd.to_datetime(values) if name.endswith("DT") else values
    return frame


def make_adrs(rows: list[tuple[str, str, str | None]]) -> pd.DataFrame:
    """(USUBJID, PARAMCD, ADT) per record; ASEQ numbers them per subject."""
    frame = pd.DataFrame(rows, columns=["USUBJID", "PARAMCD", "ADT"])
    frame.insert(0, "STUDYID", "S1")
    frame["ADT"] = pd.to_datetime(frame["ADT"])
    frame["ASEQ"] = (frame.groupby("USUBJID").cumcount() + 1).astype("float64")
    return frame


def src(paramcd: str, desc: str, cnsr: int = 0, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "dataset": "ADRS",
        "where": {"var": "PARAMCD", "eq": paramcd},
        "date": "ADT",
        "evntdesc": desc,
        "srcseq": "ASEQ",
        **extra,
    }
    if cnsr:
        out.update(cnsr=cnsr, cnsdtdsc=desc)
    return out


def adsl_src(var: str, desc: str, cnsr: int = 1) -> dict[str, Any]:
    return {"dataset": "ADSL", "date": var, "cnsr": cnsr, "evntdesc": desc, "cnsdtdsc": desc}


def one_param(events: list[Any], censors: list[Any] | None = None, **more: Any) -> dict[str, Any]:
    param = {
        "paramcd": "PFS",
        "param": "Progression Free Survival",
        "start": {"date": "RANDDT"},
        "events": events,
        "censors": censors or [],
        **more,
    }
    return {"parameters": [param]}


def rows_of(result: TteResult, *columns: str) -> list[tuple[Any, ...]]:
    return list(result.data[["USUBJID", *columns]].itertuples(index=False, name=None))


def test_earliest_event_wins_whatever_the_listing_order() -> None:
    adrs = make_adrs([("S1-1", "DEATH", "2024-03-01"), ("S1-1", "PD", "2024-02-01")])
    spec = one_param([src("DEATH", "Death"), src("PD", "Disease Progression")])
    result = build_tte(spec, {"ADSL": make_adsl(X=[1]), "ADRS": adrs})
    assert rows_of(result, "ADT", "AVAL", "CNSR", "EVNTDESC", "SRCSEQ") == [
        ("S1-1", d("2024-02-01"), 32, 0, "Disease Progression", 2.0)
    ]


def test_earliest_record_within_one_source() -> None:
    adrs = make_adrs([("S1-1", "PD", "2024-05-01"), ("S1-1", "PD", "2024-04-01")])
    result = build_tte(one_param([src("PD", "PD")]), {"ADSL": make_adsl(X=[1]), "ADRS": adrs})
    assert rows_of(result, "ADT", "SRCSEQ") == [("S1-1", d("2024-04-01"), 2.0)]


def test_latest_censoring_wins() -> None:
    adrs = make_adrs([("S1-1", "LSTA", "2024-06-01")])
    adsl = make_adsl(LSTALVDT=["2024-09-01"])
    spec = one_param(
        [src("PD", "PD")],
        [src("LSTA", "Last Tumor Assessment", cnsr=1), adsl_src("LSTALVDT", "Alive", cnsr=2)],
    )
    result = build_tte(spec, {"ADSL": adsl, "ADRS": adrs})
    assert rows_of(result, "ADT", "CNSR", "EVNTDESC", "CNSDTDSC", "SRCDOM", "SRCVAR") == [
        ("S1-1", d("2024-09-01"), 2, "Alive", "Alive", "ADSL", "LSTALVDT")
    ]
    assert result.data["SRCSEQ"].isna().tolist() == [True]


def test_event_beats_a_later_censoring() -> None:
    adrs = make_adrs([("S1-1", "PD", "2024-02-01"), ("S1-1", "LSTA", "2024-06-01")])
    spec = one_param([src("PD", "PD")], [src("LSTA", "Last Tumor Assessment", cnsr=1)])
    result = build_tte(spec, {"ADSL": make_adsl(X=[1]), "ADRS": adrs})
    assert rows_of(result, "ADT", "CNSR", "EVNTDESC") == [("S1-1", d("2024-02-01"), 0, "PD")]
    assert result.data["CNSDTDSC"].isna().tolist() == [True]


@pytest.mark.parametrize("first", ["PD", "DEATH"])
def test_event_tie_goes_to_the_source_listed_first(first: str) -> None:
    adrs = make_adrs([("S1-1", "DEATH", "2024-03-01"), ("S1-1", "PD", "2024-03-01")])
    sources = {"PD": src("PD", "Disease Progression"), "DEATH": src("DEATH", "Death")}
    second = "DEATH" if first == "PD" else "PD"
    spec = one_param([sources[first], sources[second]])
    result = build_tte(spec, {"ADSL": make_adsl(X=[1]), "ADRS": adrs})
    assert result.data["EVNTDESC"].tolist() == [sources[first]["evntdesc"]]


@pytest.mark.parametrize("first", ["rand", "lasta"])
def test_censoring_tie_goes_to_the_source_listed_first(first: str) -> None:
    adrs = make_adrs([("S1-1", "LSTA", "2024-01-01")])
    sources = {"rand": adsl_src("RANDDT", "Randomization"), "lasta": src("LSTA", "LSTA", cnsr=1)}
    spec = one_param(
        [src("PD", "PD")], [sources[first], sources[next(iter(set(sources) - {first}))]]
    )
    result = build_tte(spec, {"ADSL": make_adsl(X=[1]), "ADRS": adrs})
    assert result.data["EVNTDESC"].tolist() == [sources[first]["evntdesc"]]
    assert result.data["AVAL"].tolist() == [1]


@pytest.mark.parametrize(
    ("bound", "expected"),
    [
        ({"before": "NACTDT"}, ("2024-03-01", "2024-03-01", "2024-05-01")),
        ({"on_or_before": "NACTDT"}, ("2024-04-01", "2024-03-01", "2024-05-01")),
        ({}, ("2024-05-01", "2024-05-01", "2024-05-01")),
    ],
)
def test_upper_bound_keeps_records_before_the_adsl_date(
    bound: dict[str, str], expected: tuple[str, ...]
) -> None:
    """Subject 1: therapy on 2024-04-01 (an assessment that day counts only on_or_before);
    subject 2: therapy on 2024-03-15; subject 3: no therapy, nothing is cut."""
    adsl = make_adsl(NACTDT=["2024-04-01", "2024-03-15", None])
    adrs = make_adrs(
        [
            (subject, "LSTA", day)
            for subject in ("S1-1", "S1-2", "S1-3")
            for day in ("2024-03-01", "2024-04-01", "2024-05-01")
        ]
    )
    spec = one_param([src("PD", "PD")], [src("LSTA", "Last Tumor Assessment", cnsr=1, **bound)])
    result = build_tte(spec, {"ADSL": adsl, "ADRS": adrs})
    assert result.data["ADT"].tolist() == [d(day) for day in expected]


def test_if_any_and_unless_any_choose_the_censoring_reason_by_subject() -> None:
    """Three censorings on the same date (the last assessment): the first listed that
    applies wins. S1-1 had new therapy (if_any nact: CNSR 3); S1-2 a progression that
    did not count (unless_any would drop it; if_any late: CNSR 2); S1-3 neither (CNSR 1)."""
    adsl = make_adsl(NACTDT=["2024-04-01", None, None])
    records: list[tuple[str, str, str | None]] = [
        (s, "LSTA", "2024-03-01") for s in ("S1-1", "S1-2", "S1-3")
    ]
    adrs = make_adrs([*records, ("S1-2", "LATE", "2024-09-01")])
    named = {
        "nact": adsl_src("NACTDT", "New therapy"),
        "late": src("LATE", "Late progression"),
        "therapy": {**src("LSTA", "Therapy", cnsr=3), "if_any": ["nact"]},
        "missed": {**src("LSTA", "Missed", cnsr=2), "if_any": ["late"], "unless_any": ["nact"]},
        "last": src("LSTA", "Last", cnsr=1),
    }
    spec = {"sources": named, **one_param([src("PD", "PD")], ["therapy", "missed", "last"])}
    result = build_tte(spec, {"ADSL": adsl, "ADRS": adrs})
    assert rows_of(result, "ADT", "CNSR", "EVNTDESC") == [
        ("S1-1", d("2024-03-01"), 3, "Therapy"),
        ("S1-2", d("2024-03-01"), 2, "Missed"),
        ("S1-3", d("2024-03-01"), 1, "Last"),
    ]
    # listed after `last`, the specific reasons never win the tie
    spec = {"sources": named, **one_param([src("PD", "PD")], ["last", "therapy", "missed"])}
    assert set(build_tte(spec, {"ADSL": adsl, "ADRS": adrs}).data["CNSR"]) == {1}


def test_parameter_if_any_limits_its_subjects_and_lists_the_others() -> None:
    adrs = make_adrs([("S1-1", "RESP", "2024-02-01"), ("S1-1", "PD", "2024-05-01")])
    adrs = pd.concat([adrs, make_adrs([("S1-2", "PD", "2024-03-01")])], ignore_index=True)
    spec = {
        "sources": {"resp": src("RESP", "Response")},
        **one_param([src("PD", "PD")], if_any=["resp"]),
    }
    result = build_tte(spec, {"ADSL": make_adsl(X=[1, 2]), "ADRS": adrs})
    assert rows_of(result, "ADT") == [("S1-1", d("2024-05-01"))]
    assert result.unassigned[["USUBJID", "REASON"]].values.tolist() == [
        ["S1-2", "no record of resp"]
    ]


def test_unassigned_listing_names_every_subject_without_a_row() -> None:
    adsl = make_adsl(ITTFL=["Y", "Y", "Y", "N"])
    adsl.loc[1, "RANDDT"] = pd.NaT
    adrs = make_adrs(
        [("S1-1", "PD", "2024-02-01"), ("S1-4", "PD", "2024-02-01"), ("S1-9", "PD", "2024-02-01")]
    )
    spec = one_param([src("PD", "PD")], population={"var": "ITTFL", "eq": "Y"})
    result = build_tte(spec, {"ADSL": adsl, "ADRS": adrs})
    assert result.data["USUBJID"].tolist() == ["S1-1"]
    listing = list(result.unassigned[["USUBJID", "PARAMCD", "REASON"]].itertuples(index=False))
    assert [tuple(row) for row in listing] == [
        ("S1-2", "PFS", "no origin date (ADSL.RANDDT is missing)"),
        ("S1-3", "PFS", "no event or censoring date (sources: events[0])"),
        ("S1-4", "PFS", "not in the population"),
        ("S1-9", "PFS", "records in ['events[0]'] but not in ADSL"),
    ]


def test_origin_from_a_source_dataset_gives_rows_only_to_subjects_with_it() -> None:
    adrs = make_adrs(
        [
            ("S1-1", "RSP", "2024-02-01"),
            ("S1-1", "RSP", "2024-03-01"),
            ("S1-1", "LSTA", "2024-04-10"),
            ("S1-2", "LSTA", "2024-04-10"),
        ]
    )
    spec = one_param(
        [src("PD", "PD")],
        [src("LSTA", "LSTA", cnsr=1)],
        start={"dataset": "ADRS", "where": {"var": "PARAMCD", "eq": "RSP"}, "date": "ADT"},
    )
    result = build_tte(spec, {"ADSL": make_adsl(X=[1, 2]), "ADRS": adrs})
    assert rows_of(result, "STARTDT", "ADT", "AVAL") == [
        ("S1-1", d("2024-02-01"), d("2024-04-10"), 70)
    ]
    assert result.unassigned["USUBJID"].tolist() == ["S1-2"]


def test_aseq_follows_paramcd_and_constants_are_set() -> None:
    adrs = make_adrs([("S1-1", "PD", "2024-02-01"), ("S1-1", "DEATH", "2024-03-01")])
    pfs = one_param([src("PD", "PD"), src("DEATH", "Death")], paramn=2, avalu="DAYS")
    os_ = one_param([src("DEATH", "Death")], paramn=1, avalu="DAYS", set={"PARCAT1": "EFF"})
    os_["parameters"][0].update(paramcd="OS", param="Overall Survival")
    spec = {"adsl_vars": ["AGE"], "parameters": pfs["parameters"] + os_["parameters"]}
    result = build_tte(spec, {"ADSL": make_adsl(AGE=[70]), "ADRS": adrs})
    got = rows_of(result, "ASEQ", "PARAMCD", "PARAMN", "AVAL", "AVALU", "PARCAT1", "AGE")
    assert [row[:6] for row in got] == [
        ("S1-1", 1, "OS", 1, 61, "DAYS"),
        ("S1-1", 2, "PFS", 2, 32, "DAYS"),
    ]
    assert got[0][6:] == ("EFF", 70)
    assert pd.isna(got[1][6])


def test_date_objects_and_datetimes_agree() -> None:
    adrs = make_adrs([("S1-1", "PD", "2024-02-01")])
    as_objects = adrs.assign(ADT=[date(2024, 2, 1)]).astype({"ADT": object})
    adsl = make_adsl(X=[1])
    adsl_objects = adsl.assign(RANDDT=[date(2024, 1, 1)]).astype({"RANDDT": object})
    with_time = adrs.assign(ADT=[pd.Timestamp("2024-02-01 23:30")])
    spec = one_param([src("PD", "PD")])
    results = [
        build_tte(spec, {"ADSL": a, "ADRS": r}).data
        for a, r in ((adsl, adrs), (adsl_objects, as_objects), (adsl, with_time))
    ]
    for data in results:
        assert rows_of(TteResult(data, data), "STARTDT", "ADT", "AVAL") == [
            ("S1-1", d("2024-01-01"), d("2024-02-01"), 32)
        ]


def test_dates_of_any_year() -> None:
    """No nanosecond-timestamp limits (1677-2262): a year typed 3025 or 1663 is counted."""
    adrs = make_adrs([("S1-1", "PD", None), ("S1-2", "PD", None)])
    adrs["ADT"] = pd.Series([date(3025, 2, 26), date(1663, 5, 11)], dtype=object)
    adsl = make_adsl(X=[1, 2])
    adsl["RANDDT"] = pd.Series([date(2024, 2, 5), date(1663, 5, 1)], dtype=object)
    result = build_tte(one_param([src("PD", "PD")]), {"ADSL": adsl, "ADRS": adrs})
    assert [(s, str(a.date()), v) for s, a, v in rows_of(result, "ADT", "AVAL")] == [
        ("S1-1", "3025-02-26", 365_630),
        ("S1-2", "1663-05-11", 11),
    ]


def test_text_dates_are_refused() -> None:
    adrs = make_adrs([("S1-1", "PD", "2024-02-01")]).astype({"ADT": "str"})
    with pytest.raises(TteDataError, match=r"events\[0\]: ADRS.ADT: expected dates"):
        build_tte(one_param([src("PD", "PD")]), {"ADSL": make_adsl(X=[1]), "ADRS": adrs})


def test_an_untyped_empty_date_column_counts_as_missing() -> None:
    """pyreadstat may return a date column without any date as plain float NaN."""
    adsl = make_adsl(X=[1]).assign(LSTALVDT=float("nan"))
    spec = one_param(
        [src("PD", "PD")],
        [adsl_src("LSTALVDT", "Alive"), adsl_src("RANDDT", "Randomization")],
    )
    result = build_tte(spec, {"ADSL": adsl, "ADRS": make_adrs([])})
    assert rows_of(result, "ADT", "EVNTDESC") == [("S1-1", d("2024-01-01"), "Randomization")]


def test_duplicate_adsl_subjects_are_refused() -> None:
    adsl = pd.concat([make_adsl(X=[1]), make_adsl(X=[1])])
    with pytest.raises(TteDataError, match="share their subject keys"):
        build_tte(one_param([src("PD", "PD")]), {"ADSL": adsl, "ADRS": make_adrs([])})


def _spec_with(path: list[str | int], value: Any, delete: bool = False) -> dict[str, Any]:
    spec = one_param([src("PD", "PD")], [adsl_src("RANDDT", "Randomization")])
    node: Any = spec
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return spec


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            _spec_with(["parameters", 0, "evnts"], []),
            r"parameter PFS: unknown key\(s\) \['evnts'\]",
        ),
        (
            _spec_with(["parameters", 0, "param"], None, delete=True),
            r"PFS: missing key\(s\) \['param'\]",
        ),
        (_spec_with(["parameters", 0, "paramcd"], "PFS_LONG_1"), "paramcd 'PFS_LONG_1' is not"),
        (_spec_with(["parameters", 0, "events", 0, "cnsr"], 1), r"events\[0\]: cnsr must be 0"),
        (_spec_with(["parameters", 0, "censors", 0, "cnsr"], 0), r"censors\[0\]: cnsr must be an"),
        (_spec_with(["parameters", 0, "events", 0, "cnsdtdsc"], "x"), "an event has none"),
        (
            _spec_with(["parameters", 0, "events", 0], "death"),
            r"events\[0\]: unknown source 'death'",
        ),
        (_spec_with(["parameters", 0, "events"], []), "events must be a non-empty list"),
        (
            _spec_with(["parameters", 0, "events", 0, "where"], {"var": "AVALC", "eq": True}),
            r"PFS: events\[0\]: where: value True must be text",
        ),
        (
            _spec_with(["parameters", 0, "events", 0, "where"], {"var": "X", "equals": 1}),
            r"PFS: events\[0\]: where: a condition needs exactly one of \[.eq.",
        ),
        (
            _spec_with(["parameters", 0, "start"], {"date": "RANDDT", "where": {}}),
            "takes no 'where'",
        ),
        (_spec_with(["adsl_vars"], ["AVAL"]), r"adsl_vars \['AVAL'\]"),
        (
            _spec_with(["parameters", 0, "events", 0, "if_any"], ["nact"]),
            r"PFS: events\[0\]: if_any: unknown source 'nact'",
        ),
        (
            _spec_with(["parameters", 0, "events", 0, "unless_any"], "pd"),
            "unless_any must be a non-empty list of source names",
        ),
        (
            {
                "sources": {"loop": {**src("PD", "PD"), "if_any": ["loop"]}},
                **one_param(["loop"]),
            },
            "if_any: source 'loop' refers back to itself",
        ),
        ({"parameters": []}, "parameters must be a non-empty list"),
    ],
)
def test_bad_spec_gives_a_clear_error(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(TteSpecError, match=message):
        parse_tte_spec(spec)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dataset": "ADEVENT"}, r"PFS: events\[0\]: dataset ADEVENT was not given"),
        ({"date": "AENDT"}, r"PFS: events\[0\]: ADRS has no variable\(s\) \['AENDT'\]"),
        ({"where": {"var": "AVALC", "eq": "Y"}}, r"ADRS has no variable\(s\) \['AVALC'\]"),
        ({"where": {"var": "ASEQ", "eq": "1"}}, "ASEQ is numeric"),
        ({"before": "NACTDT"}, r"PFS: events\[0\]: ADSL has no variable\(s\) \['NACTDT'\]"),
    ],
)
def test_spec_that_does_not_fit_the_data_names_parameter_and_key(
    change: dict[str, Any], message: str
) -> None:
    spec = one_param([{**src("PD", "PD"), **change}])
    adrs = make_adrs([("S1-1", "PD", "2024-02-01")])
    with pytest.raises(TteSpecError, match=message):
        build_tte(spec, {"ADSL": make_adsl(X=[1]), "ADRS": adrs})


def test_load_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "adtte.yaml"
    path.write_text("parameters:\n  - paramcd: OS\n    param: Overall Survival\n", encoding="utf-8")
    with pytest.raises(TteSpecError, match=rf"{path.name}: parameter OS: missing key"):
        load_tte_spec(path)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"var": "C", "eq": "a"}, [True, False, False, False]),
        ({"var": "C", "ne": "a"}, [False, True, False, False]),
        ({"var": "C", "in": ["a", "b"]}, [True, True, False, False]),
        ({"var": "C", "not_in": ["a"]}, [False, True, False, False]),
        ({"var": "C", "is_null": True}, [False, False, True, True]),
        ({"var": "N", "not_null": True}, [True, True, True, False]),
        ({"var": "N", "in": [1, 3]}, [True, False, True, False]),
        (
            {"all": [{"var": "C", "not_null": True}, {"var": "N", "eq": 2}]},
            [False, True, False, False],
        ),
        ({"any": [{"var": "C", "eq": "a"}, {"var": "N", "eq": 3}]}, [True, False, True, False]),
        ({"not": {"var": "C", "eq": "a"}}, [False, True, True, True]),
    ],
)
def test_conditions(condition: dict[str, Any], expected: list[bool]) -> None:
    frame = pd.DataFrame({"C": [" a", "b ", None, None], "N": [1.0, 2.0, 3.0, None]})
    assert frame_mask(parse(condition, "where", named("var")), frame).tolist() == expected


def test_condition_errors() -> None:
    with pytest.raises(ConditionError, match="'all' stands alone"):
        parse({"all": [{"var": "C", "eq": "a"}], "var": "C"}, "where", named("var"))
    with pytest.raises(ConditionError, match="write not_null: true"):
        parse({"var": "C", "not_null": "yes"}, "where", named("var"))
    with pytest.raises(ConditionError, match="unknown variable 'Z'"):
        frame_mask(
            parse({"var": "Z", "eq": "a"}, "where", named("var")), pd.DataFrame({"C": ["a"]})
        )

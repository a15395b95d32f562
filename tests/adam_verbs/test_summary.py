"""merge_summary."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.adam_verbs.frames import ADSL, AE, dates, day, described, run, values
from transforms.adam.spec import load_adam_spec
from transforms.errors import SpecError

# Subject 1: 54 mg for 14 days, 81 mg for 6 days (and a record of another treatment);
# subject 2: one patch without an end (it ends on its start: 1 day); subject 3: none.
EX = pd.DataFrame(
    {
        "USUBJID": ["1", "1", "1", "2"],
        "EXTRT": ["DRUG", "DRUG", "OTHER", "DRUG"],
        "EXDOSE": [54.0, 81.0, 100.0, 54.0],
        "EXSTDTC": ["2025-01-01", "2025-01-15", "2025-01-01", "2025-02-10"],
        "EXENDTC": ["2025-01-14", "2025-01-20", "2025-01-02", None],
    }
)
CUMDOSE = """
- {verb: records, from: {dataset: ADSL}}
- verb: merge_summary
  var: CUMDOSE
  function: sum
  expr: EXDOSE * EXDURD
  missing: 0
  from:
    dataset: EX
    where: {var: EXTRT, eq: DRUG}
    derive:
      - {verb: date, var: EXSTDT, dtc: EXSTDTC}
      - {verb: date, var: EXENDT, dtc: [EXENDTC, EXSTDTC]}
      - {verb: duration, var: EXDURD, start: EXSTDT, end: EXENDT}
"""


def _summary(function: str, extra: str = "", sdtm: pd.DataFrame = AE) -> list[object]:
    steps = (
        "[{verb: records, from: {dataset: ADSL}}, "
        f"{{verb: merge_summary, var: X, function: {function}, from: {{dataset: AE}}{extra}}}]"
    )
    return values(run(steps, sdtm={"AE": sdtm}, adam={"ADSL": ADSL}), "X")


def test_merge_summary_sums_dose_times_days_per_subject_with_a_default_for_none() -> None:
    out = run(CUMDOSE, sdtm={"EX": EX}, adam={"ADSL": ADSL})
    # 1: 54 x 14 + 81 x 6 = 756 + 486 (OTHER filtered out); 2: 54 x 1; 3: no record -> 0.
    assert values(out, "CUMDOSE") == [1242.0, 54.0, 0.0]
    assert list(out["USUBJID"]) == ["1", "2", "3"] and len(out) == 3
    assert described(CUMDOSE)["CUMDOSE"] == (
        'Sum of EXDOSE * EXDURD over the records of EX where EXTRT = "DRUG", by USUBJID '
        "(EXSTDT: EXSTDTC as a date; EXENDT: EXENDTC (else EXSTDTC) as a date; "
        "EXDURD: EXENDT - EXSTDT + 1); none: 0"
    )


def test_merge_summary_without_missing_leaves_subjects_without_records_null() -> None:
    out = run(CUMDOSE.replace("  missing: 0\n", ""), sdtm={"EX": EX}, adam={"ADSL": ADSL})
    assert values(out, "CUMDOSE") == [1242.0, 54.0, None]


def test_merge_summary_mean_min_max_count_skip_nulls() -> None:
    # AE of subject 1: AESEQ 1, 2, 3; AETOXGR "1", "3", "2"; AEENDTC one null of three.
    assert _summary("mean", ", expr: AESEQ") == [2.0, 1.0, None]
    assert _summary("sum", ", expr: AESEQ * 10 + 1") == [63.0, 11.0, None]
    assert _summary("max", ", expr: AETOXGR") == ["3", "x", None]  # text keeps its values
    assert _summary("min", ", expr: AEBODSYS") == ["GI", "GI", None]
    assert _summary("count", "") == [3.0, 1.0, None]
    assert _summary("count", ", expr: AEENDTC, missing: 0") == [2.0, 1.0, 0.0]
    # A group of nulls only: null, not 0 (sum) or an error (max).
    nan = float("nan")
    nulls = AE.assign(AESEQ=[nan, nan, nan, 4.0], AETOXGR=pd.Series([None, None, None, "x"]))
    assert _summary("sum", ", expr: AESEQ", nulls) == [None, 4.0, None]
    assert _summary("max", ", expr: AETOXGR", nulls) == [None, "x", None]


def test_merge_summary_min_of_a_date_stays_a_date() -> None:
    ae = AE.assign(ASTDT=dates("2025-01-05", None, "2024-12-30", "2025-03-01"))
    assert _summary("min", ", expr: ASTDT", ae) == [day("2024-12-30"), day("2025-03-01"), None]


def test_merge_summary_first_and_last_take_the_record_in_order() -> None:
    # Subject 1 by AESTDTC: 2024-12-30 (grade 2), 2025-01 (3), 2025-01-05 (1).
    assert _summary("first", ", expr: AETOXGR, order: [AESTDTC]") == ["2", "x", None]
    assert _summary("last", ", expr: AETOXGR, order: [AESTDTC]") == ["1", "x", None]
    assert _summary("first", ", expr: AESEQ, order: [AESEQ desc]") == [3.0, 1.0, None]
    text = described(
        "[{verb: merge_summary, var: X, function: last, expr: AETOXGR, order: [AESTDTC],"
        " from: {dataset: AE}}]"
    )["X"]
    assert text == "AETOXGR of the last record by AESTDTC of AE, by USUBJID"


def test_merge_summary_groups_by_several_keys() -> None:
    out = run(
        "[{verb: records, from: {dataset: AE}}, {verb: merge_summary, var: N,"
        " function: count, by: [USUBJID, AEBODSYS], from: {dataset: AE}}]",
        sdtm={"AE": AE},
    )
    assert values(out, "N") == [2.0, 2.0, 1.0, 1.0]


def test_merge_summary_names_an_unknown_source_variable() -> None:
    with pytest.raises(
        SpecError,
        match=r"^test.yaml: ADXX.CUMDOSE: derivations\[1\] merge_summary: expr: "
        r"unknown variable\(s\) \['EXDOS'\] in EX$",
    ):
        run(CUMDOSE.replace("EXDOSE *", "EXDOS *"), sdtm={"EX": EX}, adam={"ADSL": ADSL})


def test_merge_summary_names_an_unknown_function_with_the_file(tmp_path: Path) -> None:
    spec = tmp_path / "adsl.yaml"
    spec.write_text(
        "dataset: ADSL\nlabel: X\nstructure: ADSL\nkeys: [USUBJID]\nderivations:\n"
        "  - {verb: records, from: {dataset: DM}}\n"
        "  - {verb: merge_summary, var: CUMDOSE, function: median, expr: EXDOSE,"
        " from: {dataset: EX}}\n"
        "variables:\n  - {name: USUBJID, origin: Predecessor, source: DM.USUBJID}\n"
    )
    with pytest.raises(
        SpecError,
        match=r"adsl.yaml: ADSL.CUMDOSE: derivations\[1\] merge_summary: function: "
        r"must be one of \['sum', 'mean', 'min', 'max', 'count', 'first', 'last'\], "
        r"not 'median'",
    ):
        load_adam_spec(spec)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("function: first, expr: AESEQ", r"order: first needs an order"),
        ("function: sum, expr: AESEQ, order: [AESEQ]", r"order: only first and last take"),
        ("function: mean", r"expr: mean needs an expr"),
        ("function: sum, expr: AESEQ +", r"expr: not an arithmetic expression"),
    ],
)
def test_merge_summary_refuses_arguments_that_do_not_fit(args: str, message: str) -> None:
    with pytest.raises(SpecError, match=r"ADXX.X: derivations\[0\] merge_summary: " + message):
        described(f"[{{verb: merge_summary, var: X, from: {{dataset: AE}}, {args}}}]")

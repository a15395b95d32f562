"""merge_vars, extreme_date."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.adam_verbs.frames import ADSL, AE, day, described, run, values
from transforms.errors import SpecError


def test_merge_vars_joins_on_the_key_and_renames() -> None:
    out = run(
        "[{verb: records, from: {dataset: AE}}, "
        "{verb: merge_vars, from: {dataset: ADSL}, vars: {TRTSDT: TRTSDT, ARMX: ARM}}]",
        sdtm={"AE": AE},
        adam={"ADSL": ADSL},
    )
    assert values(out, "ARMX") == ["B", "B", "B", "A"]
    assert values(out, "TRTSDT")[3] == day("2025-02-10")


def test_merge_vars_picks_the_first_or_last_record_by_order_and_fills_missing() -> None:
    steps = """
    - {verb: records, from: {dataset: ADSL}}
    - verb: merge_vars
      from: {dataset: AE, where: {var: AEBODSYS, eq: GI}}
      order: [AESEQ]
      mode: last
      vars: {LASTGI: AESEQ, GR: AETOXGR}
      missing: {GR: NONE}
    """
    out = run(steps, sdtm={"AE": AE}, adam={"ADSL": ADSL})
    assert values(out, "LASTGI") == [2.0, 1.0, None]
    assert values(out, "GR") == ["3", "x", "NONE"]
    text = described(steps)["GR"]
    assert text.startswith("AE.AETOXGR of the last record by AESEQ of AE where AEBODSYS")
    assert text.endswith(", by USUBJID; none: NONE")


def test_merge_vars_keep_matched_drops_records_without_a_match() -> None:
    out = run(
        "[{verb: records, from: {dataset: ADSL}}, "
        "{verb: merge_vars, from: {dataset: AE, where: {var: AESEQ, eq: 3}}, vars: [AESEQ],"
        " keep: matched}]",
        sdtm={"AE": AE},
        adam={"ADSL": ADSL},
    )
    assert values(out, "USUBJID") == ["1"]


def test_merge_vars_refuses_a_key_that_is_not_unique() -> None:
    with pytest.raises(
        SpecError,
        match=r"test.yaml: ADXX: .*merge_vars: by: \['USUBJID'\] is "
        r"not a unique key of AE",
    ):
        run(
            "[{verb: records, from: {dataset: ADSL}}, "
            "{verb: merge_vars, from: {dataset: AE}, vars: [AESEQ]}]",
            sdtm={"AE": AE},
            adam={"ADSL": ADSL},
        )


def test_merge_vars_names_an_unknown_source_variable() -> None:
    with pytest.raises(
        SpecError, match=r"merge_vars: vars: unknown variable\(s\) \['NOPE'\] in AE"
    ):
        run(
            "[{verb: records, from: {dataset: ADSL}}, "
            "{verb: merge_vars, from: {dataset: AE}, vars: [NOPE], order: [AESEQ]}]",
            sdtm={"AE": AE},
            adam={"ADSL": ADSL},
        )


def test_extreme_date_takes_the_latest_complete_date_never_after_the_cap() -> None:
    steps = """
    - {verb: records, from: {dataset: ADSL}}
    - verb: extreme_date
      var: LSTALVDT
      not_after: DTHDT
      sources:
        - {dataset: AE, dates: [AESTDTC, AEENDTC]}
        - {dataset: ADSL, dates: [TRTEDT], where: {var: ARM, eq: B}}
    """
    ae = AE.assign(TRTEDT=None)
    adsl = ADSL.assign(TRTEDT=pd.Series(["2025-03-01", "2025-02-20", None]))  # as ISO text
    out = run(steps, sdtm={"AE": ae}, adam={"ADSL": adsl})
    # 1: max(2025-01-05, 2025-01-10, 2024-12-30, TRTEDT 2025-03-01 (arm B)) = 2025-03-01;
    # 2: 2025-03-03 (AE end) is after death 2025-03-01: the death date; 3: no date at all.
    assert values(out, "LSTALVDT") == [day("2025-03-01"), day("2025-03-01"), None]
    assert "never after DTHDT" in described(steps)["LSTALVDT"]
    assert pd.api.types.is_datetime64_any_dtype(out["LSTALVDT"])

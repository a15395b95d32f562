"""records, filter, seq."""

from __future__ import annotations

import pytest

from tests.adam_verbs.frames import ADSL, AE, described, run, values
from transforms.errors import SpecError


def test_records_takes_the_rows_of_a_dataset_that_meet_where() -> None:
    out = run(
        "[{verb: records, from: {dataset: AE, where: {var: AEBODSYS, eq: GI}}}]", sdtm={"AE": AE}
    )
    assert values(out, "AESEQ") == [1.0, 2.0, 1.0]
    # a second records step appends
    out = run(
        "[{verb: records, from: {dataset: ADSL}}, {verb: records, from: {dataset: ADSL}}]",
        adam={"ADSL": ADSL},
    )
    assert values(out, "USUBJID") == ["1", "2", "3", "1", "2", "3"]


def test_records_of_an_unknown_dataset_names_file_and_verb() -> None:
    with pytest.raises(
        SpecError, match=r"test.yaml: ADXX: derivations\[0\] records: from: unknown dataset 'XX'"
    ):
        run("[{verb: records, from: {dataset: XX}}]")


def test_filter_keeps_the_records_where_the_condition_holds() -> None:
    out = run(
        "[{verb: records, from: {dataset: AE}}, {verb: filter, where: {var: USUBJID, eq: '2'}}]",
        sdtm={"AE": AE},
    )
    assert values(out, "AESEQ") == [1.0]


def test_seq_numbers_records_per_subject_in_order() -> None:
    steps = (
        "[{verb: records, from: {dataset: AE}}, "
        "{verb: seq, var: ASEQ, order: [AESTDTC, AESEQ desc]}]"
    )
    out = run(steps, sdtm={"AE": AE})
    # subject 1 by AESTDTC: 2024-12-30 (3), 2025-01 (2), 2025-01-05 (1); subject 2: one
    assert list(zip(values(out, "AESEQ"), values(out, "ASEQ"), strict=True)) == [
        (3.0, 1.0),
        (2.0, 2.0),
        (1.0, 3.0),
        (1.0, 1.0),
    ]
    assert described(steps)["ASEQ"] == "1, 2, ... per USUBJID by AESTDTC, AESEQ (descending)"

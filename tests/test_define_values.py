"""Define-XML's reading of a written dataset (transforms.define.values): a Parquet row group
at a time gives what the whole file gives."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat

from transforms.define.values import DatasetValues

DATA = pd.DataFrame(
    {
        "TESTCD": ["B", "A", "B", "C", None, "A", "B"],
        "TEST": ["Bee", "Ay", "Bee2", "See", "None", "Ay2", "Bee3"],
        "VALUE": [1.0, -0.0, 1.0, None, 2.5, 2.5, 1.0],
    }
)


def _written(folder: Path, name: str, group_rows: int | None) -> DatasetValues:
    folder.mkdir()
    pyreadstat.write_xport(DATA, str(folder / f"{name}.xpt"), table_name=name.upper())
    if group_rows is not None:
        table = pa.Table.from_pandas(DATA, preserve_index=False)
        pq.write_table(table, folder / f"{name}.parquet", row_group_size=group_rows)
    return DatasetValues(folder / f"{name}.xpt")


def test_row_groups_give_the_values_of_the_whole_file(tmp_path: Path) -> None:
    framed = _written(tmp_path / "framed", "xx", group_rows=2)
    whole = _written(tmp_path / "whole", "xx", group_rows=len(DATA))
    xpt = _written(tmp_path / "xpt", "xx", group_rows=None)  # no Parquet: the XPT, whole
    assert pq.ParquetFile(tmp_path / "framed" / "xx.parquet").num_row_groups == 4
    for other in (whole, xpt):
        for column in DATA.columns:
            pd.testing.assert_series_equal(framed.distinct(column), other.distinct(column))
        pd.testing.assert_frame_equal(
            framed.counts("TESTCD", "VALUE"), other.counts("TESTCD", "VALUE")
        )
        pd.testing.assert_frame_equal(framed.first("TESTCD", "TEST"), other.first("TESTCD", "TEST"))
    assert framed.distinct("TESTCD").tolist() == ["B", "A", "C", ""]  # first seen first
    counts = framed.counts("TESTCD", "VALUE")
    assert counts.loc[counts["TESTCD"] == "B", "n"].tolist() == [3]
    first = framed.first("TESTCD", "TEST").set_index("TESTCD")["TEST"].to_dict()
    assert first == {"B": "Bee", "A": "Ay", "C": "See", "": "None"}

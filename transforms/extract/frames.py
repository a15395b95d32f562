"""What every raw form reader shares: the frame's layout, the size limit and the error.

A frame read from a form file opens with ``__ROW`` (int64, where the record sits in the
source file), then the file's columns, names upper-cased, every value of pandas ``string``
dtype with ``<NA>`` for missing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from transforms.errors import UserError

ROW = "__ROW"
"""Name of the source-position column that opens every frame read."""

TEXT = pd.StringDtype()
"""The dtype of every value column: pandas ``string`` with ``<NA>`` for missing."""

MAX_FORM_BYTES = 1 << 30
"""Default size limit of one form file (``CDISC_MAX_FORM_BYTES`` overrides it)."""


class RawFileError(UserError, ValueError):
    """A raw form file breaks a reading rule; the message names file, place and rule."""

    def __init__(
        self,
        path: Path,
        problem: str,
        rule: str,
        *,
        line: int | None = None,
        record: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path, self.rule, self.line, self.record, self.column = (
            path,
            rule,
            line,
            record,
            column,
        )
        where = "".join(
            [
                f", line {line}" if line is not None else "",
                f", record {record}" if record is not None else "",
                f", column {column}" if column is not None else "",
            ]
        )
        super().__init__(f"{path}{where}: {problem} (rule {rule})")


def _form_bytes_setting() -> int | None:
    setting = os.environ.get("CDISC_MAX_FORM_BYTES", "").strip()
    if not setting:
        return None
    if not setting.isdigit() or int(setting) < 1:
        raise ValueError(f"CDISC_MAX_FORM_BYTES={setting!r}: expected a number of bytes")
    return int(setting)


def max_form_bytes() -> int:
    """The size limit of a form file read whole (ODM, SAS, XPT; reading takes a few times
    its size in memory): ``CDISC_MAX_FORM_BYTES`` (bytes) if set, else 1 GiB."""
    limit = _form_bytes_setting()
    return MAX_FORM_BYTES if limit is None else limit


def streamed_form_bytes() -> int | None:
    """The size limit of a CSV form file that extract reads a block at a time (its memory
    does not grow with the file: the LB of a 50,000-subject study is 3 GB):
    ``CDISC_MAX_FORM_BYTES`` (bytes) if set, else none."""
    return _form_bytes_setting()


def column_names(path: Path, raw: Sequence[str], line: int | None = None) -> list[str]:
    """Upper-case the column names; refuse empty, reserved and duplicate names."""
    seen: dict[str, str] = {}
    for position, original in enumerate(raw, start=1):
        name = original.upper()
        if not name:
            raise RawFileError(path, f"column {position} has no name", "RAW-HEADER", line=line)
        if name == ROW:
            raise RawFileError(path, f"column name {ROW} is reserved", "RAW-HEADER", line=line)
        if name in seen:
            raise RawFileError(
                path,
                f"duplicate column name {original!r} (same as {seen[name]!r} once upper-cased)",
                "RAW-HEADER",
                line=line,
                column=name,
            )
        seen[name] = original
    return list(seen)


def make_frame(names: list[str], columns: Sequence[pd.Series], rows: np.ndarray) -> pd.DataFrame:
    """Assemble ``__ROW`` and the text columns into one frame."""
    frame = pd.DataFrame(
        {name: col.reset_index(drop=True) for name, col in zip(names, columns, strict=True)}
    )
    frame.insert(0, ROW, np.asarray(rows, dtype=np.int64))
    return frame

"""Small hand-made frames and a runner shared by the verb tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import yaml

from transforms.adam.vocabulary import Inputs, Where, build, parse_steps


def day(text: str | None) -> Any:
    return pd.NaT if text is None else pd.Timestamp(text)


def dates(*texts: str | None) -> pd.Series:
    return pd.Series([day(t) for t in texts], dtype="datetime64[s]")


def run(
    steps: str,
    sdtm: Mapping[str, pd.DataFrame] | None = None,
    adam: Mapping[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Parse the steps (YAML text) as a spec's derivations and run them."""
    parsed = parse_steps(yaml.safe_load(steps), Where("test.yaml", "ADXX"))
    return build(parsed, Inputs(sdtm=sdtm or {}, adam=adam or {}))


def described(steps: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for step in parse_steps(yaml.safe_load(steps), Where("test.yaml", "ADXX")):
        out.update(step.describe())
    return out


def values(frame: pd.DataFrame, var: str) -> list[Any]:
    return [None if pd.isna(v) else v for v in frame[var]]


AE = pd.DataFrame(
    {
        "USUBJID": ["1", "1", "1", "2"],
        "AESEQ": [1.0, 2.0, 3.0, 1.0],
        "AEBODSYS": ["GI", "GI", "SKIN", "GI"],
        "AETOXGR": ["1", "3", "2", "x"],
        "AESTDTC": ["2025-01-05", "2025-01", "2024-12-30", "2025"],
        "AEENDTC": ["2025-01-10", None, "2025-02", "2025-03-03"],
    }
)
ADSL = pd.DataFrame(
    {
        "USUBJID": ["1", "2", "3"],
        "AGE": [40.0, 65.0, None],
        "ARM": ["B", "A", None],
        "TRTSDT": dates("2025-01-03", "2025-02-10", None),
        "TRTEDT": dates("2025-03-01", "2025-02-20", None),
        "DTHDT": dates(None, "2025-03-01", None),
    }
)

"""Values put together per record from other rules (joined, extracted, the first or the
extreme one), and the record's sequence number."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, cast

import pandas as pd

from transforms.sdtm import dates
from transforms.sdtm.algorithms.base import (
    Arg,
    Context,
    Parsing,
    Rule,
    algorithm,
    choice,
    extract,
    rules,
    text,
    texts,
    trimmed,
)


@algorithm("concat")
@dataclass(frozen=True)
class Concat:
    """Parts joined by a separator; null when any part is null."""

    parts: Annotated[tuple[Rule, ...], Arg(rules)]
    sep: Annotated[str, Arg(text, default="")]

    def evaluate(self, ctx: Context) -> pd.Series:
        values = [p.evaluate(ctx).astype("string") for p in self.parts]
        out = values[0]
        for v in values[1:]:
            out = out + self.sep + v
        return out


def _pattern(value: Any, p: Parsing) -> re.Pattern[str]:
    try:
        pattern = re.compile(str(value))
    except re.error as exc:
        raise p.fail(f"pattern {value!r} is not valid: {exc}") from exc
    if pattern.groups < 1:
        raise p.fail(f"pattern {pattern.pattern!r} captures no group")
    return pattern


@algorithm("extract")
@dataclass(frozen=True)
class Extract:
    """The part of a text a regular expression captures (its first group, or the group
    named ``value``): the site and subject numbers of a combined ``701-1015``. A value the
    expression does not match is listed."""

    pattern: Annotated[re.Pattern[str], Arg(_pattern)]
    source: Annotated[Rule, Arg()]

    def evaluate(self, ctx: Context) -> pd.Series:
        raw = self.source.evaluate(ctx).astype("string")
        found = dates.by_unique(raw, partial(extract, pattern=self.pattern.pattern))
        out = trimmed(found["value"] if "value" in self.pattern.groupindex else found.iloc[:, 0])
        ctx.report(raw.notna() & out.isna(), raw, "EXTRACT",
                   f"does not match the pattern {self.pattern.pattern!r}")  # fmt: skip
        return out


@algorithm("coalesce")
@dataclass(frozen=True)
class Coalesce:
    """The first non-null of several sources."""

    sources: Annotated[tuple[Rule, ...], Arg(rules, key="of")]

    def evaluate(self, ctx: Context) -> pd.Series:
        values = [s.evaluate(ctx) for s in self.sources]
        out = values[0]
        for v in values[1:]:
            out = out.fillna(v)
        return out


@algorithm("extreme")
@dataclass(frozen=True)
class Extreme:
    """Per row, the smallest or largest of several sources (ISO dates compare as text)."""

    pick: Annotated[str, Arg(choice("min", "max"))]
    sources: Annotated[tuple[Rule, ...], Arg(rules, key="of")]

    def evaluate(self, ctx: Context) -> pd.Series:
        values = [s.evaluate(ctx).astype("string") for s in self.sources]
        frame = pd.concat(values, axis=1, ignore_index=True)  # sources may share a name
        stacked = frame.stack().dropna()
        grouped = stacked.groupby(level=0)
        picked = grouped.min() if self.pick == "min" else grouped.max()
        return cast(pd.Series, picked).reindex(ctx.frame.index).astype("string")


@algorithm("seq")
@dataclass(frozen=True)
class Seq:
    """--SEQ: 1, 2, ... per subject (or per ``by`` variables, e.g. TSSEQ per TSPARMCD) in
    the dataset's sort order; set by the builder after sorting."""

    by: Annotated[tuple[str, ...], Arg(texts, default=["USUBJID"])]

    def evaluate(self, ctx: Context) -> pd.Series:
        return pd.Series(float("nan"), index=ctx.frame.index, dtype="float64")

    def number(self, records: pd.DataFrame) -> pd.Series:
        """1, 2, ... per ``by`` group of `records`, in their order."""
        return (records.groupby(list(self.by), sort=False).cumcount() + 1).astype("float64")

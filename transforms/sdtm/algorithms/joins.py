"""Values from elsewhere: another form joined on the subject, the subject's DM record, a
study-level figure of DM, the subject's latest date in every other dataset."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any

import numpy as np
import pandas as pd

from transforms.conditions import Condition
from transforms.sdtm.algorithms.base import (
    FORM,
    KEYS,
    Arg,
    Context,
    Parsing,
    Rule,
    SpecError,
    algorithm,
    choice,
    parse_rule,
    rules,
    shorthand,
    text,
    trimmed,
)
from transforms.sdtm.algorithms.cases import holds, parse_condition
from transforms.sdtm.algorithms.records import Extreme


def _form(value: Any, p: Parsing) -> str:
    return p.scope.in_form(str(value)).form


def _keys(value: Any, p: Parsing) -> tuple[str, ...]:
    """Join keys: columns of the current form and of the merged one."""
    inner = p.scope.in_form(p.so_far["form"])
    by = tuple(value)
    for key in by:
        if key not in p.scope.form_columns or key not in inner.form_columns:
            raise p.fail(f"key {key!r} must be a column of {p.scope.form} and {inner.form}")
    return by


def _inner_rule(value: Any, p: Parsing) -> Rule:
    """A rule over the rows of the merged form."""
    return parse_rule(value, p.scope.in_form(p.so_far["form"]))


def _inner_condition(value: Any, p: Parsing) -> Condition:
    """A condition over the rows of the merged form."""
    return parse_condition(value, p.scope.in_form(p.so_far["form"]), "merge where")


@algorithm("merge")
@dataclass(frozen=True)
class Merge:
    """A value from another form, joined on the subject (or other key) columns.

    ``value`` is evaluated over the other form's rows (optionally ``where`` a condition
    holds); ``pick`` takes the ``only`` row per key (more than one is an error), or the
    ``min``/``max`` value. ``by: []`` joins on nothing: every row gets the other form's one
    value (a study-level fact of ``_STUDY``, such as the data cut-off DCUTDTC).
    """

    form: Annotated[str, Arg(_form, names=FORM)]
    by: Annotated[tuple[str, ...], Arg(_keys, default=["SUBJID"], names=KEYS)]
    pick: Annotated[str, Arg(choice("only", "min", "max"), default="only")]
    where: Annotated[Condition | None, Arg(_inner_condition, default=None, other_form=True)]
    value: Annotated[Rule, Arg(_inner_rule, other_form=True)]

    def evaluate(self, ctx: Context) -> pd.Series:
        other = ctx.forms[self.form]
        inner = replace(ctx, frame=other, form=self.form, vars={})
        values = self.value.evaluate(inner)
        table = self._keys(other).assign(v=values)
        if self.where is not None:
            table = table[holds(self.where, inner)]
        kcols = [c for c in table.columns if c != "v"]
        if self.pick == "only":
            dup = table.duplicated(kcols, keep=False)
            same = f" for the same {'/'.join(self.by)}" if self.by else ""
            inner.report(
                pd.Series(dup, index=table.index).reindex(other.index, fill_value=False),
                values,
                "MERGE",
                f"more than one {self.form} record{same}",
            )
            table = table[~dup]
        table = table.dropna(subset=["v"])
        grouped = table.groupby(kcols, dropna=False)["v"]
        picked = grouped.max() if self.pick == "max" else grouped.min()
        left = self._keys(ctx.frame)
        index = pd.MultiIndex.from_frame(left) if len(kcols) > 1 else pd.Index(left["k0"])
        result = picked.reindex(index)
        return pd.Series(result.to_numpy(), index=ctx.frame.index, dtype=picked.dtype)

    def _keys(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The join key columns of `frame` (k0, k1, ...): its `by` columns trimmed, or with
        ``by: []`` one constant key, so every row gets the form's one value."""
        if not self.by:
            return pd.DataFrame({"k0": pd.Series("*", index=frame.index, dtype="string")})
        return pd.DataFrame({f"k{i}": trimmed(frame[k]) for i, k in enumerate(self.by)})


def _dm_variable(value: Any, p: Parsing) -> str:
    if not p.scope.with_dm:
        raise p.scope.fail("{dm: ...} is only available in datasets mapped after DM")
    return str(value)


def _dm_key(value: Any, p: Parsing) -> str:
    by = str(value)
    if by not in p.scope.known_vars:
        raise p.scope.fail(f"{{dm: ..., by: {by}}}: {by} is not derived before this one")
    return by


@shorthand("dm")
@dataclass(frozen=True)
class DmValue:
    """``{dm: VAR}``: the subject's value of a DM variable (joined on SUBJID).

    A record whose subject is not in DM is listed (rule SUBJECT-NOT-IN-DM)."""

    name: Annotated[str, Arg(_dm_variable, key="dm")]
    # a variable of DM and of this dataset (derived before) to join on, for SUBJID
    by: Annotated[str | None, Arg(_dm_key, default=None)]

    def implicit_keys(self) -> tuple[str, ...]:
        """Without `by`, the form's SUBJID is the key the DM value is looked up by."""
        return () if self.by else ("SUBJID",)

    def check(self, p: Parsing) -> None:
        if self.by is None and "SUBJID" not in p.scope.form_columns:
            raise p.scope.fail(
                f"{{dm: ...}} needs a SUBJID column in form {p.scope.form} (or give 'by': a "
                "variable such as USUBJID derived before)"
            )

    def evaluate(self, ctx: Context) -> pd.Series:
        key = self.by or "SUBJID"
        dm = _indexed(ctx.datasets["DM"], key)
        if self.name not in dm.columns:
            raise SpecError(f"{ctx.dataset}.{ctx.column}: DM has no variable {self.name}")
        subject = trimmed(ctx.vars[self.by] if self.by else ctx.frame["SUBJID"])
        # Looked up once per distinct subject (a group of LB's 262,144 rows holds a few
        # hundred), each row then given its subject's (code -1, a null subject: the last).
        # Not Series.isin: for Arrow text it makes a Python object of every DM subject per
        # call, three quarters of mapping LB at 50,000 subjects, a group at a time.
        codes, distinct = pd.factorize(subject)
        at = dm.index.get_indexer(pd.Index(distinct))
        known = pd.Series(np.append(at >= 0, False)[codes], index=subject.index, dtype=bool)
        ctx.report(~known, subject, "SUBJECT-NOT-IN-DM", "subject is not in DM")
        labels = pd.Index(distinct).where(at >= 0)  # a subject not in DM: null, as before
        if (codes < 0).any():
            labels = labels.append(pd.Index([None], dtype=labels.dtype))
        values = dm[self.name].reindex(labels).to_numpy()[codes]
        return pd.Series(values, index=ctx.frame.index, dtype=dm[self.name].dtype)


_LAST_INDEXED: list[tuple[pd.DataFrame, str, pd.DataFrame]] = []


def _indexed(dm: pd.DataFrame, key: str) -> pd.DataFrame:
    """DM indexed by `key`, made once per DM frame and key: a mapping stage reads DM once
    and maps a large dataset a group of subjects at a time, each group looking values up
    in DM a dozen times or more (at 50,000 subjects, LB's 130 groups each copied and hashed
    60,000 DM records that often). The last one made is kept, with the frame it was made
    of (a frame is never changed in place once read)."""
    if _LAST_INDEXED and _LAST_INDEXED[0][0] is dm and _LAST_INDEXED[0][1] == key:
        return _LAST_INDEXED[0][2]
    indexed = dm.set_index(key)
    _LAST_INDEXED[:] = [(dm, key, indexed)]
    return indexed


def _built_dataset(value: Any, p: Parsing) -> str:
    if str(value) != "DM" or not p.scope.with_dm:
        raise p.fail("only DM is built before other datasets")
    return str(value)


@algorithm("aggregate")
@dataclass(frozen=True)
class Aggregate:
    """A study-level figure from a dataset built before: min, max or count of a variable."""

    dataset: Annotated[str, Arg(_built_dataset)]
    func: Annotated[str, Arg(choice("min", "max", "count"))]
    variable: Annotated[str, Arg(text, key="value")]

    def evaluate(self, ctx: Context) -> pd.Series:
        values = ctx.datasets[self.dataset][self.variable].dropna()
        result = {"min": values.min, "max": values.max, "count": values.count}[self.func]()
        text = str(result) if len(values) or self.func == "count" else None
        return pd.Series(text, index=ctx.frame.index, dtype="string")


# The dates of the general observation classes a subject's participation is read from: a
# dataset XX's XXDTC, XXSTDTC and XXENDTC.
PARTICIPATION_DATES = ("DTC", "STDTC", "ENDTC")


@algorithm("participation_end")
@dataclass(frozen=True)
class ParticipationEnd:
    """RFPENDTC: the latest date of the subject's participation in any domain.

    At DM's mapping, the latest of ``of`` (what DM's own forms say: consent, last dose,
    death...); once every other dataset of the study is mapped, the run raises it to the
    subject's latest --DTC, --STDTC or --ENDTC in any of them (:func:`latest_dates`). ISO
    8601 dates compare as text: a partial date counts where it is surely later. No rule of
    another dataset may read the variable, which is final only after them.
    """

    sources: Annotated[tuple[Rule, ...], Arg(rules, key="of")]

    def evaluate(self, ctx: Context) -> pd.Series:
        return Extreme("max", self.sources).evaluate(ctx)


def latest_dates(
    datasets: Mapping[str, pd.DataFrame] | Iterable[tuple[str, pd.DataFrame]],
) -> pd.Series:
    """Per USUBJID, the latest --DTC, --STDTC or --ENDTC of the subject in ``datasets``
    (name -> records, or (name, records) pairs: a dataset a frame of records at a time;
    a dataset without USUBJID is not about subjects)."""
    parts = []
    for name, data in datasets.items() if isinstance(datasets, Mapping) else datasets:
        columns = [f"{name}{suffix}" for suffix in PARTICIPATION_DATES]
        present = [c for c in columns if c in data.columns]
        if "USUBJID" not in data.columns or not present:
            continue
        long = data.melt(id_vars=["USUBJID"], value_vars=present, value_name="DATE")
        long = long[["USUBJID", "DATE"]].dropna()
        parts.append(long["DATE"].astype("string").groupby(long["USUBJID"]).max())
    if not parts:
        return pd.Series(dtype="string")
    return pd.concat(parts).groupby(level=0).max().astype("string")


def raise_to(values: pd.Series, later: pd.Series) -> pd.Series:
    """Each value, or the later of it and ``later`` (ISO 8601 text, aligned)."""
    both = pd.concat([values.astype("string"), later.astype("string")], axis=1)
    return both.max(axis=1, skipna=True).astype("string").where(both.notna().any(axis=1))

"""Time-to-event parameters from event and censoring sources (admiral derive_param_tte):
the declarative builder of transforms/adam/tte.py as a verb."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import pandas as pd

from transforms.adam.tte import ADSL, Parameter, Source, TteSpec, build_tte, parse_tte_spec
from transforms.adam.verbs import base
from transforms.adam.verbs.base import Arg, Inputs, Verb, Where, verb


def keep(raw: Any, where: Where) -> Any:
    return raw


def _names(sources: tuple[Source, ...]) -> str:
    return " and ".join((s.cnsdtdsc or s.evntdesc).lower() for s in sources)


def _applies(source: Source) -> str:
    """When a censoring applies, in words: its if_any / unless_any sources."""
    parts = []
    if source.if_any:
        parts.append(f"with {_names(source.if_any)}")
    if source.unless_any:
        parts.append(f"without {_names(source.unless_any)}")
    return f" ({'; '.join(parts)})" if parts else ""


def _all_sources(param: Parameter) -> Iterator[Source]:
    """Every source a parameter reads, the if_any / unless_any ones among them."""
    todo = [*param.events, *param.censors, *param.if_any]
    while todo:
        source = todo.pop()
        yield source
        todo.extend((*source.if_any, *source.unless_any))


@verb("tte")
@dataclass(frozen=True)
class TimeToEvent(Verb):
    """One record per subject and parameter: the earliest event, else the latest censoring
    (see transforms/adam/tte.py for `sources` and `parameters`). Subjects left without a
    record are listed in reports/unassigned_<dataset>.csv."""

    parameters: Annotated[Any, Arg(keep)]
    sources: Annotated[Any, Arg(keep, None)]
    adsl_vars: Annotated[Any, Arg(keep, None)]
    subject_keys: Annotated[Any, Arg(keep, None)]

    @property
    def spec(self) -> TteSpec:
        raw = {k: v for k, v in vars(self).items() if k != "where" and v is not None}
        return parse_tte_spec(raw, str(self.where))

    def check(self) -> None:
        self.spec  # noqa: B018  (parsed once at load, for its errors)

    @property
    def per_subject(self) -> bool:
        """A subject's records from its own records of the sources (and numbered per
        subject) when the subject keys hold USUBJID."""
        return base.by_subject(self.spec.subject_keys)

    @property
    def records_from(self) -> tuple[str, ...]:
        """ADSL and every dataset a source or an origin reads (a subject only in a source
        is listed as not in ADSL)."""
        spec = self.spec
        names = {ADSL, *(s.dataset for p in spec.parameters for s in _all_sources(p))}
        return tuple(sorted(names | {p.start.dataset for p in spec.parameters}))

    def run(self, data: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
        names = self.records_from
        result = build_tte(self.spec, {n: inputs.dataset(n, self.where) for n in names})
        if len(result.unassigned):
            inputs.listing("unassigned", result.unassigned)
        return (
            pd.concat([data, result.data], ignore_index=True) if len(data.columns) else result.data
        )

    def describe(self) -> dict[str, str]:
        spec = self.spec
        adt, cnsr, starts = [], [], []
        for p in spec.parameters:
            events = ", ".join(s.evntdesc for s in p.events)
            censors = ", ".join(s.cnsdtdsc or s.evntdesc for s in p.censors)
            adt.append(f"{p.paramcd}: the earliest of {events}; none: the latest of {censors}")
            cnsr.append(
                f"{p.paramcd}: 0 for an event; "
                + ", ".join(
                    f"{s.cnsr} censored at {(s.cnsdtdsc or s.evntdesc).lower()}{_applies(s)}"
                    for s in p.censors
                )
            )
            whose = f" (subjects with {_names(p.if_any)})" if p.if_any else ""
            starts.append(f"{p.paramcd}: {p.start.dataset}.{p.start.date}{whose}")
        return {
            "ASEQ": "1, 2, ... per subject in PARAMCD order",
            "STARTDT": "; ".join(starts),
            "ADT": "; ".join(adt) + " (ties to the source listed first; never before STARTDT)",
            "AVAL": "ADT - STARTDT + 1 (an ADT before STARTDT is STARTDT)",
            "CNSR": "; ".join(cnsr),
            "EVNTDESC": "The description of the source that gave ADT",
            "CNSDTDSC": "The description of the censoring date's source",
            "SRCDOM": "Dataset of the source that gave ADT",
            "SRCVAR": "Variable of the source that gave ADT",
            "SRCSEQ": "The sequence number of the source record that gave ADT",
        }

"""Run suites with Great Expectations on whole frames and build the Data Docs.

``great_expectations`` is imported inside these functions only (importing it takes
seconds); Python keeps it imported for the rest of the process, so the cost is paid once
per worker. Each gate call gets its own ephemeral (in-memory) GX context, which takes
milliseconds: no GX project folder is written, nothing of another run can appear in the
Data Docs, and the Data Docs are written into the given folder of the run, made readable
offline (:mod:`transforms.quality.datadocs`). Analytics, progress bars and INFO logs are off.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transforms.conditions import Condition, gx_row_condition
from transforms.jobs.kit import frame_rows
from transforms.quality.checks import GX_SEVERITY, IN_SET, Check, Suite, check_meta
from transforms.quality.datadocs import make_offline

log = logging.getLogger("cdisc.quality")

DOCS_SITE = "run"
PASS_FAIL = {"result_format": "BOOLEAN_ONLY"}
RESULT_FORMAT = {"result_format": "COMPLETE", "return_unexpected_index_query": False}


@dataclass(frozen=True)
class Outcome:
    """One check's result: the failing row positions of the validated frame, and for a
    table-level check (or one GX could not evaluate) what is wrong, in words."""

    check: Check
    success: bool
    positions: np.ndarray
    details: str = ""


@dataclass(frozen=True)
class SuiteRun:
    suite: Suite
    rows: int
    outcomes: tuple[Outcome, ...]


# Expectation configurations computed during one validation, per expectation object (see
# _memoise_configurations); None outside a validation.
_CONFIGURATIONS: ContextVar[dict[int, tuple[Any, Any]] | None] = ContextVar(
    "gx_configurations", default=None
)


def _memoise_configurations(expectation_class: Any) -> None:
    """Make GX's ``Expectation.configuration`` computed once per expectation object while a
    validation of ours runs (:func:`_validate`), and as before everywhere else.

    GX 1.x rebuilds that configuration (a pydantic ``.dict()`` of the whole expectation,
    value set included) each time it reads one argument: about 80 times per expectation
    while it plans the metrics. With CT codelists of up to 2,438 terms as value sets, that
    copying was half of each gate's CPU (the SDTM gate of the 15-subject sample: 13.1 s ->
    8.9 s of CPU with this, the same results and Data Docs). The expectations of a
    validation are not changed while it runs; the cache lives only as long as the run."""
    original = expectation_class.__dict__["configuration"]
    if getattr(original.fget, "memoised", False):
        return

    def configuration(self: Any) -> Any:
        cache = _CONFIGURATIONS.get()
        if cache is None:
            return original.fget(self)
        hit = cache.get(id(self))
        if hit is None or hit[0] is not self:  # keeps self alive: its id is not reused
            hit = cache[id(self)] = (self, original.fget(self))
        return hit[1]

    configuration.memoised = True  # type: ignore[attr-defined]
    expectation_class.configuration = property(configuration, doc=original.__doc__)


# Row-condition filters applied during one validation, per (frame, pandas query): the frame,
# its selected rows as packed bits and its length; None outside a validation (see
# _memoise_row_filters).
_FILTERS: ContextVar[dict[tuple[int, str], tuple[Any, np.ndarray, int]] | None] = ContextVar(
    "gx_row_filters", default=None
)


@dataclass
class _Filtered:
    """The filtered frames kept during one validation, per (frame, query), their rows and
    the most rows they may hold."""

    frames: dict[tuple[int, str], tuple[Any, pd.DataFrame]]
    budget: int
    rows: int = 0


_FILTERED: ContextVar[_Filtered | None] = ContextVar("gx_filtered_frames", default=None)


def _memoise_row_filters(engine_class: Any) -> None:
    """Make GX's pandas engine filter a frame by a row condition once per validation of
    ours (:func:`_validate`), and as before everywhere else.

    GX 1.x runs ``DataFrame.query`` on the whole frame for every metric of an expectation
    with a row condition (3 to 6 per expectation: the condition, its unexpected count, the
    rows, ...), parsing the query anew each time; those queries were a tenth of the raw
    gate's CPU on the 15-subject sample. Within a validation the frame is not changed and a
    query's rows are the same each time, so the rows a query selects are computed once per
    (frame, query) and each call gets them as ``DataFrame.query`` would (``loc`` with the
    same mask). Each query's mask is kept, a bit per row, and its filtered frame too while
    the frames kept in the validation hold at most a quarter of ``frame_rows()`` rows: GX
    filters a frame by the same query for each of an expectation's metrics, and copying
    every column of the selected rows each time was half of the filters' time (a validation
    of distinct records keeps most filtered frames; one of a group of subjects, none).
    Keeping the filtered frames of every condition held several copies of LB at once
    (10,000 subjects: past 12 GiB in the raw gate). GX only reads the frames it gets
    back (it drops rows into new frames)."""
    original = engine_class.__dict__["_apply_row_condition_filter"]
    if getattr(original, "memoised", False):
        return
    from great_expectations.expectations.row_conditions import (
        Condition,
        PassThroughCondition,
        deserialize_row_condition,
    )

    def _apply_row_condition_filter(
        self: Any, data: Any, row_condition: Any, domain_kwargs: dict[str, Any]
    ) -> Any:
        cache = _FILTERS.get()
        if isinstance(row_condition, dict):
            row_condition = deserialize_row_condition(row_condition)
        if cache is None or not isinstance(row_condition, Condition):
            return original(self, data, row_condition, domain_kwargs)
        query = (
            row_condition.pass_through_filter
            if isinstance(row_condition, PassThroughCondition)
            else self.condition_to_filter_clause(row_condition)
        )
        key = (id(data), query)
        hit = cache.get(key)
        if hit is None or hit[0] is not data:  # keeps data alive: its id is not reused
            rows = _selected(data, query)
            if rows is None:
                return original(self, data, row_condition, domain_kwargs)
            hit = cache[key] = (data, np.packbits(rows), len(rows))
        kept = _FILTERED.get()
        if kept is not None and key in kept.frames and kept.frames[key][0] is data:
            return kept.frames[key][1]
        filtered = data.loc[np.unpackbits(hit[1], count=hit[2]).view(bool)]
        if kept is not None and kept.rows + len(filtered) <= kept.budget:
            kept.frames[key] = (data, filtered)
            kept.rows += len(filtered)
        return filtered

    _apply_row_condition_filter.memoised = True  # type: ignore[attr-defined]
    engine_class._apply_row_condition_filter = _apply_row_condition_filter


def _selected(data: pd.DataFrame, query: str) -> np.ndarray | None:
    """The rows ``data.query(query)`` keeps, a flag per row: what it selects rows by
    (``eval``; ``loc`` takes NA as False); None where that is not a boolean per row."""
    mask = data.eval(query)
    if not isinstance(mask, pd.Series) or not pd.api.types.is_bool_dtype(mask.dtype):
        return None
    return mask.to_numpy(dtype=bool, na_value=False)


def rows_meeting(frame: pd.DataFrame, where: Condition) -> np.ndarray:
    """Whether each record of `frame` (indexed 0, 1, ...) meets the condition as GX's
    pandas engine filters the rows of an expectation by it: the same query text, selected
    the same way (not :func:`transforms.conditions.mask`, which trims text, for one)."""
    import_gx()
    from great_expectations.execution_engine import PandasExecutionEngine

    query = PandasExecutionEngine().condition_to_filter_clause(gx_row_condition(where))
    rows = _selected(frame, query)
    if rows is None:  # as GX would: DataFrame.query
        rows = np.zeros(len(frame), dtype=bool)
        rows[frame.query(query).index.to_numpy()] = True
    return rows


# Serialised metric arguments computed during one validation, per the identity of their
# values; None outside a validation (see _memoise_metric_ids).
_METRIC_IDS: ContextVar[dict[tuple[tuple[str, int], ...], tuple[Any, Any]] | None] = ContextVar(
    "gx_metric_ids", default=None
)


def _memoise_metric_ids(id_dict_module: Any) -> None:
    """Make GX serialise the arguments of a metric for its id once per validation of ours.

    Each of the ~20 metric configurations GX plans per expectation names itself by an MD5
    of its arguments turned into JSON-ready values (``IDDict.to_id``), value sets of up to
    2,438 codelist terms included: a tenth of the SDTM gate's CPU on the 15-subject sample.
    The arguments are the expectation's own objects (its memoised configuration), unchanged
    while the validation runs, so the JSON-ready copy is computed once per set of objects;
    ``to_id`` only dumps it to JSON and hashes it."""
    original = id_dict_module.convert_to_json_serializable
    if getattr(original, "memoised", False):
        return

    def convert_to_json_serializable(data: Any) -> Any:
        cache = _METRIC_IDS.get()
        if cache is None or not isinstance(data, dict):
            return original(data)
        key = tuple(sorted((str(k), id(v)) for k, v in data.items()))
        hit = cache.get(key)
        if hit is None or any(hit[0][k] is not v for k, v in data.items()):
            hit = cache[key] = (dict(data), original(data))  # keeps the values alive
        return hit[1]

    convert_to_json_serializable.memoised = True  # type: ignore[attr-defined]
    id_dict_module.convert_to_json_serializable = convert_to_json_serializable


# The validation definition a validation of ours is running; None outside one (see
# _trust_added_definitions).
_RUNNING: ContextVar[Any] = ContextVar("gx_running_definition", default=None)


def _trust_added_definitions(definition_class: Any) -> None:
    """Make GX's ``ValidationDefinition.run`` skip its freshness check for the definition
    :func:`_validate` has just added to the context with its suite (and check as before
    any other).

    The check reads the definition and its suite back from the context's stores and
    compares them field by field with the objects in hand, every expectation and its value
    set included: 3.1 s of the SDTM gate's 46 s under cProfile on the 15-subject sample.
    Both were added to this context the line before the run: they cannot be stale."""
    original = definition_class.__dict__["is_fresh"]
    if getattr(original, "trusted", False):
        return
    from great_expectations.core.freshness_diagnostics import (
        ValidationDefinitionFreshnessDiagnostics,
    )

    def is_fresh(self: Any) -> Any:
        if self.id and _RUNNING.get() is self:
            return ValidationDefinitionFreshnessDiagnostics(errors=[])
        return original(self)

    is_fresh.trusted = True  # type: ignore[attr-defined]
    definition_class.is_fresh = is_fresh


@contextmanager
def configurations_memoised() -> Iterator[None]:
    """Within: each GX expectation's configuration is computed once (see
    :func:`_memoise_configurations`), each row-condition filter applied once per frame
    (see :func:`_memoise_row_filters`) and each metric's arguments serialised once for
    its id (see :func:`_memoise_metric_ids`); the caches are dropped on leaving."""
    import_gx()
    token = _CONFIGURATIONS.set({})
    filters = _FILTERS.set({})
    ids = _METRIC_IDS.set({})
    filtered = _FILTERED.set(_Filtered({}, budget=frame_rows() // 4))
    try:
        yield
    finally:
        _FILTERED.reset(filtered)
        _METRIC_IDS.reset(ids)
        _FILTERS.reset(filters)
        _CONFIGURATIONS.reset(token)


@cache
def import_gx() -> Any:
    """The great_expectations module, imported on first use with analytics off and its
    INFO lines silenced (in Airflow's task logs and ``cdisc``'s output alike)."""
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations
    from great_expectations.expectations.expectation import Expectation

    # Some of its modules set a level of their own (INFO), which overrides the one above.
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if not name.startswith("great_expectations.") or not isinstance(logger, logging.Logger):
            continue
        if logging.NOTSET < logger.level < logging.WARNING:
            logger.setLevel(logging.NOTSET)
    from great_expectations.core import id_dict
    from great_expectations.core.validation_definition import ValidationDefinition
    from great_expectations.execution_engine import PandasExecutionEngine

    _trust_added_definitions(ValidationDefinition)
    _memoise_configurations(Expectation)
    _memoise_row_filters(PandasExecutionEngine)
    _memoise_metric_ids(id_dict)
    return great_expectations


def _context(docs: Path) -> Any:
    """An in-memory GX context whose Data Docs site is the folder `docs`."""
    gx = import_gx()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    site = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(docs.resolve()),
        },
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        data_docs_sites={DOCS_SITE: site},
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def expectation(check: Check, index: int) -> Any:
    """The GX expectation of a check (its meta says how to list a failure)."""
    gx = import_gx()
    cls = getattr(gx.expectations, check.expectation)
    extra: dict[str, Any] = {}
    if check.where is not None:
        extra["row_condition"] = gx_row_condition(check.where)
    return cls(
        **check.kwargs,
        **extra,
        meta=check_meta(check, index),
        severity=GX_SEVERITY[check.severity],
        notes=f"[{check.rule}, {check.severity}] {check.message} (from {check.source})",
    )


def gx_suite(name: str, checks: Sequence[tuple[int, Check]], notes: str = "") -> Any:
    """A GX ExpectationSuite of (index, check) pairs; the index goes into each meta.

    The expectations are given to the constructor: ``add_expectation`` compares each new
    one with every one before it through pydantic ``.dict()`` copies (value sets included),
    0.8 s of CPU for the SDTM suites of the sample, to drop duplicates the suites' own
    CheckList has already dropped (a check stated twice is kept once, by its rule)."""
    gx = import_gx()
    return gx.ExpectationSuite(
        name=name,
        expectations=[expectation(check, i) for i, check in checks],
        meta={"notes": notes} if notes else {},
    )


def _messages(info: Any) -> list[str]:
    """Exception messages found in a GX exception_info (flat or keyed by metric)."""
    if not isinstance(info, Mapping):
        return []
    if info.get("raised_exception"):
        return [str(info.get("exception_message"))]
    return [m for v in info.values() for m in _messages(v)]


def _details(result: Any, check: Check) -> str:
    """A failed check in words: the columns a column-set check finds missing or unexpected
    (those the check reports), or why GX could not evaluate it."""
    mismatched = (result.result.get("details") or {}).get("mismatched")
    if isinstance(mismatched, Mapping):
        shown = {k: v for k, v in mismatched.items() if v and k in check.mismatches}
        return "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in shown.items())
    problems = _messages(result.exception_info)
    if problems:
        return "could not be evaluated: " + "; ".join(dict.fromkeys(problems))
    return ""


def _validate(
    context: Any,
    batch: Any,
    frame: pd.DataFrame,
    name: str,
    checks: Sequence[tuple[int, Check]],
    notes: str,
    parameters: Mapping[str, Any],
    result_format: Mapping[str, Any],
    run_id: Any,
) -> list[Any]:
    """Run the checks as suite `name` on `frame`; the results (kept for the Data Docs)."""
    gx = import_gx()
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(
            name=name, data=batch, suite=context.suites.add(gx_suite(name, checks, notes))
        )
    )
    running = _RUNNING.set(definition)
    try:
        with configurations_memoised():
            result = definition.run(
                batch_parameters={"dataframe": frame},
                expectation_parameters=dict(parameters),
                result_format=dict(result_format),
                run_id=run_id,
            )
    finally:
        _RUNNING.reset(running)
    return list(result.results)


def narrowed(
    parameters: Mapping[str, Any], checks: Sequence[Check], frame: pd.DataFrame
) -> dict[str, Any]:
    """The run-time values for validating `checks` on `frame`, a value set (the study's
    subjects, say) cut to the values the frame's columns hold where that set is only
    ever the ``value_set`` of a (not-)in-set check: a record's outcome is whether its
    value is in the set, which the cut set answers alike. GX copies and serialises each
    expectation's value set several times per validation: with the 50,000 subjects of a
    large trial in every group of subjects validated, that grew as subjects squared."""
    uses: dict[str, set[str] | None] = {}
    for check in checks:
        column = check.kwargs.get("column")
        for key, name in check.parameters.items():
            fits = (check.expectation in IN_SET and key == "value_set"
                    and isinstance(column, str) and column in frame.columns)  # fmt: skip
            if not fits:
                uses[name] = None
            elif (known := uses.setdefault(name, set())) is not None:
                known.add(str(column))
    out = dict(parameters)
    for name, columns in uses.items():
        given = out.get(name)
        if columns is None or not isinstance(given, list | tuple):
            continue
        present = pd.Index(pd.unique(pd.concat([frame[c] for c in sorted(columns)]).dropna()))
        out[name] = [v for v, hit in zip(given, pd.Index(given).isin(present), strict=True)
                     if hit]  # fmt: skip
    return out


class Session:
    """One gate's GX context: suites validated one frame at a time (:meth:`validate`), then
    the Data Docs of every validation written into `docs` (:meth:`close`; the folder is
    emptied first: a rerun of the gate replaces its docs)."""

    def __init__(self, docs: Path, gate: str, run_name: str, run_time: datetime) -> None:
        import_gx()  # first: silenced before anything of GX is imported
        from great_expectations.core.run_identifier import RunIdentifier

        if docs.exists():
            shutil.rmtree(docs)
        docs.mkdir(parents=True)
        self.docs = docs
        self.context = _context(docs)
        self.source = self.context.data_sources.add_pandas(name=gate)
        self.run_id = RunIdentifier(run_name=run_name, run_time=run_time)
        self._batches: dict[str, Any] = {}

    def validate(
        self,
        suite: Suite,
        frame: pd.DataFrame,
        parameters: Mapping[str, Any],
        checks: Sequence[int] | None = None,
        name: str | None = None,
    ) -> dict[int, Outcome]:
        """The outcome of each check (by its index in the suite; `checks`: these only, else
        all) on `frame`, validated as `name` (default: the suite's name); the failing rows
        are positions in `frame`.

        Two passes, because GX computes the failing rows of every expectation even when
        there are none (half the time on large frames): the checks run with pass/fail
        results only, then the failed ones run again as ``<name>.failed`` with every
        failing row. Both are in the Data Docs."""
        t0 = time.process_time()
        name = name or suite.name
        if suite.target not in self._batches:
            asset = self.source.add_dataframe_asset(name=suite.target)
            self._batches[suite.target] = asset.add_batch_definition_whole_dataframe(suite.target)
        batch = self._batches[suite.target]
        chosen = range(len(suite.checks)) if checks is None else checks
        values = narrowed(
            {k: parameters[k] for k in suite.parameters}, [suite.checks[i] for i in chosen], frame
        )
        outcomes: dict[int, Outcome] = {}
        for r in _validate(self.context, batch, frame, name,
                           [(i, suite.checks[i]) for i in chosen], suite.notes, values,
                           PASS_FAIL, self.run_id):  # fmt: skip
            index = int(r.expectation_config.meta["check"])
            outcomes[index] = Outcome(suite.checks[index], bool(r.success), np.zeros(0, np.int64))
        failed = [(i, suite.checks[i]) for i, o in sorted(outcomes.items()) if not o.success]
        if failed:
            for r in _validate(self.context, batch, frame, f"{name}.failed", failed,
                               suite.notes, values, RESULT_FORMAT, self.run_id):  # fmt: skip
                index = int(r.expectation_config.meta["check"])
                rows = r.result.get("unexpected_index_list") or []
                outcomes[index] = Outcome(
                    suite.checks[index], bool(r.success), np.asarray(rows, dtype=np.int64),
                    "" if r.success else _details(r, suite.checks[index]),
                )  # fmt: skip
        log.debug("%s: %d rows, %d expectations, %d failed, %.2f s cpu", name, len(frame),
                  len(outcomes), len(failed), time.process_time() - t0)  # fmt: skip
        return {i: outcomes[i] for i in sorted(outcomes)}

    def close(self) -> None:
        """Write the Data Docs of every validation, readable offline; let go of GX's
        context (GX keeps the last context process-wide, and with it what it validated)."""
        from great_expectations.data_context.data_context.context_factory import (
            project_manager,
        )

        t0 = time.process_time()
        self.context.build_data_docs(site_names=[DOCS_SITE])
        make_offline(self.docs)
        _drop_unused_images(self.docs)
        log.debug("data docs: %.2f s cpu", time.process_time() - t0)
        project_manager.set_project(None)


def run_suites(
    suites: Sequence[Suite],
    frames: Mapping[str, pd.DataFrame],
    parameters: Mapping[str, Any],
    docs: Path,
    run_name: str,
    run_time: datetime,
) -> list[SuiteRun]:
    """Validate each suite's whole frame (``frames[suite.target]``) and write the Data Docs
    of all of them into `docs` (:class:`Session`)."""
    session = Session(docs, suites[0].gate if suites else "data", run_name, run_time)
    runs = []
    for suite in suites:
        frame = frames[suite.target]
        outcomes = session.validate(suite, frame, parameters)
        runs.append(SuiteRun(suite, len(frame), tuple(outcomes.values())))
    session.close()
    return runs


def _drop_unused_images(docs: Path) -> None:
    """GX copies its tutorial animations (megabytes) into every site; no page of ours shows
    them. Images no page or style sheet names are removed (run folders are kept for weeks)."""
    images = docs / "static" / "images"
    if not images.is_dir():
        return
    pages = [p.read_text(encoding="utf-8", errors="replace")
             for p in docs.rglob("*") if p.suffix in (".html", ".css", ".js")]  # fmt: skip
    for image in images.iterdir():
        if image.is_file() and not any(image.name in page for page in pages):
            image.unlink()

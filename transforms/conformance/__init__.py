"""Conformance report of a run's published SDTM and ADaM: our own checks, named after the
published CDISC/FDA rules they implement (the CDISC CORE engine is not a dependency).

Call :func:`check_run` on a run folder: it reads ``sdtm/`` and ``adam/`` (Parquet rows, XPT
headers, define.xml) and the study specs, writes ``reports/conformance.csv`` (one row per
finding: rule_id, severity, dataset, variable, USUBJID, SEQ, row, value, message) and
``reports/conformance.html``, and returns a :class:`ConformanceResult` with the counts by
severity. It never raises on findings; ``result.blocking`` counts those whose severity is
in :data:`BLOCKING` (Reject, Error), which should stop a publication.

- :mod:`~transforms.conformance.rules`: the rule catalogue (IDs, severities, sources).
- :mod:`~transforms.conformance.load`: datasets, XPT headers and define.xml of a run.
- :mod:`~transforms.conformance.metadata`: names, labels, lengths, ASCII, define.xml.
- :mod:`~transforms.conformance.sdtm` and :mod:`~transforms.conformance.adam`: the checks.
- :mod:`~transforms.conformance.report`: the CSV and HTML.
"""

from transforms.conformance.rules import BLOCKING, RULES, SEVERITIES, RuleDef
from transforms.conformance.run import ConformanceResult, check_run

__all__ = ["BLOCKING", "RULES", "SEVERITIES", "ConformanceResult", "RuleDef", "check_run"]

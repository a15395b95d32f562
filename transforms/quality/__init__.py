"""Quality gates: Great Expectations suites on the raw export and on the SDTM datasets.

- :mod:`transforms.quality.checks`: the vocabulary (a check is one GX expectation plus what
  the listing says when it fails; a suite is the checks of one form or dataset).
- :mod:`transforms.quality.suites`: the suites, generated from the study specs
  (``sdtm_specs/<STUDY>``) and completed by the hand-written ``expectations/<STUDY>/raw``.
- :mod:`transforms.quality.prepare`: the frame GX validates (trimmed text and derived
  columns: numbers, date bounds, normalised codes, values joined from other forms).
- :mod:`transforms.quality.engine`: runs suites with GX and builds the Data Docs.
- :mod:`transforms.quality.report`: the listing (CSV, HTML) and the one-screen summary.
- :mod:`transforms.quality.gates`: the stage API, :func:`~transforms.quality.gates.validate_raw`
  and :func:`~transforms.quality.gates.validate_sdtm`.

Nothing here imports ``great_expectations`` at module import time (it costs seconds): only
the engine's functions do, so the DAG file and :mod:`transforms.studies` stay light.
"""

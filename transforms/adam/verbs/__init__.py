"""The general verbs of the ADaM vocabulary, one module per family (see base.py for how a
verb declares its arguments; sdtm_specs/README.md documents each)."""

from transforms.adam.verbs import bds, dates, events, flags, merge, records, summary, values

__all__ = ["bds", "dates", "events", "flags", "merge", "records", "summary", "values"]

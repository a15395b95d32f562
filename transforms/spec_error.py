"""The error of a spec that cannot be used (shared by the mapping vocabulary, the conditions,
the ADaM specs and the quality suites)."""


class SpecError(ValueError):
    """A spec that cannot be used; the message names the spec file and entry."""

"""Named derivations of a disease or guideline, registered as verbs under a dotted name
(``imwg.best_response``, ``ctcae.grade``) that a spec selects and parameterises like any
other verb."""

from transforms.adam.library import ctcae, imwg

__all__ = ["ctcae", "imwg"]

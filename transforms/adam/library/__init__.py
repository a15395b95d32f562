"""Named derivations of a disease or guideline, registered as verbs under a dotted name
(``imwg.best_response``) that a spec selects and parameterises like any other verb."""

from transforms.adam.library import imwg

__all__ = ["imwg"]

"""The ADaM vocabulary: the general verbs and the library's named derivations, registered
by importing them; what the spec loader and the tests read it through."""

from __future__ import annotations

import pandas as pd

from transforms.adam import library, verbs
from transforms.adam.verbs.base import Inputs, Registered, Verb, Where, parse_steps, run_steps
from transforms.adam.verbs.base import registered as _all

__all__ = ["Inputs", "Verb", "Where", "build", "library", "parse_steps", "registered", "verbs"]


def registered() -> dict[str, Registered]:
    """Every verb of the vocabulary by spec name."""
    return _all()


def build(steps: tuple[Verb, ...], inputs: Inputs) -> pd.DataFrame:
    """Run a dataset's derivation steps from an empty frame."""
    return run_steps(steps, pd.DataFrame(), inputs)

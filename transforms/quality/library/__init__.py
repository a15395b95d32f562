"""Derivations the raw quality suites compare a form's values with, one module each,
named by the ``agrees_with`` key of a hand-written check (``expectations/README.md``).

Each module gives ``derive(forms, form) -> Series``: a value per row of ``form`` (null
where it cannot be derived), read from the raw forms as the export holds them, and
``READS``: the columns of the other forms it reads (the gate reads only those).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from transforms.quality.library import imwg

Derivation = Callable[[Mapping[str, pd.DataFrame], str], pd.Series]
LIBRARY: Mapping[str, Derivation] = {"imwg": imwg.derive}
READS: Mapping[str, Mapping[str, tuple[str, ...]]] = {"imwg": imwg.READS}

"""The HTML page kit: one base page (head, styles, a header naming study and run) and a
findings table with severity colouring, rendered by Jinja2 with autoescape on.

Pages: ``quality.html`` (a gate's filterable listing), ``conformance.html`` (the
conformance report) and ``endpoints.html`` (the ADaM endpoint summary); each extends
``base.html`` and takes its findings table from ``kit.html``. Every page is
self-contained: styles inline, no external resource; only the quality listing has a script
(its filter boxes). Data text is escaped by the template engine, never by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import jinja2
import pandas as pd


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("transforms.pages", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(page: str, **context: Any) -> str:
    """The page ``page`` (a template name, e.g. ``quality.html``) rendered with ``context``."""
    return _environment().get_template(page).render(**context)


def cells(frame: pd.DataFrame, columns: Sequence[str]) -> list[list[str]]:
    """The rows of ``frame`` as text for a table: those columns, missing cells empty."""
    if frame.empty:
        return []
    text = frame[list(columns)].astype("string").fillna("")
    return [[str(v) for v in row] for row in text.itertuples(index=False)]

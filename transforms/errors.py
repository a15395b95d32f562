"""The job's errors, at the bottom of the engine: this module imports nothing of it.

A :class:`UserError` is something a user can cause and fix (bad input, a bad spec, a busy
store): ``cdisc`` shows its message alone, never a traceback, and exits non-zero. Every
user-facing error of the engine subclasses it. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input, a bad spec or a busy store: the message says what and where."""


class SpecError(UserError, ValueError):
    """A spec that cannot be used; the message names the spec file and entry."""


class PipelineError(UserError, RuntimeError):
    """A run that must not publish; the message says what and where."""


class NothingNew(Exception):
    """The job has nothing to do: its input is already published, file for file."""


class Superseded(NothingNew):
    """A newer SDTM run was published while this ADaM run was being built."""

"""The job's errors, at the bottom of the engine: this module imports nothing of it.

A :class:`UserError` is something a user can cause and fix (bad input, a bad spec, a busy
store): ``cdisc`` shows its message alone, never a traceback, and exits non-zero. Every
user-facing error of the engine subclasses it. Anything else is a bug and keeps its
traceback.

Most of them are about the data or the specs: running again changes nothing until a person
fixes the input, so a scheduler must not retry them (:func:`retry_helps`). A
:class:`NotReady` error is the exception: the export is still arriving or the store is
busy, and the same run a few minutes later may pass.
"""

from __future__ import annotations

# The note a stage adds to an error it wrote down in its run's reports/failure.json.
RECORDED = "failure recorded in"


class UserError(Exception):
    """Bad input, a bad spec or a busy store: the message says what and where."""


class NotReady(UserError):
    """Not yet possible (an export still arriving, another run holding the store): trying
    again later may succeed."""


class SpecError(UserError, ValueError):
    """A spec that cannot be used; the message names the spec file and entry."""


class PipelineError(UserError, RuntimeError):
    """A run that must not publish; the message says what and where."""


class NothingNew(Exception):
    """The job has nothing to do: its input is already published, file for file."""


class Superseded(NothingNew):
    """A newer SDTM run was published while this ADaM run was being built."""


def retry_helps(exc: BaseException) -> bool:
    """Whether running the failed step again may pass: not for bad data or a bad spec (a
    :class:`UserError`, unless :class:`NotReady`); yes for the rest (a store, database or
    network that failed: OSError and the like)."""
    return not isinstance(exc, UserError) or isinstance(exc, NotReady)

"""Open an input file only if it is a regular file, and read it only up to a limit.

Shared by every reader of an export (forms and manifest): a FIFO, a device or a socket named
like a form would block a read forever or never end, so it is refused at once, before a
byte is read; a file that grows past its limit while being read is refused too (its size
when opened is no promise).
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path
from typing import BinaryIO

from transforms.extract.frames import RawFileError

FORM_FILE = "form file (CDISC_MAX_FORM_BYTES raises it; memory needed is a few times the size)"
"""How a size refusal names a form file; a manifest says "manifest"."""

STREAMED_FORM_FILE = "form file (CDISC_MAX_FORM_BYTES raises it)"
"""How a size refusal names a CSV form file read a block at a time (memory is no reason)."""


def open_regular_file(path: Path, limit: int | None = None, what: str = FORM_FILE) -> BoundedReader:
    """`path` opened for binary reading if it is a regular file (symbolic links followed)
    of at most `limit` bytes; raises :class:`RawFileError` (rule RAW-FILE or RAW-SIZE) otherwise.
    `what` names the file's role in a size refusal ("... bytes per <what>").

    Opened non-blocking, so that a FIFO with no writer cannot block the open itself; a
    regular file ignores the flag. The size is checked here and, through
    :class:`BoundedReader`, again as the file is read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise RawFileError(path, f"cannot be opened ({exc.strerror})", "RAW-FILE") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _kind(info.st_mode)
            raise RawFileError(
                path, f"{kind}, not a regular file: only regular files are read", "RAW-FILE"
            )
        if limit is not None and info.st_size > limit:
            raise _too_large(path, info.st_size, limit, what)
        os.set_blocking(fd, True)
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    return BoundedReader(handle, path, limit, what)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def read_regular(path: Path, limit: int, what: str = FORM_FILE) -> bytes:
    """The bytes of a regular file of at most `limit` bytes (:func:`open_regular_file`)."""
    with open_regular_file(path, limit, what) as handle:
        return handle.read()


def _too_large(path: Path, size: int, limit: int, what: str) -> RawFileError:
    return RawFileError(
        path, f"{size} bytes or more, over the limit of {limit} bytes per {what}", "RAW-SIZE"
    )


class BoundedReader(io.RawIOBase):
    """A binary file read through `read`, refused once more than `limit` bytes came
    (None: no limit)."""

    def __init__(
        self, handle: BinaryIO, path: Path, limit: int | None, what: str = FORM_FILE
    ) -> None:
        super().__init__()
        self.handle, self.path, self.count, self.what = handle, path, 0, what
        self.limit = (1 << 62) if limit is None else limit

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        want = self.limit + 1 - self.count if size is None or size < 0 else size
        data = self.handle.read(min(want, self.limit + 1 - self.count))
        self.count += len(data)
        if self.count > self.limit:
            raise _too_large(self.path, self.count, self.limit, self.what)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.handle.close()
        super().close()

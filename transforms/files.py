"""Files written whole or not at all: each is written under a hidden temporary name beside
its target and renamed onto it once complete (a rename within a folder is atomic).

A reader of the target (a reviewer opening a report, the next night, a hard link from an
older run) sees the old file or the new one, never part of one; a file hard-linked from
another run is replaced, never written through. Imports nothing of the engine.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replaced(path: Path) -> Iterator[Path]:
    """A fresh hidden path beside `path` (``.<name>.<random>.tmp``) for the block to write;
    renamed onto `path` when the block ends without error, removed otherwise."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    """`text` as UTF-8 (line ends as given) into `path`, whole or not at all; its folder is
    made if missing (a report's)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")


def write_bytes(path: Path, data: bytes) -> None:
    """`data` into `path`, whole or not at all."""
    with replaced(path) as tmp:
        tmp.write_bytes(data)

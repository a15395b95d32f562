"""Blocks of subjects: a large sample study is generated (and written) a block at a time,
so the generator's memory depends on the block size, not on the study size.

Block 0 draws from the study's own random streams (the seed's), so a study of at most one
block is exactly what the generator made before it worked in blocks; every later block
draws from streams of its own, derived from the seed and the block number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

BLOCK_SUBJECTS: Final = 5_000
"""Enrolled subjects per block (the tests, ``make demo`` and the benchmark fit in one)."""
BLOCK_STREAM: Final = 185
"""The child stream a later block's seed is derived from: ``[seed, BLOCK_STREAM, block]``."""


@dataclass(frozen=True)
class Block:
    """Block `number` of a study of `total` enrolled subjects: `size` subjects from the
    0-based subject index `first` on."""

    number: int
    first: int
    size: int
    total: int


def blocks(subjects: int, size: int = BLOCK_SUBJECTS) -> list[Block]:
    """The blocks of a study of `subjects` enrolled subjects, `size` subjects each (the last
    holds the rest)."""
    if size < 1:
        raise ValueError(f"block size must be at least 1, got {size}")
    return [
        Block(number, first, min(size, subjects - first), subjects)
        for number, first in enumerate(range(0, subjects, size))
    ]


def block_seed(seed: int, block: Block) -> int:
    """The seed a block's streams are drawn from: the study's for block 0, for a later block
    one derived from the study's seed and the block number."""
    if block.number == 0:
        return seed
    state = np.random.SeedSequence([seed, BLOCK_STREAM, block.number]).generate_state(1)
    return int(state[0])

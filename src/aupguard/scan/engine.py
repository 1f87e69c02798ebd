"""The engine interface: run chunks through workers and give back their results."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from aupguard.scan.models import Chunk, ChunkResult
from aupguard.scan.worker import WorkerSpec


class Engine(Protocol):
    name: str

    def run(self, spec: WorkerSpec, chunks: Iterable[Chunk]) -> Iterator[ChunkResult]:
        """Results of every chunk, in any order. Reads ``chunks`` lazily: only a few are held
        in flight at a time, so memory stays flat on a large input."""

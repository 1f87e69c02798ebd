"""The HTTP service and generation gateway (``pip install 'aupguard[server]'``).

``create_app()`` builds the FastAPI application; ``aupguard serve`` runs it under uvicorn.
"""

from __future__ import annotations

from aupguard.api.app import create_app

__all__ = ["create_app"]

"""The reviewer web UI (server-rendered; Jinja2 templates and a little plain JavaScript).

``create_review_app(desk, settings)`` returns the ASGI app that ``aupguard serve`` mounts at
``/review``; ``aupguard review serve`` runs it alone. Needs the ``server`` and ``store`` extras.
"""

from __future__ import annotations

from aupguard.web.app import create_review_app
from aupguard.web.security import WebSettings, web_settings_from_env

__all__ = ["WebSettings", "create_review_app", "web_settings_from_env"]

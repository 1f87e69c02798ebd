"""Run the service under uvicorn (``aupguard serve``)."""

from __future__ import annotations

import os
import secrets

from aupguard.api.settings import Environment, load_settings


def development_credentials() -> dict[str, str]:
    """In development with no keys or admin token declared, make a fresh random API key and
    admin token for this run (never fixed defaults), so the quick start works end to end."""
    env = os.environ.get("AUPGUARD_ENV", Environment.DEVELOPMENT.value)
    made: dict[str, str] = {}
    if env != Environment.DEVELOPMENT.value:
        return made
    if not os.environ.get("AUPGUARD_API_KEYS"):
        key = "aupg-dev-" + secrets.token_urlsafe(18)
        os.environ["AUPGUARD_API_KEYS"] = (
            '[{"key": "' + key + '", "account": "dev-account", "plan": "development"}]'
        )
        made["api_key"] = key
    if not os.environ.get("AUPGUARD_ADMIN_TOKEN"):
        token = "aupg-admin-" + secrets.token_urlsafe(18)
        os.environ["AUPGUARD_ADMIN_TOKEN"] = token
        made["admin_token"] = token
    return made


def serve(host: str, port: int, workers: int, echo: object = print) -> None:
    import uvicorn

    made = development_credentials()
    settings = load_settings()  # fail before starting workers when a setting is wrong
    url = f"http://{host if host not in ('0.0.0.0', '::') else '127.0.0.1'}:{port}"
    lines = [
        f"aupguard serving on {url}  (docs {url}/docs, {workers} worker(s), "
        f"env {settings.env.value}, policy {settings.default_policy}, generator "
        f"{'upstream ' + settings.upstream_url if settings.upstream_url else 'built-in DEMO'})"
    ]
    if "api_key" in made:
        lines.append(f"development API key for this run: {made['api_key']}")
    if "admin_token" in made:
        lines.append(f"development admin token for this run: {made['admin_token']}")
    for line in lines:
        echo(line)  # type: ignore[operator]
    uvicorn.run(
        "aupguard.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )

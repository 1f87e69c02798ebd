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
    if os.environ.get("AUPGUARD_BACKEND", "store") == "store":
        settings = load_settings()
        made["api_key"] = development_store_key(settings.store_url)
    elif not os.environ.get("AUPGUARD_API_KEYS"):
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


DEV_ORG = "Development"
DEV_ACCOUNT = "dev-account"


def development_store_key(database_url: str) -> str:
    """A fresh API key for this run on the development account (made on first run, with its
    organisation), in the store the service will use. Earlier development keys stay valid."""
    from aupguard.store import NotFoundError, Store

    with Store.open(database_url) as store:
        org = next((o for o in store.accounts.orgs() if o.name == DEV_ORG), None)
        if org is None:
            org = store.accounts.create_org(DEV_ORG, actor="aupguard serve")
        try:
            account = store.accounts.find(org.id, DEV_ACCOUNT)
        except NotFoundError:
            account = store.accounts.create(org.id, external_id=DEV_ACCOUNT, actor="aupguard serve")
        issued = store.keys.create(account.id, name="development", actor="aupguard serve")
        return issued.secret


def serve(host: str, port: int, workers: int, echo: object = print) -> None:
    import uvicorn

    made = development_credentials()
    settings = load_settings()  # fail before starting workers when a setting is wrong
    # migrate the store once, before the workers start: the store backend and the review
    # queue (on either backend) live in it, and workers migrating at once lock SQLite
    from aupguard.store import Store

    Store.open(settings.store_url).close()
    url = f"http://{host if host not in ('0.0.0.0', '::') else '127.0.0.1'}:{port}"
    lines = [
        f"aupguard serving on {url}  (docs {url}/docs, {workers} worker(s), "
        f"env {settings.env.value}, policy {settings.default_policy}, backend "
        f"{settings.backend}, generator "
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

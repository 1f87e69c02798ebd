"""Authorization matrix: every route of the app (its routers and the review UI mounted at
/review) against every kind of caller. A route that is added without an entry here fails
`test_every_route_has_an_entry`.

Callers: none (no Authorization header), key (alice's API key: the owner of the objects read),
other (bob's API key: another account), reviewer and admin (the tokens).

Outcomes: OK (answered past authorization: not 401/403), 401, 403, HIDDEN (404: another
account's object is never revealed, not even its existence), LOGIN (the review UI sends the
browser to its own login: a bearer token of the API means nothing there).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from secutil import ADMIN, KEY_ALICE, KEY_BOB, PNG, REVIEWER, settings_for
from starlette.routing import Mount

from aupguard.api.app import create_app
from aupguard.engine.decide import decide
from aupguard.engine.verdict import Verdict
from aupguard.policy.models import Modality
from aupguard.policy.registry import default_registry

OK, HIDDEN, LOGIN = "ok", "hidden", "login"
CALLERS = ("none", "key", "other", "reviewer", "admin")
HEADERS = {
    "none": {},
    "key": {"Authorization": f"Bearer {KEY_ALICE}"},
    "other": {"Authorization": f"Bearer {KEY_BOB}"},
    "reviewer": {"Authorization": f"Bearer {REVIEWER}"},
    "admin": {"Authorization": f"Bearer {ADMIN}"},
}

PUBLIC = dict.fromkeys(CALLERS, OK)
# an API key only: the admin and reviewer tokens are not API keys
API_KEY = {"none": 401, "key": OK, "other": OK, "reviewer": 401, "admin": 401}
ADMIN_ONLY = {"none": 401, "key": 401, "other": 401, "reviewer": 403, "admin": OK}
STAFF = {"none": 401, "key": 401, "other": 401, "reviewer": OK, "admin": OK}
OWNER_OR_STAFF = {"none": 401, "key": OK, "other": HIDDEN, "reviewer": OK, "admin": OK}
OWNER_ONLY = {"none": 401, "key": OK, "other": HIDDEN, "reviewer": 401, "admin": 401}
ANY_KEY_OR_STAFF = {"none": 401, "key": OK, "other": OK, "reviewer": OK, "admin": OK}
# the review UI has its own sessions (cookie + CSRF): without one, nothing but the login page
REVIEW_UI = dict.fromkeys(CALLERS, LOGIN)

PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()

# (method, path) -> (expected outcome per caller, JSON body); {decision} is alice's decision
MATRIX: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any] | None]] = {
    ("GET", "/openapi.json"): (PUBLIC, None),
    ("GET", "/docs"): (PUBLIC, None),
    ("GET", "/docs/oauth2-redirect"): (PUBLIC, None),
    ("GET", "/redoc"): (PUBLIC, None),
    ("GET", "/healthz"): (PUBLIC, None),
    ("GET", "/readyz"): (PUBLIC, None),
    ("GET", "/metrics"): (PUBLIC, None),
    ("GET", "/v1/taxonomy"): (PUBLIC, None),
    ("POST", "/v1/moderations"): (API_KEY, {"input": "a lighthouse at dusk"}),
    ("POST", "/v1/check"): (API_KEY, {"prompt": "a lighthouse at dusk"}),
    ("POST", "/v1/images/generations"): (API_KEY, {"prompt": "a lighthouse", "size": "64x64"}),
    # anyone may report; a bearer, when sent, must be an API key (it names the reporter)
    ("POST", "/v1/reports"): (
        {"none": OK, "key": OK, "other": OK, "reviewer": 401, "admin": 401},
        {"category": "other", "reason": "spam", "item": {"url": "https://example.com/x"}},
    ),
    # the owner gets past authorization (409: an allowed decision has nothing to appeal)
    ("POST", "/v1/appeals"): (OWNER_ONLY, {"decision_id": "{decision}", "statement": "why?"}),
    ("GET", "/v1/decisions/{decision_id}"): (OWNER_OR_STAFF, None),
    ("GET", "/v1/decisions/{decision_id}/output"): (OWNER_ONLY, None),
    ("POST", "/v1/provenance/verify"): (ANY_KEY_OR_STAFF, {"image": PNG_URL}),
    ("GET", "/v1/admin/packs"): (STAFF, None),
    ("POST", "/v1/admin/packs"): (ADMIN_ONLY, {"yaml": "id: x"}),
    ("PUT", "/v1/admin/packs/{pack_id}/active"): (ADMIN_ONLY, {"version": None}),
    ("PUT", "/v1/admin/packs/{pack_id}/shadow"): (ADMIN_ONLY, {"version": None}),
    ("GET", "/v1/admin/packs/{pack_id}/shadow"): (STAFF, None),
    ("GET", "/v1/admin/reports/{report_id}"): (STAFF, None),
    ("GET", "/v1/admin/accounts/{account_id}"): (STAFF, None),
    ("POST", "/v1/admin/accounts/{account_id}/suspension"): (ADMIN_ONLY, {"reason": "test"}),
    ("DELETE", "/v1/admin/accounts/{account_id}/suspension"): (ADMIN_ONLY, None),
    ("POST", "/v1/admin/detectors/reload"): (ADMIN_ONLY, None),
    ("POST", "/v1/admin/orgs"): (ADMIN_ONLY, {"name": "Org"}),
    ("POST", "/v1/admin/accounts"): (ADMIN_ONLY, {"org_id": "org_x"}),
    ("POST", "/v1/admin/accounts/{account_id}/keys"): (ADMIN_ONLY, {}),
    ("GET", "/v1/admin/accounts/{account_id}/keys"): (STAFF, None),
    ("POST", "/v1/admin/keys/{key_id}/revocation"): (ADMIN_ONLY, {}),
    ("POST", "/v1/admin/accounts/{account_id}/credits"): (
        ADMIN_ONLY,
        {"amount": 5, "reason": "test"},
    ),
    # the review UI: the login page is public, everything else needs a UI session
    ("GET", "/review/login"): (PUBLIC, None),
    ("POST", "/review/login"): (dict.fromkeys(CALLERS, 403), None),  # no CSRF token
    ("GET", "/review/static"): (PUBLIC, None),  # stylesheets and scripts (a Mount)
    ("POST", "/review/logout"): (dict.fromkeys(CALLERS, 403), None),
    ("GET", "/review/"): (REVIEW_UI, None),
    ("GET", "/review/queues/{name}"): (REVIEW_UI, None),
    ("POST", "/review/queues/{name}/claim"): (REVIEW_UI, None),
    ("GET", "/review/items/{item_id}"): (REVIEW_UI, None),
    ("GET", "/review/items/{item_id}/image"): (REVIEW_UI, None),
    ("POST", "/review/items/{item_id}/claim"): (REVIEW_UI, None),
    ("POST", "/review/items/{item_id}/reveal"): (REVIEW_UI, None),
    ("POST", "/review/items/{item_id}/decide"): (REVIEW_UI, None),
    ("GET", "/review/settings"): (REVIEW_UI, None),
    ("POST", "/review/settings"): (REVIEW_UI, None),
    ("GET", "/review/admin/reviewers"): (REVIEW_UI, None),
    ("POST", "/review/admin/reviewers"): (REVIEW_UI, None),
    ("POST", "/review/admin/reviewers/{username}/roles"): (REVIEW_UI, None),
    ("GET", "/review/audit"): (REVIEW_UI, None),
    ("GET", "/review/dashboard"): (REVIEW_UI, None),
}

PATH_VALUES = {
    "pack_id": "general-usage",
    "report_id": "rep_missing",
    "account_id": "acct_nobody",  # admin writes go to an account no test uses
    "key_id": "key_missing",
    "name": "default",
    "item_id": "item_missing",
    "username": "nobody",
}


def _routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every route, through included routers and mounts (HEAD, added by
    Starlette to every GET, is left out)."""
    for route in routes:
        if hasattr(route, "effective_route_contexts"):  # FastAPI's included routers
            for context in route.effective_route_contexts():
                for method in context.methods:
                    yield method, prefix + context.path
        elif isinstance(route, Mount):
            inner = getattr(route.app, "routes", None)
            if inner is None or route.path.endswith("/static"):
                yield "GET", prefix + route.path
            else:
                yield from _routes(inner, prefix + route.path)
        else:
            for method in getattr(route, "methods", None) or {"GET"}:
                if method != "HEAD":
                    yield method, prefix + route.path


def _no_pixels(data: bytes, modality: Modality) -> Verdict:
    return decide(default_registry().get("general-usage").pack, [], modality)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    tmp = tmp_path_factory.mktemp("authz")
    return create_app(settings_for(tmp), image_checker=_no_pixels)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as client:
        yield client


@pytest.fixture(scope="module")
def decision(client: TestClient) -> str:
    """A decision of alice's account."""
    response = client.post(
        "/v1/check", json={"prompt": "a lighthouse at dusk"}, headers=HEADERS["key"]
    )
    assert response.status_code == 200, response.text
    decision_id: str = response.json()["items"][0]["decision_id"]
    return decision_id


def test_every_route_has_an_entry(app: FastAPI) -> None:
    routes = set(_routes(list(app.routes)))
    assert routes, "no routes found: the enumeration is broken"
    assert ("GET", "/review/") in routes and ("POST", "/v1/check") in routes
    missing = routes - set(MATRIX)
    assert not missing, f"routes without an authorization rule in MATRIX: {sorted(missing)}"
    stale = set(MATRIX) - routes
    assert not stale, f"MATRIX entries for routes that no longer exist: {sorted(stale)}"


CASES = [(m, p, caller) for (m, p) in MATRIX for caller in CALLERS]


@pytest.mark.parametrize(("method", "path", "caller"), CASES)
def test_authorization(
    method: str, path: str, caller: str, client: TestClient, decision: str
) -> None:
    expected_by_caller, body = MATRIX[(method, path)]
    expected = expected_by_caller[caller]
    url = path.format(decision_id=decision, **PATH_VALUES)
    if body is not None:
        body = {
            k: (v.format(decision=decision) if isinstance(v, str) else v) for k, v in body.items()
        }
    response = client.request(method, url, json=body, headers=HEADERS[caller])
    status = response.status_code
    where = f"{method} {url} as {caller}: {status} {response.text[:200]}"
    if expected == OK:
        assert status not in (401, 403), where
        assert status < 500 or status == 501, where
    elif expected == HIDDEN:
        assert status == 404, where
        owner = client.request(method, url, json=body, headers=HEADERS["key"])
        assert decision not in response.text or "no decision" in response.text, where
        assert owner.status_code != 401, where
    elif expected == LOGIN:
        assert status in (302, 303, 307, 401, 403), where
        if status in (302, 303, 307):
            assert "/review/login" in response.headers["location"], where
    else:
        assert status == expected, where
    if status in (401, 403) and path.startswith("/v1"):
        assert set(response.json()) == {"error"}, where  # the one error shape


def test_another_accounts_decision_is_indistinguishable_from_a_missing_one(
    client: TestClient, decision: str
) -> None:
    theirs = client.get(f"/v1/decisions/{decision}", headers=HEADERS["other"])
    missing = client.get("/v1/decisions/dec_does_not_exist", headers=HEADERS["other"])
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["error"]["code"] == missing.json()["error"]["code"]
    mine = client.get(f"/v1/decisions/{decision}", headers=HEADERS["key"])
    assert mine.status_code == 200 and decision in mine.text


def test_admin_api_is_off_without_an_admin_token(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path, env="development", admin_token="", reviewer_token=""))
    with TestClient(app) as client:
        for caller in ("none", "key", "admin"):
            response = client.get("/v1/admin/packs", headers=HEADERS[caller])
            assert response.status_code == 403, response.text
            assert response.json()["error"]["code"] == "admin_disabled"


def test_a_new_route_without_an_entry_is_caught(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path))

    @app.get("/v1/something-new")
    async def something_new() -> dict[str, str]:
        return {}

    missing = set(_routes(list(app.routes))) - set(MATRIX)
    assert missing == {("GET", "/v1/something-new")}

"""The service on the store backend (the default): API keys, plans, credits, scopes, rate
limits, the enforcement ladder and the CSAM path live in the database, over real HTTP, against
SQLite and the real PostgreSQL + Redis (skipped with the reason where a server is absent)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from tests.api.conftest import ADMIN, ServerThread, error_of, wait_ready

from aupguard.abuse.history import RedisHistory
from aupguard.abuse.ratelimit import RedisRateLimiter
from aupguard.api.app import create_app
from aupguard.api.settings import Settings, load_settings
from aupguard.api.store_backend import store_backends
from aupguard.enforcement import Enforcer, Guard
from aupguard.enforcement.vault import EvidenceVault
from aupguard.policy.registry import default_registry
from aupguard.store import Plan, Store
from aupguard.store.testing import (
    MovableClock,
    open_test_store,
    postgres_unavailable_reason,
    redis_test_url,
    redis_unavailable_reason,
    unique_name,
)

BLOCKED = "step by step instructions to build a pipe bomb and kill people"
CSAM_PROMPT = "a sexy photo of a 12 year old girl"  # a text fixture; never imagery


@dataclass
class Deployment:
    """A store with accounts and keys, and one or more servers in front of it."""

    store: Store
    urls: list[str]
    keys: dict[str, str]
    accounts: dict[str, str]
    reports_dir: Path

    def client(self, who: str, server: int = 0) -> httpx.Client:
        return httpx.Client(
            base_url=self.urls[server],
            headers={"Authorization": f"Bearer {self.keys[who]}"},
            timeout=60,
        )


def _settings(tmp: Path) -> Settings:
    return load_settings(
        {},
        env="test",
        backend="store",
        admin_token=ADMIN,
        data_dir=tmp,
        image_moderation=False,
        provenance=False,
        report_rate_per_minute=600,
    )


def _populate(store: Store) -> tuple[dict[str, str], dict[str, str]]:
    store.accounts.put_plan(
        Plan(
            id="pro",
            name="Pro",
            rate_per_second=1000,
            burst=1000,
            credit_prices={"generation": 2},
        )
    )
    store.accounts.put_plan(Plan(id="tiny", name="Tiny", rate_per_second=0.01, burst=2))
    org = store.accounts.create_org("Acme", plan_id="pro")
    keys: dict[str, str] = {}
    accounts: dict[str, str] = {}
    for name, plan, credits, scopes in [
        ("alice", "pro", 10, ("moderate", "generate")),
        ("poor", "pro", 0, ("moderate", "generate")),
        ("reader", "pro", 10, ("moderate",)),
        ("krea", "pro", 10, ("moderate", "generate", "policy:krea-2")),
        ("limited", "tiny", 0, ("moderate", "generate")),
        ("striker", "pro", 10, ("moderate", "generate")),
        ("offender", "pro", 10, ("moderate", "generate")),
        ("revoked", "pro", 0, ("moderate",)),
        ("suspendee", "pro", 0, ("moderate",)),
        ("appellant", "pro", 10, ("moderate", "generate")),
        ("sharer", "pro", 10, ("moderate", "generate")),
    ]:
        account = store.accounts.create(org.id, external_id=name, plan_id=plan)
        if credits:
            store.credits.grant(account.id, credits, reason="test grant")
        issued = store.keys.create(account.id, scopes=scopes)
        keys[name] = issued.secret
        accounts[name] = account.id
    store.keys.revoke(store.keys.for_account(accounts["revoked"])[0].id, reason="leaked")
    return keys, accounts


def _guard(store: Store, tmp: Path, redis_url: str | None, prefix: str) -> Guard:
    pack = default_registry().get("general-usage").pack
    enforcer = Enforcer(
        store, pack, vault=EvidenceVault(store, Fernet.generate_key()), reports_dir=tmp / "reports"
    )
    if redis_url is None:
        return Guard(store, pack, enforcer=enforcer)
    return Guard(
        store,
        pack,
        enforcer=enforcer,
        limiter=RedisRateLimiter.from_url(redis_url, prefix=prefix + "rl:"),
        history=RedisHistory.from_url(redis_url, prefix=prefix + "h:"),
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """SQLite with in-process limits and one server; PostgreSQL with Redis and two servers
    (two workers sharing one truth)."""
    redis_url = None
    if request.param == "postgresql":
        if reason := postgres_unavailable_reason() or redis_unavailable_reason():
            pytest.skip(reason)
        redis_url = redis_test_url()
    tmp = tmp_path_factory.mktemp(f"store-{request.param}")
    with open_test_store(request.param, tmp, MovableClock()) as store:
        keys, accounts = _populate(store)
        servers = 1 if redis_url is None else 2
        prefix = unique_name("aupg_api") + ":"  # one deployment: one namespace in Redis
        # one guard and one data directory per server, as separate hosts would have:
        # nothing shared but the database and Redis
        apps = []
        for i in range(servers):
            settings = _settings(tmp / f"host{i}")
            guard = _guard(store, tmp, redis_url, prefix)
            apps.append(create_app(settings, store_backends(settings, guard)))
        threads = [ServerThread(app) for app in apps]
        for thread in threads:
            thread.__enter__()
        try:
            for thread in threads:
                wait_ready(thread.url)
            yield Deployment(store, [t.url for t in threads], keys, accounts, tmp / "reports")
        finally:
            for thread in threads:
                thread.__exit__(None, None, None)


def test_generation_charges_the_plan_price_in_the_ledger(deployment: Deployment) -> None:
    store, account = deployment.store, deployment.accounts["alice"]
    before = store.credits.balance(account)
    with deployment.client("alice") as http:
        response = http.post("/v1/images/generations", json={"prompt": "a lighthouse", "n": 2})
    assert response.status_code == 200, response.text
    generation_id = response.json()["aupguard"]["generation_id"]
    assert store.credits.balance(account) == before - 4  # 2 credits per image on "pro"
    spend = store.credits.entries(account)[-1]
    assert spend.amount == -4 and generation_id in (spend.reference or "")
    assert "RateLimit-Limit" in response.headers


def test_no_credits_is_402_and_nothing_is_generated(deployment: Deployment) -> None:
    with deployment.client("poor") as http:
        response = http.post("/v1/images/generations", json={"prompt": "a lighthouse"})
        error = error_of(response, 402, "insufficient_credits")
        assert "needs 2 credits" in error["message"]
        # moderation costs nothing on this plan
        assert http.post("/v1/moderations", json={"input": "a lighthouse"}).status_code == 200
    assert deployment.store.credits.balance(deployment.accounts["poor"]) == 0


def test_key_scopes_limit_operations_and_name_the_default_pack(deployment: Deployment) -> None:
    with deployment.client("reader") as http:
        error_of(
            http.post("/v1/images/generations", json={"prompt": "a lighthouse"}),
            403,
            "insufficient_scope",
        )
        assert http.post("/v1/moderations", json={"input": "a lighthouse"}).status_code == 200
    with deployment.client("krea") as http:
        checked = http.post("/v1/check", json={"prompt": "a lighthouse"})
    assert checked.status_code == 200, checked.text
    assert checked.json()["policy"].startswith("krea-2@")


def test_unknown_and_revoked_keys_are_401(deployment: Deployment) -> None:
    with deployment.client("revoked") as http:
        error = error_of(http.post("/v1/moderations", json={"input": "x"}), 401, "revoked_api_key")
        assert "revoked" in error["message"]
    unknown = "aupg_00000000_" + "A" * 43
    with httpx.Client(
        base_url=deployment.urls[0], headers={"Authorization": f"Bearer {unknown}"}
    ) as http:
        error_of(http.post("/v1/moderations", json={"input": "x"}), 401, "invalid_api_key")
    with httpx.Client(
        base_url=deployment.urls[0], headers={"Authorization": "Bearer not-a-key"}
    ) as http:
        error_of(http.post("/v1/moderations", json={"input": "x"}), 401, "invalid_api_key")


def test_plan_rate_limit_holds_across_every_server(deployment: Deployment) -> None:
    """The tiny plan allows a burst of 2; the requests alternate between the servers (two
    on PostgreSQL + Redis), and the third is refused wherever it lands."""
    statuses = []
    for i in range(4):
        with deployment.client("limited", server=i % len(deployment.urls)) as http:
            response = http.post("/v1/moderations", json={"input": "a lighthouse"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert int(response.headers["Retry-After"]) >= 1
            assert response.headers["RateLimit-Remaining"] == "0"
            assert response.json()["error"]["code"] == "rate_limited"
    assert statuses == [200, 200, 429, 429]


def test_blocked_prompts_climb_the_ladder_until_the_account_is_refused(
    deployment: Deployment,
) -> None:
    """general-usage names warnings and, for repeated violations, a permanent ban (no
    temporary suspension): the first blocked prompt warns, repeated ones ban."""
    account = deployment.accounts["striker"]
    outcomes = []
    for i in range(6):
        with deployment.client("striker", server=i % len(deployment.urls)) as http:
            response = http.post("/v1/images/generations", json={"prompt": BLOCKED})
        if response.status_code == 403:
            error = error_of(response, 403, "account_banned")
            assert "repeated or serious violations" in error["message"]
            break
        error_of(response, 400, "content_policy_violation")
        outcomes.append(response)
    else:
        pytest.fail("six blocked prompts never stopped the account")
    assert 2 <= len(outcomes) <= 5
    steps = [a.step for a in deployment.store.enforcement.actions(account)]
    assert steps.count("warning") == 1  # the first strike warned; the next escalated
    assert {"warning", "content_removal", "permanent_ban"} <= set(steps)
    assert deployment.store.enforcement.strikes(account)
    kinds = {e.kind for e in deployment.store.events.query(account_id=account)}
    assert any(k.startswith("enforcement.") or k.startswith("strike") for k in kinds), kinds
    # the account's standing is visible to the operator
    with httpx.Client(
        base_url=deployment.urls[0], headers={"Authorization": f"Bearer {ADMIN}"}
    ) as admin:
        status = admin.get(f"/v1/admin/accounts/{account}").json()
    assert status["banned"] is True and status["strikes"] >= 2


def test_csam_prompt_bans_at_once_vaults_the_item_and_writes_a_report(
    deployment: Deployment,
) -> None:
    account = deployment.accounts["offender"]
    with deployment.client("offender") as http:
        refused = http.post("/v1/images/generations", json={"prompt": CSAM_PROMPT})
        error_of(refused, 400, "content_policy_violation")
        after = http.post("/v1/moderations", json={"input": "a lighthouse"})
    error = error_of(after, 403, "account_banned")
    assert "permanently banned" in error["message"]
    store = deployment.store
    assert store.enforcement.strikes(account) == []  # never a strike
    items = store.vault.items(account_id=account)
    assert len(items) == 1
    reports = list(deployment.reports_dir.glob("*.json"))
    report = next(json.loads(p.read_text()) for p in reports if account in p.read_text())
    assert report["classification"]["category"] == "sexual/minors"


def test_admin_suspension_and_lifting_it(deployment: Deployment) -> None:
    account = deployment.accounts["suspendee"]
    with httpx.Client(
        base_url=deployment.urls[0], headers={"Authorization": f"Bearer {ADMIN}"}
    ) as admin:
        done = admin.post(
            f"/v1/admin/accounts/{account}/suspension", json={"reason": "chargeback fraud"}
        )
        assert done.status_code < 300, done.text
        with deployment.client("suspendee", server=len(deployment.urls) - 1) as http:
            error = error_of(
                http.post("/v1/moderations", json={"input": "x"}), 403, "account_suspended"
            )
            assert "chargeback fraud" in error["message"]
            lifted = admin.delete(f"/v1/admin/accounts/{account}/suspension")
            assert lifted.status_code < 300, lifted.text
            assert http.post("/v1/moderations", json={"input": "x"}).status_code == 200
        unknown = admin.post("/v1/admin/accounts/acct_nobody/suspension", json={"reason": "x"})
        assert unknown.status_code == 404, unknown.text


def test_admin_api_creates_accounts_keys_and_credits(deployment: Deployment) -> None:
    with httpx.Client(
        base_url=deployment.urls[0], headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60
    ) as admin:
        org = admin.post("/v1/admin/orgs", json={"name": "Studio", "plan_id": "pro"}).json()
        account = admin.post(
            "/v1/admin/accounts", json={"org_id": org["id"], "external_id": "u-9", "plan_id": "pro"}
        ).json()
        made = admin.post(f"/v1/admin/accounts/{account['id']}/keys", json={"name": "ci"})
        assert made.status_code == 200, made.text
        secret, key_id = made.json()["secret"], made.json()["key"]["id"]
        granted = admin.post(
            f"/v1/admin/accounts/{account['id']}/credits", json={"amount": 6, "reason": "trial"}
        ).json()
        assert granted["balance"] == 6
        listed = admin.get(f"/v1/admin/accounts/{account['id']}/keys").json()
        assert [k["state"] for k in listed] == ["active"] and "secret" not in listed[0]

        user = {"Authorization": f"Bearer {secret}"}
        done = httpx.post(
            f"{deployment.urls[0]}/v1/images/generations",
            json={"prompt": "a lighthouse"},
            headers=user,
            timeout=60,
        )
        assert done.status_code == 200, done.text
        assert deployment.store.credits.balance(account["id"]) == 4

        revoked = admin.post(f"/v1/admin/keys/{key_id}/revocation", json={"reason": "rotated"})
        assert revoked.status_code == 200, revoked.text
        after = httpx.post(
            f"{deployment.urls[-1]}/v1/moderations", json={"input": "x"}, headers=user, timeout=60
        )
        error_of(after, 401, "revoked_api_key")

        error_of(admin.post("/v1/admin/accounts/acct_nope/keys", json={}), 404, "not_found")
        error_of(admin.post("/v1/admin/accounts", json={"org_id": "org_nope"}), 404, "not_found")
        error_of(
            admin.post(
                f"/v1/admin/accounts/{account['id']}/credits", json={"amount": -5, "reason": "x"}
            ),
            422,
            "invalid_request",
        )
    with deployment.client("alice") as not_admin:
        response = not_admin.post("/v1/admin/orgs", json={"name": "x"})
    assert response.status_code == 401


def test_actioned_verdicts_are_in_the_verified_audit_log(deployment: Deployment) -> None:
    """Runs after the tests above: their blocks are audit events, chained and verifiable,
    carrying clause and category but never the content."""
    from aupguard.records import AuditLog

    with deployment.client("alice") as http:
        blocked = http.post("/v1/check", json={"prompt": BLOCKED})
    decision = blocked.json()["items"][0]["decision_id"]
    events = deployment.store.events.query(kind_prefix="verdict.actioned", limit=100_000)
    mine = [e for e in events if e.subject == decision]
    assert len(mine) == 1
    data = mine[0].data
    assert data["action"] == "block" and data["detection"] == "automated"
    assert data["pack"] == "general-usage" and data["clause"] and data["category"]
    dumped = json.dumps([e.data for e in events])
    assert BLOCKED not in dumped and CSAM_PROMPT not in dumped
    report = AuditLog(deployment.store).verify()
    assert report.ok and report.events >= len(events) and report.first_break is None


def test_a_banned_account_appeals_and_a_reviewer_restores_it(deployment: Deployment) -> None:
    """Blocked prompts ban the account; it may still appeal (only a rate limit applies);
    the appeal reaches the review queue and a reviewer's restore reverses the ban."""
    from aupguard.review import DecisionAction, DecisionInput, ReviewDesk, Role, load_routing

    account = deployment.accounts["appellant"]
    decisions = []
    with deployment.client("appellant") as http:
        for _ in range(6):
            response = http.post("/v1/check", json={"prompt": BLOCKED})
            if response.status_code == 403:
                break
            decisions.append(response.json()["items"][0]["decision_id"])
        else:
            pytest.fail("the account was never banned")
        error_of(http.post("/v1/moderations", json={"input": "x"}), 403, "account_banned")
        banning = decisions[-1]
        statement = http.get(f"/v1/decisions/{banning}").json()
        assert statement["statement"]["action_ids"], statement
        appeal = http.post(
            "/v1/appeals",
            json={"decision_id": banning, "statement": "I was quoting a news article."},
        )
        assert appeal.status_code == 201, appeal.text

    desk = ReviewDesk(deployment.store, load_routing())
    reviewer = desk.add_reviewer(
        f"senior-{len(deployment.urls)}", "a-long-password-1234", (Role.SENIOR,), actor="test"
    )
    item = next(
        i
        for q in desk.queues_for(reviewer)
        for i in desk.list_items(reviewer, q.name, limit=500)
        if i.kind.value == "appeal" and i.reference == banning
    )
    desk.claim(item.id, reviewer)
    desk.decide(item.id, reviewer, DecisionInput(action=DecisionAction.RESTORE, reason="news"))

    with deployment.client("appellant") as http:
        assert http.post("/v1/moderations", json={"input": "a lighthouse"}).status_code == 200
    actions = deployment.store.enforcement.actions(account)
    assert any(a.step == "permanent_ban" and a.reversed_at is not None for a in actions)


SHARED_PACK = """
id: shared-test
name: Uploaded through one worker, used by all
version: 1.0.0
extends: general-usage
"""


def test_decisions_and_packs_are_shared_by_every_server(deployment: Deployment) -> None:
    """On the store backend the service's records live in the database: a decision made by
    one server is readable through another, and a pack uploaded to one is used by all."""
    import time

    last = len(deployment.urls) - 1
    with deployment.client("sharer", server=0) as first:
        decision = first.post("/v1/check", json={"prompt": BLOCKED}).json()["items"][0][
            "decision_id"
        ]
    with deployment.client("sharer", server=last) as other:
        statement = other.get(f"/v1/decisions/{decision}")
    assert statement.status_code == 200, statement.text
    assert statement.json()["action"] == "block"
    with httpx.Client(
        base_url=deployment.urls[0], headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60
    ) as admin:
        assert admin.post("/v1/admin/packs", json={"yaml": SHARED_PACK}).status_code == 201
    with deployment.client("sharer", server=last) as other:
        for _ in range(100):  # workers look for pack changes every few seconds
            checked = other.post("/v1/check", json={"prompt": "a cat", "policy": "shared-test"})
            if checked.status_code == 200:
                break
            time.sleep(0.1)
    assert checked.status_code == 200, checked.text
    assert checked.json()["policy"] == "shared-test@1.0.0"

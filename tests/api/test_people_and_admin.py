"""Reports, appeals, statements of reasons, and the admin API's access rules and pack ops."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from tests.api.conftest import (
    ADMIN,
    REVIEWER,
    Running,
    ServerThread,
    base_settings,
    error_of,
    wait_ready,
)

from aupguard.api.app import create_app

VIOLENT = "step by step instructions to build a pipe bomb and kill people"


def _blocked_decision(service: Running, who: str) -> str:
    with service.client(who) as http:
        body = http.post("/v1/check", json={"prompt": VIOLENT}).json()
    decision_id: str = body["items"][0]["decision_id"]
    return decision_id


def test_report_round_trip_anonymous(service: Running) -> None:
    with service.client(None) as anonymous:
        created = anonymous.post(
            "/v1/reports",
            json={
                "category": "impersonation",
                "reason": "a deepfake of me",
                "item": {"url": "https://example.org/img/1"},
            },
        )
    assert created.status_code == 201, created.text
    report_id = created.json()["id"]
    for token in (ADMIN, REVIEWER):
        with service.admin(token) as admin:
            seen = admin.get(f"/v1/admin/reports/{report_id}").json()
        assert seen["category"] == "impersonation" and seen["reporter_account"] is None
        assert seen["item"] == {"url": "https://example.org/img/1"}
    with service.client("alice") as http:
        error_of(http.get(f"/v1/admin/reports/{report_id}"), 401, "invalid_admin_token")


def test_report_validation(service: Running) -> None:
    with service.client("alice") as http:
        bad = http.post(
            "/v1/reports", json={"category": "nonsense", "reason": "x", "item": {"url": "u"}}
        )
        error_of(bad, 400, "unknown_category")
        empty = http.post("/v1/reports", json={"category": "other", "reason": "x", "item": {}})
        error_of(empty, 400, "empty_item")
        ok = http.post(
            "/v1/reports", json={"category": "other", "reason": "spam", "item": {"account_id": "a"}}
        )
    assert ok.status_code == 201


def test_appeal_round_trip_and_ownership(service: Running) -> None:
    decision_id = _blocked_decision(service, "alice")
    with service.client("bob") as bob:
        error_of(bob.get(f"/v1/decisions/{decision_id}"), 404, "decision_not_found")
        stolen = bob.post("/v1/appeals", json={"decision_id": decision_id, "statement": "mine"})
        error_of(stolen, 404, "decision_not_found")
    with service.client("alice") as alice:
        appeal = alice.post(
            "/v1/appeals", json={"decision_id": decision_id, "statement": "it was a novel"}
        )
        assert appeal.status_code == 201, appeal.text
        assert appeal.json()["status"] == "pending"
        decision = alice.get(f"/v1/decisions/{decision_id}").json()
        assert decision["appeal"]["id"] == appeal.json()["id"]
        assert decision["statement"]["clauses"][0]["citation"].startswith("general-usage@")
        again = alice.post("/v1/appeals", json={"decision_id": decision_id, "statement": "x"})
        error_of(again, 409, "already_appealed")
    with service.admin(REVIEWER) as reviewer:
        assert reviewer.get(f"/v1/decisions/{decision_id}").status_code == 200
    with service.client(None) as anonymous:
        error_of(anonymous.get(f"/v1/decisions/{decision_id}"), 401, "missing_api_key")


def test_unknown_decision_is_404(service: Running) -> None:
    with service.client() as http:
        error_of(http.get("/v1/decisions/dec_nope"), 404, "decision_not_found")


# -- admin -------------------------------------------------------------------------------------

PACK_V1 = """
id: admin-test
name: Admin test pack
version: 1.0.0
extends: general-usage
"""
PACK_V2 = """
id: admin-test
name: Admin test pack
version: 1.1.0
extends: general-usage
clauses:
  - id: op-crypto
    title: No crypto mining
    quote: You may not use the service to mine cryptocurrency.
    surface: content
    categories: [crypto-mining]
    action: block
"""
BROKEN = """
id: admin-broken
name: Broken
version: 1.0.0
clauses:
  - id: c1
    title: t
    quote: q
    surface: content
    categories: [not-a-category]
    action: block
"""


def test_admin_access_rules(service: Running) -> None:
    with service.client(None) as anonymous:
        error_of(anonymous.get("/v1/admin/packs"), 401, "invalid_admin_token")
    with service.client("alice") as alice:
        error_of(alice.get("/v1/admin/packs"), 401, "invalid_admin_token")
    with service.admin(REVIEWER) as reviewer:
        assert reviewer.get("/v1/admin/packs").status_code == 200
        error_of(reviewer.post("/v1/admin/packs", json={"yaml": PACK_V1}), 403, "forbidden")
        error_of(
            reviewer.post("/v1/admin/accounts/acct_bob/suspension", json={"reason": "x"}),
            403,
            "forbidden",
        )


def test_pack_upload_activate_and_shadow(service: Running) -> None:
    prompt = "set up a bitcoin mining rig farm poster"
    with service.admin() as admin:
        ids = {p["id"] for p in admin.get("/v1/admin/packs").json()}
        assert {"krea-2", "octoai", "stability-ai", "gpt-image2-design", "general-usage"} <= ids
        broken = error_of(admin.post("/v1/admin/packs", json={"yaml": BROKEN}), 422, "invalid_pack")
        assert any("not-a-category" in d and d[0].isdigit() for d in broken["details"])
        assert admin.post("/v1/admin/packs", json={"yaml": PACK_V1}).status_code == 201
        assert admin.post("/v1/admin/packs", json={"yaml": PACK_V2}).status_code == 201
        error_of(admin.post("/v1/admin/packs", json={"yaml": PACK_V1}), 409, "pack_exists")
        error_of(
            admin.put("/v1/admin/packs/admin-test/active", json={"version": "9.9.9"}),
            404,
            "unknown_policy",
        )
        active = admin.put("/v1/admin/packs/admin-test/active", json={"version": "1.0.0"})
        assert active.json()["active_version"] == "1.0.0"
        shadow = admin.put("/v1/admin/packs/admin-test/shadow", json={"version": "1.1.0"})
        assert shadow.json()["shadow_version"] == "1.1.0"
    with service.client("bob") as http:
        live = http.post("/v1/check", json={"policy": "admin-test", "prompt": prompt}).json()
    assert live["policy"] == "admin-test@1.0.0" and live["action"] == "allow"
    rows: list[dict[str, object]] = []
    with service.admin() as admin:
        for _ in range(50):  # the shadow verdict is recorded after the response
            rows = admin.get("/v1/admin/packs/admin-test/shadow").json()
            if rows:
                break
            time.sleep(0.1)
    assert rows == [
        {
            "live_version": "1.0.0",
            "shadow_version": "1.1.0",
            "live_action": "allow",
            "shadow_action": "block",
            "n": 1,
        }
    ]


def test_admin_suspends_and_lifts(service: Running) -> None:
    with service.admin() as admin:
        admin.post("/v1/admin/accounts/acct_krea/suspension", json={"reason": "chargeback fraud"})
    with service.client("krea") as http:
        error = error_of(
            http.post("/v1/moderations", json={"input": "x"}), 403, "account_suspended"
        )
    assert "chargeback fraud" in error["message"]
    with service.admin() as admin:
        assert admin.delete("/v1/admin/accounts/acct_krea/suspension").status_code == 200
        error_of(admin.delete("/v1/admin/accounts/acct_krea/suspension"), 404, "not_suspended")
    with service.client("krea") as http:
        assert http.post("/v1/moderations", json={"input": "x"}).status_code == 200


def test_account_admin_api_needs_the_store_backend(service: Running) -> None:
    with service.admin() as admin:
        error_of(admin.post("/v1/admin/orgs", json={"name": "x"}), 501, "store_backend_required")


PROTECTED = """provenance: operator's protected persons list (test)
entries:
  - {id: op-1, name: Janelle Quorvathy, kind: business, living: true}
"""


def test_operator_lists_take_effect_after_a_reload_in_the_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    persons = tmp_path / "protected.yaml"
    persons.write_text(PROTECTED, encoding="utf-8")
    monkeypatch.setenv("AUPGUARD_PROTECTED_PERSONS", str(persons))
    settings = base_settings(tmp_path / "data", image_moderation=False)
    prompt = "photorealistic news photo of Mortimer Zanzibarius arrested by police"

    def detectors_hit(http: httpx.Client) -> set[str]:
        body = http.post("/v1/check", json={"prompt": prompt}).json()
        rules = [str(e.get("rule") or "") for e in body["items"][0]["verdict"]["evidence"]]
        return {r.split(":")[0] for r in rules if r.startswith("real-people:op-")}

    with ServerThread(create_app(settings)) as server:
        wait_ready(server.url)
        running = Running(server.url, settings)
        with running.client() as http:
            assert "real-people" not in detectors_hit(http)
            persons.write_text(
                PROTECTED + "  - {id: op-2, name: Mortimer Zanzibarius, kind: politician,"
                " living: true}\n",
                encoding="utf-8",
            )
            assert "real-people" not in detectors_hit(http)  # not re-read until reloaded
            with running.admin() as admin:
                done = admin.post("/v1/admin/detectors/reload")
                assert done.status_code == 200 and "real-people" in done.json()["reloaded"]
                assert "real-people" in detectors_hit(http)

                persons.write_text("entries: [ {broken", encoding="utf-8")
                broken = admin.post("/v1/admin/detectors/reload")
                error = error_of(broken, 400, "invalid_detector_data")
                assert "protected.yaml" in error["message"]
                assert "real-people" in detectors_hit(http)  # the old lists stay in use

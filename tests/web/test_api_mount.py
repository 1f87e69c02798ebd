"""The HTTP service carries the review desk: the UI is mounted at /review, user reports and
appeals become review items, and the decision endpoint tells the account an appeal's outcome."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from web_helpers import PASSWORD, ServerThread

from aupguard.api.app import create_app
from aupguard.api.settings import load_settings
from aupguard.review import DecisionAction, DecisionInput, ReviewDesk, Role
from aupguard.web.mount import desk_of

KEY = "sk-review-alice-0123456789"


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    monkeypatch.setenv("AUPGUARD_REVIEW_SECRET", "r" * 40)
    settings = load_settings(
        {},
        env="test",
        backend="embedded",
        admin_token="admin-token-for-tests-0123456789",
        reviewer_token="reviewer-token-for-tests-012345",
        api_keys=[{"key": KEY, "account": "acct_alice", "org": "org_a"}],
        data_dir=tmp_path,
        image_moderation=False,
    )
    app = create_app(settings)
    with ServerThread(app) as server:
        yield server.url, app


def _desk(app: Any) -> ReviewDesk:
    desk = desk_of(app)
    assert desk is not None
    return desk


def test_reports_about_one_account_become_one_review_item(service: tuple[str, Any]) -> None:
    url, app = service
    with httpx.Client(base_url=url, timeout=30) as client:
        for reason in ("spam links", "more spam"):
            r = client.post(
                "/v1/reports",
                json={"category": "spam", "reason": reason, "item": {"account_id": "acct_zed"}},
            )
            assert r.status_code == 201, r.text
        login = client.get("/review/login")
        assert login.status_code == 200 and "Sign in" in login.text
    desk = _desk(app)
    lead = desk.add_reviewer("lead", PASSWORD, [Role.ADMIN, Role.SENIOR], actor="test")
    (item,) = desk.list_items(lead, "reports")
    assert item.report_count == 2 and item.account_id == "acct_zed"
    assert [r.reason for r in desk.reports(item.id)] == ["spam links", "more spam"]


def test_an_appeal_is_queued_and_its_outcome_reaches_the_account(
    service: tuple[str, Any],
) -> None:
    url, app = service
    app.state.aupguard.records.add_decision(
        decision_id="dec_appealed",
        account_id="acct_alice",
        org_id="org_a",
        kind="check",
        policy="general-usage@1.0.0",
        action="block",
        modality="prompt",
        statement={
            "action": "block",
            "policy": "general-usage@1.0.0",
            "clauses": [
                {
                    "clause_id": "4",
                    "category": "harassment",
                    "action": "block",
                    "score": 0.93,
                    "quote": "No harassment.",
                    "citation": "general-usage@1.0.0 §4",
                }
            ],
            "evidence": [],
        },
    )
    auth = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=url, timeout=30, headers=auth) as client:
        r = client.post(
            "/v1/appeals", json={"decision_id": "dec_appealed", "statement": "It was satire"}
        )
        assert r.status_code == 201, r.text
        desk = _desk(app)
        judge = desk.add_reviewer("judge", PASSWORD, [Role.REVIEWER], actor="test")
        item = desk.claim_next(judge, "appeals")
        assert item is not None and item.kind.value == "appeal"
        assert item.category == "harassment" and item.details["statement"] == "It was satire"
        assert item.verdict.clauses[0].quote == "No harassment."
        assert client.get("/v1/decisions/dec_appealed").json()["appeal"]["status"] == "pending"
        desk.decide(item.id, judge, DecisionInput(action=DecisionAction.RESTORE, reason="satire"))
        assert client.get("/v1/decisions/dec_appealed").json()["appeal"]["status"] == "restored"

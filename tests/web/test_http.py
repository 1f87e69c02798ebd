"""The reviewer UI over real HTTP without a browser: sign-in, signed sessions, CSRF on every
form, per-role authorisation on every route, HTML error pages, and the item page's content."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from web_helpers import PASSWORD, PROMPT, SECRET, UI, csrf_of

from aupguard.review import Role
from aupguard.web.security import make_session, read_session

Login = Callable[[str], httpx.Client]


def test_pages_need_a_session(ui: UI) -> None:
    with httpx.Client(base_url=ui.url) as client:
        for path in (
            "/review/",
            "/review/queues/general",
            f"/review/items/{ui.seeded.text.id}",
            "/review/audit",
            "/review/admin/reviewers",
            "/review/settings",
        ):
            r = client.get(path)
            assert r.status_code == 303 and "/review/login" in r.headers["location"], path
        r = client.post(f"/review/items/{ui.seeded.text.id}/decide", data={"action": "approve"})
        assert r.status_code == 401 and "Traceback" not in r.text


def test_sign_in_sets_a_signed_http_only_cookie(ui: UI) -> None:
    with httpx.Client(base_url=ui.url) as client:
        page = client.get("/review/login")
        token = csrf_of(page.text)
        bad = client.post(
            "/review/login", data={"csrf": token, "username": "ann", "password": "wrong password!"}
        )
        assert bad.status_code == 401 and "wrong password" in bad.text
        ok = client.post(
            "/review/login", data={"csrf": token, "username": "ann", "password": PASSWORD}
        )
        assert ok.status_code == 303
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
        session = client.cookies.get("aupguard_review")
        assert session and read_session(SECRET, session) == "ann"
        # a tampered cookie is no session
        forged = session.replace(
            session.split(".")[0], make_session(SECRET, "root", 1).split(".")[0]
        )
        client.cookies.set("aupguard_review", forged)
        assert client.get("/review/").status_code == 303


def test_every_form_post_needs_the_csrf_token(ui: UI, login: Login) -> None:
    client = login("ann")
    item = ui.seeded.text.id
    for path, data in (
        (f"/review/items/{item}/decide", {"action": "approve"}),
        (f"/review/items/{item}/claim", {}),
        ("/review/queues/threats/claim", {}),
        ("/review/settings", {"blur_images": "on"}),
        ("/review/logout", {}),
    ):
        for token in (None, "0" * 64):
            body = dict(data) if token is None else {**data, "csrf": token}
            r = client.post(path, data=body)
            assert r.status_code == 403 and "CSRF" in r.text, path
    assert ui.desk.item(item).status.value == "open"


def test_roles_guard_every_route(ui: UI, login: Login) -> None:
    ann = login("ann")
    assert ann.get("/review/admin/reviewers").status_code == 403
    assert ann.get("/review/dashboard").status_code == 403
    assert ann.get("/review/queues/escalated").status_code == 403
    # a child-safety item does not exist for a plain reviewer, nor does its image
    child = ui.seeded.child.id
    assert ann.get(f"/review/items/{child}").status_code == 404
    assert ann.get(f"/review/items/{child}/image").status_code == 404
    assert "child-safety" not in ann.get("/review/").text
    token = csrf_of(ann.get("/review/").text)
    r = ann.post(f"/review/items/{child}/decide", data={"csrf": token, "action": "approve"})
    assert r.status_code == 404
    r = ann.post("/review/admin/reviewers/ann/roles", data={"csrf": token, "roles": "admin"})
    assert r.status_code == 403 and ui.desk.reviewer("ann").roles == (Role.REVIEWER,)
    sue = login("sue")
    assert sue.get("/review/dashboard").status_code == 200
    assert "<svg" in sue.get("/review/dashboard").text


def test_child_safety_content_needs_a_logged_reason(ui: UI, login: Login) -> None:
    cara = login("cara")
    child = ui.seeded.child.id
    page = cara.get(f"/review/items/{child}")
    assert page.status_code == 200
    assert "-only fixture standing in" not in page.text and 'id="cs-hidden"' in page.text
    token = csrf_of(page.text)
    short = cara.post(f"/review/items/{child}/reveal", data={"csrf": token, "reason": "x"})
    assert short.status_code == 400 and "reason" in short.text
    opened = cara.post(
        f"/review/items/{child}/reveal",
        data={"csrf": token, "reason": "verifying the detector's evidence"},
    )
    assert opened.status_code == 200 and "-only fixture standing in" in opened.text
    audit = cara.get("/review/audit").text
    assert "review.revealed" in audit and "verifying the detector" in audit


def test_item_page_shows_evidence_clauses_history(ui: UI, login: Login) -> None:
    ann = login("ann")
    page = ann.get(f"/review/items/{ui.seeded.text.id}").text
    assert "<mark" in page and ">stab my</mark>" in page
    assert "Do not use the service to plan or incite violence." in page
    assert "Linked accounts" in page and "dev-123" in page
    image = ann.get(f"/review/items/{ui.seeded.image.id}")
    assert 'class="media blurred"' in image.text and '<rect class="box" x="20"' in image.text
    png = ann.get(f"/review/items/{ui.seeded.image.id}/image")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")


def test_bad_input_gets_an_html_error_not_a_traceback(ui: UI, login: Login) -> None:
    ann = login("ann")
    token = csrf_of(ann.get("/review/").text)
    item = ui.seeded.text.id
    cases = [
        (ann.get("/review/items/rev_nope"), 404),
        (ann.get("/review/queues/nope"), 404),
        (ann.get("/review/no/such/page"), 404),
        (ann.post(f"/review/items/{item}/decide", data={"csrf": token, "action": "nuke"}), 400),
        (ann.post(f"/review/items/{item}/decide", data={"csrf": token, "action": "remove"}), 400),
        (
            ann.post(
                f"/review/items/{item}/decide",
                data={
                    "csrf": token,
                    "action": "ladder_step",
                    "step": "warning",
                    "duration_days": "soon",
                    "reason": "x",
                },
            ),
            400,
        ),
        (
            ann.post(
                f"/review/items/{item}/decide",
                content=b"\xff\xfe",
                headers={"content-type": "application/x-www-form-urlencoded"},
            ),
            400,
        ),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        assert "text/html" in response.headers["content-type"]
        assert "Traceback" not in response.text
        assert response.headers["x-frame-options"] == "DENY"
        assert "script-src 'self'" in response.headers["content-security-policy"]


def test_claim_decide_and_audit(ui: UI, login: Login) -> None:
    ann = login("ann")
    home = ann.get("/review/")
    assert 'id="queue-threats"' in home.text
    r = ann.post("/review/queues/threats/claim", data={"csrf": csrf_of(home.text)})
    assert r.status_code == 200 and ui.seeded.text.id in str(r.url)
    assert 'Claimed by</dt><dd id="claimed-by">ann' in r.text
    bob = login("bob")
    page = bob.get(f"/review/items/{ui.seeded.text.id}")
    done = bob.post(
        f"/review/items/{ui.seeded.text.id}/decide",
        data={"csrf": csrf_of(page.text), "action": "approve"},
    )
    assert done.status_code == 400 and "claimed by ann" in done.text
    done = ann.post(
        f"/review/items/{ui.seeded.text.id}/decide",
        data={"csrf": csrf_of(r.text), "action": "remove", "reason": "incitement"},
    )
    assert done.status_code == 200 and "Decided" in done.text
    assert ui.desk.item(ui.seeded.text.id).outcome == "removed"
    audit = ann.get("/review/audit").text
    assert "review.decision" in audit and "incitement" in audit
    assert PROMPT not in audit  # the audit log keeps reasons, not content


def test_admin_changes_roles_and_it_is_logged(ui: UI, login: Login) -> None:
    root = login("root")
    page = root.get("/review/admin/reviewers")
    assert page.status_code == 200 and 'id="reviewer-ann"' in page.text
    r = root.post(
        "/review/admin/reviewers/ann/roles",
        content=f"csrf={csrf_of(page.text)}&roles=reviewer&roles=child_safety",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200
    assert set(ui.desk.reviewer("ann").roles) == {Role.REVIEWER, Role.CHILD_SAFETY}
    audit = root.get("/review/audit").text
    assert "review.role_change" in audit and "reviewer:root" in audit
    # the new role works at once, in the existing session
    ann = login("ann")
    assert ann.get(f"/review/items/{ui.seeded.child.id}").status_code == 200


@pytest.mark.parametrize("secure", [True, False])
def test_secure_cookie_setting(ui: UI, secure: bool) -> None:
    from fastapi.testclient import TestClient

    from aupguard.web import WebSettings, create_review_app

    app = create_review_app(ui.desk, WebSettings(secret=SECRET, secure_cookies=secure))
    with TestClient(app, base_url="https://testserver") as client:
        page = client.get("/login")
        r = client.post(
            "/login",
            data={"csrf": csrf_of(page.text), "username": "ann", "password": PASSWORD},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert ("Secure" in r.headers["set-cookie"]) is secure

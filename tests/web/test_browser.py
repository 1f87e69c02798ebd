"""The reviewer UI in a real browser: Debian's headless Chromium driven by Playwright over
real HTTP. Skipped, with the reason, where /usr/bin/chromium or playwright is missing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from web_helpers import PASSWORD, UI

from aupguard.enforcement.executor import Enforcer
from aupguard.policy.registry import default_registry

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install 'aupguard[dev]')"
)
if shutil.which(CHROMIUM) is None:
    pytest.skip(
        f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page_for(browser: Any, ui: UI) -> Iterator[Any]:
    contexts: list[Any] = []

    def open_as(who: str) -> Any:
        context = browser.new_context(base_url=ui.url)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto("/review/login")
        page.fill("#username", who)
        page.fill("#password", PASSWORD)
        page.click("#sign-in")
        page.wait_for_selector("#who")
        return page

    yield open_as
    for context in contexts:
        context.close()


def _filter(page: Any, selector: str) -> str:
    return str(page.eval_on_selector(selector, "el => getComputedStyle(el).filter"))


def test_claim_see_evidence_decide_by_keyboard_and_audit(page_for: Any, ui: UI) -> None:
    page = page_for("ann")
    assert page.inner_text("#queue-threats .open") == "2"
    page.click("#queue-threats button.claim")
    page.wait_for_url(f"**/review/items/{ui.seeded.text.id}")
    assert page.inner_text("#claimed-by") == "ann"
    # the evidence span is highlighted in the prompt
    assert page.inner_text("#prompt mark") == "stab my"
    assert "violence" in (page.get_attribute("#prompt mark", "title") or "")
    # "a" approves: the keyboard shortcut submits the decision
    page.keyboard.press("a")
    page.wait_for_url("**/review/queues/threats*")
    assert "Decided" in page.inner_text(".flash")
    assert ui.desk.item(ui.seeded.text.id).outcome == "approved"
    page.goto("/review/audit")
    row = page.locator('tr.event[data-kind="review.decision"]').first
    assert "reviewer:ann" in row.inner_text() and ui.seeded.text.id in row.inner_text()


def test_typing_a_note_does_not_trigger_shortcuts(page_for: Any, ui: UI) -> None:
    page = page_for("ann")
    page.goto(f"/review/items/{ui.seeded.text.id}")
    page.keyboard.press("n")  # focuses the note box
    page.keyboard.type("a remark")
    assert page.input_value("#reason") == "a remark"
    assert ui.desk.item(ui.seeded.text.id).status.value == "open"


def test_images_are_blurred_until_a_deliberate_click(page_for: Any, ui: UI) -> None:
    page = page_for("bob")
    page.goto(f"/review/items/{ui.seeded.image.id}")
    assert page.locator("rect.box").count() == 1  # the evidence box on the image
    before = _filter(page, "#media .image")
    assert "blur" in before and "grayscale" in before
    page.click("#reveal-image")
    assert _filter(page, "#media .image") == "none"
    # the reviewer may turn blurring off for themselves
    page.goto("/review/settings")
    page.uncheck("#blur-images")
    page.click("#save-settings")
    page.goto(f"/review/items/{ui.seeded.image.id}")
    assert _filter(page, "#media .image") == "none"
    assert ui.desk.reviewer("ann").blur_images  # others keep the default


def test_child_safety_item_is_invisible_to_a_plain_reviewer(page_for: Any, ui: UI) -> None:
    page = page_for("ann")
    assert page.locator("#queue-child-safety").count() == 0
    response = page.goto(f"/review/items/{ui.seeded.child.id}")
    assert response.status == 404
    assert "fixture" not in page.content()
    specialist = page_for("cara")
    specialist.goto(f"/review/items/{ui.seeded.child.id}")
    assert specialist.locator("#prompt").count() == 0  # not in full without a reason
    specialist.fill("#reveal-reason", "confirming the classifier's span")
    specialist.click("#reveal-submit")
    specialist.wait_for_selector("#prompt")
    assert "child-safety prompt" in specialist.inner_text("#prompt")


def test_role_change_is_logged(page_for: Any, ui: UI) -> None:
    page = page_for("root")
    page.goto("/review/admin/reviewers")
    page.check('#reviewer-bob input[value="senior_reviewer"]')
    page.click("#reviewer-bob button")
    page.wait_for_selector(".flash")
    assert ui.desk.reviewer("bob").has(*[r for r in ui.desk.reviewer("bob").roles])
    assert "senior_reviewer" in ui.desk.reviewer("bob").roles
    page.goto("/review/audit")
    row = page.locator('tr.event[data-kind="review.role_change"]').first
    assert "bob" in row.inner_text() and "senior_reviewer" in row.inner_text()


def test_appeal_by_a_second_reviewer_reverses_a_suspension(page_for: Any, ui: UI) -> None:
    account = ui.seeded.account_id
    enforcer = Enforcer(ui.desk.store, default_registry().get("general-usage").pack)
    ann = page_for("ann")
    ann.goto(f"/review/items/{ui.seeded.text.id}")
    ann.click("#claim-item")
    ann.select_option("#step", "temporary_suspension")
    ann.fill("#duration", "7")
    ann.fill("#ladder-reason", "planning violence against a neighbour")
    ann.click("#apply-step")
    ann.wait_for_url("**/review/queues/*")
    assert enforcer.standing(account).suspended_until is not None

    appeal = ui.desk.add_appeal(
        account_id=account,
        statement="It was a line from my novel",
        original_item_id=ui.seeded.text.id,
    )
    # the reviewer who suspended may not decide the appeal
    ann.goto(f"/review/items/{appeal.id}")
    ann.keyboard.press("s")
    ann.wait_for_selector("#error-message")
    assert "different reviewer" in ann.inner_text("#error-message")
    assert enforcer.standing(account).suspended_until is not None

    bob = page_for("bob")
    bob.goto(f"/review/items/{appeal.id}")
    assert "my novel" in bob.inner_text("#appeal-statement")
    bob.fill("#reason", "fiction, shown by the account's history")
    bob.keyboard.press("Escape")
    bob.keyboard.press("s")
    bob.wait_for_url("**/review/queues/appeals*")
    assert enforcer.standing(account).suspended_until is None
    assert ui.desk.item(appeal.id).outcome == "restored"
    bob.goto(f"/review/items/{ui.seeded.text.id}")
    assert "reversed" in bob.inner_text("#account-actions")

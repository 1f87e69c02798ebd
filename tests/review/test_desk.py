"""The review desk on SQLite and PostgreSQL: intake, routing and priority, SLA, grouping,
claims and their expiry, decisions with audit events, child-safety visibility, appeals decided
by a second reviewer that reverse enforcement, and the false-positive export."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from review_helpers import PASSWORD, make_verdict, reviewer

from aupguard.policy.models import Action
from aupguard.review import (
    AuthenticationError,
    DecisionAction,
    DecisionInput,
    ForbiddenError,
    ItemNotFoundError,
    ReviewDesk,
    ReviewError,
    Role,
    enqueue_verdict,
)
from aupguard.store import Store
from aupguard.store.testing import MovableClock

REVIEWER_ONLY = "ann"


def _decide(action: DecisionAction, reason: str = "", **kw: object) -> DecisionInput:
    return DecisionInput(action=action, reason=reason, **kw)  # type: ignore[arg-type]


def test_only_review_verdicts_are_queued(store: Store) -> None:
    assert (
        enqueue_verdict(store, make_verdict(action=Action.ALLOW), account_id="a", decision_id="d0")
        is None
    )
    assert (
        enqueue_verdict(store, make_verdict(action=Action.BLOCK), account_id="a", decision_id="d1")
        is None
    )
    item = enqueue_verdict(
        store,
        make_verdict("harassment", 0.62),
        account_id="acct_x",
        decision_id="dec_1",
        prompt="kill them all, he said",
    )
    assert item is not None
    assert (item.kind.value, item.queue, item.category, item.severity) == (
        "verdict",
        "general",
        "harassment",
        62,
    )
    assert item.reference == "dec_1" and item.content_text == "kill them all, he said"
    assert item.verdict.clauses[0].quote.startswith("Do not threaten")


def test_routing_priority_and_sla(desk: ReviewDesk, clock: MovableClock) -> None:
    low = desk.enqueue_verdict(make_verdict("violence", 0.55), account_id="a", reference="d1")
    clock.advance(dt.timedelta(minutes=1))
    high = desk.enqueue_verdict(make_verdict("violence", 0.95), account_id="a", reference="d2")
    cs = desk.enqueue_verdict(make_verdict("sexual/minors", 0.51), account_id="a", reference="d3")
    spam = desk.enqueue_verdict(make_verdict("spam", 0.99), account_id="a", reference="d4")
    assert low and high and cs and spam
    assert (low.queue, high.queue, cs.queue, spam.queue) == (
        "threats",
        "threats",
        "child-safety",
        "general",
    )
    # child safety outranks credible threats outranks everything else, whatever the score
    assert cs.rank < low.rank < spam.rank and high.rank < low.rank
    assert cs.sla_due_at - cs.created_at == dt.timedelta(minutes=60)
    lead = reviewer(desk, "lead", Role.SENIOR, Role.CHILD_SAFETY, Role.ADMIN)
    # the more severe threat first, though it came later
    assert [i.id for i in desk.list_items(lead, "threats")] == [high.id, low.id]
    clock.advance(dt.timedelta(minutes=121))
    threats = next(q for q in desk.queue_summaries(lead) if q.name == "threats")
    assert (threats.open, threats.overdue) == (2, 2)
    general = next(q for q in desk.queue_summaries(lead) if q.name == "general")
    assert (general.open, general.overdue) == (1, 0)


def test_reports_about_one_item_or_account_are_grouped(desk: ReviewDesk) -> None:
    first = desk.add_report(
        category="harassment", reason="rude", account_id="acct_9", reporter="r1"
    )
    second = desk.add_report(
        category="violence", reason="threat", account_id="acct_9", reporter="r2"
    )
    other = desk.add_report(category="spam", reason="ads", account_id="acct_10")
    assert first.id == second.id != other.id
    assert second.report_count == 2
    # a graver report raises the group's priority
    assert second.category == "violence" and second.rank < first.rank
    assert [r.reporter for r in desk.reports(first.id)] == ["r1", "r2"]
    # a report about a decision already waiting for review joins that item
    pending = desk.enqueue_verdict(make_verdict(), account_id="acct_1", reference="dec_77")
    assert pending is not None
    joined = desk.add_report(category="violence", reason="saw it", decision_id="dec_77")
    assert joined.id == pending.id and joined.report_count == 1
    with pytest.raises(ReviewError, match="must name"):
        desk.add_report(category="spam", reason="?")


def test_claims_are_exclusive_and_expire(desk: ReviewDesk, clock: MovableClock) -> None:
    a = desk.enqueue_verdict(make_verdict("spam", 0.9), account_id="x", reference="1")
    b = desk.enqueue_verdict(make_verdict("spam", 0.8), account_id="x", reference="2")
    assert a and b
    ann, bob = reviewer(desk, "ann"), reviewer(desk, "bob")
    got_a = desk.claim_next(ann, "general")
    assert got_a is not None and got_a.id == a.id and got_a.claimed_by == "ann"
    assert desk.claim_next(ann, "general").id == a.id  # type: ignore[union-attr]  # own claim
    got_b = desk.claim_next(bob, "general")
    assert got_b is not None and got_b.id == b.id
    carol = reviewer(desk, "carol")
    assert desk.claim_next(carol, "general") is None
    with pytest.raises(ReviewError, match="claimed by ann"):
        desk.decide(a.id, bob, _decide(DecisionAction.APPROVE))
    clock.advance(dt.timedelta(minutes=desk.routing.claim_minutes + 1))
    again = desk.claim_next(carol, "general")
    assert again is not None and again.id == a.id and again.claimed_by == "carol"


def test_decision_writes_an_audit_event_and_closes(desk: ReviewDesk, store: Store) -> None:
    item = desk.enqueue_verdict(make_verdict(), account_id="acct_a", reference="d")
    assert item
    ann = reviewer(desk, "ann")
    desk.claim_next(ann, "threats")
    desk.decide(item.id, ann, _decide(DecisionAction.APPROVE, "quote from a film"))
    done = desk.item(item.id)
    assert (done.status.value, done.outcome, done.decided_by) == ("decided", "approved", "ann")
    events = [e for e in store.events.query(kind_prefix="review.decision")]
    assert len(events) == 1
    e = events[0]
    assert (e.actor, e.subject, e.account_id) == ("reviewer:ann", item.id, "acct_a")
    assert e.data["action"] == "approve" and e.data["clause"] == "2.1"
    assert e.data["reason"] == "quote from a film" and e.data["category"] == "violence"
    with pytest.raises(ReviewError, match="already decided"):
        desk.decide(item.id, ann, _decide(DecisionAction.REMOVE, "x"))


def test_bad_decisions_are_refused(desk: ReviewDesk) -> None:
    item = desk.enqueue_verdict(make_verdict(), account_id="acct_nowhere", reference="d")
    assert item
    ann = reviewer(desk, "ann")
    with pytest.raises(ReviewError, match="needs a reason"):
        desk.decide(item.id, ann, _decide(DecisionAction.REMOVE))
    with pytest.raises(ReviewError, match="appeals only"):
        desk.decide(item.id, ann, _decide(DecisionAction.RESTORE, "x"))
    with pytest.raises(ReviewError, match="ladder step"):
        desk.decide(item.id, ann, _decide(DecisionAction.LADDER_STEP, "x", step="nuke"))
    with pytest.raises(ReviewError, match="not in the account store"):
        desk.decide(item.id, ann, _decide(DecisionAction.LADDER_STEP, "x", step="warning"))
    with pytest.raises(ForbiddenError, match="senior"):
        desk.decide(item.id, ann, _decide(DecisionAction.LADDER_STEP, "x", step="permanent_ban"))
    with pytest.raises(ItemNotFoundError):
        desk.decide("rev_missing", ann, _decide(DecisionAction.APPROVE))
    assert desk.item(item.id).status.value == "open"


def test_escalation_moves_to_senior_queue(desk: ReviewDesk) -> None:
    item = desk.enqueue_verdict(make_verdict("spam", 0.7), account_id="x", reference="d")
    assert item
    ann = reviewer(desk, "ann")
    senior = reviewer(desk, "sue", Role.SENIOR)
    desk.decide(item.id, ann, _decide(DecisionAction.ESCALATE, "not sure"))
    moved = desk.item(item.id)
    assert moved.queue == "escalated" and moved.status.value == "open"
    with pytest.raises(ForbiddenError):
        desk.claim_next(ann, "escalated")
    with pytest.raises(ItemNotFoundError):
        desk.item(item.id, ann)  # no longer visible to a plain reviewer
    assert desk.claim_next(senior, "escalated") is not None


def test_child_safety_items_need_the_role_and_a_logged_reason(
    desk: ReviewDesk, store: Store
) -> None:
    item = desk.enqueue_verdict(
        make_verdict("sexual/minors", 0.8),
        account_id="x",
        reference="d",
        prompt="text prompt fixture for a child-safety rule",
    )
    assert item and item.child_safety
    ann = reviewer(desk, "ann", Role.REVIEWER, Role.SENIOR, Role.ADMIN)
    cs = reviewer(desk, "cara", Role.CHILD_SAFETY)
    with pytest.raises(ItemNotFoundError):
        desk.item(item.id, ann)
    assert "child-safety" not in [q.name for q in desk.queue_summaries(ann)]
    with pytest.raises(ForbiddenError):
        desk.claim_next(ann, "child-safety")
    assert desk.item(item.id, cs).id == item.id
    assert not desk.revealed(item.id, "cara")
    with pytest.raises(ReviewError, match="reason"):
        desk.reveal(item.id, cs, "why")
    desk.reveal(item.id, cs, "checking the classifier's evidence")
    assert desk.revealed(item.id, "cara")
    (event,) = store.events.query(kind_prefix="review.revealed")
    assert event.actor == "reviewer:cara" and "classifier" in event.data["reason"]


def _stored_account(store: Store) -> str:
    org = store.accounts.create_org("Acme")
    return store.accounts.create(org.id, external_id="u1", email="u1@example.com").id


def test_appeal_goes_to_another_reviewer_and_restore_reverses_the_suspension(
    desk: ReviewDesk, store: Store
) -> None:
    from aupguard.enforcement.executor import Enforcer
    from aupguard.policy.registry import default_registry

    account = _stored_account(store)
    item = desk.enqueue_verdict(make_verdict("harassment", 0.8), account_id=account, reference="d9")
    assert item
    ann, bob = reviewer(desk, "ann"), reviewer(desk, "bob")
    desk.claim_next(ann, "general")
    record = desk.decide(
        item.id,
        ann,
        _decide(
            DecisionAction.LADDER_STEP,
            "targeted harassment",
            step="temporary_suspension",
            duration_days=3,
        ),
    )
    enforcer = Enforcer(store, default_registry().get("general-usage").pack)
    assert enforcer.standing(account).suspended_until is not None
    (action_id,) = record.data["action_ids"]

    appeal = desk.add_appeal(
        account_id=account, statement="It was a joke between friends", original_item_id=item.id
    )
    assert appeal.queue == "appeals" and appeal.appeal_of == item.id
    with pytest.raises(ReviewError, match="already has appeal"):
        desk.add_appeal(account_id=account, statement="again", original_item_id=item.id)
    # the reviewer who decided cannot take or decide the appeal
    assert desk.claim_next(ann, "appeals") is None
    with pytest.raises(ForbiddenError, match="different reviewer"):
        desk.decide(appeal.id, ann, _decide(DecisionAction.RESTORE, "ok"))
    told = []
    desk.notifiers.append(told.append)
    claimed = desk.claim_next(bob, "appeals")
    assert claimed is not None and claimed.id == appeal.id
    with pytest.raises(ReviewError, match="restore or uphold"):
        desk.decide(appeal.id, bob, _decide(DecisionAction.APPROVE))
    desk.decide(appeal.id, bob, _decide(DecisionAction.RESTORE, "context shows banter"))
    assert enforcer.standing(account).suspended_until is None
    assert store.enforcement.action(action_id).reversed_by == "reviewer:bob"
    assert told and told[0].outcome == "restored" and told[0].reversed_actions == (action_id,)
    assert desk.item(appeal.id).outcome == "restored"
    assert desk.appeal_outcome("d9") == ("restored", appeal.id)
    kinds = [e.kind for e in store.events.query(account_id=account)]
    assert "review.appeal_decided" in kinds and "enforcement.reversed" in kinds


def test_upheld_appeal_keeps_enforcement(desk: ReviewDesk, store: Store) -> None:
    account = _stored_account(store)
    item = desk.enqueue_verdict(make_verdict("harassment", 0.8), account_id=account, reference="d")
    assert item
    ann, bob = reviewer(desk, "ann"), reviewer(desk, "bob")
    desk.decide(item.id, ann, _decide(DecisionAction.LADDER_STEP, "x", step="warning"))
    appeal = desk.add_appeal(account_id=account, statement="please", original_item_id=item.id)
    desk.decide(appeal.id, bob, _decide(DecisionAction.UPHOLD, "the rule applies"))
    assert all(a.reversed_at is None for a in store.enforcement.actions(account))
    assert desk.item(appeal.id).outcome == "upheld"


def test_false_positive_export_is_evaluation_data(desk: ReviewDesk) -> None:
    item = desk.enqueue_verdict(
        make_verdict("violence", 0.6),
        account_id="x",
        reference="d",
        prompt="a knight kills the dragon in the story",
    )
    other = desk.enqueue_verdict(
        make_verdict("spam", 0.6), account_id="x", reference="e", prompt="buy now"
    )
    assert item and other
    ann = reviewer(desk, "ann")
    desk.decide(item.id, ann, _decide(DecisionAction.FALSE_POSITIVE, "fiction"))
    desk.decide(other.id, ann, _decide(DecisionAction.REMOVE, "spam"))
    out = io.StringIO()
    assert desk.export_false_positives(out) == 1
    (line,) = out.getvalue().splitlines()
    row = json.loads(line)
    assert row["text"] == "a knight kills the dragon in the story"
    assert row["flagged"] is False and row["lang"] == "en"
    assert row["source"].startswith(f"review:false_positive:{item.id}")


def test_reviewers_passwords_and_role_changes(desk: ReviewDesk, store: Store) -> None:
    desk.add_reviewer("Ann", PASSWORD, ["reviewer"], actor="boss")
    assert desk.authenticate("ann", PASSWORD).roles == (Role.REVIEWER,)
    with pytest.raises(AuthenticationError):
        desk.authenticate("ann", "wrong password here")
    with pytest.raises(AuthenticationError):
        desk.authenticate("nobody", PASSWORD)
    with pytest.raises(ValueError, match="12"):
        desk.add_reviewer("bob", "short", ["reviewer"])
    with pytest.raises(ReviewError, match="unknown role"):
        desk.add_reviewer("bob", PASSWORD, ["overlord"])
    with pytest.raises(ReviewError, match="already exists"):
        desk.add_reviewer("ann", PASSWORD, ["reviewer"])
    desk.set_roles("ann", ["reviewer", "child_safety"], actor="boss")
    assert desk.reviewer("ann").has(Role.CHILD_SAFETY)
    (event,) = store.events.query(kind_prefix="review.role_change")
    assert event.actor == "reviewer:boss" and event.subject == "ann"
    assert event.data == {"before": ["reviewer"], "after": ["child_safety", "reviewer"]}
    with pytest.raises(ReviewError, match="at least one role"):
        desk.set_roles("ann", [], actor="boss")


def test_history_similar_and_stats(desk: ReviewDesk, store: Store) -> None:
    account = _stored_account(store)
    ann = reviewer(desk, "ann", Role.REVIEWER, Role.SENIOR)
    first = desk.enqueue_verdict(make_verdict("spam", 0.7), account_id=account, reference="1")
    second = desk.enqueue_verdict(make_verdict("spam", 0.7), account_id=account, reference="2")
    assert first and second
    desk.decide(first.id, ann, _decide(DecisionAction.REMOVE, "ads"))
    similar = desk.similar(second, ann)
    assert [s.id for s in similar] == [first.id] and similar[0].outcome == "removed"
    history = desk.account_history(account, exclude=second.id)
    assert history.in_store and [a["step"] for a in history.actions] == ["content_removal"]
    assert [i["id"] for i in history.items] == [first.id]
    stats = desk.stats()
    assert ("spam", 2.0) in stats["by_category"] and ("ann", 1.0) in stats["by_reviewer"]
    assert not desk.account_history("acct_unknown").in_store

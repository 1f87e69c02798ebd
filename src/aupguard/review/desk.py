"""The review desk: items in, queues, claims, decisions, appeals, reviewers, exports.

Every decision, claim of a child-safety item's content, and role change is an event in the
store's audit log (``review.*`` kinds), written in the same transaction as the change.
Enforcement (ladder steps, reversals) goes through the one ``Enforcer``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from aupguard.engine.verdict import Verdict
from aupguard.policy.models import Action
from aupguard.review.config import (
    CHILD_SAFETY_CATEGORY,
    DEFAULT_ROUTING,
    ItemKind,
    QueueConfig,
    ReviewConfigError,
    Role,
    RoutingConfig,
)
from aupguard.review.models import (
    ReviewDecisionRow,
    ReviewerRow,
    ReviewItemRow,
    ReviewReportRow,
    ReviewRevealRow,
)
from aupguard.review.passwords import hash_password, verify_password
from aupguard.review.records import (
    APPEAL_ACTIONS,
    CLOSING,
    HAND_STEPS,
    AccountHistory,
    AppealOutcome,
    AuthenticationError,
    DecisionAction,
    DecisionInput,
    DecisionRecord,
    ForbiddenError,
    ItemNotFoundError,
    ItemStatus,
    QueueSummary,
    ReportEntry,
    Reviewer,
    ReviewError,
    ReviewItem,
    VerdictView,
)
from aupguard.store import NotFoundError, Store
from aupguard.store.ids import new_id

AppealNotifier = Callable[[AppealOutcome], None]
SYSTEM = "system"
REPORT_SEVERITY = 50
APPEAL_SEVERITY = 60
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-@")


def _actor(username: str) -> str:
    return username if username == SYSTEM else f"reviewer:{username}"


def _item(row: ReviewItemRow) -> ReviewItem:
    return ReviewItem(
        id=row.id,
        kind=ItemKind(row.kind),
        status=ItemStatus(row.status),
        queue=row.queue,
        rank=row.rank,
        severity=row.severity,
        category=row.category,
        surface=row.surface,
        pack=row.pack,
        lang=row.lang,
        account_id=row.account_id,
        reference=row.reference,
        group_key=row.group_key,
        content_text=row.content_text,
        has_image=row.content_image is not None,
        image_type=row.image_type,
        verdict=VerdictView.model_validate(row.verdict or {}),
        details=dict(row.details or {}),
        report_count=row.report_count,
        created_at=row.created_at,
        sla_due_at=row.sla_due_at,
        claimed_by=row.claimed_by,
        claim_expires_at=row.claim_expires_at,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        outcome=row.outcome,
        appeal_of=row.appeal_of,
    )


def _reviewer(row: ReviewerRow) -> Reviewer:
    return Reviewer(
        username=row.username,
        roles=tuple(Role(r) for r in row.roles),
        blur_images=row.blur_images,
        disabled=row.disabled,
        created_at=row.created_at,
    )


def verdict_view(verdict: Verdict) -> dict[str, Any]:
    """What a reviewer needs of a verdict: clauses with their text, evidence, categories."""
    return {
        "action": verdict.action.value,
        "pack": f"{verdict.pack_id}@{verdict.pack_version}",
        "categories": list(verdict.categories),
        "clauses": [
            {
                "clause_id": h.clause_id,
                "title": h.title,
                "quote": h.quote,
                "category": h.category,
                "score": h.score,
                "review_threshold": h.review_threshold,
                "block_threshold": h.block_threshold,
                "action": h.action.value,
                "citation": h.citation,
            }
            for h in verdict.clauses
        ],
        "evidence": [
            {
                "category": e.category,
                "score": e.score,
                "start": e.start,
                "end": e.end,
                "text": e.text,
                "rule": e.rule,
                "detail": e.detail,
                "region": list(e.region) if e.region else None,
            }
            for e in verdict.evidence
        ],
    }


def _image_size(data: bytes) -> list[int] | None:
    """Width and height of an image (for evidence boxes); None if Pillow cannot read it."""
    try:
        import io

        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            return [int(img.width), int(img.height)]
    except Exception:
        return None


class ReviewDesk:
    """The review service over one ``Store``. ``routing`` is the queue set-up (default: the
    built-in one); ``notifiers`` are told every appeal outcome."""

    def __init__(
        self,
        store: Store,
        routing: RoutingConfig | None = None,
        *,
        notifiers: Sequence[AppealNotifier] = (),
    ):
        self.store = store
        self.routing = routing or DEFAULT_ROUTING
        self.notifiers: list[AppealNotifier] = list(notifiers)

    # -- intake ---------------------------------------------------------------------------

    def _new_row(
        self,
        *,
        kind: ItemKind,
        category: str,
        severity: int,
        surface: str = "content",
        pack: str = "",
        lang: str = "und",
        **fields: Any,
    ) -> ReviewItemRow:
        severity = max(0, min(100, severity))
        queue = self.routing.route(
            kind=kind, category=category, surface=surface, pack=pack, lang=lang, severity=severity
        )
        now = self.store.now()
        fields.setdefault("verdict", {})
        fields.setdefault("details", {})
        fields.setdefault("report_count", 0)
        return ReviewItemRow(
            id=new_id("rev"),
            kind=kind.value,
            status=ItemStatus.OPEN.value,
            queue=queue.name,
            rank=self.routing.rank(category, severity),
            severity=severity,
            category=category,
            surface=surface,
            pack=pack,
            lang=lang or "und",
            created_at=now,
            sla_due_at=now + dt.timedelta(minutes=queue.sla_minutes),
            **fields,
        )

    def enqueue_verdict(
        self,
        verdict: Verdict,
        *,
        account_id: str | None,
        reference: str | None = None,
        prompt: str | None = None,
        image: bytes | None = None,
        image_type: str | None = None,
        surface: str = "content",
        force: bool = False,
    ) -> ReviewItem | None:
        """A review item for a ``review`` verdict (``force``: for any flagged verdict);
        None for a verdict that needs no person. ``reference`` is the decision id."""
        if verdict.action is not Action.REVIEW and not (force and verdict.flagged):
            return None
        hits = [h for h in verdict.clauses if h.action in (Action.REVIEW, Action.BLOCK)]
        hits = hits or list(verdict.clauses)
        category = verdict.categories[0] if verdict.categories else "uncategorised"
        if any(h.category == CHILD_SAFETY_CATEGORY for h in hits):
            category = CHILD_SAFETY_CATEGORY
        severity = round(max((h.score for h in hits), default=0.5) * 100)
        row = self._new_row(
            kind=ItemKind.VERDICT,
            category=category,
            severity=severity,
            surface=surface,
            pack=verdict.pack_id,
            lang=verdict.lang or "und",
            account_id=account_id,
            reference=reference,
            content_text=prompt,
            content_image=image,
            image_type=image_type if image is not None else None,
            verdict=verdict_view(verdict),
            details={"image_size": _image_size(image)} if image is not None else {},
        )
        with self.store.session(write=True) as s:
            s.add(row)
            s.flush()
            self._event(s, "review.enqueued", SYSTEM, row, {"kind": row.kind, "queue": row.queue})
            return _item(row)

    def add_report(
        self,
        *,
        category: str,
        reason: str,
        reporter: str | None = None,
        report_id: str | None = None,
        decision_id: str | None = None,
        generation_id: str | None = None,
        url: str | None = None,
        account_id: str | None = None,
        content_text: str | None = None,
    ) -> ReviewItem:
        """A user report. Reports about the same item (decision, generation, URL) or else the
        same account join one open item, which counts them; a report about a decision already
        waiting for review joins that item."""
        if decision_id:
            key = f"decision:{decision_id}"
        elif generation_id:
            key = f"generation:{generation_id}"
        elif url:
            key = f"url:{url[:200]}"
        elif account_id:
            key = f"account:{account_id}"
        else:
            raise ReviewError("a report must name a decision, generation, URL or account")
        now = self.store.now()
        with self.store.session(write=True) as s:
            row = s.scalars(
                select(ReviewItemRow)
                .where(ReviewItemRow.group_key == key, ReviewItemRow.status == "open")
                .limit(1)
            ).first()
            if row is None and decision_id:
                row = s.scalars(
                    select(ReviewItemRow)
                    .where(
                        ReviewItemRow.reference == decision_id,
                        ReviewItemRow.status == "open",
                        ReviewItemRow.kind == ItemKind.VERDICT.value,
                    )
                    .limit(1)
                ).first()
            if row is None:
                row = self._new_row(
                    kind=ItemKind.REPORT,
                    category=category,
                    severity=REPORT_SEVERITY,
                    account_id=account_id,
                    reference=decision_id or generation_id or url,
                    group_key=key,
                    content_text=content_text,
                    details={
                        "reported": {
                            "decision_id": decision_id,
                            "generation_id": generation_id,
                            "url": url,
                            "account_id": account_id,
                        }
                    },
                )
                s.add(row)
                s.flush()
                self._event(s, "review.enqueued", SYSTEM, row, {"kind": row.kind})
            elif self.routing.tier(category) < self.routing.tier(row.category):
                # a report of a graver category raises the whole group
                row.category = category
                row.rank = self.routing.rank(category, row.severity)
            row.report_count += 1
            s.add(
                ReviewReportRow(
                    item_id=row.id,
                    report_id=report_id,
                    reporter=reporter,
                    category=category,
                    reason=reason,
                    at=now,
                )
            )
            s.flush()
            return _item(row)

    def add_appeal(
        self,
        *,
        account_id: str | None,
        statement: str,
        decision_ref: str | None = None,
        original_item_id: str | None = None,
        action_ids: Iterable[str] = (),
        appeal_id: str | None = None,
        original: dict[str, Any] | None = None,
    ) -> ReviewItem:
        """An appeal of a decision: a review item that a different reviewer than the one who
        decided must decide. ``action_ids`` are enforcement steps a restore reverses (besides
        those the original review item applied)."""
        if not statement.strip():
            raise ReviewError("an appeal needs a statement")
        with self.store.session(write=True) as s:
            origin: ReviewItemRow | None = None
            if original_item_id:
                origin = s.get(ReviewItemRow, original_item_id)
                if origin is None:
                    raise ItemNotFoundError(f"no review item {original_item_id!r}")
            elif decision_ref:
                origin = s.scalars(
                    select(ReviewItemRow)
                    .where(ReviewItemRow.reference == decision_ref, ReviewItemRow.kind != "appeal")
                    .order_by(ReviewItemRow.created_at.desc())
                    .limit(1)
                ).first()
            if origin is not None:
                existing = s.scalars(
                    select(ReviewItemRow).where(ReviewItemRow.appeal_of == origin.id).limit(1)
                ).first()
                if existing is not None:
                    raise ReviewError(f"review item {origin.id} already has appeal {existing.id}")
            category = origin.category if origin else (original or {}).get("category", "other")
            row = self._new_row(
                kind=ItemKind.APPEAL,
                category=category,
                severity=APPEAL_SEVERITY,
                pack=origin.pack if origin else "",
                lang=origin.lang if origin else "und",
                account_id=account_id or (origin.account_id if origin else None),
                reference=decision_ref or (origin.reference if origin else None),
                content_text=origin.content_text if origin else None,
                content_image=origin.content_image if origin else None,
                image_type=origin.image_type if origin else None,
                verdict=origin.verdict if origin else (original or {}).get("verdict", {}),
                details={
                    "statement": statement,
                    "appeal_id": appeal_id,
                    "action_ids": list(action_ids),
                    "original_decider": origin.decided_by if origin else None,
                    "original_outcome": origin.outcome if origin else None,
                    "original": original or {},
                    "image_size": origin.details.get("image_size") if origin else None,
                },
                appeal_of=origin.id if origin else None,
            )
            s.add(row)
            s.flush()
            self._event(s, "review.enqueued", SYSTEM, row, {"kind": row.kind})
            return _item(row)

    # -- reading --------------------------------------------------------------------------

    def queues_for(self, reviewer: Reviewer) -> list[QueueConfig]:
        return [q for q in self.routing.queues if reviewer.has(*q.roles)]

    def queue_summaries(self, reviewer: Reviewer) -> list[QueueSummary]:
        now = self.store.now()
        visible = self.queues_for(reviewer)
        names = [q.name for q in visible]
        stats: dict[str, tuple[int, int, int, dt.datetime | None]] = {}
        with self.store.session() as s:
            rows = s.execute(
                select(
                    ReviewItemRow.queue,
                    func.count(),
                    func.sum(func.cast(ReviewItemRow.sla_due_at < now, ReviewItemRow.rank.type)),
                    func.sum(
                        func.cast(
                            and_(
                                ReviewItemRow.claimed_by.is_not(None),
                                ReviewItemRow.claim_expires_at > now,
                            ),
                            ReviewItemRow.rank.type,
                        )
                    ),
                    func.min(ReviewItemRow.created_at),
                )
                .where(ReviewItemRow.status == "open", ReviewItemRow.queue.in_(names))
                .group_by(ReviewItemRow.queue)
            )
            for queue, count, overdue, claimed, oldest in rows:
                if isinstance(oldest, dt.datetime) and oldest.tzinfo is None:
                    oldest = oldest.replace(tzinfo=dt.UTC)
                stats[queue] = (int(count), int(overdue or 0), int(claimed or 0), oldest)
        return [
            QueueSummary(
                name=q.name,
                title=q.title,
                sla_minutes=q.sla_minutes,
                open=stats.get(q.name, (0, 0, 0, None))[0],
                overdue=stats.get(q.name, (0, 0, 0, None))[1],
                claimed=stats.get(q.name, (0, 0, 0, None))[2],
                oldest=stats.get(q.name, (0, 0, 0, None))[3],
            )
            for q in visible
        ]

    def list_items(
        self, reviewer: Reviewer, queue: str, *, limit: int = 50, offset: int = 0
    ) -> list[ReviewItem]:
        """Open items of a queue in review order (rank, then age)."""
        config = self._queue_for(reviewer, queue)
        with self.store.session() as s:
            query = (
                select(ReviewItemRow)
                .where(ReviewItemRow.queue == config.name, ReviewItemRow.status == "open")
                .order_by(ReviewItemRow.rank, ReviewItemRow.created_at)
                .limit(limit)
                .offset(offset)
            )
            if not reviewer.has(Role.CHILD_SAFETY):
                query = query.where(ReviewItemRow.category != CHILD_SAFETY_CATEGORY)
            return [_item(r) for r in s.scalars(query)]

    def _queue_for(self, reviewer: Reviewer, queue: str) -> QueueConfig:
        try:
            config = self.routing.queue(queue)
        except ReviewConfigError:
            raise ItemNotFoundError(f"no queue {queue!r}") from None
        if not reviewer.has(*config.roles):
            raise ForbiddenError(
                f"queue {queue!r} needs one of the roles {', '.join(r.value for r in config.roles)}"
            )
        return config

    def may_see(self, reviewer: Reviewer, item: ReviewItem) -> bool:
        if item.child_safety and not reviewer.has(Role.CHILD_SAFETY):
            return False
        try:
            config = self.routing.queue(item.queue)
        except ReviewConfigError:
            return reviewer.has(Role.ADMIN)
        return reviewer.has(*config.roles) or (
            item.status is ItemStatus.DECIDED and reviewer.has(Role.SENIOR, Role.ADMIN)
        )

    def item(self, item_id: str, reviewer: Reviewer | None = None) -> ReviewItem:
        """One item; with a ``reviewer``, only if their roles let them see it (otherwise the
        same answer as for an item that does not exist)."""
        with self.store.session() as s:
            row = s.get(ReviewItemRow, item_id)
            if row is None:
                raise ItemNotFoundError(f"no review item {item_id!r}")
            item = _item(row)
        if reviewer is not None and not self.may_see(reviewer, item):
            raise ItemNotFoundError(f"no review item {item_id!r}")
        return item

    def image(self, item_id: str, reviewer: Reviewer) -> tuple[bytes, str]:
        item = self.item(item_id, reviewer)
        if item.child_safety and not self.revealed(item_id, reviewer.username):
            raise ForbiddenError("give a reason to open this child-safety item first")
        with self.store.session() as s:
            row = s.get(ReviewItemRow, item_id)
            if row is None or row.content_image is None:
                raise ItemNotFoundError(f"review item {item_id!r} has no image")
            return row.content_image, row.image_type or "application/octet-stream"

    def reports(self, item_id: str) -> list[ReportEntry]:
        with self.store.session() as s:
            rows = s.scalars(
                select(ReviewReportRow)
                .where(ReviewReportRow.item_id == item_id)
                .order_by(ReviewReportRow.id)
            )
            return [ReportEntry.model_validate(r) for r in rows]

    def decisions(self, item_id: str) -> list[DecisionRecord]:
        with self.store.session() as s:
            rows = s.scalars(
                select(ReviewDecisionRow)
                .where(ReviewDecisionRow.item_id == item_id)
                .order_by(ReviewDecisionRow.id)
            )
            return [DecisionRecord.model_validate(r) for r in rows]

    def similar(self, item: ReviewItem, reviewer: Reviewer, limit: int = 5) -> list[ReviewItem]:
        """Earlier decided items of the same category and pack, newest first."""
        with self.store.session() as s:
            rows = s.scalars(
                select(ReviewItemRow)
                .where(
                    ReviewItemRow.status == "decided",
                    ReviewItemRow.category == item.category,
                    ReviewItemRow.pack == item.pack,
                    ReviewItemRow.id != item.id,
                )
                .order_by(ReviewItemRow.decided_at.desc())
                .limit(limit)
            )
            items = [_item(r) for r in rows]
        return [i for i in items if not i.child_safety or reviewer.has(Role.CHILD_SAFETY)]

    def account_history(self, account_id: str, *, exclude: str | None = None) -> AccountHistory:
        with self.store.session() as s:
            rows = s.scalars(
                select(ReviewItemRow)
                .where(ReviewItemRow.account_id == account_id)
                .order_by(ReviewItemRow.created_at.desc())
                .limit(20)
            )
            items = tuple(
                {
                    "id": r.id,
                    "kind": r.kind,
                    "category": r.category,
                    "status": r.status,
                    "outcome": r.outcome,
                    "created_at": r.created_at,
                }
                for r in rows
                if r.id != exclude
            )
        try:
            actions = self.store.enforcement.actions(account_id)
        except NotFoundError:
            return AccountHistory(account_id=account_id, in_store=False, items=items)
        strikes = self.store.enforcement.strikes(account_id)
        links = self.store.accounts.links(account_id)
        return AccountHistory(
            account_id=account_id,
            in_store=True,
            actions=tuple(a.model_dump() for a in actions),
            strikes=tuple(st.model_dump() for st in strikes),
            links=tuple(
                {
                    "account_id": link.account_id,
                    "shared": {k.value: v for k, v in link.shared.items()},
                }
                for link in links
            ),
            items=items,
        )

    # -- claims ---------------------------------------------------------------------------

    def claim_next(self, reviewer: Reviewer, queue: str) -> ReviewItem | None:
        """The reviewer's own live claim in the queue, else the first open item in review
        order that nobody holds (expired claims are free), now claimed for
        ``claim_minutes``. None when the queue is empty."""
        config = self._queue_for(reviewer, queue)
        now = self.store.now()
        expires = now + dt.timedelta(minutes=self.routing.claim_minutes)
        with self.store.session(write=True) as s:
            base = select(ReviewItemRow).where(
                ReviewItemRow.queue == config.name, ReviewItemRow.status == "open"
            )
            if not reviewer.has(Role.CHILD_SAFETY):
                base = base.where(ReviewItemRow.category != CHILD_SAFETY_CATEGORY)
            mine = s.scalars(
                base.where(
                    ReviewItemRow.claimed_by == reviewer.username,
                    ReviewItemRow.claim_expires_at > now,
                ).limit(1)
            ).first()
            if mine is not None:
                return _item(mine)
            query = (
                base.where(
                    or_(
                        ReviewItemRow.claimed_by.is_(None),
                        ReviewItemRow.claim_expires_at <= now,
                    )
                )
                .order_by(ReviewItemRow.rank, ReviewItemRow.created_at)
                .limit(50)
            )
            if s.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            for row in s.scalars(query):
                # an appeal goes to someone other than the reviewer who decided
                if row.kind == ItemKind.APPEAL.value and not self._may_decide_appeal(
                    s, row, reviewer.username
                ):
                    continue
                row.claimed_by = reviewer.username
                row.claim_expires_at = expires
                self._event(s, "review.claimed", reviewer.username, row, {})
                s.flush()
                return _item(row)
        return None

    def claim(self, item_id: str, reviewer: Reviewer) -> ReviewItem:
        """Claim one item by id (refused while another reviewer's claim is live)."""
        self.item(item_id, reviewer)
        now = self.store.now()
        with self.store.session(write=True) as s:
            row = self._row(s, item_id)
            if row.status != "open":
                raise ReviewError(f"review item {item_id} is already decided")
            holder = _item(row).claimed(now)
            if holder and holder != reviewer.username:
                raise ReviewError(f"review item {item_id} is claimed by {holder}")
            if row.kind == ItemKind.APPEAL.value and not self._may_decide_appeal(
                s, row, reviewer.username
            ):
                raise ForbiddenError(
                    "an appeal must be decided by a different reviewer than the one who "
                    "made the decision appealed"
                )
            row.claimed_by = reviewer.username
            row.claim_expires_at = now + dt.timedelta(minutes=self.routing.claim_minutes)
            self._event(s, "review.claimed", reviewer.username, row, {})
            s.flush()
            return _item(row)

    def release(self, item_id: str, reviewer: Reviewer) -> None:
        with self.store.session(write=True) as s:
            row = self._row(s, item_id)
            if row.claimed_by == reviewer.username:
                row.claimed_by = None
                row.claim_expires_at = None

    # -- decisions ------------------------------------------------------------------------

    def decide(self, item_id: str, reviewer: Reviewer, decision: DecisionInput) -> DecisionRecord:
        """Carry out a reviewer's decision and record it (with an audit event). Enforcement
        goes through the ``Enforcer``; an appeal's restore reverses the steps appealed."""
        item = self.item(item_id, reviewer)
        action = decision.action
        now = self.store.now()
        if item.status is ItemStatus.DECIDED and action is not DecisionAction.NOTE:
            raise ReviewError(f"review item {item_id} was already decided ({item.outcome})")
        holder = item.claimed(now)
        if holder and holder != reviewer.username and action is not DecisionAction.NOTE:
            raise ReviewError(f"review item {item_id} is claimed by {holder}")
        if item.kind is ItemKind.APPEAL and action is not DecisionAction.NOTE:
            with self.store.session() as s:
                if not self._may_decide_appeal(s, self._row(s, item_id), reviewer.username):
                    raise ForbiddenError(
                        "an appeal must be decided by a different reviewer than the one who "
                        "made the decision appealed"
                    )
        if item.kind is ItemKind.APPEAL and action not in APPEAL_ACTIONS:
            raise ReviewError("decide an appeal with restore or uphold (or add a note)")
        if item.kind is not ItemKind.APPEAL and action in (
            DecisionAction.RESTORE,
            DecisionAction.UPHOLD,
        ):
            raise ReviewError(f"{action.value} is for appeals only")
        if action is DecisionAction.NOTE and not decision.reason.strip():
            raise ReviewError("a note needs text")
        if (
            action
            in (
                DecisionAction.RESTORE,
                DecisionAction.UPHOLD,
                DecisionAction.REMOVE,
                DecisionAction.LADDER_STEP,
            )
            and not decision.reason.strip()
        ):
            raise ReviewError(f"say why ({action.value} needs a reason the account is shown)")
        if action is DecisionAction.ESCALATE and item.queue == self.routing.escalation_queue:
            raise ReviewError("the item is already escalated")
        clause_id = decision.clause_id or next(
            (c.clause_id for c in item.verdict.clauses if c.category == item.category), None
        )
        data: dict[str, Any] = {}
        outcome_notice: AppealOutcome | None = None

        # enforcement first (its own transactions, its own events), then the record
        if action is DecisionAction.LADDER_STEP:
            data["action_ids"] = [self._apply_step(item, reviewer, decision, clause_id).id]
            data["step"] = decision.step
        elif (
            action is DecisionAction.REMOVE and item.account_id and self._in_store(item.account_id)
        ):
            recorded = self._enforcer(item).execute(
                [self._enforcement_action(item, "content_removal", decision, clause_id)],
                actor=f"reviewer:{reviewer.username}",
            )
            data["action_ids"] = [a.id for a in recorded]
        elif action is DecisionAction.RESTORE:
            data["reversed"] = self._reverse_appealed(item, reviewer, decision.reason)

        with self.store.session(write=True) as s:
            row = self._row(s, item_id)
            if action is DecisionAction.ESCALATE:
                target = self.routing.queue(self.routing.escalation_queue)
                if item.child_safety:
                    target = self.routing.queue(row.queue)  # stays with the specialists
                    row.details = {**row.details, "escalated": True}
                row.queue = target.name
                row.sla_due_at = now + dt.timedelta(minutes=target.sla_minutes)
                row.claimed_by = None
                row.claim_expires_at = None
                data["to_queue"] = target.name
            elif action in CLOSING:
                row.status = ItemStatus.DECIDED.value
                row.outcome = CLOSING[action]
                row.decided_at = now
                row.decided_by = reviewer.username
                row.claimed_by = None
                row.claim_expires_at = None
            record = ReviewDecisionRow(
                item_id=item_id,
                reviewer=reviewer.username,
                action=action.value,
                reason=decision.reason,
                clause_id=clause_id,
                category=item.category,
                pack=item.pack,
                data=data,
                at=now,
            )
            s.add(record)
            s.flush()
            self._event(
                s,
                "review.decision",
                reviewer.username,
                row,
                {
                    "action": action.value,
                    "reason": decision.reason,
                    "clause": clause_id,
                    "category": item.category,
                    "pack": item.pack,
                    "kind": item.kind.value,
                    "reference": item.reference,
                    **data,
                },
            )
            if action in (DecisionAction.RESTORE, DecisionAction.UPHOLD):
                outcome_notice = AppealOutcome(
                    appeal_item_id=item_id,
                    account_id=item.account_id,
                    decision_ref=item.reference,
                    outcome=CLOSING[action],
                    reason=decision.reason,
                    reviewer=reviewer.username,
                    reversed_actions=tuple(data.get("reversed", ())),
                    at=now,
                )
                self._event(
                    s,
                    "review.appeal_decided",
                    reviewer.username,
                    row,
                    outcome_notice.model_dump(mode="json"),
                )
            result = DecisionRecord.model_validate(record)
        if outcome_notice is not None:
            for notify in self.notifiers:
                notify(outcome_notice)
        return result

    def appeal_outcome(self, decision_ref: str) -> tuple[str, str] | None:
        """``(status, appeal item id)`` of the newest appeal of an API decision: pending,
        restored or upheld."""
        with self.store.session() as s:
            row = s.scalars(
                select(ReviewItemRow)
                .where(ReviewItemRow.reference == decision_ref, ReviewItemRow.kind == "appeal")
                .order_by(ReviewItemRow.created_at.desc())
                .limit(1)
            ).first()
            if row is None:
                return None
            return (row.outcome or "pending", row.id)

    def _may_decide_appeal(self, s: Session, row: ReviewItemRow, username: str) -> bool:
        deciders = {row.details.get("original_decider")}
        if row.appeal_of:
            deciders |= set(
                s.scalars(
                    select(ReviewDecisionRow.reviewer).where(
                        ReviewDecisionRow.item_id == row.appeal_of,
                        ReviewDecisionRow.action != DecisionAction.NOTE.value,
                    )
                )
            )
        return username not in deciders

    def _in_store(self, account_id: str) -> bool:
        try:
            self.store.accounts.get(account_id)
        except NotFoundError:
            return False
        return True

    def _enforcer(self, item: ReviewItem) -> Any:
        from aupguard.enforcement.executor import Enforcer
        from aupguard.policy.registry import UnknownPackError, default_registry

        registry = default_registry()
        try:
            pack = registry.get(item.pack or "general-usage").pack
        except UnknownPackError:
            pack = registry.get("general-usage").pack
        return Enforcer(self.store, pack)

    def _enforcement_action(
        self, item: ReviewItem, step: str, decision: DecisionInput, clause_id: str | None
    ) -> Any:
        from aupguard.enforcement.actions import ActionKind, EnforcementAction

        pack_id, _, version = item.verdict.pack.partition("@")
        duration = None
        if step == ActionKind.TEMPORARY_SUSPENSION.value:
            duration = dt.timedelta(days=decision.duration_days or 7)
        assert item.account_id is not None
        return EnforcementAction(
            kind=ActionKind(step),
            account_id=item.account_id,
            reason=f"review {item.id}: {decision.reason}",
            step_id=f"review-{step}",
            pack_id=pack_id or item.pack or None,
            pack_version=version or None,
            clause_id=clause_id,
            category=item.category,
            duration=duration,
            data={"review_item": item.id},
        )

    def _apply_step(
        self, item: ReviewItem, reviewer: Reviewer, decision: DecisionInput, clause_id: str | None
    ) -> Any:
        if decision.step not in HAND_STEPS:
            raise ReviewError(
                f"choose a ladder step: one of {', '.join(HAND_STEPS)} (got {decision.step!r})"
            )
        if decision.step == "permanent_ban" and not reviewer.has(Role.SENIOR, Role.ADMIN):
            raise ForbiddenError("a permanent ban needs a senior reviewer")
        if not item.account_id or not self._in_store(item.account_id):
            raise ReviewError(
                f"account {item.account_id or '(none)'} is not in the account store; a ladder "
                "step needs a stored account"
            )
        recorded = self._enforcer(item).execute(
            [self._enforcement_action(item, decision.step, decision, clause_id)],
            actor=f"reviewer:{reviewer.username}",
        )
        return recorded[0]

    def _reverse_appealed(self, item: ReviewItem, reviewer: Reviewer, reason: str) -> list[str]:
        ids = list(item.details.get("action_ids") or [])
        if item.appeal_of:
            for d in self.decisions(item.appeal_of):
                ids += d.data.get("action_ids", [])
        reversed_ids: list[str] = []
        enforcer = self._enforcer(item)
        for action_id in dict.fromkeys(ids):
            try:
                action = self.store.enforcement.action(action_id)
            except NotFoundError:
                continue
            if action.reversed_at is not None:
                continue
            enforcer.reverse(
                action_id, actor=f"reviewer:{reviewer.username}", reason=f"appeal upheld: {reason}"
            )
            reversed_ids.append(action_id)
        return reversed_ids

    # -- child-safety reveals -------------------------------------------------------------

    def reveal(self, item_id: str, reviewer: Reviewer, reason: str) -> None:
        """Log why a child-safety specialist opens an item in full."""
        item = self.item(item_id, reviewer)
        if not reviewer.has(Role.CHILD_SAFETY):
            raise ForbiddenError("only the child-safety role may open this item")
        if len(reason.strip()) < 10:
            raise ReviewError("give a reason of at least 10 characters to open this item")
        with self.store.session(write=True) as s:
            row = self._row(s, item.id)
            s.add(
                ReviewRevealRow(
                    item_id=item.id, reviewer=reviewer.username, reason=reason, at=self.store.now()
                )
            )
            self._event(s, "review.revealed", reviewer.username, row, {"reason": reason})

    def revealed(self, item_id: str, username: str) -> bool:
        with self.store.session() as s:
            return (
                s.scalars(
                    select(ReviewRevealRow.id)
                    .where(ReviewRevealRow.item_id == item_id, ReviewRevealRow.reviewer == username)
                    .limit(1)
                ).first()
                is not None
            )

    # -- reviewers ------------------------------------------------------------------------

    def add_reviewer(
        self,
        username: str,
        password: str,
        roles: Iterable[Role | str],
        *,
        actor: str = SYSTEM,
    ) -> Reviewer:
        username = username.strip().lower()
        if not username or not set(username) <= USERNAME_CHARS or len(username) > 100:
            raise ReviewError("a username is 1-100 characters of a-z, 0-9, '.', '_', '-', '@'")
        role_list = self._roles(roles)
        with self.store.session(write=True) as s:
            if s.get(ReviewerRow, username) is not None:
                raise ReviewError(f"reviewer {username!r} already exists")
            row = ReviewerRow(
                username=username,
                password_hash=hash_password(password),
                roles=role_list,
                blur_images=True,
                disabled=False,
                created_at=self.store.now(),
            )
            s.add(row)
            self.store.events.append(
                s,
                "review.reviewer_added",
                actor=_actor(actor),
                subject=username,
                data={"roles": role_list},
            )
            return _reviewer(row)

    @staticmethod
    def _roles(roles: Iterable[Role | str]) -> list[str]:
        out: list[str] = []
        for r in roles:
            try:
                out.append(Role(r).value)
            except ValueError:
                raise ReviewError(
                    f"unknown role {r!r}; roles are {', '.join(x.value for x in Role)}"
                ) from None
        if not out:
            raise ReviewError("a reviewer needs at least one role")
        return sorted(set(out))

    def reviewer(self, username: str) -> Reviewer:
        with self.store.session() as s:
            row = s.get(ReviewerRow, username)
            if row is None:
                raise ItemNotFoundError(f"no reviewer {username!r}")
            return _reviewer(row)

    def reviewers(self) -> list[Reviewer]:
        with self.store.session() as s:
            return [_reviewer(r) for r in s.scalars(select(ReviewerRow).order_by("username"))]

    def authenticate(self, username: str, password: str) -> Reviewer:
        with self.store.session() as s:
            row = s.get(ReviewerRow, username.strip().lower())
            stored = row.password_hash if row else "scrypt$16384$8$00$00"
            ok = verify_password(password, stored)  # costs the same for unknown names
            if row is None or not ok or row.disabled:
                raise AuthenticationError("unknown username or wrong password")
            return _reviewer(row)

    def set_roles(self, username: str, roles: Iterable[Role | str], *, actor: str) -> Reviewer:
        role_list = self._roles(roles)
        with self.store.session(write=True) as s:
            row = s.get(ReviewerRow, username)
            if row is None:
                raise ItemNotFoundError(f"no reviewer {username!r}")
            before = list(row.roles)
            row.roles = role_list
            self.store.events.append(
                s,
                "review.role_change",
                actor=_actor(actor),
                subject=username,
                data={"before": before, "after": role_list},
            )
            s.flush()
            return _reviewer(row)

    def set_blur(self, username: str, blur: bool) -> Reviewer:
        with self.store.session(write=True) as s:
            row = s.get(ReviewerRow, username)
            if row is None:
                raise ItemNotFoundError(f"no reviewer {username!r}")
            row.blur_images = blur
            s.flush()
            return _reviewer(row)

    # -- audit, exports -------------------------------------------------------------------

    def audit(self, *, limit: int = 100) -> list[Any]:
        """The newest ``review.*`` events, newest first."""
        from aupguard.store.records import Event
        from aupguard.store.schema import EventRow

        with self.store.session() as s:
            rows = s.scalars(
                select(EventRow)
                .where(EventRow.kind.startswith("review."))
                .order_by(EventRow.id.desc())
                .limit(limit)
            )
            return [Event.model_validate(r) for r in rows]

    def export_false_positives(self, out: IO[str]) -> int:
        """Items reviewers marked as false positives, in the evaluation data format (one JSON
        object per line, ``flagged: false``). Returns the number written."""
        n = 0
        with self.store.session() as s:
            rows = s.scalars(
                select(ReviewItemRow)
                .where(ReviewItemRow.outcome == CLOSING[DecisionAction.FALSE_POSITIVE])
                .order_by(ReviewItemRow.decided_at, ReviewItemRow.id)
            )
            for row in rows:
                if not row.content_text:
                    continue
                line = {
                    "text": row.content_text,
                    "flagged": False,
                    "categories": [],
                    "lang": row.lang if row.lang != "und" else None,
                    "source": f"review:false_positive:{row.id}:{row.pack}:{row.category}",
                }
                out.write(
                    json.dumps({k: v for k, v in line.items() if v is not None}, ensure_ascii=False)
                    + "\n"
                )
                n += 1
        return n

    def export_false_positives_to(self, path: Path) -> int:
        with path.open("w", encoding="utf-8") as fh:
            return self.export_false_positives(fh)

    def stats(self, *, days: int = 30) -> dict[str, list[tuple[str, float]]]:
        """Figures for the dashboard over the last ``days``: items by category and day, open
        items by queue, decisions by action and by reviewer (throughput), and the share of
        decided appeals that restored, per category (the honest false-positive measure)."""
        since = self.store.now() - dt.timedelta(days=max(1, min(days, 3650)))
        with self.store.session() as s:

            def pairs(query: Any) -> list[tuple[str, float]]:
                return [(str(k), float(v)) for k, v in s.execute(query)]

            by_category = pairs(
                select(ReviewItemRow.category, func.count())
                .where(ReviewItemRow.created_at >= since)
                .group_by(ReviewItemRow.category)
                .order_by(func.count().desc())
                .limit(20)
            )
            by_queue = pairs(
                select(ReviewItemRow.queue, func.count())
                .where(ReviewItemRow.status == "open")
                .group_by(ReviewItemRow.queue)
                .order_by(ReviewItemRow.queue)
            )
            by_action = pairs(
                select(ReviewDecisionRow.action, func.count())
                .where(ReviewDecisionRow.at >= since)
                .group_by(ReviewDecisionRow.action)
                .order_by(ReviewDecisionRow.action)
            )
            by_reviewer = pairs(
                select(ReviewDecisionRow.reviewer, func.count())
                .where(
                    ReviewDecisionRow.at >= since,
                    ReviewDecisionRow.action != DecisionAction.NOTE.value,
                )
                .group_by(ReviewDecisionRow.reviewer)
                .order_by(func.count().desc())
                .limit(20)
            )
            created = [
                r.date().isoformat() if isinstance(r, dt.datetime) else str(r)[:10]
                for r in s.scalars(
                    select(ReviewItemRow.created_at).where(ReviewItemRow.created_at >= since)
                )
            ]
            appeals = s.execute(
                select(ReviewItemRow.category, ReviewItemRow.outcome).where(
                    ReviewItemRow.kind == ItemKind.APPEAL.value,
                    ReviewItemRow.status == "decided",
                    ReviewItemRow.decided_at >= since,
                )
            ).all()
        per_day: dict[str, int] = {}
        for day in created:
            per_day[day] = per_day.get(day, 0) + 1
        totals: dict[str, list[int]] = {}
        for category, outcome in appeals:
            t = totals.setdefault(category, [0, 0])
            t[0] += 1
            t[1] += outcome == CLOSING[DecisionAction.RESTORE]
        return {
            "by_category": by_category,
            "by_queue": by_queue,
            "by_action": by_action,
            "by_reviewer": by_reviewer,
            "by_day": sorted((d, float(n)) for d, n in per_day.items()),
            "overturn": [(c, 100.0 * r / n) for c, (n, r) in sorted(totals.items())],
        }

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def _row(s: Session, item_id: str) -> ReviewItemRow:
        row = s.get(ReviewItemRow, item_id)
        if row is None:
            raise ItemNotFoundError(f"no review item {item_id!r}")
        return row

    def _event(
        self, s: Session, kind: str, actor: str, row: ReviewItemRow, data: dict[str, Any]
    ) -> None:
        self.store.events.append(
            s,
            kind,
            actor=_actor(actor),
            account_id=row.account_id,
            subject=row.id,
            data={"queue": row.queue, **data},
        )

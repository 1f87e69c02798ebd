"""The service's state and the operations the routes share: authenticate, admit, check with a
deadline (fail closed), record decisions, shadow evaluation."""

from __future__ import annotations

import hmac
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
from fastapi import Request

from aupguard.api.errors import ApiError
from aupguard.api.generators import DemoGenerator, Generator, UpstreamGenerator
from aupguard.api.observability import Metrics, log_event
from aupguard.api.packs import PackChoice, PackManager
from aupguard.api.records import (
    RecordConflictError,
    RecordsStore,
    StoreUnavailableError,
    new_id,
)
from aupguard.api.seams import (
    AdmissionDecision,
    AuthError,
    Backends,
    BackendUnavailableError,
    EnforcedContent,
    EnforcementOutcome,
    ImageChecker,
    Principal,
    RequestContext,
    image_checker_of,
)
from aupguard.api.settings import Settings
from aupguard.detectors.base import DetectorResult, ScanItem
from aupguard.engine.decide import clause_applies, decide
from aupguard.engine.moderator import Moderator, validate_text
from aupguard.engine.verdict import Verdict
from aupguard.errors import InputError
from aupguard.policy.loader import PackError
from aupguard.policy.models import Action, Modality
from aupguard.policy.registry import ResolvedPack, UnknownPackError
from aupguard.text.lang import detect_language

Role = Literal["admin", "reviewer"]


@dataclass
class AppState:
    settings: Settings
    backends: Backends
    records: RecordsStore
    packs: PackManager
    metrics: Metrics
    generator: Generator
    logger: logging.Logger
    # an image check to use instead of the moderator's (tests, or a separately wired service)
    image_checker: ImageChecker | None = None
    # the review desk holder (aupguard.web.mount.DeskHolder) when the reviewer UI is mounted
    review: Any = None
    ready: bool = False
    started: float = field(default_factory=time.time)


def make_generator(settings: Settings) -> Generator:
    if settings.upstream_url:
        return UpstreamGenerator(
            settings.upstream_url, settings.upstream_api_key, settings.upstream_timeout_s
        )
    return DemoGenerator()


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.aupguard
    return state


# -- identity ---------------------------------------------------------------------------------


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate(request: Request) -> Principal:
    token = bearer(request)
    if token is None:
        raise ApiError(
            401,
            "missing_api_key",
            "send your API key as `Authorization: Bearer <key>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        principal = state_of(request).backends.authenticator.authenticate(token)
    except AuthError as exc:
        if exc.code == "store_unavailable":  # fail closed: nobody is let in unchecked
            raise ApiError(503, exc.code, exc.message, headers={"Retry-After": "5"}) from None
        raise ApiError(401, exc.code, exc.message, headers={"WWW-Authenticate": "Bearer"}) from None
    request.state.principal = principal
    return principal


def role_of(request: Request) -> Role | None:
    token = bearer(request)
    settings = state_of(request).settings
    if token is None:
        return None
    if settings.admin_token and hmac.compare_digest(token, settings.admin_token):
        return "admin"
    if settings.reviewer_token and hmac.compare_digest(token, settings.reviewer_token):
        return "reviewer"
    return None


def require_role(request: Request, *roles: Role) -> Role:
    settings = state_of(request).settings
    if not settings.admin_token:
        raise ApiError(
            403,
            "admin_disabled",
            "the admin API is off: set AUPGUARD_ADMIN_TOKEN to turn it on",
        )
    role = role_of(request)
    if role is None:
        raise ApiError(
            401,
            "invalid_admin_token",
            "send an admin or reviewer token as `Authorization: Bearer <token>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if role not in roles:
        raise ApiError(403, "forbidden", f"this needs the {' or '.join(roles)} role")
    return role


def client_address(request: Request) -> str | None:
    """The client's IP: the peer, or the first X-Forwarded-For hop when the operator says a
    trusted proxy sets it (AUPGUARD_TRUST_FORWARDED_FOR)."""
    if state_of(request).settings.trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
        if forwarded:
            return forwarded
    return request.client.host if request.client else None


def request_context(request: Request) -> RequestContext:
    """What behaviour detectors read about a request: address, user agent and the device
    fingerprint a client app may send as ``X-Device-Id``."""
    return RequestContext(
        ip=client_address(request),
        user_agent=(request.headers.get("user-agent") or None),
        device=(request.headers.get("x-device-id") or "")[:200] or None,
        request_id=getattr(request.state, "request_id", None),
    )


def admit(request: Request, principal: Principal, operation: str, units: int = 1) -> None:
    decision = state_of(request).backends.admission.admit(
        principal, operation, units, request_context(request)
    )
    enforce_admission(request, decision)


def enforce(
    request: Request,
    principal: Principal,
    verdict: Verdict,
    decision_id: str,
    *,
    prompt: str | None = None,
    content: bytes | None = None,
    content_type: str = "text/plain; charset=utf-8",
) -> EnforcementOutcome:
    """The account consequences of a verdict (strikes, ladder, the CSAM path, which seals
    ``prompt``/``content`` in the evidence vault). A store failure fails closed (503)."""
    item = EnforcedContent(
        reference=decision_id,
        prompt=prompt,
        content=content,
        content_type=content_type,
        ip=client_address(request),
    )
    try:
        return state_of(request).backends.enforcement.record(principal, verdict, decision_id, item)
    except BackendUnavailableError:
        raise ApiError(
            503,
            "store_unavailable",
            "the enforcement store is unavailable; nothing was delivered (fail closed)",
            headers={"Retry-After": "5"},
        ) from None


def enforce_admission(request: Request, decision: AdmissionDecision) -> None:
    request.state.rate_headers = decision.headers()
    if not decision.allowed:
        raise ApiError(decision.status, decision.code, decision.reason, headers=decision.headers())


# -- packs ------------------------------------------------------------------------------------

OPENAI_MODEL_PREFIXES = ("omni-moderation", "text-moderation", "gpt-", "dall-e")


def choose_pack(state: AppState, principal: Principal, requested: str | None) -> PackChoice:
    if requested and requested.startswith(OPENAI_MODEL_PREFIXES):
        requested = None  # an OpenAI model name: the key's default pack
    ref = requested or principal.policy or state.settings.default_policy
    try:
        return state.packs.choose(ref)
    except UnknownPackError as exc:
        raise ApiError(400, "unknown_policy", str(exc), param="policy") from None
    except PackError as exc:
        raise ApiError(
            500,
            "policy_unavailable",
            f"the policy {ref!r} failed to load",
            details=str(exc).splitlines(),
        ) from None


# -- checking ---------------------------------------------------------------------------------


class Deadline:
    """The per-request time budget (AUPGUARD_REQUEST_TIMEOUT_S) shared by all checks."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.ends - time.monotonic())


def failed_verdict(pack: ResolvedPack, modality: Modality, detector: str, error: str) -> Verdict:
    """A verdict for an item no detector could judge: the pack's failure mode decides."""
    result = DetectorResult(detector=detector, version="-", error=error)
    return decide(pack.pack, [result], modality)


async def check_text(
    moderator: Moderator, text: str, modality: Modality, deadline: Deadline, param: str
) -> Verdict:
    try:
        with anyio.fail_after(deadline.remaining() or 0.001):
            return await anyio.to_thread.run_sync(
                moderator.check, text, modality, abandon_on_cancel=True
            )
    except TimeoutError:
        return failed_verdict(
            moderator.pack, modality, "request", f"timed out after {deadline.seconds:g}s"
        )
    except InputError as exc:
        status = 413 if exc.code == "input_too_large" else 400
        raise ApiError(status, exc.code, str(exc), param=param) from None


async def check_image(
    state: AppState,
    moderator: Moderator,
    data: bytes,
    modality: Modality,
    deadline: Deadline,
    param: str,
) -> Verdict:
    checker = active_image_checker(state, moderator)
    if checker is None:
        from aupguard.api.images import image_moderation_missing

        raise image_moderation_missing(param)
    try:
        with anyio.fail_after(deadline.remaining() or 0.001):
            return await anyio.to_thread.run_sync(checker, data, modality, abandon_on_cancel=True)
    except TimeoutError:
        return failed_verdict(
            moderator.pack, modality, "request", f"timed out after {deadline.seconds:g}s"
        )
    except InputError as exc:  # ImageInputError: bad, oversize or bomb image
        raise ApiError(400, exc.code, str(exc), param=param) from None
    except Exception as exc:  # the image check broke: fail closed through the pack
        return failed_verdict(moderator.pack, modality, "image", f"{type(exc).__name__}: {exc}")


def judge_depicted_text(moderator: Moderator, text: str) -> Verdict:
    """An output image whose content is known as text (the demo generator draws the prompt):
    the text detectors read it as output text, and the pack decides it as an output image, so
    clauses restricted to ``output_image`` apply."""
    validate_text(text, moderator.limits)
    item = ScanItem(text, Modality.OUTPUT_TEXT)
    item.lang = detect_language(item.normalized.text)
    results = moderator.scan_with_derived(item)
    example_scores = None
    if any(clause_applies(c, Modality.OUTPUT_IMAGE) for c in moderator.examples.clauses):
        example_scores, examples_result = moderator.score_examples(item)
        results.append(examples_result)
    return decide(
        moderator.pack.pack,
        results,
        Modality.OUTPUT_IMAGE,
        lang=item.lang,
        example_scores=example_scores,
    )


async def check_depicted_text(
    moderator: Moderator, text: str, deadline: Deadline, param: str
) -> Verdict:
    try:
        with anyio.fail_after(deadline.remaining() or 0.001):
            return await anyio.to_thread.run_sync(
                judge_depicted_text, moderator, text, abandon_on_cancel=True
            )
    except TimeoutError:
        return failed_verdict(
            moderator.pack,
            Modality.OUTPUT_IMAGE,
            "request",
            f"timed out after {deadline.seconds:g}s",
        )
    except InputError as exc:
        raise ApiError(400, exc.code, str(exc), param=param) from None


def active_image_checker(state: AppState, moderator: Moderator) -> ImageChecker | None:
    """The image check this request uses: the app's injected one, else the moderator's when
    image moderation is installed and not switched off (``AUPGUARD_IMAGE_MODERATION``)."""
    return state.image_checker or image_checker_of(
        moderator, enabled=state.settings.image_moderation
    )


def has_image_checker(state: AppState, moderator: Moderator) -> bool:
    return active_image_checker(state, moderator) is not None


# -- records ----------------------------------------------------------------------------------


def statement_of(
    verdict: Verdict, outcome: EnforcementOutcome | None = None, **extra: Any
) -> dict[str, Any]:
    """The statement of reasons: what was decided under which clauses, with scores against
    thresholds and where the evidence is, but never the content itself."""
    return {
        "action": verdict.action.value,
        "policy": f"{verdict.pack_id}@{verdict.pack_version}",
        "modality": verdict.modality.value,
        "clauses": [
            {
                "citation": h.citation,
                "clause_id": h.clause_id,
                "title": h.title,
                "quote": h.quote,
                "category": h.category,
                "score": h.score,
                "review_threshold": h.review_threshold,
                "block_threshold": h.block_threshold,
                "action": h.action.value,
            }
            for h in verdict.clauses
        ],
        "evidence": [
            {
                "category": e.category,
                "score": e.score,
                "start": e.start,
                "end": e.end,
                "rule": e.rule,
            }
            for e in verdict.evidence
        ],
        "errors": list(verdict.errors),
        "detectors": [d.name for d in verdict.detectors],
        "account_actions": list(outcome.actions) if outcome else [],
        "action_ids": list(outcome.action_ids) if outcome else [],
        **extra,
    }


async def record_decision(
    state: AppState,
    principal: Principal,
    *,
    kind: str,
    verdict: Verdict,
    outcome: EnforcementOutcome | None = None,
    generation_id: str | None = None,
    decision_id: str | None = None,
    review_content: ReviewContent | None = None,
    summary: bool = False,
    **extra: Any,
) -> str:
    """Record the decision (statement of reasons), its audit event, and — for a ``review``
    verdict — the review item with ``review_content`` (what the reviewer sees)."""
    decision_id = decision_id or new_id("dec")
    await store_call(
        state.records.add_decision,
        decision_id=decision_id,
        account_id=principal.account_id,
        org_id=principal.org_id,
        kind=kind,
        policy=f"{verdict.pack_id}@{verdict.pack_version}",
        action=verdict.action.value,
        modality=verdict.modality.value,
        statement=statement_of(verdict, outcome, **extra),
        generation_id=generation_id,
    )
    if summary:  # a summary of decisions recorded (audited, queued) one by one
        return decision_id
    await audit_verdict(state, principal, verdict, decision_id, outcome, kind=kind)
    if verdict.action is Action.REVIEW:
        await queue_for_review(state, principal, verdict, decision_id, review_content)
    return decision_id


@dataclass(frozen=True, slots=True)
class ReviewContent:
    """What a reviewer sees of a held item: the text and/or the image (kept only in the
    review item, never in the statement of reasons or the audit log)."""

    prompt: str | None = None
    image: bytes | None = None
    image_type: str | None = None
    surface: str = "content"


async def queue_for_review(
    state: AppState,
    principal: Principal,
    verdict: Verdict,
    decision_id: str,
    content: ReviewContent | None,
) -> None:
    """A held item goes to the human review queue. If the queue cannot take it the request
    fails (503): nothing was delivered, and a held item must not be forgotten."""
    holder = state.review
    if holder is None:
        return
    content = content or ReviewContent()

    def enqueue() -> None:
        holder.desk().enqueue_verdict(
            verdict,
            account_id=principal.account_id,
            reference=decision_id,
            prompt=content.prompt,
            image=content.image,
            image_type=content.image_type,
            surface=content.surface,
        )

    try:
        await anyio.to_thread.run_sync(enqueue)
    except Exception as exc:
        state.logger.error("review enqueue failed: %s: %s", type(exc).__name__, exc)
        raise ApiError(
            503,
            "review_queue_unavailable",
            "the item was held for review but the review queue is unavailable; nothing was "
            "delivered, try again",
            headers={"Retry-After": "5"},
        ) from None


async def audit_verdict(
    state: AppState,
    principal: Principal,
    verdict: Verdict,
    decision_id: str,
    outcome: EnforcementOutcome | None,
    *,
    kind: str,
) -> None:
    """A verdict that led to an action (blocked, held for review, or account steps) becomes
    one hash-chained audit event: what the transparency report counts. No content, no
    personal data: the clause, category, action and where it was decided."""
    audit = state.backends.audit
    acted = verdict.action in (Action.BLOCK, Action.REVIEW) or bool(outcome and outcome.actions)
    if audit is None or not acted:
        return
    fired = [h for h in verdict.clauses if h.action is verdict.action] or list(verdict.clauses)
    first = fired[0] if fired else None
    data = {
        "category": first.category if first else "detector-failure",
        "action": verdict.action.value,
        "surface": "content",
        "modality": verdict.modality.value,
        "language": verdict.lang,
        "detection": "automated",
        "decision": "automated",
        "pack": verdict.pack_id,
        "pack_version": verdict.pack_version,
        "clause": first.clause_id if first else None,
        "clauses": [h.clause_id for h in fired],
        "steps": list(outcome.actions) if outcome else [],
        "decision_kind": kind,
    }
    try:
        await anyio.to_thread.run_sync(
            lambda: audit.append(
                "verdict.actioned",
                actor="aupguard",
                account_id=principal.account_id,
                org_id=principal.org_id,
                subject=decision_id,
                data=data,
            )
        )
    except Exception as exc:  # the record of an action must not vanish silently
        state.logger.error("audit log append failed: %s: %s", type(exc).__name__, exc)
        raise ApiError(
            503,
            "store_unavailable",
            "the audit log is unavailable; the decision was not delivered (fail closed)",
            headers={"Retry-After": "5"},
        ) from None


async def store_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """A records call off the event loop; a store failure fails the request closed (503)."""
    try:
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))
    except RecordConflictError as exc:  # a concurrent request got there first
        raise ApiError(409, "conflict", f"this was recorded already: {exc}") from None
    except StoreUnavailableError:
        raise ApiError(
            503,
            "store_unavailable",
            "the records store is unavailable; nothing was decided or delivered (fail closed)",
        ) from None


async def shadow_check(
    state: AppState, choice: PackChoice, text: str, modality: Modality, live: Verdict
) -> None:
    """Evaluate the shadow version on the same item and record what it would have decided.
    Never affects the response; its own failures are logged."""
    if choice.shadow is None:
        return
    shadow = choice.shadow
    try:
        verdict = await anyio.to_thread.run_sync(
            state.packs.moderator(shadow).check, text, modality
        )
        await anyio.to_thread.run_sync(
            lambda: state.records.add_shadow_result(
                pack_id=shadow.id,
                live_version=choice.live.version,
                shadow_version=shadow.version,
                modality=modality.value,
                live_action=live.action.value,
                shadow_action=verdict.action.value,
                shadow_categories=verdict.categories,
            )
        )
    except Exception:
        state.logger.exception("shadow evaluation failed", extra={"fields": {"pack": shadow.ref}})


# -- the bank of removed outputs --------------------------------------------------------------

REMOVED_OUTPUTS_BANK = "removed-outputs"


def bank_removed_output(state: AppState, data: bytes, verdict: Verdict, reference: str) -> bool:
    """Put a removed output's PDQ hash in the service's ``removed-outputs`` hash bank, labelled
    with the categories it was removed for, so a re-upload (resized, re-encoded, cropped a
    little) is caught by the hash matcher. Flat, featureless images (PDQ quality < 50) are not
    banked: they would match unrelated images. Returns whether it was banked."""
    from aupguard.images import decode_image
    from aupguard.images.hash_banks import BankEntry, HashBankStore

    digest = decode_image(data).pdq
    if not digest.trusted:
        return False
    labels = tuple(
        dict.fromkeys(h.category for h in verdict.clauses if h.action is Action.BLOCK)
    ) or ("illicit",)
    entry = BankEntry(
        hash_hex=digest.hex,
        labels=labels,
        bank=REMOVED_OUTPUTS_BANK,
        quality=digest.quality,
        source=reference,
    )
    with HashBankStore(state.settings.hash_db_path) as bank:
        bank.add(REMOVED_OUTPUTS_BANK, [entry])
    state.packs.remember_hash(entry)
    return True


# -- content in logs (off unless the operator turns it on) ------------------------------------

LOGGED_CONTENT_CHARS = 2000


def log_content(request: Request, param: str, text: str, verdict: Verdict) -> None:
    """With ``AUPGUARD_LOG_CONTENT`` on, one log record per checked input with its text (cut
    to 2,000 characters) and the action; off (the default), nothing: logs carry no content."""
    state = state_of(request)
    if not state.settings.log_content:
        return
    log_event(
        state.logger,
        "content",
        request_id=getattr(request.state, "request_id", None),
        input=param,
        action=verdict.action.value,
        text=text[:LOGGED_CONTENT_CHARS],
    )

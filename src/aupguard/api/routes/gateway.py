"""The generation gateway: /v1/images/generations in OpenAI's images API shape.

prompt, negative prompt and input images checked -> generator (upstream or the demo) -> every
output checked -> obligations on what passed -> only that is returned; removed outputs are
reported with the clause; credits are charged for delivered outputs only.
"""

from __future__ import annotations

import base64
import time

import anyio
from fastapi import APIRouter, Request

from aupguard.api.errors import ApiError, error_responses
from aupguard.api.generators import GeneratedImage, GenerationRequest
from aupguard.api.images import image_moderation_missing, load_image, media_type_of
from aupguard.api.openai_map import citations
from aupguard.api.records import new_id
from aupguard.api.schemas import (
    AccountOutcome,
    GeneratedImageOut,
    GenerationDetail,
    ImageGenerationRequest,
    ImageGenerationResponse,
    RemovedOutput,
)
from aupguard.api.seams import (
    BackendUnavailableError,
    ChargeRefusedError,
    EnforcementOutcome,
    ObligatedOutput,
    Principal,
)
from aupguard.api.service import (
    AppState,
    Deadline,
    ReviewContent,
    admit,
    authenticate,
    bank_removed_output,
    check_depicted_text,
    check_image,
    check_text,
    choose_pack,
    enforce,
    has_image_checker,
    log_content,
    record_decision,
    state_of,
)
from aupguard.engine.moderator import Moderator
from aupguard.engine.verdict import Verdict
from aupguard.policy.models import Action, Modality

router = APIRouter(prefix="/v1", tags=["gateway"])


def _account(outcome: EnforcementOutcome) -> AccountOutcome:
    return AccountOutcome(
        actions=list(outcome.actions),
        strikes=outcome.strikes,
        suspended=outcome.suspended,
        reason=outcome.reason,
    )


def _strictest(verdicts: list[Verdict]) -> Verdict:
    return max(verdicts, key=lambda v: (v.action.severity, len(v.clauses)))


def _refusal(verdict: Verdict, decision_id: str, what: str) -> ApiError:
    cited = "; ".join(
        f"{h.citation} ({h.category} {h.score:.2f})"
        for h in verdict.clauses
        if h.action is verdict.action
    ) or "; ".join(verdict.errors)
    if verdict.action is Action.BLOCK:
        return ApiError(
            400,
            "content_policy_violation",
            f"the {what} was blocked under {cited}; nothing was generated or charged",
            param=what,
            decision_id=decision_id,
        )
    return ApiError(
        400,
        "content_held_for_review",
        f"the {what} was held for human review under {cited}; nothing was generated or charged",
        param=what,
        decision_id=decision_id,
    )


async def _check_output(
    state: AppState, moderator: Moderator, image: GeneratedImage, deadline: Deadline, param: str
) -> Verdict:
    verdicts = []
    if has_image_checker(state, moderator):
        verdicts.append(
            await check_image(state, moderator, image.data, Modality.OUTPUT_IMAGE, deadline, param)
        )
    if image.depicts_text is not None:
        verdicts.append(await check_depicted_text(moderator, image.depicts_text, deadline, param))
    if image.revised_prompt:
        verdicts.append(
            await check_text(moderator, image.revised_prompt, Modality.PROMPT, deadline, param)
        )
    if not verdicts:  # cannot happen past the 501 check; never deliver an unchecked image
        raise image_moderation_missing(param)
    return _strictest(verdicts)


@router.post(
    "/images/generations",
    response_model=ImageGenerationResponse,
    responses=error_responses(400, 401, 403, 413, 422, 429, 501, 502, 503, 504),
    summary="Generate images through the policy gateway (OpenAI images API shape)",
)
async def generate_images(
    body: ImageGenerationRequest, request: Request
) -> ImageGenerationResponse:
    state = state_of(request)
    principal = authenticate(request)
    if body.response_format == "url":
        raise ApiError(
            400,
            "unsupported_response_format",
            "this gateway returns images inline only: use response_format=b64_json",
            param="response_format",
        )
    if body.n > state.settings.max_images:
        raise ApiError(
            413,
            "too_many_images",
            f"n={body.n}; the limit is {state.settings.max_images} (AUPGUARD_MAX_IMAGES)",
            param="n",
        )
    input_images = body.image or []
    if len(input_images) > state.settings.max_images:
        raise ApiError(413, "too_many_images", "too many input images", param="image")
    admit(request, principal, "generation", body.n)
    choice = choose_pack(state, principal, body.policy)
    moderator = state.packs.moderator(choice.live)
    generator = state.generator
    needs_image_check = bool(input_images) or not generator.is_demo
    if needs_image_check and not has_image_checker(state, moderator):
        raise image_moderation_missing("image" if input_images else None)
    deadline = Deadline(state.settings.request_timeout_s)
    generation_id = new_id("gen")

    # 1. what was asked
    checks: list[tuple[str, Verdict]] = [
        ("prompt", await check_text(moderator, body.prompt, Modality.PROMPT, deadline, "prompt"))
    ]
    if body.negative_prompt:
        checks.append(
            (
                "negative_prompt",
                await check_text(
                    moderator,
                    body.negative_prompt,
                    Modality.NEGATIVE_PROMPT,
                    deadline,
                    "negative_prompt",
                ),
            )
        )
    for i, url in enumerate(input_images):
        param = f"image[{i}]"
        data = await load_image(
            url, state.settings, param, allow_private=state.settings.allow_private_image_urls
        )
        checks.append(
            (
                param,
                await check_image(state, moderator, data, Modality.INPUT_IMAGE, deadline, param),
            )
        )
    for what_, verdict in checks:
        state.metrics.observe_verdict("generation_input", verdict)
        if what_ in ("prompt", "negative_prompt"):
            log_content(request, what_, getattr(body, what_) or "", verdict)
    what, request_verdict = max(checks, key=lambda c: c[1].action.severity)
    if request_verdict.flagged:
        decision_id = new_id("dec")
        outcome = enforce(request, principal, request_verdict, decision_id, prompt=body.prompt)
        await record_decision(
            state,
            principal,
            kind="generation_request",
            verdict=request_verdict,
            outcome=outcome,
            generation_id=generation_id,
            decision_id=decision_id,
            review_content=ReviewContent(
                prompt=body.prompt
                + (f"\n[negative prompt] {body.negative_prompt}" if body.negative_prompt else ""),
                surface="content",
            ),
            input=what,
        )
        raise _refusal(request_verdict, decision_id, what)

    # 2. the generator
    try:
        images = await generator.generate(
            GenerationRequest(
                prompt=body.prompt,
                n=body.n,
                size=body.size,
                negative_prompt=body.negative_prompt,
                model=body.model,
            )
        )
        state.metrics.upstream.labels("ok").inc()
    except ApiError as exc:
        state.metrics.upstream.labels(exc.code).inc()
        raise

    # 3. every output
    delivered: list[GeneratedImageOut] = []
    removed: list[RemovedOutput] = []
    output_verdicts: list[Verdict] = []
    disclosure = ""
    for i, image in enumerate(images):
        param = f"data[{i}]"
        verdict = await _check_output(state, moderator, image, deadline, param)
        state.metrics.observe_verdict("generation_output", verdict)
        output_verdicts.append(verdict)
        if verdict.action is Action.BLOCK:
            state.metrics.outputs.labels("removed").inc()
            decision_id = await record_decision(
                state,
                principal,
                kind="generation_output",
                verdict=verdict,
                generation_id=generation_id,
                output_index=i,
            )
            removed.append(_removed(i, decision_id, verdict, "removed under "))
            if not generator.is_demo:  # the demo draws text: nothing worth banking
                try:
                    await anyio.to_thread.run_sync(
                        bank_removed_output, state, image.data, verdict, decision_id
                    )
                except Exception as exc:  # the output is removed either way; say so in logs
                    state.logger.error(
                        "banking a removed output failed: %s: %s", type(exc).__name__, exc
                    )
            continue
        # allowed, or held for review: marked either way, so what a reviewer releases later
        # carries its watermark, manifest and disclosure like any other output
        try:
            obligated = await anyio.to_thread.run_sync(
                state.backends.obligations.apply, image.data, generation_id, choice.live, verdict
            )
        except Exception as exc:  # an output that cannot be marked is held, never sent bare
            state.logger.warning("output obligations failed: %s: %s", type(exc).__name__, exc)
            obligated = ObligatedOutput(
                data=b"",  # nothing releasable: a reviewer sees the prompt, not an unmarked image
                review_required=True,
                review_reasons=(f"output obligations could not be applied ({type(exc).__name__})",),
            )
        if verdict.action is Action.REVIEW or obligated.review_required:
            state.metrics.outputs.labels("held").inc()
            held = verdict.model_copy(update={"action": Action.REVIEW})
            reasons = list(obligated.review_reasons)
            decision_id = await record_decision(
                state,
                principal,
                kind="generation_output",
                verdict=held,
                generation_id=generation_id,
                output_index=i,
                held_for_review=reasons,
                review_content=ReviewContent(
                    prompt=body.prompt,
                    image=obligated.data or None,
                    image_type=media_type_of(obligated.data) if obligated.data else None,
                    surface="output",
                ),
            )
            removed.append(
                _removed(i, decision_id, verdict, "held for review under ")
                if verdict.action is Action.REVIEW
                else RemovedOutput(
                    index=i,
                    decision_id=decision_id,
                    action=Action.REVIEW.value,
                    reason="held for human review before release: " + "; ".join(reasons),
                    clauses=citations(verdict),
                )
            )
            continue
        state.metrics.outputs.labels("delivered").inc()
        disclosure = obligated.metadata.get("disclosure", disclosure)
        delivered.append(
            GeneratedImageOut(
                b64_json=base64.b64encode(obligated.data).decode("ascii"),
                revised_prompt=image.revised_prompt,
                metadata=obligated.metadata,
            )
        )

    # 4. records, account consequences, charge for what was delivered
    worst = _strictest([request_verdict, *output_verdicts])
    decision_id = new_id("dec")
    outcome = enforce(request, principal, worst, decision_id, prompt=body.prompt)
    # charge for what is delivered before delivering it: a balance drained by a concurrent
    # request means nothing is delivered and nothing is charged (no double spend)
    _charge(state, principal, len(delivered), generation_id)
    await record_decision(
        state,
        principal,
        kind="generation",
        verdict=worst,
        outcome=outcome,
        generation_id=generation_id,
        decision_id=decision_id,
        summary=True,  # each output's own decision was audited and queued above
        delivered=len(delivered),
        removed=[r.index for r in removed],
    )
    return ImageGenerationResponse(
        created=int(time.time()),
        data=delivered,
        aupguard=GenerationDetail(
            generation_id=generation_id,
            decision_id=decision_id,
            policy=choice.live.ref,
            generator=generator.name,
            demo=generator.is_demo,
            ai_generated=True,
            disclosure=disclosure,
            delivered=len(delivered),
            removed=removed,
            account=_account(outcome),
        ),
    )


def _removed(index: int, decision_id: str, verdict: Verdict, lead: str) -> RemovedOutput:
    fired = [h for h in verdict.clauses if h.action is verdict.action]
    reason = (
        "; ".join(f"{h.citation} {h.title}" for h in fired)
        or "; ".join(verdict.errors)
        or verdict.action.value
    )
    return RemovedOutput(
        index=index,
        decision_id=decision_id,
        action=verdict.action.value,
        reason=lead + reason,
        clauses=citations(verdict),
    )


def _charge(state: AppState, principal: Principal, delivered: int, generation_id: str) -> None:
    if not delivered:
        return
    try:
        state.backends.admission.charge(principal, "generation", delivered, generation_id)
    except BackendUnavailableError:
        raise ApiError(
            503,
            "store_unavailable",
            "the credit ledger is unavailable; nothing was delivered or charged (fail closed)",
            headers={"Retry-After": "5"},
        ) from None
    except ChargeRefusedError as exc:
        raise ApiError(
            402, "insufficient_credits", f"{exc}; nothing was delivered or charged"
        ) from None

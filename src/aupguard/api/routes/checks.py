"""The check API: OpenAI-compatible /v1/moderations and aupguard's native /v1/check."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request

from aupguard.api.errors import ApiError, error_responses
from aupguard.api.images import load_image, media_type_of
from aupguard.api.openai_map import citations, openai_fields
from aupguard.api.records import new_id
from aupguard.api.schemas import (
    AccountOutcome,
    CheckedItem,
    CheckRequest,
    CheckResponse,
    ModerationDetail,
    ModerationRequest,
    ModerationResponse,
    ModerationResult,
    TextPart,
)
from aupguard.api.service import (
    AppState,
    Deadline,
    ReviewContent,
    admit,
    authenticate,
    check_image,
    check_text,
    choose_pack,
    enforce,
    has_image_checker,
    log_content,
    record_decision,
    shadow_check,
    state_of,
)
from aupguard.engine.moderator import Moderator
from aupguard.engine.verdict import Verdict
from aupguard.policy.models import Action, Modality

router = APIRouter(prefix="/v1", tags=["check"])

COMMON_ERRORS = error_responses(400, 401, 403, 413, 422, 429, 501, 503)


def _count_inputs(state: AppState, n: int, param: str) -> None:
    if n == 0:
        raise ApiError(400, "empty_input", "there is nothing to check", param=param)
    if n > state.settings.max_inputs:
        raise ApiError(
            413,
            "too_many_inputs",
            f"{n} inputs; the limit is {state.settings.max_inputs} per request "
            "(AUPGUARD_MAX_INPUTS)",
            param=param,
        )


async def _check_parts(
    request: Request,
    state: AppState,
    moderator: Moderator,
    parts: list[tuple[str, str, str]],  # (kind text|image, value, param)
    deadline: Deadline,
) -> list[tuple[Verdict, str]]:
    out = []
    for kind, value, param in parts:
        if kind == "text":
            out.append(
                (await check_text(moderator, value, Modality.PROMPT, deadline, param), "text")
            )
        else:
            if not has_image_checker(state, moderator):
                from aupguard.api.images import image_moderation_missing

                raise image_moderation_missing(param)
            data = await load_image(
                value, state.settings, param, allow_private=state.settings.allow_private_image_urls
            )
            verdict = await check_image(
                state, moderator, data, Modality.INPUT_IMAGE, deadline, param
            )
            out.append((verdict, "image"))
    return out


@router.post(
    "/moderations",
    response_model=ModerationResponse,
    responses=COMMON_ERRORS,
    summary="Classify text and images (OpenAI moderation API shape)",
)
async def moderations(
    body: ModerationRequest, request: Request, background: BackgroundTasks
) -> ModerationResponse:
    state = state_of(request)
    principal = authenticate(request)
    groups: list[list[tuple[str, str, str]]]
    if isinstance(body.input, str):
        groups = [[("text", body.input, "input")]]
    elif all(isinstance(x, str) for x in body.input):
        groups = [[("text", str(x), f"input[{i}]")] for i, x in enumerate(body.input)]
    else:
        groups = [
            [
                ("text", p.text, f"input[{i}].text")
                if isinstance(p, TextPart)
                else ("image", p.image_url.url, f"input[{i}].image_url.url")
                for i, p in enumerate(body.input)
                if not isinstance(p, str)
            ]
        ]
    _count_inputs(state, sum(len(g) for g in groups), "input")
    images = sum(1 for g in groups for kind, _, _ in g if kind == "image")
    if images > state.settings.max_images:
        raise ApiError(
            413, "too_many_images", f"{images} images; the limit is {state.settings.max_images}"
        )
    admit(request, principal, "moderation", len(groups))
    choice = choose_pack(state, principal, body.model)
    moderator = state.packs.moderator(choice.live)
    deadline = Deadline(state.settings.request_timeout_s)
    if len(groups) > 1:
        await _prepare(moderator, [v for g in groups for k, v, _ in g if k == "text"])

    results = []
    for group in groups:
        verdicts = await _check_parts(request, state, moderator, group, deadline)
        flagged = any(v.flagged for v, _ in verdicts)
        action = Action.strictest([v.action for v, _ in verdicts])
        decision_id = None
        for (verdict, kind), (_, value, param) in zip(verdicts, group, strict=True):
            state.metrics.observe_verdict("moderations", verdict)
            log_content(request, param, value if kind == "text" else "<image>", verdict)
            if verdict.flagged:
                decision_id = await record_decision(
                    state,
                    principal,
                    kind="moderation",
                    verdict=verdict,
                    review_content=ReviewContent(prompt=value) if kind == "text" else None,
                )
        for (verdict, kind), (_, value, _) in zip(verdicts, group, strict=True):
            if kind == "text":
                background.add_task(shadow_check, state, choice, value, Modality.PROMPT, verdict)
        cats, scores, applied = openai_fields(verdicts)
        results.append(
            ModerationResult(
                flagged=flagged,
                categories=cats,
                category_scores=scores,
                category_applied_input_types=applied,
                aupguard=ModerationDetail(
                    action=action.value,
                    policy=choice.live.ref,
                    categories=list(dict.fromkeys(c for v, _ in verdicts for c in v.categories)),
                    clauses=[c for v, _ in verdicts for c in citations(v)],
                    decision_id=decision_id,
                ),
            )
        )
    return ModerationResponse(id=new_id("modr"), model=choice.live.ref, results=results)


async def _prepare(moderator: Moderator, texts: list[str]) -> None:
    import anyio

    await anyio.to_thread.run_sync(moderator.prepare, texts)


@router.post(
    "/check",
    response_model=CheckResponse,
    responses=COMMON_ERRORS,
    summary="Check a prompt, negative prompt, input images and outputs (native verdicts)",
)
async def check(body: CheckRequest, request: Request, background: BackgroundTasks) -> CheckResponse:
    state = state_of(request)
    principal = authenticate(request)
    texts: list[tuple[str, str, Modality]] = []
    if body.prompt is not None:
        texts.append(("prompt", body.prompt, Modality.PROMPT))
    if body.negative_prompt is not None:
        texts.append(("negative_prompt", body.negative_prompt, Modality.NEGATIVE_PROMPT))
    images: list[tuple[str, str, Modality]] = [
        (f"input_images[{i}]", url, Modality.INPUT_IMAGE) for i, url in enumerate(body.input_images)
    ]
    for i, out in enumerate(body.outputs):
        if (out.text is None) == (out.image_url is None):
            raise ApiError(
                400,
                "bad_output",
                "each output has exactly one of `text` or `image_url`",
                param=f"outputs[{i}]",
            )
        if out.text is not None:
            texts.append((f"outputs[{i}]", out.text, Modality.OUTPUT_TEXT))
        else:
            assert out.image_url is not None
            images.append((f"outputs[{i}]", out.image_url, Modality.OUTPUT_IMAGE))
    _count_inputs(state, len(texts) + len(images), "prompt")
    if len(images) > state.settings.max_images:
        raise ApiError(
            413,
            "too_many_images",
            f"{len(images)} images; the limit is {state.settings.max_images}",
        )
    admit(request, principal, "check", len(texts) + len(images))
    choice = choose_pack(state, principal, body.policy)
    moderator = state.packs.moderator(choice.live)
    if images and not has_image_checker(state, moderator):
        from aupguard.api.images import image_moderation_missing

        raise image_moderation_missing(images[0][0])
    deadline = Deadline(state.settings.request_timeout_s)

    checked: list[tuple[str, Modality, Verdict]] = []
    content: dict[str, str | bytes] = {}  # for the evidence vault on the CSAM path only
    for param, text, modality in texts:
        verdict = await check_text(moderator, text, modality, deadline, param)
        log_content(request, param, text, verdict)
        checked.append((param, modality, verdict))
        content[param] = text
        background.add_task(shadow_check, state, choice, text, modality, verdict)
    for param, url, modality in images:
        data = await load_image(
            url, state.settings, param, allow_private=state.settings.allow_private_image_urls
        )
        checked.append(
            (param, modality, await check_image(state, moderator, data, modality, deadline, param))
        )
        content[param] = data

    worst_param, _, worst = max(checked, key=lambda c: c[2].action.severity)
    check_id = new_id("chk")
    evidence = content[worst_param]
    outcome = enforce(
        request,
        principal,
        worst,
        check_id,
        prompt=evidence if isinstance(evidence, str) else None,
        content=evidence if isinstance(evidence, bytes) else None,
        content_type="text/plain; charset=utf-8"
        if isinstance(evidence, str)
        else "application/octet-stream",
    )
    items = []
    for param, modality, verdict in checked:
        state.metrics.observe_verdict("check", verdict)
        evidence_of = content[param]
        decision_id = await record_decision(
            state,
            principal,
            kind="check",
            verdict=verdict,
            outcome=outcome,
            input=param,
            review_content=ReviewContent(
                prompt=evidence_of if isinstance(evidence_of, str) else None,
                image=evidence_of if isinstance(evidence_of, bytes) else None,
                image_type=media_type_of(evidence_of) if isinstance(evidence_of, bytes) else None,
                surface="output" if modality.value.startswith("output") else "content",
            ),
        )
        items.append(
            CheckedItem(
                input=param, modality=modality.value, decision_id=decision_id, verdict=verdict
            )
        )
    return CheckResponse(
        id=check_id,
        policy=choice.live.ref,
        action=worst.action.value,
        flagged=worst.flagged,
        items=items,
        account=AccountOutcome(
            actions=list(outcome.actions),
            strikes=outcome.strikes,
            suspended=outcome.suspended,
            reason=outcome.reason,
        ),
    )

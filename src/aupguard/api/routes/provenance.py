"""POST /v1/provenance/verify: "did this image come from our service?" — the watermark payload
(if any), the C2PA manifest's validity and claims, and whether metadata was stripped."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Request
from pydantic import Field

from aupguard.api.errors import ApiError, error_responses
from aupguard.api.images import load_image
from aupguard.api.schemas import _Strict
from aupguard.api.service import authenticate, role_of, state_of

router = APIRouter(prefix="/v1", tags=["provenance"])


class VerifyRequest(_Strict):
    image: Annotated[str, Field(min_length=1, description="a data: URL or an http(s) URL")]
    generation_id: Annotated[str | None, Field(max_length=200)] = None


def _provenance_settings(request: Request) -> Any:
    from aupguard.api.obligations import ProvenanceObligations, provenance_obligations

    state = state_of(request)
    obligations = state.backends.obligations
    if isinstance(obligations, ProvenanceObligations):
        return obligations.settings
    return provenance_obligations(state.settings).settings


@router.post(
    "/provenance/verify",
    responses=error_responses(400, 401, 413, 422, 501),
    summary="Verify an image's watermark and C2PA manifest",
)
async def verify(body: VerifyRequest, request: Request) -> dict[str, Any]:
    if role_of(request) is None:
        authenticate(request)  # an API key, or an admin/reviewer token
    state = state_of(request)
    try:
        from aupguard.provenance import verify_image
        from aupguard.provenance.errors import ImageInputError
    except ImportError:
        raise ApiError(
            501,
            "provenance_unavailable",
            "verification needs the provenance extra: pip install 'aupguard[provenance]'",
        ) from None
    data = await load_image(
        body.image, state.settings, "image", allow_private=state.settings.allow_private_image_urls
    )
    settings = _provenance_settings(request)
    try:
        report = await anyio.to_thread.run_sync(
            lambda: verify_image(data, settings, generation_id=body.generation_id)
        )
    except ImageInputError as exc:
        raise ApiError(400, exc.code, str(exc), param="image") from None
    result: dict[str, Any] = report.model_dump(mode="json")
    return result

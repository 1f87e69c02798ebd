"""Image generators behind the gateway: the built-in demo generator (Pillow draws the prompt,
labelled DEMO) and the upstream forwarder (an OpenAI-images-compatible API)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import textwrap
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from aupguard.api.errors import ApiError

MAX_UPSTREAM_RESPONSE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    prompt: str
    n: int
    size: str
    negative_prompt: str | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class GeneratedImage:
    data: bytes
    revised_prompt: str | None = None
    # the text the image depicts, when the generator knows it exactly (the demo draws the
    # prompt); checked as the output's content alongside any image check
    depicts_text: str | None = None


class Generator(Protocol):
    name: str
    is_demo: bool

    async def generate(self, request: GenerationRequest) -> list[GeneratedImage]: ...


def parse_size(size: str) -> tuple[int, int]:
    width, _, height = size.partition("x")
    return int(width), int(height)


class DemoGenerator:
    """Draws the prompt on a coloured card, labelled as a demo. Deterministic per prompt."""

    name = "aupguard-demo"
    is_demo = True

    async def generate(self, request: GenerationRequest) -> list[GeneratedImage]:
        return [self._draw(request, i) for i in range(request.n)]

    def _draw(self, request: GenerationRequest, index: int) -> GeneratedImage:
        from PIL import Image, ImageDraw

        width, height = parse_size(request.size)
        digest = hashlib.sha256(f"{request.prompt}\x00{index}".encode()).digest()
        background = (64 + digest[0] // 2, 64 + digest[1] // 2, 64 + digest[2] // 2)
        image = Image.new("RGB", (width, height), background)
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 0, width, 18), fill=(0, 0, 0))
        draw.text((4, 3), "DEMO - aupguard local generator, not a model", fill=(255, 220, 0))
        chars = max(10, width // 7)
        lines = textwrap.wrap(request.prompt, chars)[: max(1, (height - 30) // 14)]
        for row, line in enumerate(lines):
            draw.text((6, 26 + row * 14), line, fill=(255, 255, 255))
        out = io.BytesIO()
        image.save(out, format="PNG")
        return GeneratedImage(data=out.getvalue(), depicts_text=request.prompt)


class UpstreamGenerator:
    """Forwards to ``<base_url>/images/generations`` asking for ``b64_json``. Failures become
    502 (refused, broken, garbage) or 504 (no answer in time); nothing is charged for them."""

    name = "upstream"
    is_demo = False

    def __init__(self, base_url: str, api_key: str | None, timeout_s: float):
        self.url = base_url.rstrip("/") + "/images/generations"
        self._api_key = api_key
        self._timeout = timeout_s

    async def generate(self, request: GenerationRequest) -> list[GeneratedImage]:
        body: dict[str, Any] = {
            "prompt": request.prompt,
            "n": request.n,
            "size": request.size,
            "response_format": "b64_json",
        }
        if request.model:
            body["model"] = request.model
        if request.negative_prompt:
            body["negative_prompt"] = request.negative_prompt
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.post(self.url, json=body, headers=headers)
        except httpx.TimeoutException:
            raise ApiError(
                504,
                "upstream_timeout",
                f"the upstream generator did not answer within {self._timeout:g}s "
                "(AUPGUARD_UPSTREAM_TIMEOUT_S); nothing was charged",
            ) from None
        except httpx.HTTPError as exc:
            raise ApiError(
                502,
                "upstream_unreachable",
                f"the upstream generator could not be reached ({type(exc).__name__}); "
                "nothing was charged",
            ) from None
        if len(response.content) > MAX_UPSTREAM_RESPONSE_BYTES:
            raise _garbage("the response is larger than 64 MiB")
        if response.status_code != 200:
            raise ApiError(
                502,
                "upstream_error",
                f"the upstream generator answered HTTP {response.status_code}; nothing was charged",
            )
        return _parse_images(response, request.n)


def _garbage(why: str) -> ApiError:
    return ApiError(
        502,
        "upstream_bad_response",
        f"the upstream generator's answer is unusable: {why}; nothing was charged",
    )


def _parse_images(response: httpx.Response, expected: int) -> list[GeneratedImage]:
    from PIL import Image, UnidentifiedImageError

    try:
        payload = response.json()
    except ValueError:
        raise _garbage("not JSON") from None
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list) or not data:
        raise _garbage("no `data` list of images")
    if len(data) > expected:
        raise _garbage(f"{len(data)} images for n={expected}")
    images = []
    for i, entry in enumerate(data):
        b64 = entry.get("b64_json") if isinstance(entry, dict) else None
        if not isinstance(b64, str):
            raise _garbage(f"data[{i}] has no `b64_json` image")
        try:
            raw = base64.b64decode(b64, validate=True)
            with Image.open(io.BytesIO(raw)) as image:
                image.verify()
        except (binascii.Error, ValueError, UnidentifiedImageError, OSError):
            raise _garbage(f"data[{i}] is not a readable image") from None
        revised = entry.get("revised_prompt")
        images.append(
            GeneratedImage(data=raw, revised_prompt=revised if isinstance(revised, str) else None)
        )
    return images

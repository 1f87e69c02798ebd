"""Request and response models. The OpenAI-compatible ones follow OpenAI's field names and
ignore unknown fields (clients add fields over time); aupguard's own forbid unknown fields."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aupguard.engine.verdict import Verdict

Text = Annotated[str, Field(min_length=1)]


class _OpenAIModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- /v1/moderations --------------------------------------------------------------------------


class ImageUrl(_OpenAIModel):
    url: Text


class TextPart(_OpenAIModel):
    type: Literal["text"]
    text: str


class ImagePart(_OpenAIModel):
    type: Literal["image_url"]
    image_url: ImageUrl


Part = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class ModerationRequest(_OpenAIModel):
    input: str | list[str] | list[Part] = Field(
        description="A string, an array of strings (one result each), or an array of text and "
        "image_url parts (one result for them together)."
    )
    model: str | None = Field(
        default=None,
        description="A policy pack id (or id@version) to judge by; OpenAI model names such as "
        "`omni-moderation-latest` mean the API key's default pack.",
    )


class ClauseCitation(BaseModel):
    clause_id: str
    category: str
    action: str
    score: float
    citation: str


class ModerationDetail(BaseModel):
    """aupguard's own fields on each result (OpenAI clients ignore them)."""

    action: str
    policy: str
    categories: list[str]
    clauses: list[ClauseCitation]
    decision_id: str | None = None


class ModerationResult(BaseModel):
    flagged: bool
    categories: dict[str, bool]
    category_scores: dict[str, float]
    category_applied_input_types: dict[str, list[str]]
    aupguard: ModerationDetail


class ModerationResponse(BaseModel):
    id: str
    model: str
    results: list[ModerationResult]


# -- /v1/check --------------------------------------------------------------------------------


class OutputItem(_Strict):
    text: str | None = None
    image_url: str | None = None


class CheckRequest(_Strict):
    policy: str | None = Field(
        default=None, description="Pack id or id@version; default: the key's"
    )
    prompt: str | None = None
    negative_prompt: str | None = None
    input_images: list[str] = Field(default_factory=list, description="data: or http(s) URLs")
    outputs: list[OutputItem] = Field(default_factory=list)


class AccountOutcome(BaseModel):
    actions: list[str]
    strikes: int
    suspended: bool
    reason: str | None


class CheckedItem(BaseModel):
    input: str  # prompt, negative_prompt, input_images[0], outputs[1]
    modality: str
    decision_id: str
    verdict: Verdict


class CheckResponse(BaseModel):
    id: str
    policy: str
    action: str
    flagged: bool
    items: list[CheckedItem]
    account: AccountOutcome


# -- /v1/images/generations -------------------------------------------------------------------


class ImageGenerationRequest(_OpenAIModel):
    prompt: Text
    model: str | None = None
    n: Annotated[int, Field(ge=1, le=16)] = 1
    size: Annotated[
        str, Field(pattern=r"^(64|128|256|512|768|1024)x(64|128|256|512|768|1024)$")
    ] = "256x256"
    response_format: Literal["b64_json", "url"] | None = None
    negative_prompt: str | None = None
    user: str | None = None
    policy: str | None = Field(default=None, description="Pack id or id@version (aupguard)")
    image: list[str] | None = Field(
        default=None, description="Input images (data: or http(s) URLs), checked before generation"
    )


class GeneratedImageOut(BaseModel):
    b64_json: str
    revised_prompt: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


class RemovedOutput(BaseModel):
    index: int
    decision_id: str | None
    action: str
    reason: str
    clauses: list[ClauseCitation]


class GenerationDetail(BaseModel):
    generation_id: str
    decision_id: str
    policy: str
    generator: str
    demo: bool
    ai_generated: bool
    disclosure: str
    delivered: int
    removed: list[RemovedOutput]
    account: AccountOutcome


class ImageGenerationResponse(BaseModel):
    created: int
    data: list[GeneratedImageOut]
    aupguard: GenerationDetail


# -- people-facing ----------------------------------------------------------------------------


class ReportItem(_Strict):
    decision_id: str | None = None
    generation_id: str | None = None
    url: str | None = None
    account_id: str | None = None


class ReportRequest(_Strict):
    category: str = Field(description="A taxonomy category (GET /v1/taxonomy), or `other`")
    reason: Annotated[str, Field(min_length=1, max_length=4000)]
    item: ReportItem


class ReportResponse(BaseModel):
    id: str
    status: str
    created: float


class AppealRequest(_Strict):
    decision_id: Text
    statement: Annotated[str, Field(min_length=1, max_length=4000)]


class AppealResponse(BaseModel):
    id: str
    decision_id: str
    status: str
    created: float


class AppealState(BaseModel):
    id: str
    status: str
    created: float


class DecisionResponse(BaseModel):
    """The statement of reasons for one decision."""

    id: str
    created: float
    kind: str
    policy: str
    action: str
    modality: str
    generation_id: str | None
    statement: dict[str, Any]
    appeal: AppealState | None


# -- admin ------------------------------------------------------------------------------------


class PackInfo(BaseModel):
    id: str
    name: str
    versions: list[str]
    active_version: str
    shadow_version: str | None
    builtin: bool
    uploaded_versions: list[str]


class PackUpload(_Strict):
    yaml: Annotated[str, Field(min_length=1, max_length=2_000_000)]


class PackUploaded(BaseModel):
    id: str
    version: str
    clauses: int
    lineage: list[str]


class VersionChoice(_Strict):
    version: str | None


class ShadowRow(BaseModel):
    live_version: str
    shadow_version: str
    live_action: str
    shadow_action: str
    n: int


class SuspendRequest(_Strict):
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class HealthResponse(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)

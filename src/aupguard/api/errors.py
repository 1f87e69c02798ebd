"""The one error shape every endpoint answers with (OpenAI-compatible, so OpenAI clients raise
their usual exceptions):

    {"error": {"type": "invalid_request_error", "code": "input_too_large",
               "message": "the text is 25,000 characters; the limit is 20,000 ...",
               "param": "input[1]", "request_id": "req_..."}}

``code`` is stable and machine-readable; ``message`` says what was wrong and where. No stack
trace ever reaches a client: unexpected errors answer 500 ``internal_error`` with the request id
that finds the logged trace.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

# error "type" by HTTP status, as OpenAI names them
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    501: "not_implemented_error",
    502: "upstream_error",
    503: "service_unavailable_error",
    504: "timeout_error",
}


class ErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    code: str
    message: str
    param: str | None = None
    request_id: str | None = None
    details: list[str] | None = None
    decision_id: str | None = None


class ErrorResponse(BaseModel):
    """The error shape of every endpoint."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorBody


class ApiError(Exception):
    """An error a client caused or must know about; rendered as ``ErrorResponse``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
        details: list[str] | None = None,
        decision_id: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers = dict(headers or {})
        self.details = details
        self.decision_id = decision_id

    def body(self, request_id: str | None) -> ErrorResponse:
        return ErrorResponse(
            error=ErrorBody(
                type=_TYPES.get(self.status, "api_error"),
                code=self.code,
                message=self.message,
                param=self.param,
                request_id=request_id,
                details=self.details,
                decision_id=self.decision_id,
            )
        )


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` entries documenting the error shape for these statuses."""
    return {s: {"model": ErrorResponse} for s in statuses}

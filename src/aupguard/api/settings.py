"""Service settings: typed, read from ``AUPGUARD_*`` environment variables, validated once.

Outside development (``AUPGUARD_ENV`` other than ``development``) insecure defaults are
refused: an empty or short admin token, debug mode, and keys declared in plain text.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

MIN_SECRET_CHARS = 16


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"
    TEST = "test"


class SettingsError(ValueError):
    """A setting is missing, malformed, or insecure for the environment; says which one."""


class DeclaredKey(BaseModel):
    """One client API key of the embedded development backend. Only its SHA-256 is kept;
    ``key`` (plain text) is accepted in development and hashed on load."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    account: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
    org: str | None = None
    plan: str = "default"
    policy: str | None = None  # the key's default pack (id or id@version)
    rate_per_minute: Annotated[float, Field(gt=0)] | None = None
    burst: Annotated[int, Field(ge=1)] | None = None
    revoked: bool = False
    expires_at: float | None = None  # unix seconds

    @model_validator(mode="before")
    @classmethod
    def _hash_plain_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and "key" in data:
            data = dict(data)
            plain = data.pop("key")
            if not isinstance(plain, str) or len(plain) < 8:
                raise ValueError("`key` must be a string of at least 8 characters")
            if "key_sha256" in data:
                raise ValueError("give `key` or `key_sha256`, not both")
            data["key_sha256"] = hash_key(plain)
            data["_plain"] = True
        return data

    # set by the validator above when the key was declared in plain text
    plain_declared: bool = Field(default=False, validation_alias="_plain", exclude=True)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    env: Environment = Environment.DEVELOPMENT
    debug: bool = False
    # store: accounts, keys, plans, credits and the ladder in the database (SQLite file in
    # data_dir unless database_url says otherwise); embedded: keys declared in api_keys,
    # state in this process (demos and tests)
    backend: Literal["store", "embedded"] = "store"
    database_url: str | None = None  # default: sqlite:///<data_dir>/aupguard.db
    redis_url: str | None = None  # shared rate limits and request history for many workers
    # when the store or Redis fails during admission: refuse (503, default) or admit
    admission_fail_open: bool = False
    # Redis down: "closed" refuses (503, default); "local" uses this process's own limits and
    # request history meanwhile, counted in aupguard_redis_fallback_total
    redis_fallback: Literal["closed", "local"] = "closed"
    # read the client address from X-Forwarded-For (only behind a proxy that sets it)
    trust_forwarded_for: bool = False
    # watermark + C2PA + disclosure on outputs: None = on when the provenance extra is installed
    provenance: bool | None = None
    # image hash banks (SQLite): known-bad hashes, and the bank of this service's removed
    # outputs; default <data_dir>/hashes.sqlite3
    hash_db: Path | None = None
    admin_token: str = ""
    reviewer_token: str = ""
    api_keys: tuple[DeclaredKey, ...] = ()
    default_policy: str = "general-usage"
    data_dir: Path = Path(".aupguard")
    upstream_url: str | None = None
    upstream_api_key: str | None = None
    upstream_timeout_s: Annotated[float, Field(gt=0, le=600)] = 60.0
    max_body_bytes: Annotated[int, Field(ge=1024)] = 16 * 1024 * 1024
    max_text_chars: Annotated[int, Field(ge=1)] = 20_000
    max_inputs: Annotated[int, Field(ge=1, le=10_000)] = 32
    max_images: Annotated[int, Field(ge=1, le=16)] = 4
    max_image_bytes: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024
    max_image_pixels: Annotated[int, Field(ge=1)] = 40_000_000
    image_fetch_timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    allow_image_urls: bool = True
    # off: a text-only deployment; every image input is refused (501), never let through
    image_moderation: bool = True
    allow_private_image_urls: bool = False
    request_timeout_s: Annotated[float, Field(gt=0, le=600)] = 20.0
    rate_per_minute: Annotated[float, Field(gt=0)] = 600.0
    rate_burst: Annotated[int, Field(ge=1)] = 60
    report_rate_per_minute: Annotated[float, Field(gt=0)] = 10.0
    suspended_accounts: dict[str, str] = Field(default_factory=dict)  # account -> reason
    strikes_to_suspend: Annotated[int, Field(ge=1)] = 10
    log_content: bool = False
    log_level: str = "INFO"

    @field_validator("upstream_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value or None

    @model_validator(mode="after")
    def _secure_outside_development(self) -> Settings:
        if self.env is Environment.DEVELOPMENT:
            return self
        problems = []
        if len(self.admin_token) < MIN_SECRET_CHARS:
            problems.append(
                f"AUPGUARD_ADMIN_TOKEN must be set to a secret of at least {MIN_SECRET_CHARS} "
                f"characters when AUPGUARD_ENV={self.env.value}"
            )
        if self.reviewer_token and len(self.reviewer_token) < MIN_SECRET_CHARS:
            problems.append(
                f"AUPGUARD_REVIEWER_TOKEN must be at least {MIN_SECRET_CHARS} characters"
            )
        if self.debug:
            problems.append(f"AUPGUARD_DEBUG must be off when AUPGUARD_ENV={self.env.value}")
        if self.env is Environment.PRODUCTION and any(k.plain_declared for k in self.api_keys):
            problems.append(
                "AUPGUARD_API_KEYS declares a plain-text `key` in production; "
                "declare `key_sha256` instead"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _keys_belong_to_a_backend(self) -> Settings:
        if self.backend == "store" and self.api_keys:
            raise ValueError(
                "AUPGUARD_API_KEYS declares keys for the embedded backend; with "
                "AUPGUARD_BACKEND=store create keys with `aupguard keys create ACCOUNT`, or set "
                "AUPGUARD_BACKEND=embedded"
            )
        if self.backend == "embedded" and (self.database_url or self.redis_url):
            raise ValueError(
                "AUPGUARD_DATABASE_URL / AUPGUARD_REDIS_URL need AUPGUARD_BACKEND=store "
                "(the embedded backend keeps its state in this process)"
            )
        return self

    @property
    def db_path(self) -> Path:
        return self.data_dir / "aupguard.sqlite3"

    @property
    def store_url(self) -> str:
        """The account store: ``database_url``, else a SQLite file in ``data_dir`` (the
        directory is created when missing)."""
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'aupguard.db').resolve()}"

    @property
    def hash_db_path(self) -> Path:
        return self.hash_db or self.data_dir / "hashes.sqlite3"

    @property
    def provenance_enabled(self) -> bool:
        """Whether outputs get watermark, C2PA manifest and disclosure (AUPGUARD_PROVENANCE)."""
        if self.provenance is not None:
            return self.provenance
        import importlib.util

        return all(importlib.util.find_spec(m) is not None for m in ("c2pa", "cryptography"))


# environment variable -> field; every one is documented in README.md
ENV_FIELDS: dict[str, str] = {
    "AUPGUARD_ENV": "env",
    "AUPGUARD_DEBUG": "debug",
    "AUPGUARD_BACKEND": "backend",
    "AUPGUARD_DATABASE_URL": "database_url",
    "AUPGUARD_REDIS_URL": "redis_url",
    "AUPGUARD_ADMISSION_FAIL_OPEN": "admission_fail_open",
    "AUPGUARD_REDIS_FALLBACK": "redis_fallback",
    "AUPGUARD_TRUST_FORWARDED_FOR": "trust_forwarded_for",
    "AUPGUARD_PROVENANCE": "provenance",
    "AUPGUARD_HASH_DB": "hash_db",
    "AUPGUARD_ADMIN_TOKEN": "admin_token",
    "AUPGUARD_REVIEWER_TOKEN": "reviewer_token",
    "AUPGUARD_API_KEYS": "api_keys",
    "AUPGUARD_DEFAULT_POLICY": "default_policy",
    "AUPGUARD_DATA_DIR": "data_dir",
    "AUPGUARD_UPSTREAM_URL": "upstream_url",
    "AUPGUARD_UPSTREAM_API_KEY": "upstream_api_key",
    "AUPGUARD_UPSTREAM_TIMEOUT_S": "upstream_timeout_s",
    "AUPGUARD_MAX_BODY_BYTES": "max_body_bytes",
    "AUPGUARD_MAX_TEXT_CHARS": "max_text_chars",
    "AUPGUARD_MAX_INPUTS": "max_inputs",
    "AUPGUARD_MAX_IMAGES": "max_images",
    "AUPGUARD_MAX_IMAGE_BYTES": "max_image_bytes",
    "AUPGUARD_MAX_IMAGE_PIXELS": "max_image_pixels",
    "AUPGUARD_IMAGE_FETCH_TIMEOUT_S": "image_fetch_timeout_s",
    "AUPGUARD_ALLOW_IMAGE_URLS": "allow_image_urls",
    "AUPGUARD_IMAGE_MODERATION": "image_moderation",
    "AUPGUARD_ALLOW_PRIVATE_IMAGE_URLS": "allow_private_image_urls",
    "AUPGUARD_REQUEST_TIMEOUT_S": "request_timeout_s",
    "AUPGUARD_RATE_PER_MINUTE": "rate_per_minute",
    "AUPGUARD_RATE_BURST": "rate_burst",
    "AUPGUARD_REPORT_RATE_PER_MINUTE": "report_rate_per_minute",
    "AUPGUARD_SUSPENDED_ACCOUNTS": "suspended_accounts",
    "AUPGUARD_STRIKES_TO_SUSPEND": "strikes_to_suspend",
    "AUPGUARD_LOG_CONTENT": "log_content",
    "AUPGUARD_LOG_LEVEL": "log_level",
}
_JSON_FIELDS = {"api_keys", "suspended_accounts"}


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from the environment (``environ`` defaults to ``os.environ``) plus overrides.
    Raises SettingsError naming the variable that is wrong."""
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    for var, field in ENV_FIELDS.items():
        value = environ.get(var)
        if value is None or value == "":
            continue
        if field in _JSON_FIELDS:
            try:
                raw[field] = json.loads(value)
            except json.JSONDecodeError as exc:
                raise SettingsError(f"{var} is not valid JSON: {exc.msg} at {exc.pos}") from None
        else:
            raw[field] = value
    raw.update(overrides)
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        field_to_var = {f: v for v, f in ENV_FIELDS.items()}
        lines = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            where = field_to_var.get(loc[0], loc[0]) if loc else "settings"
            detail = ".".join(loc[1:])
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{where}{'[' + detail + ']' if detail else ''}: {msg}")
        raise SettingsError("invalid settings: " + "; ".join(lines)) from None

"""Provenance settings: typed, from the environment (``AUPGUARD_PROVENANCE_*``,
``AUPGUARD_WATERMARK_*``, ``AUPGUARD_C2PA_*``). Policy (which obligations apply) comes from
the pack; these say *how* they are carried out for this operator."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aupguard.errors import InputError
from aupguard.policy.models import ObligationKind
from aupguard.provenance.watermark import DEFAULT_STRENGTH

DEVELOPMENT_WATERMARK_KEY = "aupguard-development-watermark-key"
DEFAULT_BASELINE = (
    ObligationKind.WATERMARK,
    ObligationKind.PROVENANCE_MANIFEST,
    ObligationKind.AI_DISCLOSURE,
)
# environment variable -> settings field
ENVIRONMENT = {
    "AUPGUARD_PROVENANCE_OPERATOR_ID": "operator_id",
    "AUPGUARD_PROVENANCE_OPERATOR_NAME": "operator_name",
    "AUPGUARD_PROVENANCE_GENERATOR": "generator",
    "AUPGUARD_PROVENANCE_BASELINE": "baseline",
    "AUPGUARD_PROVENANCE_DIR": "data_dir",
    "AUPGUARD_WATERMARK_KEY": "watermark_key",
    "AUPGUARD_WATERMARK_STRENGTH": "watermark_strength",
    "AUPGUARD_C2PA_CERT_CHAIN": "cert_chain",
    "AUPGUARD_C2PA_PRIVATE_KEY": "private_key",
    "AUPGUARD_C2PA_SIGNING_ALG": "signing_alg",
    "AUPGUARD_C2PA_TRUST_ANCHORS": "trust_anchors",
    "AUPGUARD_C2PA_TSA_URL": "tsa_url",
}


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "aupguard" / "provenance"


class ProvenanceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    operator_id: Annotated[int, Field(ge=0, le=0xFFFF)] = 0  # carried in the watermark
    operator_name: str = "aupguard operator"
    generator: str = "aupguard"  # the generator named in C2PA manifests and XMP
    # obligations carried out on every output, whatever the pack says (the pack adds more)
    baseline: tuple[ObligationKind, ...] = DEFAULT_BASELINE
    data_dir: Path = Field(default_factory=_default_data_dir)  # development certificates
    watermark_key: Annotated[str, Field(min_length=8)] = DEVELOPMENT_WATERMARK_KEY
    watermark_strength: Annotated[float, Field(gt=0.0, le=12.0)] = DEFAULT_STRENGTH
    # operator certificates (PEM); when unset, a development chain is generated in data_dir
    cert_chain: Path | None = None
    private_key: Path | None = None
    signing_alg: str = Field(
        default="es256", pattern=r"^(es256|es384|es512|ps256|ps384|ps512|ed25519)$"
    )
    trust_anchors: Path | None = None  # extra trusted roots (PEM) for verification
    tsa_url: str | None = None

    @field_validator("baseline", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return value

    @property
    def development_key(self) -> bool:
        return self.watermark_key == DEVELOPMENT_WATERMARK_KEY

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ProvenanceSettings:
        env = os.environ if environ is None else environ
        values = {field: env[name] for name, field in ENVIRONMENT.items() if env.get(name)}
        try:
            settings = cls.model_validate(values)
        except ValidationError as exc:
            by_field = {field: name for name, field in ENVIRONMENT.items()}
            problems = "; ".join(
                f"{by_field.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in exc.errors()
            )
            raise InputError(f"bad provenance setting: {problems}", code="bad_setting") from exc
        if (settings.cert_chain is None) != (settings.private_key is None):
            raise InputError(
                "AUPGUARD_C2PA_CERT_CHAIN and AUPGUARD_C2PA_PRIVATE_KEY go together: set both "
                "(operator certificate) or neither (development certificate)",
                code="bad_setting",
            )
        return settings

"""Ladder settings: typed data with defaults; a pack's ``enforcement`` steps decide which
steps exist and their durations, these decide when each applies."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator


class LadderSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # a strike counts for this long, then expires
    strike_expiry_days: Annotated[int, Field(ge=1, le=3650)] = 90
    # active strike points at which each step applies
    warning_at: Annotated[int, Field(ge=1)] = 1
    suspension_at: Annotated[int, Field(ge=1)] = 3
    ban_at: Annotated[int, Field(ge=1)] = 6
    # reaching suspension_at again after this many suspensions (within the strike window)
    # is a permanent ban
    ban_after_suspensions: Annotated[int, Field(ge=1)] = 1
    # when the pack's suspension step names no duration
    default_suspension_days: Annotated[int, Field(ge=1)] = 7
    # the CSAM path
    csam_category: str = "sexual/minors"
    vault_retention_days: Annotated[int, Field(ge=365)] = 365

    @model_validator(mode="after")
    def _ordered(self) -> LadderSettings:
        if not self.warning_at <= self.suspension_at <= self.ban_at:
            raise ValueError("need warning_at <= suspension_at <= ban_at")
        return self

"""Queues as typed data: which items a queue takes (category, surface, pack, language,
severity, kind), its SLA and the role it needs; and the priority order (child safety and
credible threats first, then severity, then age).

The built-in routing is ``DEFAULT_ROUTING``; an operator replaces it with a YAML file named by
``AUPGUARD_REVIEW_QUEUES`` (the same shape as ``RoutingConfig``).
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from aupguard.errors import AupguardError

QUEUES_ENV = "AUPGUARD_REVIEW_QUEUES"
CHILD_SAFETY_CATEGORY = "sexual/minors"


class ReviewConfigError(AupguardError):
    code = "review_config_error"


class Role(StrEnum):
    REVIEWER = "reviewer"
    SENIOR = "senior_reviewer"
    CHILD_SAFETY = "child_safety"
    ADMIN = "admin"


class ItemKind(StrEnum):
    VERDICT = "verdict"
    REPORT = "report"
    APPEAL = "appeal"


def category_matches(category: str, patterns: tuple[str, ...]) -> bool:
    """``violence`` matches ``violence`` and ``violence/graphic``; ``*`` matches anything."""
    return any(p == "*" or category == p or category.startswith(p + "/") for p in patterns)


class QueueConfig(BaseModel):
    """One queue. An empty selector matches everything; the first queue that matches wins."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    title: str
    sla_minutes: int = Field(gt=0)
    categories: tuple[str, ...] = ()
    surfaces: tuple[str, ...] = ()
    packs: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    kinds: tuple[ItemKind, ...] = ()
    min_severity: int = Field(default=0, ge=0, le=100)
    # a reviewer needs one of these roles to see or claim the queue's items
    roles: tuple[Role, ...] = (Role.REVIEWER, Role.SENIOR, Role.CHILD_SAFETY, Role.ADMIN)

    def matches(
        self, *, kind: ItemKind, category: str, surface: str, pack: str, lang: str, severity: int
    ) -> bool:
        return (
            (not self.kinds or kind in self.kinds)
            and (not self.categories or category_matches(category, self.categories))
            and (not self.surfaces or surface in self.surfaces)
            and (not self.packs or pack in self.packs)
            and (not self.languages or lang in self.languages)
            and severity >= self.min_severity
        )


class PriorityTier(BaseModel):
    """Categories reviewed before everything else, in tier order (tier 0 first)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    categories: tuple[str, ...]


class RoutingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    queues: tuple[QueueConfig, ...] = Field(min_length=1)
    tiers: tuple[PriorityTier, ...] = ()
    escalation_queue: str
    claim_minutes: int = Field(default=15, gt=0)

    @model_validator(mode="after")
    def _check(self) -> RoutingConfig:
        names = [q.name for q in self.queues]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"queue names must be unique; repeated: {', '.join(dupes)}")
        if self.escalation_queue not in names:
            raise ValueError(
                f"escalation_queue {self.escalation_queue!r} is not one of the queues "
                f"({', '.join(names)})"
            )
        last = self.queues[-1]
        if any((last.categories, last.surfaces, last.packs, last.languages, last.kinds)):
            raise ValueError(
                f"the last queue ({last.name!r}) must match everything (no selectors), so "
                "that no item goes unrouted"
            )
        return self

    def queue(self, name: str) -> QueueConfig:
        for q in self.queues:
            if q.name == name:
                return q
        raise ReviewConfigError(f"no review queue {name!r}")

    def route(
        self, *, kind: ItemKind, category: str, surface: str, pack: str, lang: str, severity: int
    ) -> QueueConfig:
        for q in self.queues:
            if q.name == self.escalation_queue:
                continue  # only an escalation puts an item there
            if q.matches(
                kind=kind,
                category=category,
                surface=surface,
                pack=pack,
                lang=lang,
                severity=severity,
            ):
                return q
        return self.queues[-1]

    def tier(self, category: str) -> int:
        """0 for the first tier's categories, … len(tiers) for everything else."""
        for i, t in enumerate(self.tiers):
            if category_matches(category, t.categories):
                return i
        return len(self.tiers)

    def rank(self, category: str, severity: int) -> int:
        """One sortable number: lower is reviewed first (tier, then severity)."""
        return self.tier(category) * 1000 + (100 - max(0, min(100, severity)))


_ALL = (Role.REVIEWER, Role.SENIOR, Role.CHILD_SAFETY, Role.ADMIN)

DEFAULT_ROUTING = RoutingConfig(
    tiers=(
        PriorityTier(name="child safety", categories=(CHILD_SAFETY_CATEGORY,)),
        PriorityTier(name="credible threats", categories=("violence", "extremism", "self-harm")),
    ),
    queues=(
        QueueConfig(
            name="child-safety",
            title="Child safety",
            sla_minutes=60,
            categories=(CHILD_SAFETY_CATEGORY,),
            roles=(Role.CHILD_SAFETY,),
        ),
        QueueConfig(
            name="escalated",
            title="Escalated (senior reviewers)",
            sla_minutes=240,
            roles=(Role.SENIOR, Role.ADMIN),
        ),
        QueueConfig(
            name="appeals",
            title="Appeals",
            sla_minutes=2880,
            kinds=(ItemKind.APPEAL,),
            roles=(Role.SENIOR, Role.ADMIN, Role.REVIEWER),
        ),
        QueueConfig(
            name="threats",
            title="Violence, extremism and self-harm",
            sla_minutes=120,
            categories=("violence", "extremism", "self-harm", "weapons"),
        ),
        QueueConfig(
            name="reports",
            title="User reports",
            sla_minutes=1440,
            kinds=(ItemKind.REPORT,),
        ),
        QueueConfig(name="general", title="General", sla_minutes=720, roles=_ALL),
    ),
    escalation_queue="escalated",
)


def load_routing(path: Path | None = None) -> RoutingConfig:
    """The routing from ``path`` (or ``AUPGUARD_REVIEW_QUEUES``), else the built-in one."""
    if path is None:
        env = os.environ.get(QUEUES_ENV, "").strip()
        if not env:
            return DEFAULT_ROUTING
        path = Path(env)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ReviewConfigError(f"{path}: cannot read review queues: {exc}") from exc
    try:
        return RoutingConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()
        )
        raise ReviewConfigError(
            f"{path}: invalid review queues: {problems}. Example:\n"
            "queues:\n  - {name: general, title: General, sla_minutes: 720}\n"
            "escalation_queue: general"
        ) from exc

"""The shared category taxonomy, loaded from ``taxonomy.yaml`` (data, not code)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

CategoryKind = Literal["content", "behaviour", "modifier"]


class Category(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kind: CategoryKind
    description: str
    openai: tuple[str, ...] = ()
    mlcommons: tuple[str, ...] = ()


class CombinationRule(BaseModel):
    """When every category in ``all`` reaches ``min_score``, ``result`` gets the smallest score."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    all: tuple[str, ...] = Field(min_length=2)
    result: str
    min_score: float = Field(ge=0.0, le=1.0)
    # caps the combined score: a rule that should send an item to review, never block it alone
    # (a face + a sexual score suggests, but does not show, a real person without consent)
    max_score: float = Field(default=1.0, ge=0.0, le=1.0)


class Taxonomy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: dict[str, Category]
    combinations: tuple[CombinationRule, ...]
    mlcommons_hazards: dict[str, str]
    openai_categories: tuple[str, ...]

    @model_validator(mode="after")
    def _check_references(self) -> Taxonomy:
        for rule in self.combinations:
            for cat in (*rule.all, rule.result):
                if cat not in self.categories:
                    raise ValueError(f"combination {rule.id!r} names unknown category {cat!r}")
        for category in self.categories.values():
            for code in category.mlcommons:
                if code not in self.mlcommons_hazards:
                    raise ValueError(f"category {category.id!r} maps to unknown hazard {code!r}")
            for name in category.openai:
                if name not in self.openai_categories:
                    raise ValueError(
                        f"category {category.id!r} maps to unknown OpenAI category {name!r}"
                    )
        return self

    def __contains__(self, category_id: object) -> bool:
        return category_id in self.categories

    def ids(self, kind: CategoryKind | None = None) -> list[str]:
        return [c.id for c in self.categories.values() if kind is None or c.kind == kind]


@cache
def load_taxonomy() -> Taxonomy:
    """The built-in taxonomy (cached; it is immutable)."""
    raw = resources.files("aupguard.policy").joinpath("taxonomy.yaml").read_text("utf-8")
    data = yaml.safe_load(raw)
    cats = {cid: {"id": cid, **body} for cid, body in data["categories"].items()}
    return Taxonomy.model_validate({**data, "categories": cats})

"""The pack registry: built-in packs, operator pack files and directories, ``extends`` resolved.

Packs are versioned: several versions of one id may be loaded; ``get("id")`` is the newest and
``get("id@1.2.0")`` a given one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from aupguard.policy.loader import (
    LoadedPack,
    PackError,
    PackProblem,
    iter_pack_files,
    load_pack_file,
)
from aupguard.policy.models import Clause, Defaults, PolicyPack

PACK_PATH_ENV = "AUPGUARD_PACK_PATH"


class UnknownPackError(KeyError):
    def __init__(self, ref: str, known: Iterable[str]):
        self.ref = ref
        self.known = sorted(known)
        super().__init__(ref)

    def __str__(self) -> str:
        return f"unknown policy {self.ref!r}; known policies: {', '.join(self.known)}"


@dataclass(frozen=True, slots=True)
class ResolvedPack:
    """A pack with its ``extends`` chain applied: ``pack.clauses`` is the full clause list."""

    pack: PolicyPack
    lineage: tuple[str, ...]  # "id@version", this pack first, then what it extends
    path: str
    builtin: bool

    @property
    def id(self) -> str:
        return self.pack.id

    @property
    def version(self) -> str:
        return self.pack.version

    @property
    def ref(self) -> str:
        return f"{self.pack.id}@{self.pack.version}"


def _version_key(version: str) -> tuple[int, ...]:
    core = version.split("-")[0].split("+")[0]
    return tuple(int(p) for p in core.split("."))


def builtin_pack_dir() -> Path:
    return Path(str(resources.files("aupguard.policy").joinpath("packs")))


class PackRegistry:
    def __init__(self) -> None:
        self._loaded: dict[str, dict[str, tuple[LoadedPack, bool]]] = {}
        self._resolved: dict[str, ResolvedPack] = {}

    # -- loading ---------------------------------------------------------------------------
    def add(self, loaded: LoadedPack, *, builtin: bool = False) -> None:
        pack = loaded.pack
        versions = self._loaded.setdefault(pack.id, {})
        if pack.version in versions:
            other = versions[pack.version][0].path
            raise PackError(
                [loaded.problem(f"pack {pack.id}@{pack.version} is also defined in {other}", "id")]
            )
        versions[pack.version] = (loaded, builtin)
        self._resolved.clear()

    def add_file(self, path: str | Path) -> ResolvedPack:
        loaded = load_pack_file(path)
        self.add(loaded)
        return self.get(f"{loaded.pack.id}@{loaded.pack.version}")

    def add_directory(self, directory: str | Path, *, builtin: bool = False) -> None:
        problems: list[PackProblem] = []
        for path in iter_pack_files(Path(directory)):
            try:
                self.add(load_pack_file(path), builtin=builtin)
            except PackError as exc:
                problems += exc.problems
        if problems:
            raise PackError(problems)

    # -- lookup ----------------------------------------------------------------------------
    def ids(self) -> list[str]:
        return sorted(self._loaded)

    def versions(self, pack_id: str) -> list[str]:
        return sorted(self._loaded.get(pack_id, {}), key=_version_key)

    def _find(self, ref: str) -> tuple[LoadedPack, bool]:
        pack_id, _, version = ref.partition("@")
        versions = self._loaded.get(pack_id)
        if not versions:
            raise UnknownPackError(ref, self._loaded)
        if not version:
            version = max(versions, key=_version_key)
        if version not in versions:
            raise UnknownPackError(ref, (f"{pack_id}@{v}" for v in versions))
        return versions[version]

    def get(self, ref: str) -> ResolvedPack:
        """Resolve ``id`` or ``id@version``. Raises UnknownPackError or PackError."""
        loaded, _ = self._find(ref)
        key = f"{loaded.pack.id}@{loaded.pack.version}"
        if key not in self._resolved:
            self._resolved[key] = self._resolve(loaded, ())
        return self._resolved[key]

    def all(self) -> list[ResolvedPack]:
        return [self.get(i) for i in self.ids()]

    # -- extends ---------------------------------------------------------------------------
    def _resolve(self, loaded: LoadedPack, chain: tuple[str, ...]) -> ResolvedPack:
        pack = loaded.pack
        builtin = self._loaded[pack.id][pack.version][1]
        key = f"{pack.id}@{pack.version}"
        if pack.extends is None:
            return ResolvedPack(pack=pack, lineage=(key,), path=loaded.path, builtin=builtin)
        if pack.id in chain or pack.extends in (*chain, pack.id):
            cycle = " -> ".join((*chain, pack.id, pack.extends))
            raise PackError([loaded.problem(f"cycle in `extends`: {cycle}", "extends")])
        try:
            parent_loaded, _ = self._find(pack.extends)
        except UnknownPackError as exc:
            raise PackError([loaded.problem(f"extends {exc}", "extends")]) from None
        parent = self._resolve(parent_loaded, (*chain, pack.id))
        merged = _merge(parent.pack, loaded)
        return ResolvedPack(
            pack=merged, lineage=(key, *parent.lineage), path=loaded.path, builtin=builtin
        )


def _merge(parent: PolicyPack, loaded: LoadedPack) -> PolicyPack:
    child = loaded.pack
    problems: list[PackProblem] = []
    parent_ids = {c.id for c in parent.clauses}
    for cid in child.remove_clauses:
        if cid not in parent_ids:
            problems.append(
                loaded.problem(
                    f"remove_clauses names {cid!r}, not a clause of {parent.id}", "remove_clauses"
                )
            )
    for cid in child.overrides:
        if cid not in parent_ids:
            problems.append(
                loaded.problem(
                    f"override of {cid!r}, not a clause of {parent.id}", "overrides", cid
                )
            )
    for i, clause in enumerate(child.clauses):
        if clause.id in parent_ids:
            problems.append(
                loaded.problem(
                    f"clause {clause.id!r} already exists in {parent.id}; change it under "
                    "`overrides` instead",
                    "clauses",
                    i,
                    "id",
                )
            )
    clauses: list[Clause] = []
    for clause in parent.clauses:
        if clause.id in child.remove_clauses:
            continue
        override = child.overrides.get(clause.id)
        if override is not None:
            changes = override.model_dump(exclude_none=True)
            base = clause.model_dump()
            if "thresholds" in changes:
                # field by field: overriding `block` keeps the inherited `review`
                merged = dict(base["thresholds"])
                for cat, fields in changes["thresholds"].items():
                    merged[cat] = {**merged.get(cat, {}), **fields}
                changes["thresholds"] = merged
            if "example_thresholds" in changes and base.get("example_thresholds"):
                changes["example_thresholds"] = {
                    **base["example_thresholds"],
                    **changes["example_thresholds"],
                }
            try:
                clause = Clause.model_validate({**base, **changes})
            except ValidationError as exc:
                for err in exc.errors():
                    msg = err["msg"].removeprefix("Value error, ")
                    problems.append(
                        loaded.problem(f"override of {clause.id!r}: {msg}", "overrides", clause.id)
                    )
                continue
        clauses.append(clause)
    if problems:
        raise PackError(problems)
    clauses.extend(child.clauses)

    def _merged(parent_items: tuple, child_items: tuple) -> tuple:  # type: ignore[type-arg]
        own = {x.id for x in child_items}
        return tuple(x for x in parent_items if x.id not in own) + tuple(child_items)

    fields = child.model_fields_set
    return child.model_copy(
        update={
            "clauses": tuple(clauses),
            "overrides": {},
            "remove_clauses": (),
            "defaults": _merge_defaults(parent.defaults, child.defaults)
            if "defaults" in fields
            else parent.defaults,
            "source": child.source if "source" in fields else parent.source,
            "enforcement": _merged(parent.enforcement, child.enforcement),
            "reporting": _merged(parent.reporting, child.reporting),
        }
    )


def _merge_defaults(parent: Defaults, child: Defaults) -> Defaults:
    """Field by field: an extending pack that sets ``defaults.behaviour`` keeps the parent's
    ``minimum_age``; ``failure_mode`` and ``behaviour`` merge key by key (and ``behaviour``
    setting by setting), the child winning."""
    merged = parent.model_dump()
    own = child.model_dump()
    for name in child.model_fields_set:
        if name == "failure_mode":
            merged[name] = {**merged[name], **own[name]}
        elif name == "behaviour":
            combined = {k: dict(v) for k, v in merged[name].items()}
            for detector, settings in own[name].items():
                combined[detector] = {**combined.get(detector, {}), **settings}
            merged[name] = combined
        else:
            merged[name] = own[name]
    return Defaults.model_validate(merged)


def default_registry(extra_paths: Iterable[str | Path] = ()) -> PackRegistry:
    """Built-in packs, then ``AUPGUARD_PACK_PATH`` (os.pathsep-separated files or
    directories), then ``extra_paths``."""
    registry = PackRegistry()
    registry.add_directory(builtin_pack_dir(), builtin=True)
    env = [p for p in os.environ.get(PACK_PATH_ENV, "").split(os.pathsep) if p]
    for entry in (*env, *extra_paths):
        path = Path(entry)
        if path.is_dir():
            registry.add_directory(path)
        else:
            registry.add_file(path)
    return registry

"""Which packs the service enforces: built-ins, ``AUPGUARD_PACK_PATH``, and packs uploaded
through the admin API (kept in the records store, so every worker loads them), with the active
and shadow version per pack id. Workers notice changes within ``REFRESH_S``."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aupguard.api.records import RecordConflictError, RecordsStore
from aupguard.detectors.base import Detector
from aupguard.detectors.registry import default_registry as default_detectors
from aupguard.engine.moderator import Limits, Moderator
from aupguard.policy.loader import PackError, parse_pack_text
from aupguard.policy.registry import PackRegistry, ResolvedPack, UnknownPackError, default_registry

REFRESH_S = 1.0


@dataclass(frozen=True, slots=True)
class PackChoice:
    live: ResolvedPack
    shadow: ResolvedPack | None


class PackConflictError(ValueError):
    pass


class PackManager:
    def __init__(
        self, records: RecordsStore, limits: Limits, detectors: list[Detector] | None = None
    ):
        self._records = records
        self._limits = limits
        self._detectors = detectors if detectors is not None else default_detectors().create_all()
        self._lock = threading.RLock()
        self._registry = PackRegistry()
        self._states: dict[str, tuple[str | None, str | None]] = {}
        self._uploaded: set[tuple[str, str]] = set()
        self._moderators: dict[str, Moderator] = {}
        self._generation = -1
        self._checked_at = 0.0
        self.refresh(force=True)

    # -- loading ---------------------------------------------------------------------------
    def _build(self, uploads: list[tuple[str, str, str]]) -> PackRegistry:
        registry = default_registry()
        for pack_id, version, text in uploads:
            registry.add(parse_pack_text(text, f"<uploaded {pack_id}@{version}>"))
        for pack_id in registry.ids():  # resolve every extends chain now: fail at load time
            for version in registry.versions(pack_id):
                registry.get(f"{pack_id}@{version}")
        return registry

    def refresh(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked_at < REFRESH_S:
            return
        with self._lock:
            self._checked_at = now
            generation = self._records.packs_generation()
            if generation == self._generation and not force:
                return
            uploads = self._records.uploaded_packs()
            self._registry = self._build(uploads)
            self._uploaded = {(p, v) for p, v, _ in uploads}
            self._states = self._records.pack_states()
            self._generation = generation
            self._moderators = {ref: m for ref, m in self._moderators.items() if self._known(ref)}

    def _known(self, ref: str) -> bool:
        try:
            self._registry.get(ref)
        except (UnknownPackError, PackError):
            return False
        return True

    # -- lookup ----------------------------------------------------------------------------
    def choose(self, ref: str) -> PackChoice:
        """``id@version`` is that version (no shadow); ``id`` is the active version (newest
        unless one was activated) plus the shadow version when shadow mode is on."""
        self.refresh()
        with self._lock:
            if "@" in ref:
                return PackChoice(self._registry.get(ref), None)
            active, shadow = self._states.get(ref, (None, None))
            live = self._registry.get(f"{ref}@{active}" if active else ref)
            shadow_pack = self._registry.get(f"{ref}@{shadow}") if shadow else None
            return PackChoice(live, shadow_pack)

    def use_hash_database(self, path: Path) -> None:
        """Point the hash-matching detectors at the service's hash bank database."""
        for detector in self._detectors:
            use = getattr(detector, "use_database", None)
            if callable(use):
                use(path)

    def remember_hash(self, entry: Any) -> None:
        """Match a newly banked hash in this process from now on (other workers read it from
        the database on their next detector reload)."""
        for detector in self._detectors:
            add = getattr(detector, "add", None)
            if callable(add) and detector.name == "image-hash-match":
                add(entry)

    def reload_detectors(self) -> list[str]:
        """Re-read every detector's data files (operator lists and rules) in place; the next
        check sees them. On a broken file that detector keeps its old lists and the error is
        raised (naming the file)."""
        reloaded = []
        with self._lock:
            for detector in self._detectors:
                reload = getattr(detector, "reload", None)
                if callable(reload):
                    reload()
                    reloaded.append(detector.name)
        return reloaded

    def moderator(self, pack: ResolvedPack) -> Moderator:
        with self._lock:
            moderator = self._moderators.get(pack.ref)
            if moderator is None or moderator.pack is not pack:
                moderator = Moderator(pack, self._detectors, limits=self._limits)
                self._moderators[pack.ref] = moderator
            return moderator

    def listing(self) -> list[dict[str, object]]:
        self.refresh()
        with self._lock:
            out: list[dict[str, object]] = []
            for pack_id in self._registry.ids():
                versions = self._registry.versions(pack_id)
                active, shadow = self._states.get(pack_id, (None, None))
                newest = self._registry.get(pack_id)
                out.append(
                    {
                        "id": pack_id,
                        "name": newest.pack.name,
                        "versions": versions,
                        "active_version": active or newest.version,
                        "shadow_version": shadow,
                        "builtin": newest.builtin,
                        "uploaded_versions": [
                            v for v in versions if (pack_id, v) in self._uploaded
                        ],
                    }
                )
            return out

    # -- admin -----------------------------------------------------------------------------
    def upload(self, yaml_text: str) -> ResolvedPack:
        """Validate a pack (with its ``extends`` chain) and store it. Raises PackError with
        ``file:line:col`` problems, or PackConflictError when the id@version exists."""
        loaded = parse_pack_text(yaml_text, "<upload>")
        pack = loaded.pack
        with self._lock:
            self.refresh(force=True)
            if pack.version in self._registry.versions(pack.id):
                raise PackConflictError(
                    f"pack {pack.id}@{pack.version} already exists; upload a new version"
                )
            uploads = [*self._records.uploaded_packs(), (pack.id, pack.version, yaml_text)]
            registry = self._build(uploads)  # raises PackError (extends problems included)
            try:
                self._records.add_pack(pack.id, pack.version, yaml_text)
            except RecordConflictError:  # another worker uploaded it a moment ago
                raise PackConflictError(
                    f"pack {pack.id}@{pack.version} already exists; upload a new version"
                ) from None
            self._registry = registry
            self.refresh(force=True)
            return self._registry.get(f"{pack.id}@{pack.version}")

    def _require_version(self, pack_id: str, version: str) -> None:
        self.refresh(force=True)
        self._registry.get(f"{pack_id}@{version}")  # raises UnknownPackError

    def activate(self, pack_id: str, version: str) -> None:
        with self._lock:
            self._require_version(pack_id, version)
            self._records.set_pack_state(pack_id, active=version)
            self.refresh(force=True)

    def set_shadow(self, pack_id: str, version: str | None) -> None:
        with self._lock:
            if version is not None:
                self._require_version(pack_id, version)
            elif pack_id not in self._registry.ids():
                raise UnknownPackError(pack_id, self._registry.ids())
            self._records.set_pack_state(pack_id, shadow=version)
            self.refresh(force=True)

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PIL", reason="needs the provenance extra")
pytest.importorskip("c2pa", reason="needs the provenance extra")

from aupguard.policy.models import PolicyPack
from aupguard.policy.registry import default_registry
from aupguard.provenance.settings import ProvenanceSettings


@pytest.fixture(scope="session")
def provenance_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("provenance")


@pytest.fixture(scope="session")
def settings(provenance_dir: Path) -> ProvenanceSettings:
    return ProvenanceSettings(
        data_dir=provenance_dir, operator_id=4242, watermark_key="test-key-0123456789"
    )


@pytest.fixture(scope="session")
def packs() -> dict[str, PolicyPack]:
    registry = default_registry()
    return {pid: registry.get(pid).pack for pid in registry.ids()}

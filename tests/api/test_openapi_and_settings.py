"""The committed OpenAPI document matches the app; contract fuzzing finds no server errors;
settings refuse insecure defaults outside development."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from tests.api.conftest import KEYS, Running

from aupguard.api.app import openapi_document
from aupguard.api.settings import SettingsError, load_settings

SPEC = Path(__file__).parents[2] / "docs" / "openapi.json"


def test_committed_openapi_matches_the_app() -> None:
    committed = json.loads(SPEC.read_text(encoding="utf-8"))
    assert committed == openapi_document(), (
        "docs/openapi.json is stale: regenerate it with "
        "`python -c 'import json; from aupguard.api.app import openapi_document; "
        "print(json.dumps(openapi_document(), indent=2, sort_keys=True))' > docs/openapi.json`"
    )


schema = schemathesis.openapi.from_path(str(SPEC))


@schema.parametrize()
@hypothesis.settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    derandomize=True,
)
def test_fuzzing_finds_no_server_errors(case: Any, service: Running) -> None:
    response = case.call(
        base_url=service.url, headers={"Authorization": f"Bearer {KEYS['alice']}"}, timeout=30
    )
    if response.status_code == 501:
        # documented: image inputs on a server without image moderation are refused
        assert response.json()["error"]["code"] == "image_moderation_unavailable"
        return
    assert response.status_code < 500, (case.path, case.body, response.text)


def test_production_refuses_insecure_defaults() -> None:
    with pytest.raises(SettingsError, match="AUPGUARD_ADMIN_TOKEN"):
        load_settings({"AUPGUARD_ENV": "production"})
    with pytest.raises(SettingsError, match="AUPGUARD_DEBUG"):
        load_settings(
            {"AUPGUARD_ENV": "production", "AUPGUARD_ADMIN_TOKEN": "x" * 32, "AUPGUARD_DEBUG": "1"}
        )
    with pytest.raises(SettingsError, match="key_sha256"):
        load_settings(
            {
                "AUPGUARD_ENV": "production",
                "AUPGUARD_ADMIN_TOKEN": "x" * 32,
                "AUPGUARD_API_KEYS": '[{"key": "sk-plain-123456", "account": "a"}]',
            }
        )
    ok = load_settings({"AUPGUARD_ENV": "production", "AUPGUARD_ADMIN_TOKEN": "x" * 32})
    assert ok.env.value == "production"
    assert load_settings({}).env.value == "development"


def test_bad_settings_name_the_variable() -> None:
    with pytest.raises(SettingsError, match="AUPGUARD_API_KEYS is not valid JSON"):
        load_settings({"AUPGUARD_API_KEYS": "[{"})
    with pytest.raises(SettingsError, match="AUPGUARD_MAX_INPUTS"):
        load_settings({"AUPGUARD_MAX_INPUTS": "lots"})
    with pytest.raises(SettingsError, match="AUPGUARD_UPSTREAM_URL"):
        load_settings({"AUPGUARD_UPSTREAM_URL": "ftp://x"})

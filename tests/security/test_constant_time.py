"""Credentials are compared without a timing oracle.

Admin and reviewer tokens: `role_of` compares them with `hmac.compare_digest` (constant time
in the length of the inputs). API keys are never compared as strings: the presented key is
hashed (SHA-256) and the hash looked up (a dict on the embedded backend, an indexed column on
the store backend). The early exit of that lookup can only reveal how much of the *hash*
matched, which the caller cannot steer toward the stored key without a SHA-256 preimage, and
a key differing from a real one in its last character hashes to an unrelated value. So a
near-miss key and a random one must get the same answer, which these tests show."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from secutil import ADMIN, KEY_ALICE, REVIEWER, settings_for

from aupguard.api import service
from aupguard.api.app import create_app


def _flip_last(value: str) -> str:
    return value[:-1] + ("A" if value[-1] != "A" else "B")


def _error(client: TestClient, token: str, path: str = "/v1/moderations") -> tuple[int, str]:
    response = client.post(path, json={"input": "hi"}, headers={"Authorization": f"Bearer {token}"})
    code: str = response.json()["error"]["code"]
    return response.status_code, code


def test_store_keys_near_miss_and_random_get_the_same_error(tmp_path: Path) -> None:
    from aupguard.store import Plan, Store

    url = f"sqlite:///{tmp_path}/aupguard.db"
    with Store.open(url) as store:
        store.accounts.put_plan(Plan(id="p", name="P", rate_per_second=1000, burst=1000))
        org = store.accounts.create_org("Org", plan_id="p")
        account = store.accounts.create(org.id, external_id="ct")
        real = store.keys.create(account.id).secret
    prefix, public, _ = real.split("_", 2)
    random_same_prefix = f"{prefix}_{public}_{secrets.token_urlsafe(32)}"
    random_other_prefix = f"{prefix}_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"
    near = _flip_last(real)
    assert len(near) == len(real) == len(random_same_prefix) == len(random_other_prefix)
    settings = settings_for(tmp_path, backend="store", database_url=url, api_keys=[])
    with TestClient(create_app(settings), client=("127.0.0.1", 50000)) as client:
        works = client.post(
            "/v1/moderations", json={"input": "hi"}, headers={"Authorization": f"Bearer {real}"}
        )
        assert works.status_code == 200, works.text
        answers = {
            name: client.post(
                "/v1/moderations",
                json={"input": "hi"},
                headers={"Authorization": f"Bearer {key}"},
            )
            for name, key in [
                ("near", near),
                ("random, same public part", random_same_prefix),
                ("random", random_other_prefix),
            ]
        }
    bodies = {name: r.json()["error"] for name, r in answers.items()}
    assert {r.status_code for r in answers.values()} == {401}
    assert len({b["code"] for b in bodies.values()}) == 1, bodies
    # the message names the public part the caller sent, nothing about how close it was
    near_msg = bodies["near"]["message"]
    assert near_msg == bodies["random, same public part"]["message"]
    assert real[-10:] not in near_msg and near[-10:] not in near_msg


def test_embedded_keys_near_miss_and_random_get_the_same_error(tmp_path: Path) -> None:
    with TestClient(create_app(settings_for(tmp_path))) as client:
        real = client.post(
            "/v1/moderations",
            json={"input": "hi"},
            headers={"Authorization": f"Bearer {KEY_ALICE}"},
        )
        assert real.status_code == 200  # sanity: the real key works
        near = _error(client, _flip_last(KEY_ALICE))
        other = _error(client, "sk-alice-" + secrets.token_hex(16))
        assert near == other
        assert near[0] == 401


@pytest.mark.parametrize("token", [ADMIN, REVIEWER])
def test_admin_tokens_near_miss_and_random_get_the_same_error(
    token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[str, str]] = []
    real_compare = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real_compare(a, b)

    monkeypatch.setattr(service.hmac, "compare_digest", spy)
    with TestClient(create_app(settings_for(tmp_path))) as client:
        ok = client.get("/v1/admin/packs", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
        near = client.get(
            "/v1/admin/packs", headers={"Authorization": f"Bearer {_flip_last(token)}"}
        )
        rand = client.get(
            "/v1/admin/packs",
            headers={"Authorization": f"Bearer {secrets.token_hex(len(token) // 2)}"},
        )
    assert near.status_code == rand.status_code == 401
    assert near.json()["error"]["code"] == rand.json()["error"]["code"]
    assert near.json()["error"]["message"] == rand.json()["error"]["message"]
    # every token comparison went through hmac.compare_digest, the near miss included
    assert (_flip_last(token), ADMIN) in compared
    assert (_flip_last(token), REVIEWER) in compared

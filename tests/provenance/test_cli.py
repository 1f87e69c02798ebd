from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aupguard.cli import main
from aupguard.provenance.testing import encode, synthetic_image


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    return {"AUPGUARD_PROVENANCE_DIR": str(tmp_path / "p"), "AUPGUARD_PROVENANCE_OPERATOR_ID": "77"}


def test_sign_verify_detect(tmp_path: Path, env: dict[str, str]) -> None:
    image = tmp_path / "out.jpg"
    image.write_bytes(encode(synthetic_image(320, 256, seed=2), "JPEG"))
    runner = CliRunner()
    signed = runner.invoke(
        main,
        ["provenance", "sign", str(image), "-p", "krea-2", "--generation-id", "g-1", "--json"],
        env=env,
    )
    assert signed.exit_code == 0, signed.output
    out = Path(json.loads(signed.output)["out"])
    verified = runner.invoke(
        main, ["provenance", "verify", str(out), "--json", "--generation-id", "g-1"], env=env
    )
    assert verified.exit_code == 0, verified.output
    report = json.loads(verified.output)
    assert report["from_our_service"] and report["watermark"]["operator_id"] == 77
    assert report["manifest"]["validation_state"] == "Trusted"
    assert runner.invoke(main, ["provenance", "detect", str(out)], env=env).exit_code == 0
    assert runner.invoke(main, ["provenance", "detect", str(image)], env=env).exit_code == 4
    assert runner.invoke(main, ["provenance", "verify", str(image)], env=env).exit_code == 4
    marked = tmp_path / "wm.jpg"
    wm = runner.invoke(
        main,
        ["provenance", "watermark", str(image), "--generation-id", "g-2", "-o", str(marked)],
        env=env,
    )
    assert wm.exit_code == 0, wm.output
    stripped = runner.invoke(main, ["provenance", "verify", str(marked)], env=env)
    assert stripped.exit_code == 3 and "stripped" in stripped.output


def test_bad_image_is_a_usage_error(tmp_path: Path, env: dict[str, str]) -> None:
    bad = tmp_path / "x.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    result = CliRunner().invoke(main, ["provenance", "verify", str(bad)], env=env)
    assert result.exit_code == 2
    assert "broken or truncated" in result.output
    assert "Traceback" not in result.output


def test_bad_setting_is_reported(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(encode(synthetic_image(128, 128)))
    result = CliRunner().invoke(
        main, ["provenance", "detect", str(image)], env={"AUPGUARD_PROVENANCE_OPERATOR_ID": "70000"}
    )
    assert result.exit_code == 2 and "AUPGUARD_PROVENANCE_OPERATOR_ID" in result.output

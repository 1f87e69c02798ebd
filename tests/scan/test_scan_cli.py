"""``aupguard scan``: exit codes from the README's table, clear errors, the printed summary."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from tests.scan.conftest import PROMPTS, write_jsonl

from aupguard.cli import main
from aupguard.scan import read_rows


def _scan(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["scan", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_unknown_policy_is_a_usage_error(tmp_path: Path, prompts_file: Path) -> None:
    code, _, err = _scan(str(prompts_file), "-p", "no-such-pack", "-o", str(tmp_path / "o"))
    assert code == 2
    assert "unknown policy 'no-such-pack'" in err and "Traceback" not in err


def test_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_text("hello\n", encoding="utf-8")
    code, _, err = _scan(str(src), "-p", "general-usage", "-o", str(tmp_path / "o.jsonl"))
    assert code == 2 and "unknown input format '.txt'" in err


def test_exit_codes_follow_the_strictest_item(tmp_path: Path) -> None:
    cases = {
        0: [{"text": PROMPTS["harmless"]}],
        2: [{"text": PROMPTS["harmless"]}, {"body": "no text field"}],
        3: [{"text": PROMPTS["financial"]}, {"body": "no text field"}],
        4: [{"text": PROMPTS["weapon"]}, {"text": PROMPTS["financial"]}],
    }
    for expected, records in cases.items():
        src = write_jsonl(tmp_path / f"in{expected}.jsonl", records)
        out = tmp_path / f"out{expected}.jsonl"
        code, stdout, _ = _scan(str(src), "-p", "general-usage", "-o", str(out), "--workers", "1")
        assert code == expected, stdout
        assert len(read_rows(out)) == len(records)


def test_compare_with_previous_version_from_pack_path(
    tmp_path: Path, prompts_file: Path, pack_v2: Path
) -> None:
    out = tmp_path / "out.jsonl"
    args = ["--pack-path", str(pack_v2), "scan", str(prompts_file), "-p", "general-usage"]
    result = CliRunner().invoke(main, [*args, "-o", str(out), "--workers", "1", "-q"])
    assert result.exit_code == 4
    assert "against general-usage@1.0.0: 2 items changed action" in result.stdout
    assert "review→block: 1" in result.stdout
    assert "§3.3-account-misuse.spam: block→allow 1" in result.stdout
    summary = json.loads((tmp_path / "out.jsonl.summary.json").read_text(encoding="utf-8"))
    assert summary["policy"] == "general-usage@1.1.0" and summary["changed"] == 2

    out2 = tmp_path / "out2.jsonl"
    result = CliRunner().invoke(
        main,
        [
            *args,
            "-o",
            str(out2),
            "--workers",
            "1",
            "--json",
            "--compare-with",
            "general-usage@1.1.0",
        ],
    )
    assert json.loads(result.stdout)["changed"] == 0
    result = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "o3"), "--no-compare"])
    assert "no earlier pack version to compare with" in result.stdout


def test_changed_input_is_refused_on_resume(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": PROMPTS["harmless"]}])
    out = tmp_path / "out.jsonl"
    assert _scan(str(src), "-p", "general-usage", "-o", str(out), "--workers", "1")[0] == 0
    code, _, err = _scan(str(src), "-p", "krea-2", "-o", str(out), "--workers", "1")
    assert code == 2 and "different policy" in err
    code, _, _ = _scan(str(src), "-p", "krea-2", "-o", str(out), "--workers", "1", "--restart")
    assert code == 0 and read_rows(out)[0].pack == "krea-2@1.0.0"

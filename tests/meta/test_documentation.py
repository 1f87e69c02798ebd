"""Meta-tests: every setting the code reads is documented; every CLI command is in the README."""

from __future__ import annotations

import re
from pathlib import Path

import click

from aupguard.cli import main

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_environment_setting_is_documented() -> None:
    used: set[str] = set()
    for path in (ROOT / "src" / "aupguard").rglob("*.py"):
        used |= set(re.findall(r"AUPGUARD_[A-Z_]+", path.read_text(encoding="utf-8")))
    assert used, "the scan found no settings at all"
    missing = sorted(s for s in used if s not in README)
    assert not missing, f"settings missing from README.md: {missing}"


def _commands(group: click.Group, prefix: str = "aupguard") -> list[str]:
    out = []
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            out += _commands(cmd, f"{prefix} {name}")
        else:
            out.append(f"{prefix} {name}")
    return out


def test_every_cli_command_is_in_the_readme() -> None:
    commands = _commands(main)
    assert "aupguard check" in commands
    missing = [c for c in commands if c not in README]
    assert not missing, f"commands missing from README.md: {missing}"

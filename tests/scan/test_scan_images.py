"""A folder of images: each checked with ``Moderator.check_image``; a broken or unreadable file
is an error row; the summary counts it."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from aupguard.cli import main
from aupguard.scan import read_rows

pytest.importorskip("onnxruntime", reason="image scans need the 'images' extra")
from PIL import Image


def test_folder_of_images(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)).save(folder / "a.png")
    buf = io.BytesIO()
    Image.new("RGB", (96, 96), (40, 120, 200)).save(buf, format="JPEG")
    (folder / "b.jpg").write_bytes(buf.getvalue())
    (folder / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    (folder / "d.gif").symlink_to(folder / "gone.gif")  # unreadable: a dangling link
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        main, ["scan", str(folder), "-p", "general-usage", "-o", str(out), "--workers", "1"]
    )
    rows = {r.id: r for r in read_rows(out)}
    assert sorted(rows) == ["a.png", "b.jpg", "c.png", "d.gif"]
    assert rows["a.png"].action is not None and rows["a.png"].error is None
    assert rows["a.png"].path == str(folder / "a.png")
    assert rows["b.jpg"].action is not None
    assert rows["c.png"].action is None and rows["c.png"].error_code
    assert rows["d.gif"].error_code == "unreadable" and "cannot read" in (rows["d.gif"].error or "")
    assert result.exit_code in (2, 3, 4)  # the errors make it at least 2
    assert "errors 2" in result.stdout

"""Runs the atheris target ``fuzz_decode.py`` for a bounded time (``AUPGUARD_FUZZ_SECONDS``,
default 20) from a seed corpus of small valid images: only ``ImageInputError`` may ever come
out of ``decode_image``; any other exception (or a crash of the decoder) fails the test with
the input that caused it. Skipped where atheris is not installed (it is in the dev extra on
Linux)."""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

TARGET = Path(__file__).with_name("fuzz_decode.py")


def _seed_corpus(directory: Path) -> None:
    from PIL import Image

    image = Image.new("RGB", (8, 6), (200, 30, 90))
    image.putpixel((1, 1), (0, 255, 0))
    for fmt, extra in [
        ("PNG", {}),
        ("JPEG", {"quality": 50}),
        ("GIF", {}),
        ("WEBP", {"quality": 50}),
    ]:
        out = io.BytesIO()
        image.save(out, format=fmt, **extra)
        (directory / f"seed.{fmt.lower()}").write_bytes(out.getvalue())
    rgba = io.BytesIO()
    Image.new("RGBA", (5, 5), (1, 2, 3, 4)).save(rgba, format="PNG")
    (directory / "seed-alpha.png").write_bytes(rgba.getvalue())


def test_decode_image_raises_only_image_input_error_under_fuzzing(tmp_path: Path) -> None:
    if importlib.util.find_spec("atheris") is None:
        pytest.skip("atheris is not installed (pip install atheris; Linux wheels on PyPI)")
    seconds = int(os.environ.get("AUPGUARD_FUZZ_SECONDS", "20"))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _seed_corpus(corpus)
    done = subprocess.run(
        [
            sys.executable,
            str(TARGET),
            f"-max_total_time={seconds}",
            "-rss_limit_mb=2048",
            "-timeout=10",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        cwd=tmp_path,
    )
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "oom-")))
    assert done.returncode == 0 and not crashes, (
        f"the fuzzer found a failing input {crashes}:\n{done.stderr[-4000:]}"
    )
    assert "Done" in done.stderr and "runs in" in done.stderr, done.stderr[-2000:]

"""Atheris fuzz target for the image decoding path: ``decode_image`` on arbitrary bytes may
return a decoded image or raise ``ImageInputError``; anything else is a crash.

    python tests/fuzz/fuzz_decode.py -max_total_time=60 [CORPUS_DIR ...]

``tests/fuzz/test_fuzz_decode.py`` runs it for a bounded time with a seed corpus of small
valid images in every supported format."""

from __future__ import annotations

import sys

import atheris
import numpy  # noqa: F401  (imported before instrumentation: large and not ours)

with atheris.instrument_imports(include=["aupguard", "PIL"]):
    from aupguard.images.decode import decode_image
    from aupguard.images.errors import ImageInputError
    from aupguard.images.limits import ImageLimits

# small limits keep every iteration cheap; the byte and pixel checks are still exercised
LIMITS = ImageLimits(max_bytes=256 * 1024, max_pixels=2_000_000)


def test_one_input(data: bytes) -> None:
    try:
        decoded = decode_image(data, LIMITS)
    except ImageInputError:
        return
    # a decoded image is what it says: upright RGB pixels of the declared size
    assert decoded.image.mode == "RGB"
    assert decoded.pixels.shape == (decoded.height, decoded.width, 3)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
